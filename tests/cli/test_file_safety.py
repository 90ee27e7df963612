"""Files that are not permadict files are refused with one line naming the
file, and left byte for byte as they were; damaged files are reported by
`check` and `dump` (exit 3) without losing the readable items."""
import os
import sqlite3
import subprocess
import shutil

from conftest import assert_one_line_error, file_digest, ok, permadict

SQLITE3 = shutil.which("sqlite3") or "/usr/bin/sqlite3"

EVERY_COMMAND = [
    ["get", "{f}", "k"], ["set", "{f}", "k", "1"], ["del", "{f}", "k"],
    ["keys", "{f}"], ["dump", "{f}"], ["load", "{f}"], ["namespaces", "{f}"],
    ["stats", "{f}"], ["check", "{f}"],
]


def assert_refused_untouched(path):
    before = file_digest(path)
    siblings = sorted(os.listdir(os.path.dirname(path)))
    for cmd in EVERY_COMMAND:
        args = [a.format(f=path) for a in cmd]
        r = permadict(*args, stdin='{"key": "k", "value": 1}\n')
        line = assert_one_line_error(r, 3, path)
        assert r.out == "", (cmd, r)
        assert file_digest(path) == before, cmd
        assert sorted(os.listdir(os.path.dirname(path))) == siblings, cmd
    return line


def test_text_file__is_refused_and_left_unchanged(tmp):
    path = os.path.join(tmp, "notes.txt")
    with open(path, "w") as f:
        f.write("just some text, not a database\n" * 10)
    assert_refused_untouched(path)


def test_empty_file__is_refused_and_left_unchanged(tmp):
    path = os.path.join(tmp, "empty.db")
    open(path, "w").close()
    assert_refused_untouched(path)


def test_foreign_sqlite_database__is_refused_and_left_unchanged(tmp):
    path = os.path.join(tmp, "other.db")
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (a)")
    con.execute("INSERT INTO t VALUES (1)")
    con.commit()
    con.close()
    line = assert_refused_untouched(path)
    assert "permadict" in line


def test_newer_format_version__is_refused_and_left_unchanged(db):
    ok("set", db, "k", "1")
    subprocess.run([SQLITE3, db, "PRAGMA user_version = 99"], check=True,
                   timeout=60)
    assert_refused_untouched(db)


def test_check__reports_a_broken_invariant_with_exit_3(db):
    ok("set", db, "k", "1")
    subprocess.run([SQLITE3, db, "UPDATE permadict_rows SET value = 99 WHERE type < 0"],
                   check=True, timeout=60)
    line = assert_one_line_error(permadict("check", db), 3, db)
    assert "check failed" in line


def test_dump__reports_an_undecodable_value_and_keeps_the_rest(db):
    ok("set", db, "a", "1")
    ok("set", db, "b", "[1]")
    ok("set", db, "c", "3")
    # type 6 (packed) with bytes that are not a MessagePack document
    subprocess.run([SQLITE3, db,
                    "UPDATE permadict_rows SET value = X'C1C1' WHERE type >= 0 AND key = 'b'"],
                   check=True, timeout=60)
    r = permadict("dump", db)
    line = assert_one_line_error(r, 3, db)
    assert "b" in line
    assert r.lines() == ['{"key": "a", "value": 1}', '{"key": "c", "value": 3}']
    assert_one_line_error(permadict("get", db, "b"), 3, db)
    assert_one_line_error(permadict("check", db), 3, db)


def test_read_only_commands__never_create_the_file(db):
    for cmd in ("keys", "dump", "namespaces", "stats", "check"):
        assert_one_line_error(permadict(cmd, db), 3, db)
    assert not os.path.exists(db)
    assert os.listdir(os.path.dirname(db)) == []
