#!/usr/bin/python3
"""Faults and hostile input through the Python and Lua bindings.

  binding_faults.py fork_exit python|lua       a child ending with sys.exit /
                                               os.exit(0, true) while the
                                               parent is in a write
                                               transaction: the parent's
                                               commit is whole
  binding_faults.py malformed python|lua       values damaged with raw SQL: a
                                               decode error naming the key,
                                               and iteration goes on past it
  binding_faults.py pickle python|lua          a pickle that would create a
                                               marker file is never unpickled
                                               without pickle=True (Python) and
                                               is an opaque value in Lua
  binding_faults.py nul_namespace python|lua   a namespace name with a zero
                                               byte is refused, clearly, and
                                               no namespace is created

The Lua side is binding_faults.lua, run with PD_CROSS_LUA_FAULTS (a command
line; the fork scenario needs LuaJIT's FFI, so that command is LuaJIT) and
LUA_PATH/LUA_CPATH from PD_CROSS_LUA_FAULTS_MODULES. Exit 77 when the
binding is not built (skipped, never passed).
"""
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
import tempfile

SKIP = 77
problems = []


def check(cond, what):
    print("%s: %s" % ("ok" if cond else "FAIL", what))
    if not cond:
        problems.append(what)


try:
    import permadict
except ImportError as e:
    print("SKIPPED: cannot import permadict: %s" % e)
    sys.exit(SKIP)


def run_lua(*args):
    cmd = os.environ.get("PD_CROSS_LUA_FAULTS", "").split()
    if not cmd:
        print("SKIPPED: no Lua program (PD_CROSS_LUA_FAULTS unset; binding not built)")
        sys.exit(SKIP)
    env = dict(os.environ)
    mods = os.environ.get("PD_CROSS_LUA_FAULTS_MODULES", "")
    env["LUA_PATH"] = os.path.join(mods, "?.lua") + ";;"
    env["LUA_CPATH"] = os.path.join(mods, "?.so") + ";;"
    r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60, env=env)
    sys.stdout.write("".join("  [lua] %s\n" % l for l in r.stdout.splitlines()))
    sys.stdout.write(r.stderr)
    return r


def integrity(path):
    con = sqlite3.connect(path)
    ok = con.execute("PRAGMA integrity_check").fetchone()[0]
    con.close()
    return ok


def keys_of(path, ns="default"):
    con = sqlite3.connect(path)
    rows = dict(con.execute("SELECT i.key, i.value FROM permadict_items i JOIN"
                            " permadict_namespaces n ON n.id = i.ns WHERE n.name = ?", (ns,)))
    con.close()
    return rows


# ------------------------------------------------------------------- fork

def fork_exit_python(tmp):
    path = os.path.join(tmp, "fork.pd")
    d = permadict.Permadict(path)
    with d.transaction():
        for i in range(100):
            d["k%03d" % i] = i
        pid = os.fork()
        if pid == 0:
            # The child leaves through the transaction's __exit__ and the
            # interpreter's finalizers, both on the inherited handle.
            sys.exit(0)
        _, status = os.waitpid(pid, 0)
        # sys.exit(0) must stay a clean exit: the child's way out through the
        # inherited transaction may not turn into an error.
        check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
              "child's sys.exit(0) exited with 0 (status %#x)" % status)
        for i in range(100, 200):
            d["k%03d" % i] = i
    d.close()
    rows = keys_of(path)
    check(integrity(path) == "ok", "integrity_check ok")
    check(rows == {"k%03d" % i: i for i in range(200)},
          "the parent's transaction committed whole (%d of 200 keys)" % len(rows))


def fork_exit_lua(tmp):
    path = os.path.join(tmp, "fork.pd")
    r = run_lua("fork_exit", path)
    check(r.returncode == 0, "Lua parent finished (exit %d)" % r.returncode)
    rows = keys_of(path)
    check(integrity(path) == "ok", "integrity_check ok")
    check(rows == {"k%03d" % i: i for i in range(200)},
          "the parent's transaction committed whole (%d of 200 keys)" % len(rows))


# -------------------------------------------------------------- malformed

# key -> (type code, raw value): each breaks FORMAT.md 4 differently.
DAMAGED = {
    "bad_truncated": (6, b"\x93\xc0"),          # list of 3, one item present
    "bad_unused_tag": (6, b"\xc1"),              # 0xc1 is never used
    "bad_wrong_length": (6, b"\xa5ab"),          # str of 5, 2 bytes
    "bad_type_mismatch": (2, "not an integer"),  # type int, TEXT stored
}
GOOD = {"a_first": 1, "m_middle": [2], "z_last": {"k": 3}}


def damaged_file(tmp):
    path = os.path.join(tmp, "malformed.pd")
    with permadict.Permadict(path) as d:
        for k, v in GOOD.items():
            d[k] = v
        for k in DAMAGED:
            d[k] = [0]
    con = sqlite3.connect(path)
    for k, (typ, raw) in DAMAGED.items():
        con.execute("UPDATE permadict_rows SET type = ?, value = ? WHERE type >= 0 AND key = ?", (typ, raw, k))
    con.commit()
    con.close()
    return path


def malformed_python(tmp):
    path = damaged_file(tmp)
    d = permadict.Permadict(path)
    for k in DAMAGED:
        try:
            d[k]
            check(False, "reading %s raises" % k)
        except permadict.DecodeError as e:
            check(e.key == k and k in str(e), "d[%r]: DecodeError naming the key (%s)" % (k, e))
    good, bad = {}, []
    it = iter(d.items())
    for _ in range(len(GOOD) + len(DAMAGED) + 1):
        try:
            k, v = next(it)
            good[k] = v
        except StopIteration:
            break
        except permadict.DecodeError as e:
            bad.append(e.key)
    check(sorted(bad) == sorted(DAMAGED), "iteration reports each damaged key: %r" % bad)
    check(good == GOOD, "iteration goes on past the damaged rows: %r" % sorted(good))
    d.close()


def malformed_lua(tmp):
    path = damaged_file(tmp)
    r = run_lua("malformed", path, ",".join(sorted(DAMAGED)), ",".join(sorted(GOOD)))
    check(r.returncode == 0, "Lua side: decode errors name the keys, iteration goes on")


# ----------------------------------------------------------------- pickle

class _Planted:
    """Unpickling this calls open(marker, "w"): a file appears."""
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def pickle_file(tmp):
    path = os.path.join(tmp, "pickle.pd")
    marker = os.path.join(tmp, "UNPICKLED")
    payload = pickle.dumps(_Planted(marker), protocol=5)
    with permadict.Permadict(path) as d:
        d["evil"] = permadict.Private(1, payload)
        d["inside"] = {"x": [permadict.Private(1, payload)]}
    return path, marker, payload


def pickle_python(tmp):
    path, marker, payload = pickle_file(tmp)
    with permadict.Permadict(path) as d:
        v = d["evil"]
        check(isinstance(v, permadict.Private) and v.tag == 1 and bytes(v.data) == payload,
              "without pickle=True the pickle reads as an opaque Private")
        inner = d["inside"]["x"][0]
        check(isinstance(inner, permadict.Private), "a nested pickle too")
        list(d.items())
        list(d.values())
        d.copy()
    check(not os.path.exists(marker), "no marker file: nothing was unpickled")
    # Control: the payload is live, so the check above could fail.
    with permadict.Permadict(path, pickle=True) as d:
        d["evil"]
    check(os.path.exists(marker), "control: with pickle=True the payload does run")


def pickle_lua(tmp):
    path, marker, payload = pickle_file(tmp)
    r = run_lua("pickle", path, payload.hex())
    check(r.returncode == 0, "Lua reads the pickle as an opaque private value")
    check(not os.path.exists(marker), "no marker file: nothing was unpickled")


# ---------------------------------------------------------- nul namespace

def nul_namespace_python(tmp):
    path = os.path.join(tmp, "nul.pd")
    permadict.Permadict(path).close()
    before = permadict.namespaces(path)
    try:
        permadict.Permadict(path, name="a\0b").close()
        check(False, "a namespace name with a zero byte is refused")
    except (ValueError, permadict.Error) as e:
        check("zero" in str(e).lower() or "nul" in str(e).lower() or "\\x00" in str(e),
              "the error says what is wrong: %s" % e)
    check(permadict.namespaces(path) == before, "no namespace created: %r" % permadict.namespaces(path))


def nul_namespace_lua(tmp):
    path = os.path.join(tmp, "nul.pd")
    permadict.Permadict(path).close()
    before = permadict.namespaces(path)
    r = run_lua("nul_namespace", path)
    check(r.returncode == 0, "Lua refuses a namespace name with a zero byte, clearly")
    check(permadict.namespaces(path) == before, "no namespace created: %r" % permadict.namespaces(path))


def main():
    fn = globals().get("%s_%s" % (sys.argv[1], sys.argv[2]))
    base = os.environ.get("PD_TEST_TMP") or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="binding-faults-", dir=base)
    owner = os.getpid()
    try:
        fn(tmp)
    finally:
        if os.getpid() == owner:  # a forked child unwinding here must not clean up
            shutil.rmtree(tmp, ignore_errors=True)
    if problems:
        print("%d problem(s)" % len(problems))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
