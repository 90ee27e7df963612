#!/usr/bin/python3
"""The Python side of the vector exchange; same commands as pd_vectors.c:

  vectors.py write FILE NS VECTORS
  vectors.py check FILE NS VECTORS
  vectors.py copy  FILE IN OUT VECTORS   (check IN, store what was read in OUT)

Values are compared in an exact form (typed_vectors.comparable): kinds kept
apart (1, 1.0 and True differ), NaN equal to NaN, -0.0 apart from 0.0. Tuples
never occur: the binding reads lists. Private values come back as
permadict.Private and are stored back unchanged. Exit 77 when the binding
cannot be imported (not built): the harness reports the test as skipped.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import typed_vectors as tv  # noqa: E402

try:
    import permadict
except ImportError as e:  # binding not built: skipped, not passed
    print("SKIPPED: cannot import permadict: %s" % e)
    sys.exit(77)


def native(t):
    """The Python value of an expanded typed value, as the binding stores it."""
    kind = t[0]
    if kind == "list":
        return [native(x) for x in t[1]]
    if kind == "map":
        return {native(k): native(v) for k, v in t[1]}
    if kind == "private":
        return permadict.Private(t[1], bytes.fromhex(t[2]))
    return tv.scalar(t)


def exact(x):
    """typed_vectors.comparable, with Private in place of msgpack's ext."""
    if isinstance(x, permadict.Private):
        return ("ext", x.tag, bytes(x.data))
    if isinstance(x, list):
        return ("list", tuple(exact(i) for i in x))
    if isinstance(x, dict):
        return ("map", tuple(sorted(((exact(k), exact(v)) for k, v in x.items()), key=repr)))
    return tv.comparable(x)


def write(path, ns, data):
    bad = 0
    with permadict.Permadict(path, name=ns) as d:
        for vec in data["values"]:
            try:
                d[vec["name"]] = native(tv.expand(vec["value"]))
            except Exception as e:  # report every vector, not just the first
                print("WRITE %s failed: %r" % (vec["name"], e))
                bad += 1
    with permadict.Permadict(path, name=ns + ".keys") as d:
        for vec in data["keys"]:
            d[native(vec["key"])] = vec["name"]
    return bad


def check(path, ns, data, out=None):
    bad = 0
    src = permadict.Permadict(path, name=ns, readonly=True)
    dst = permadict.Permadict(path, name=out) if out else None
    for vec in data["values"]:
        name = vec["name"]
        want = native(tv.expand(vec["value"]))
        try:
            got = src[name]
        except Exception as e:
            print("READ %s failed: %r" % (name, e))
            bad += 1
            continue
        if exact(got) != exact(want):
            print("MISMATCH %s:\n  expected %r\n  got      %r" % (name, want, got))
            bad += 1
        elif dst is not None:
            dst[name] = got
    src.close()
    if dst is not None:
        dst.close()
    ksrc = permadict.Permadict(path, name=ns + ".keys", readonly=True)
    kdst = permadict.Permadict(path, name=out + ".keys") if out else None
    names = {vec["name"]: native(vec["key"]) for vec in data["keys"]}
    seen = set()
    for key, name in ksrc.items():
        if name not in names or exact(key) != exact(names[name]):
            print("KEY MISMATCH %r: %r" % (name, key))
            bad += 1
            continue
        seen.add(name)
        if kdst is not None:
            kdst[key] = name
    for name in set(names) - seen:
        print("MISSING key %s" % name)
        bad += 1
    ksrc.close()
    if kdst is not None:
        kdst.close()
    return bad


def main():
    cmd = sys.argv[1]
    if cmd == "copy":
        path, ns, out, vectors = sys.argv[2:6]
    else:
        path, ns, vectors = sys.argv[2:5]
        out = None
    data = tv.load(vectors)
    if cmd == "write":
        bad = write(path, ns, data)
    elif cmd in ("check", "copy"):
        bad = check(path, ns, data, out)
    else:
        print("unknown command %s" % cmd)
        return 2
    if bad:
        print("%d failure(s)" % bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
