"""Every command of the permadict tool on a real file: output, exit codes
(0 ok, 1 not found, 2 usage, 3 other) and the one-line error format."""
import base64
import json
import os
import signal
import subprocess

import pytest

from conftest import CLI, assert_one_line_error, ok, permadict


# ------------------------------------------------------------------ get/set

def test_set_then_get__prints_the_value_as_one_json_line(db):
    ok("set", db, "workers", "8")
    ok("set", db, "cfg", '{"a":[1,2]}')
    assert ok("get", db, "workers").out == "8\n"
    assert json.loads(ok("get", db, "cfg").out) == {"a": [1, 2]}
    assert len(ok("get", db, "cfg").lines()) == 1


def test_set__creates_the_file_when_missing(db):
    assert not os.path.exists(db)
    ok("set", db, "k", "1")
    assert os.path.exists(db)


@pytest.mark.parametrize("command", [["set", "k", "1"], ["del", "k"], ["load", "/dev/null"]])
def test_writing_command__a_missing_directory_is_named_not_a_missing_file(tmp, command):
    # A writing command creates a missing file: "no such file" would be no
    # reason at all. The library's says what is missing.
    db = os.path.join(tmp, "nodir", "x.db")
    r = permadict(command[0], db, *command[1:])
    line = assert_one_line_error(r, 3, db)
    assert line.endswith("No such file or directory (its directory does not exist)"), line
    assert not os.path.exists(os.path.dirname(db))


def test_writing_command__a_dangling_link_is_named_as_such(tmp):
    db = os.path.join(tmp, "link.db")
    os.symlink(os.path.join(tmp, "nowhere.db"), db)
    line = assert_one_line_error(permadict("set", db, "k", "1"), 3, db)
    assert "symbolic link whose target does not exist" in line, line
    assert not os.path.exists(os.path.join(tmp, "nowhere.db"))


@pytest.mark.parametrize("command", [["set", "k", "1"], ["get", "k"], ["namespaces"], ["stats"]])
def test_memory_as_file__is_a_usage_error_not_a_dict_thrown_away(tmp, command):
    # The library reads ":memory:" as a private in-memory dict: `set` would
    # report success and keep nothing, `namespaces` would list none.
    r = subprocess.run([CLI, command[0], ":memory:", *command[1:]], cwd=tmp,
                       capture_output=True, timeout=60)
    assert r.returncode == 2, r
    assert r.stderr.decode() == (
        "permadict: FILE ':memory:' would be an in-memory dict, gone when the "
        "command ends; for a file of that name write ./:memory:\n")
    assert os.listdir(tmp) == []
    r = subprocess.run([CLI, "set", "./:memory:", "k", "1"], cwd=tmp,
                       capture_output=True, timeout=60)
    assert r.returncode == 0 and os.path.exists(os.path.join(tmp, ":memory:")), r


def test_set__overwrites_an_existing_value(db):
    ok("set", db, "k", "1")
    ok("set", db, "k", '"two"')
    assert ok("get", db, "k").out == '"two"\n'


def test_set_text__stores_the_argument_without_json_parsing(db):
    ok("set", db, "name", "hello world", "--text")
    ok("set", "--text", db, "num", "8")
    assert ok("get", db, "name").out == '"hello world"\n'
    assert ok("get", db, "num").out == '"8"\n'   # text, not the integer 8


def test_set__refuses_a_value_that_is_not_json_and_creates_nothing(db):
    r = permadict("set", db, "name", "hello")
    line = assert_one_line_error(r, 2, db)
    assert "--text" in line and "JSON" in line
    assert not os.path.exists(db)


def test_set__object_key_with_a_zero_byte_points_to_the_map_form(db):
    # Valid JSON that jansson cannot hold as an object: the way out is the
    # $map form (which stores it), not --text.
    r = permadict("set", db, "k", '{"a\\u0000b": 1}')
    line = assert_one_line_error(r, 2, db)
    assert "zero byte" in line and '{"$map": [[key, value], ...]}' in line, line
    assert "--text" not in line, line
    assert not os.path.exists(db)
    ok("set", db, "k", '{"$map": [["a\\u0000b", 1]]}')
    assert ok("get", db, "k").out == '{"$map": [["a\\u0000b", 1]]}\n'


def test_set__refuses_integers_beyond_64_bits_with_a_clear_message(db):
    for big in ("9223372036854775808", "18446744073709551616",
                "-9223372036854775809", '[1, 99999999999999999999]'):
        r = permadict("set", db, "k", big)
        line = assert_one_line_error(r, 2, db)
        assert "64-bit" in line, line
    assert not os.path.exists(db)


def test_set__refuses_a_key_or_text_value_it_cannot_store_and_creates_nothing(db):
    # "\udcff" reaches the tool as the byte 0xff: not UTF-8.
    cases = {
        ("k", "\udcff", "--text"): "UTF-8",
        ("\udcff", "1"): "UTF-8",
        ("k" * 5000, "1"): "limit",
        ("--hex-key", "ab" * 4097, "1"): "limit",
    }
    for args, word in cases.items():
        r = permadict("set", db, *args)
        line = assert_one_line_error(r, 2)
        assert word in line, (args, line)
        assert not os.path.exists(db), args


def test_set__accepts_the_64_bit_extremes(db):
    ok("set", db, "max", "9223372036854775807")
    ok("set", db, "min", "-9223372036854775808")
    assert ok("get", db, "max").out == "9223372036854775807\n"
    assert ok("get", db, "min").out == "-9223372036854775808\n"


def test_set__negative_numbers_are_values_not_options(db):
    ok("set", db, "k", "-3")
    ok("set", db, "f", "-0.5")
    assert ok("get", db, "k").out == "-3\n"
    assert ok("get", db, "f").out == "-0.5\n"


def test_get__missing_key_exits_1_naming_file_and_key(db):
    ok("set", db, "a", "1")
    r = permadict("get", db, "nope")
    line = assert_one_line_error(r, 1, db)
    assert '"nope"' in line
    assert r.out == ""


def test_get__missing_file_exits_3_and_does_not_create_it(db):
    r = permadict("get", db, "k")
    assert_one_line_error(r, 3, db)
    assert not os.path.exists(db)


def test_get__float_keeps_its_kind_and_every_bit(db):
    ok("set", db, "one", "1.0")
    ok("set", db, "tenth", "0.1")
    ok("set", db, "big", "1e300")
    assert ok("get", db, "one").out == "1.0\n"
    assert float(ok("get", db, "tenth").out) == 0.1
    big = ok("get", db, "big").out.strip()
    assert float(big) == 1e300 and ("." in big or "e" in big)
    ok("set", db, "i", "1")
    assert ok("get", db, "i").out == "1\n"   # the integer stays an integer


# --------------------------------------------------------------- typed keys

def test_int_and_hex_keys__are_distinct_from_the_text_key(db):
    ok("set", db, "1", '"text"')
    ok("set", db, "--int-key", "1", '"int"')
    ok("set", db, "--hex-key", "31", '"bytes"')
    assert ok("get", db, "1").out == '"text"\n'
    assert ok("get", db, "--int-key", "1").out == '"int"\n'
    assert ok("get", db, "--hex-key", "31").out == '"bytes"\n'


def test_int_key__accepts_negative_numbers_without_double_dash(db):
    ok("set", db, "--int-key", "-5", "1")
    assert ok("get", db, "--int-key", "-5").out == "1\n"
    assert ok("keys", db).out == "-5\n"


def test_bad_int_or_hex_key__is_a_usage_error(db):
    assert_one_line_error(permadict("get", db, "--int-key", "12x"), 2)
    assert_one_line_error(permadict("get", db, "--int-key", "99999999999999999999"), 2)
    assert_one_line_error(permadict("get", db, "--hex-key", "abc"), 2)
    assert_one_line_error(permadict("get", db, "--hex-key", "zz"), 2)
    assert_one_line_error(permadict("get", db, "--int-key", "--hex-key", "1"), 2)


# ---------------------------------------------------------------------- del

def test_del__removes_the_key_and_exits_1_when_absent(db):
    ok("set", db, "k", "1")
    ok("del", db, "k")
    assert_one_line_error(permadict("get", db, "k"), 1, db)
    line = assert_one_line_error(permadict("del", db, "k"), 1, db)
    assert '"k"' in line


# --------------------------------------------------------------------- keys

def test_keys__lists_every_key_in_key_order(db):
    for k in ("b", "a", "ab"):
        ok("set", db, k, "0")
    ok("set", db, "--int-key", "10", "0")
    ok("set", db, "--int-key", "-2", "0")
    ok("set", db, "--hex-key", "00ff", "0")
    # integers numerically, then text bytewise, then bytes
    assert ok("keys", db).lines() == ["-2", "10", "a", "ab", "b", "00ff"]


def test_keys_json__tells_the_key_kinds_apart(db):
    ok("set", db, "1", "0")
    ok("set", db, "--int-key", "1", "0")
    ok("set", db, "--hex-key", "31", "0")
    assert [json.loads(l) for l in ok("keys", db, "--json").lines()] == [
        1, "1", {"$bytes": "MQ=="}]


def test_keys_prefix__returns_only_matching_keys(db):
    for k in ("user:1", "user:2", "users", "other", "use"):
        ok("set", db, k, "0")
    ok("set", db, "--int-key", "7", "0")
    assert ok("keys", db, "--prefix", "user:").lines() == ["user:1", "user:2"]
    assert ok("keys", db, "--prefix=user").lines() == ["user:1", "user:2", "users"]
    assert ok("keys", db, "--prefix", "zzz").out == ""


def test_keys_prefix__with_hex_key_matches_bytes_keys(db):
    ok("set", db, "--hex-key", "0102", "0")
    ok("set", db, "--hex-key", "0103", "0")
    ok("set", db, "--hex-key", "02", "0")
    ok("set", db, "\x01", "0")   # a text key with the same first byte
    assert ok("keys", db, "--hex-key", "--prefix", "01").lines() == ["0102", "0103"]


def test_keys__on_an_empty_namespace_prints_nothing(db):
    ok("set", db, "k", "1")
    ok("del", db, "k")
    assert permadict("get", db, "k").code == 1
    assert ok("keys", db).out == ""


# --------------------------------------------------------------- namespaces

def test_namespace__isolates_keys(db):
    ok("set", db, "-n", "a", "k", '"in a"')
    ok("set", db, "--namespace", "b", "k", '"in b"')
    ok("set", db, "k", '"in default"')
    assert ok("get", db, "k", "-n", "a").out == '"in a"\n'
    assert ok("get", db, "k", "--namespace=b").out == '"in b"\n'
    assert ok("get", db, "k").out == '"in default"\n'
    ok("del", db, "-n", "a", "k")
    assert_one_line_error(permadict("get", db, "-n", "a", "k"), 1, db)
    assert ok("get", db, "-n", "b", "k").out == '"in b"\n'
    assert ok("keys", db, "-n", "b").lines() == ["k"]


def test_namespaces__lists_every_namespace_of_a_file_without_default(db):
    ok("set", db, "-n", "zeta", "k", "1")
    ok("set", db, "-n", "alpha", "k", "1")
    assert ok("namespaces", db).lines() == ["alpha", "zeta"]
    assert ok("namespaces", db, "-n", "nowhere").lines() == ["alpha", "zeta"]
    # Listing created nothing: "default" is still absent.
    assert ok("namespaces", db).lines() == ["alpha", "zeta"]


def test_namespaces__missing_file_exits_3_and_does_not_create_it(db):
    r = permadict("namespaces", db)
    assert_one_line_error(r, 3, db)
    assert not os.path.exists(db)


def test_namespaces__lists_every_namespace_sorted(db):
    ok("set", db, "k", "1")
    ok("set", db, "-n", "zeta", "k", "1")
    ok("set", db, "-n", "alpha", "k", "1")
    assert ok("namespaces", db).lines() == ["alpha", "default", "zeta"]
    assert ok("namespaces", db, "-n", "zeta").lines() == ["alpha", "default", "zeta"]


def test_get__in_an_absent_namespace_is_not_found_or_an_error(db):
    ok("set", db, "k", "1")
    r = permadict("get", db, "-n", "never", "k")
    assert r.code in (1, 3), r
    assert_one_line_error(r, r.code, db)


# ---------------------------------------------------------------- dump/load

def test_dump__prints_json_lines_in_key_order(db):
    ok("set", db, "b", "2")
    ok("set", db, "a", '"x"')
    ok("set", db, "--int-key", "3", "[true, null]")
    assert ok("dump", db).lines() == [
        '{"key": 3, "value": [true, null]}',
        '{"key": "a", "value": "x"}',
        '{"key": "b", "value": 2}',
    ]


def test_load__reads_from_a_file_and_from_stdin(db, tmp):
    src = os.path.join(tmp, "in.jsonl")
    with open(src, "w") as f:
        f.write('{"key": "a", "value": 1}\n\n{"key": 2, "value": "two"}\n')
    ok("load", db, src)
    ok("load", db, "-n", "other", stdin='{"key": "s", "value": 1.5}\n')
    ok("load", db, "-", "-n", "third", stdin='{"key": "t", "value": null}')
    assert ok("get", db, "a").out == "1\n"
    assert ok("get", db, "--int-key", "2").out == '"two"\n'
    assert ok("get", db, "-n", "other", "s").out == "1.5\n"
    assert ok("get", db, "-n", "third", "t").out == "null\n"


def test_load__keeps_items_not_in_the_input(db):
    ok("set", db, "old", "1")
    ok("load", db, stdin='{"key": "new", "value": 2}\n')
    assert ok("keys", db).lines() == ["new", "old"]


def test_load__is_all_or_nothing(db):
    ok("set", db, "keep", '"original"')
    bad = ('{"key": "a", "value": 1}\n'
           '{"key": "keep", "value": "changed"}\n'
           '{"key": "c", "value": 18446744073709551616}\n')
    r = permadict("load", db, stdin=bad)
    line = assert_one_line_error(r, 3, db)
    assert "line 3" in line and "64-bit" in line
    assert ok("keys", db).lines() == ["keep"]
    assert ok("get", db, "keep").out == '"original"\n'


def test_load__names_the_bad_line_and_why(db):
    cases = {
        '{"key": "a"}': "expected an object",
        '{"key": "a", "value": 1, "x": 2}': "expected an object",
        '[1, 2]': "expected an object",
        '{"key": [1], "value": 1}': "key",
        '{"key": "a", "value": {"$bytes": "!!!!"}}': "base64",
        '{"key": "a", "value": {"$bytes": "AB=="}}': "not canonical",  # would be AA==
        '{"key": "a", "value": {"$bytes": "AAF="}}': "not canonical",  # would be AAE=
        '{"key": "a", "value": {"$float": "pi"}}': "$float",
        '{"key": "a", "value": {"$x": 1}}': "$map",
        '{"key": "a", "value": 1': "invalid JSON",
    }
    for text, word in cases.items():
        r = permadict("load", db, stdin='{"key": "ok", "value": 0}\n' + text + "\n")
        line = assert_one_line_error(r, 3, db)
        assert "<stdin> line 2" in line and word in line, (text, line)
    # nothing of any of those loads was kept
    assert not os.path.exists(db) or ok("keys", db).out == ""


def test_load__input_bad_from_its_first_line_creates_no_file(db):
    too_long = '{"key": "%s", "value": 1}\n' % ("k" * 5000)  # over the 4,096-byte limit
    for text in ("not json\n", '{"key": "a", "value": 18446744073709551616}\n', too_long):
        assert_one_line_error(permadict("load", db, stdin=text), 3, db)
        assert not os.path.exists(db), text


def test_load__of_no_items_makes_an_empty_dict(db):
    ok("load", db, stdin="\n")
    assert ok("keys", db).out == ""


def test_load__missing_input_file_fails_without_creating_the_dict(db, tmp):
    missing = os.path.join(tmp, "missing.jsonl")
    assert_one_line_error(permadict("load", db, missing), 3, missing)
    assert not os.path.exists(db)


# -------------------------------------------------------------- stats/check

def test_stats__prints_counts_for_people_and_json_for_programs(db):
    for k in ("a", "b", "c"):
        ok("set", db, k, "1")
    ok("set", db, "-n", "other", "x", "1")
    human = ok("stats", db).out
    assert "entries:         3" in human and "namespaces:      2" in human
    st = json.loads(ok("stats", db, "--json").out)
    assert st["count"] == 3 and st["namespaces"] == 2
    assert st["format_version"] == 3 and st["version"] >= 3
    assert st["file_bytes"] > 0 and st["page_size"] > 0
    assert json.loads(ok("stats", db, "-n", "other", "--json").out)["count"] == 1


def test_stats_json__file_name_that_is_not_utf8_is_given_as_bytes(tmp):
    # A file name is bytes: as in the value mapping, one that no JSON string
    # can hold is {"$bytes": base64} (the command failed instead).
    name = os.fsdecode(b"stats-\xff.db")
    db = os.path.join(tmp, name)
    ok("set", db, "k", "1")
    st = json.loads(ok("stats", db, "--json").out)
    assert st["file"] == {"$bytes": base64.b64encode(os.fsencode(db)).decode()}
    assert st["count"] == 1
    plain = os.path.join(tmp, "plain.db")
    ok("set", plain, "k", "1")
    assert json.loads(ok("stats", plain, "--json").out)["file"] == plain


def test_check__says_ok_on_a_healthy_file(db):
    ok("set", db, "k", '{"nested": [1, {"$bytes": "AAE="}]}')
    assert ok("check", db).out == "ok\n"


# --------------------------------------------------------------- usage (2)

def test_usage_errors_exit_2_with_one_line(db):
    cases = [
        [],
        ["frobnicate", db],
        ["get", db],
        ["get", db, "a", "b"],
        ["set", db, "k"],
        ["keys"],
        ["get", db, "k", "--bogus"],
        ["get", db, "k", "--prefix", "p"],
        ["get", db, "k", "--text"],
        ["dump", db, "--int-key"],
        ["get", db, "k", "-n"],
        ["keys", db, "--int-key", "--prefix", "1"],
        ["keys", db, "--int-key"],  # an integer is never a prefix: nothing to apply to
        ["watch", db, "--int-key"],
        ["keys", db, "--hex-key"],  # reads --prefix, and there is none
        ["watch", db, "--hex-key"],
        ["get", db, "k", "--json=yes"],
        ["get", db, "k", "-n", ""],
    ]
    for args in cases:
        assert_one_line_error(permadict(*args), 2)
    assert not os.path.exists(db)


def test_double_dash__ends_options(db):
    ok("set", db, "--text", "--", "-k", "--json")
    assert ok("get", db, "--", "-k").out == '"--json"\n'


def test_help_and_version(db):
    h = ok("--help").out
    for word in ("get", "set", "del", "keys", "dump", "load", "namespaces",
                 "stats", "check", "$bytes", "$float", "$map", "$private",
                 "--namespace", "Exit status"):
        assert word in h, word
    assert ok("get", "-h").out == h
    v = ok("--version").out
    assert v.startswith("permadict ") and "libpermadict" in v


def test_write_error_on_stdout__exits_3_instead_of_pretending_success(db):
    ok("set", db, "k", '"v"')
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([CLI, "dump", db], stdout=full,
                              stderr=subprocess.PIPE, timeout=60)
    assert proc.returncode == 3
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("permadict: stdout: "), lines


@pytest.mark.parametrize("command", [["dump"], ["keys"], ["keys", "--json"]])
def test_closed_pipe_on_stdout__names_the_broken_pipe(db, command):
    # Output longer than stdio's buffer fails in the middle of the command,
    # long before the report at exit: the reason must be the one that write
    # got (a reader that went away), not a guess at a full disk.
    lines = "".join(f'{{"key": "key {i:05}", "value": {i}}}\n' for i in range(2000))
    ok("load", db, "-", stdin=lines)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [CLI, *command[:1], db, *command[1:]], stdout=write_end,
            stderr=subprocess.PIPE, timeout=60,
            preexec_fn=lambda: signal.signal(signal.SIGPIPE, signal.SIG_IGN))
    finally:
        os.close(write_end)
    assert proc.returncode == 3
    assert proc.stderr.decode() == "permadict: stdout: write failed: Broken pipe\n"
