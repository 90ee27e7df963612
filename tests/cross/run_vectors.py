#!/usr/bin/python3
"""Cross-language vector exchange: one ordered pair of languages per run.

  run_vectors.py pair WRITER READER   WRITER stores every vector in "a";
                                      READER checks "a" and stores what it
                                      read in "b"; WRITER checks "b". Every
                                      stored row must be the canonical row
                                      (FORMAT.md) of its vector.
  run_vectors.py independent WRITER   WRITER's stored values match the
                                      canonical MessagePack bytes built here
                                      with python3-msgpack, decode with
                                      msgpack.unpackb, and scalars read right
                                      through the sqlite3 shell.

Where a language cannot hold a vector exactly (vectors marked "beyond" it in
vectors.json: Lua reads text and bytes values as plain strings, Lua
5.1/LuaJIT cannot tell 1.0 from 1), the expected rows and the values the other side
checks are those the language's documented rule predicts (typed_vectors.py:
written_by, stored_back_by); the markers must name exactly the vectors the
rule changes, so neither drifts.

Languages: c, python, lua (5.4), lua5.3, lua5.1, luajit. Their programs come
from the environment: PD_CROSS_C, PD_CROSS_PYTHON, PD_CROSS_LUA,
PD_CROSS_LUA5_3, ... (a command line, split on spaces; for Lua,
<VAR>_MODULES names the directory of that build's module). PD_VECTORS names
vectors.json, PD_TEST_TMP the scratch directory. A language whose command is
empty or whose program says it cannot run (exit 77) makes the test exit 77:
ctest then shows it as skipped, never passed.
"""
import json
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
# Language -> (environment variable with its command, runtime whose rules
# apply). "lua" is Lua 5.4; the other Lua builds are languages of their own.
LANGS = {
    "c": ("PD_CROSS_C", "c"),
    "python": ("PD_CROSS_PYTHON", "python"),
    "lua": ("PD_CROSS_LUA", "lua5.4"),
    "lua5.3": ("PD_CROSS_LUA5_3", "lua5.3"),
    "lua5.1": ("PD_CROSS_LUA5_1", "lua5.1"),
    "luajit": ("PD_CROSS_LUAJIT", "luajit"),
}


def command(lang):
    var = LANGS[lang][0]
    cmd = os.environ.get(var, "").split()
    if not cmd:
        print("SKIPPED: no %s program (%s unset; binding not built)" % (lang, var))
        sys.exit(SKIP)
    return cmd


def lang_env(lang):
    """A Lua program finds its build's module through <VAR>_MODULES."""
    env = dict(os.environ)
    mods = os.environ.get(LANGS[lang][0] + "_MODULES")
    if mods:
        env["LUA_PATH"] = os.path.join(mods, "?.lua") + ";;"
        env["LUA_CPATH"] = os.path.join(mods, "?.so") + ";;"
    return env


def run(lang, *args):
    cmd = command(lang) + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=lang_env(lang))
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    if r.returncode == SKIP:
        print("SKIPPED: %s program cannot run here" % lang)
        sys.exit(SKIP)
    if r.returncode != 0:
        print("FAIL: %s exited %d" % (" ".join(cmd), r.returncode))
        sys.exit(1)


def rows(path, ns):
    """{(typeof key, key): (type, typeof value, value)}, floats as their 8
    bytes, text as its exact UTF-8 bytes."""
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    con.text_factory = bytes
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


def expected_rows(data):
    """The rows FORMAT.md requires for the (typed) vectors in data: values
    under the text key of their name, keys with their name as text value."""
    values = {("text", v["name"].encode()): tv.stored_row(tv.expand(v["value"]))
              for v in data["values"]}
    keys = {tv.stored_key(k["key"]): (4, "text", k["name"].encode()) for k in data["keys"]}
    return values, keys


def compare_rows(path, ns, want, why):
    """Every row of ns is exactly the canonical row of its vector (and only those)."""
    have = rows(path, ns)
    bad = 0
    for k in sorted(set(have) | set(want), key=repr):
        if have.get(k) != want.get(k):
            print("BYTES DIFFER in %s (%s) for key %r:\n  stored %r\n  want   %r"
                  % (ns, why, k, have.get(k), want.get(k)))
            bad += 1
    return bad


def check_markers(data, runtime):
    """The "beyond" markers of vectors.json name exactly the vectors that the
    documented rules of runtime change (so neither list drifts from the other)."""
    bad = 0
    for vec in data["values"]:
        if tv.rule_applies(vec, runtime) != tv.marked_beyond(vec, runtime):
            print("MARKER: value %s is %smarked beyond %s, but the rule %s it"
                  % (vec["name"], "" if tv.marked_beyond(vec, runtime) else "not ", runtime,
                     "changes" if tv.rule_applies(vec, runtime) else "does not change"))
            bad += 1
    for vec in data["keys"]:
        applies = tv.rule_applies(vec, runtime, keys=data["keys"])
        if applies != tv.marked_beyond(vec, runtime):
            print("MARKER: key %s is %smarked beyond %s, but the rule %s it"
                  % (vec["name"], "" if tv.marked_beyond(vec, runtime) else "not ", runtime,
                     "changes" if applies else "does not change"))
            bad += 1
    return bad


def after(data, rule, runtime):
    """data with every value and key replaced by what rule(runtime) stores."""
    keys = data["keys"]
    if rule is tv.stored_back_by:
        keys = tv.keys_stored_back_by(runtime, keys)
    else:
        keys = [dict(k, key=rule(runtime, k["key"])) for k in keys]
    return {"values": [dict(v, value=rule(runtime, v["value"])) for v in data["values"]],
            "keys": keys}


def save(data, path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f)
    return path


def pair(writer, reader, vectors, tmp):
    """writer stores every vector in "a"; reader checks "a" (as the writer's
    rules stored it) and stores what it read in "b"; writer checks "b" (as the
    reader's rules stored it back). Every row of "a" and "b" must be the
    canonical row of what the rules predict: identical bytes wherever both
    languages hold the value exactly."""
    wrt, rrt = LANGS[writer][1], LANGS[reader][1]
    data = tv.load(vectors)
    bad = check_markers(data, wrt) + (check_markers(data, rrt) if rrt != wrt else 0)
    as_written = after(data, tv.written_by, wrt)
    as_copied = after(as_written, tv.stored_back_by, rrt)
    path = os.path.join(tmp, "%s_to_%s.pd" % (writer, reader))
    run(writer, "write", path, "a", vectors)
    want_vals, want_keys = expected_rows(as_written)
    bad += compare_rows(path, "a", want_vals, "as %s writes it" % wrt)
    bad += compare_rows(path, "a.keys", want_keys, "as %s writes it" % wrt)
    run(reader, "copy", path, "a", "b", save(as_written, os.path.join(tmp, "a.json")))
    want_vals, want_keys = expected_rows(as_copied)
    bad += compare_rows(path, "b", want_vals, "as %s stores back what it read" % rrt)
    bad += compare_rows(path, "b.keys", want_keys, "as %s stores back what it read" % rrt)
    run(writer, "check", path, "b", save(as_copied, os.path.join(tmp, "b.json")))
    return bad


def independent(writer, vectors, tmp):
    path = os.path.join(tmp, "independent_%s.pd" % writer)
    run(writer, "write", path, "a", vectors)
    data = after(tv.load(vectors), tv.written_by, LANGS[writer][1])
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
