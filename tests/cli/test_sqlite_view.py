"""Values set from the command line are native SQLite values: Debian's
sqlite3 shell shows scalars as they are (docs/FORMAT.md, section 4)."""
import shutil
import subprocess

from conftest import ok

SQLITE3 = shutil.which("sqlite3") or "/usr/bin/sqlite3"


def sql(db, query):
    proc = subprocess.run([SQLITE3, "-batch", "-separator", "|", db, query],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def row(db, key):
    rows = sql(db, "SELECT type, typeof(value), quote(value) FROM permadict_items "
                   f"WHERE key = '{key}'")
    assert len(rows) == 1, rows
    return rows[0]


def test_sqlite3_shell__sees_scalars_natively(db):
    ok("set", db, "workers", "8")
    ok("set", db, "ratio", "2.5")
    ok("set", db, "name", '"alice"')
    ok("set", db, "on", "true")
    ok("set", db, "off", "false")
    ok("set", db, "none", "null")
    ok("set", db, "blob", '{"$bytes": "3q2+7w=="}')
    ok("set", db, "plain", "some words", "--text")
    assert row(db, "workers") == "2|integer|8"
    assert row(db, "ratio") == "3|real|2.5"
    assert row(db, "name") == "4|text|'alice'"
    assert row(db, "on") == "1|integer|1"    # bool: type 1, told apart from int
    assert row(db, "off") == "1|integer|0"
    assert row(db, "none") == "0|null|NULL"
    assert row(db, "blob") == "5|blob|X'DEADBEEF'"
    assert row(db, "plain") == "4|text|'some words'"


def test_sqlite3_shell__sees_typed_keys_as_native_values(db):
    ok("set", db, "--int-key", "42", "1")
    ok("set", db, "42", "2")
    ok("set", db, "--hex-key", "3432", "3")
    rows = sql(db, "SELECT typeof(key), quote(key) FROM permadict_items ORDER BY key")
    assert rows == ["integer|42", "text|'42'", "blob|X'3432'"]


def test_sqlite3_shell__sees_lists_and_maps_as_one_packed_blob(db):
    ok("set", db, "cfg", '{"a": [1, 2]}')
    # type 6, MessagePack: fixmap(1) "a" fixarray(2) 1 2
    assert row(db, "cfg") == "6|blob|X'81A161920102'"


def test_namespace_writes_land_in_their_own_namespace_row(db):
    ok("set", db, "-n", "jobs", "k", "1")
    rows = sql(db, "SELECT n.name, i.key FROM permadict_items i JOIN "
                   "permadict_namespaces n ON n.id = i.ns")
    assert rows == ["jobs|k"]
