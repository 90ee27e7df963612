#!/usr/bin/python3
"""Cross-language vector exchange: one ordered pair of languages per run.

  run_vectors.py pair WRITER READER   A writes, B checks and writes back, the
                                      stored rows must be identical, A checks
                                      B's copy.
  run_vectors.py independent WRITER   WRITER's stored values match the
                                      canonical MessagePack bytes built here
                                      with python3-msgpack, decode with
                                      msgpack.unpackb, and scalars read right
                                      through the sqlite3 shell.

Language programs come from the environment: PD_CROSS_C, PD_CROSS_PYTHON,
PD_CROSS_LUA (a command line, split on spaces). PD_VECTORS names vectors.json,
PD_TEST_TMP the scratch directory. A language whose command is empty or whose
program says it cannot run (exit 77) makes the test exit 77: ctest then shows
it as skipped, never passed.
"""
import math
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import typed_vectors as tv  # noqa: E402

SKIP = 77
LANG_ENV = {"c": "PD_CROSS_C", "python": "PD_CROSS_PYTHON", "lua": "PD_CROSS_LUA"}


def command(lang):
    cmd = os.environ.get(LANG_ENV[lang], "").split()
    if not cmd:
        print("SKIPPED: no %s program (%s unset; binding not built)" % (lang, LANG_ENV[lang]))
        sys.exit(SKIP)
    return cmd


def run(lang, *args):
    cmd = command(lang) + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    if r.returncode == SKIP:
        print("SKIPPED: %s program cannot run here" % lang)
        sys.exit(SKIP)
    if r.returncode != 0:
        print("FAIL: %s exited %d" % (" ".join(cmd), r.returncode))
        sys.exit(1)


def rows(path, ns):
    """{key: (typeof key, type, typeof value, value)} with floats as bits."""
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    con.text_factory = bytes  # text compared as its exact UTF-8 bytes
    out = {}
    for key, tk, typ, tval, val in con.execute(
            "SELECT i.key, typeof(i.key), i.type, typeof(i.value), i.value"
            " FROM permadict_items i JOIN permadict_namespaces n ON n.id = i.ns"
            " WHERE n.name = ?", (ns,)):
        if isinstance(val, float):
            val = struct.pack(">d", val)
        out[(tk.decode(), key)] = (typ, tval.decode(), val)
    con.close()
    return out


def compare_rows(path, a, b):
    ra, rb = rows(path, a), rows(path, b)
    bad = 0
    for k in sorted(set(ra) | set(rb), key=repr):
        if ra.get(k) != rb.get(k):
            print("BYTES DIFFER for key %r:\n  %s: %r\n  %s: %r" % (k, a, ra.get(k), b, rb.get(k)))
            bad += 1
    if not ra:
        print("namespace %s is empty" % a)
        bad += 1
    return bad


def pair(writer, reader, vectors, tmp):
    path = os.path.join(tmp, "%s_to_%s.pd" % (writer, reader))
    run(writer, "write", path, "a", vectors)
    run(reader, "copy", path, "a", "b", vectors)
    bad = compare_rows(path, "a", "b") + compare_rows(path, "a.keys", "b.keys")
    run(writer, "check", path, "b", vectors)
    return bad


def independent(writer, vectors, tmp):
    path = os.path.join(tmp, "independent_%s.pd" % writer)
    run(writer, "write", path, "a", vectors)
    data = tv.load(vectors)
    stored = {k[1].decode(): v for k, v in rows(path, "a").items() if k[0] == "text"}
    bad = 0
    shell = shell_scalars(path)
    for vec in data["values"]:
        name, t = vec["name"], tv.expand(vec["value"])
        if name not in stored:
            print("MISSING %s" % name)
            bad += 1
            continue
        typ, tval, val = stored[name]
        if t[0] in ("list", "map", "private"):
            want = tv.canonical_msgpack(t)
            if typ != 6 or tval != "blob" or val != want:
                print("NOT CANONICAL %s: type %r %s\n  stored %s\n  want   %s"
                      % (name, typ, tval, val.hex() if isinstance(val, bytes) else val, want.hex()))
                bad += 1
                continue
            got = tv.unpack(val)
            if tv.comparable(got) != tv.comparable(tv.expected_python(t)):
                print("MSGPACK DECODE DIFFERS %s: %r" % (name, got))
                bad += 1
        else:
            bad += check_scalar_row(name, t, typ, tval, val)
            bad += check_shell_scalar(name, t, shell.get(name))
    return bad


TYPE_CODE = {"null": 0, "bool": 1, "int": 2, "float": 3, "text": 4, "bytes": 5}
STORAGE = {"null": "null", "bool": "integer", "int": "integer", "float": "real",
           "text": "text", "bytes": "blob"}


def check_scalar_row(name, t, typ, tval, val):
    """The row as FORMAT.md 4 says, read through SQLite's C API."""
    want = tv.scalar(t)
    storage = STORAGE[t[0]]
    if t[0] == "float" and math.isnan(want):
        storage, expect = "null", None  # FORMAT.md: NULL means NaN
    elif t[0] == "float":
        expect = struct.pack(">d", want)
    elif t[0] == "text":
        expect = want.encode("utf-8")
    elif t[0] == "bool":
        expect = int(want)
    else:
        expect = want
    if typ != TYPE_CODE[t[0]] or tval != storage or val != expect:
        print("ROW DIFFERS %s: got (%r, %s, %r), want (%r, %s, %r)"
              % (name, typ, tval, val, TYPE_CODE[t[0]], storage, expect))
        return 1
    return 0


def shell_scalars(path):
    """name -> (type, typeof, quote or hex) through the plain sqlite3 shell."""
    sql = ("SELECT hex(i.key), i.type, typeof(i.value),"
           " CASE WHEN typeof(i.value) IN ('text','blob') THEN hex(i.value)"
           " ELSE quote(i.value) END"
           " FROM permadict_items i JOIN permadict_namespaces n ON n.id = i.ns"
           " WHERE n.name = 'a' AND i.type <> 6;")
    r = subprocess.run(["sqlite3", "-readonly", "-batch", "-separator", "|", path, sql],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        print("sqlite3 shell failed: %s" % r.stderr)
        return {}
    out = {}
    for line in r.stdout.splitlines():
        hkey, typ, storage, text = line.split("|")
        out[bytes.fromhex(hkey).decode()] = (int(typ), storage, text)
    return out


def check_shell_scalar(name, t, row):
    if row is None:
        print("SHELL: %s not listed" % name)
        return 1
    typ, storage, text = row
    want = tv.scalar(t)
    ok = typ == TYPE_CODE[t[0]]
    if t[0] == "null":
        ok = ok and text == "NULL"
    elif t[0] in ("bool", "int"):
        ok = ok and storage == "integer" and int(text) == int(want)
    elif t[0] == "float" and math.isnan(want):
        ok = ok and text == "NULL"
    elif t[0] == "float":
        # SQLite's own printf drops the sign of -0.0, so the shell can only
        # show the magnitude; the sign is checked by check_scalar_row.
        ok = ok and storage == "real" and float(text) == want
    elif t[0] == "text":
        ok = ok and storage == "text" and bytes.fromhex(text) == want.encode("utf-8")
    else:
        ok = ok and storage == "blob" and bytes.fromhex(text) == want
    if not ok:
        print("SHELL READS %s WRONG: %r for %r" % (name, row, want))
        return 1
    return 0


def main():
    vectors = os.environ.get("PD_VECTORS") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "vectors.json")
    base = os.environ.get("PD_TEST_TMP") or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="vectors-", dir=base)
    try:
        if sys.argv[1] == "pair":
            bad = pair(sys.argv[2], sys.argv[3], vectors, tmp)
        else:
            bad = independent(sys.argv[2], vectors, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d problem(s)" % bad if bad else "ok")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
