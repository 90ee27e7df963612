"""dump and load are lossless: every kind of value and key survives
dump -> load into a fresh file -> dump byte for byte, in the documented JSON
mapping (docs/CLI.md)."""
import base64
import json
import os

from conftest import assert_one_line_error, ok, permadict

# (key args, JSON value, the exact dump line expected)
EDGE_ITEMS = [
    (["--int-key", "-9223372036854775808"], "0",
     '{"key": -9223372036854775808, "value": 0}'),
    (["--int-key", "9223372036854775807"], "9223372036854775807",
     '{"key": 9223372036854775807, "value": 9223372036854775807}'),
    (["big53"], "9007199254740993",
     '{"key": "big53", "value": 9007199254740993}'),
    (["empty_bytes"], '{"$bytes": ""}',
     '{"key": "empty_bytes", "value": {"$bytes": ""}}'),
    (["empty_list"], "[]", '{"key": "empty_list", "value": []}'),
    (["empty_map"], "{}", '{"key": "empty_map", "value": {}}'),
    (["empty_text"], '""', '{"key": "empty_text", "value": ""}'),
    # An empty text before any other text in a document (the decoder once
    # handed it out with a NULL pointer, which get and dump refused).
    (["empty_text_in_list"], '[""]', '{"key": "empty_text_in_list", "value": [""]}'),
    (["empty_text_in_map"], '{"$map": [[1, ""]]}',
     '{"key": "empty_text_in_map", "value": {"$map": [[1, ""]]}}'),
    (["f_one"], "1.0", '{"key": "f_one", "value": 1.0}'),
    (["f_inf"], '{"$float": "inf"}', '{"key": "f_inf", "value": {"$float": "inf"}}'),
    (["f_nan"], '{"$float": "nan"}', '{"key": "f_nan", "value": {"$float": "nan"}}'),
    (["f_neg_inf"], '{"$float": "-inf"}',
     '{"key": "f_neg_inf", "value": {"$float": "-inf"}}'),
    (["f_neg_zero"], '{"$float": "-0.0"}',
     '{"key": "f_neg_zero", "value": {"$float": "-0.0"}}'),
    (["flags"], "[true, false, null]", '{"key": "flags", "value": [true, false, null]}'),
    (["map_dollar_key"], '{"$map": [["$ref", 1]]}',
     '{"key": "map_dollar_key", "value": {"$map": [["$ref", 1]]}}'),
    (["map_mixed_keys"], '{"$map": [[{"$bytes": "/w=="}, "b"], ["t", 2], [1, "i"]]}',
     '{"key": "map_mixed_keys", "value": {"$map": [[1, "i"], ["t", 2], '
     '[{"$bytes": "/w=="}, "b"]]}}'),
    (["map_nul_key"], '{"$map": [["a\\u0000b", 1]]}',
     '{"key": "map_nul_key", "value": {"$map": [["a\\u0000b", 1]]}}'),
    (["nested"], '{"b": [1, {"c": {"$bytes": "AAECAw=="}}], "a": {"$float": "nan"}}',
     '{"key": "nested", "value": {"a": {"$float": "nan"}, "b": [1, {"c": '
     '{"$bytes": "AAECAw=="}}]}}'),
    (["not_utf8"], '{"$bytes": "/wCA"}', '{"key": "not_utf8", "value": {"$bytes": "/wCA"}}'),
    (["private"], '{"$private": [64, "aGk="]}',
     '{"key": "private", "value": {"$private": [64, "aGk="]}}'),
    (["nested_private"], '[{"$private": [1, ""]}]',
     '{"key": "nested_private", "value": [{"$private": [1, ""]}]}'),
    (["text_nul"], '"a\\u0000b"', '{"key": "text_nul", "value": "a\\u0000b"}'),
    (["unicode"], '"h\\u00e9llo \\u2603 \\ud83d\\ude00"',
     '{"key": "unicode", "value": "h\u00e9llo \u2603 \U0001F600"}'),
    (["--hex-key", ""], '"empty bytes key"',
     '{"key": {"$bytes": ""}, "value": "empty bytes key"}'),
    (["--hex-key", "ff00"], '{"$bytes": "AA=="}',
     '{"key": {"$bytes": "/wA="}, "value": {"$bytes": "AA=="}}'),
]


def fill(db, items):
    for key_args, value, _ in items:
        ok("set", db, *key_args[:-1], "--", key_args[-1], value)


def test_dump__writes_each_kind_in_the_documented_form(db):
    fill(db, EDGE_ITEMS)
    lines = ok("dump", db).lines()
    assert sorted(lines) == sorted(line for _, _, line in EDGE_ITEMS)
    # key order: integers, then text, then bytes
    kinds = [type(json.loads(l)["key"]).__name__ for l in lines]
    assert kinds == sorted(kinds, key=["int", "str", "dict"].index)


def test_dump_load_dump__is_identical(db, tmp):
    fill(db, EDGE_ITEMS)
    first = ok("dump", db).out_bytes
    assert len(first.splitlines()) == len(EDGE_ITEMS)
    copy = os.path.join(tmp, "copy.db")
    ok("load", copy, stdin=first)
    again = ok("dump", copy).out_bytes
    assert again == first
    assert ok("check", copy).out == "ok\n"


def test_dump_load_dump__is_identical_through_a_file_and_namespaces(db, tmp):
    fill(db, EDGE_ITEMS)
    dump_path = os.path.join(tmp, "dump.jsonl")
    with open(dump_path, "wb") as f:
        f.write(ok("dump", db).out_bytes)
    with open(dump_path, "rb") as f:
        assert len(f.read().splitlines()) == len(EDGE_ITEMS)
    copy = os.path.join(tmp, "copy.db")
    ok("load", copy, dump_path, "-n", "restored")
    with open(dump_path, "rb") as f:
        assert ok("dump", copy, "-n", "restored").out_bytes == f.read()


def test_get__shows_the_same_forms_as_dump(db):
    fill(db, EDGE_ITEMS)
    for key_args, _, line in EDGE_ITEMS:
        got = ok("get", db, *key_args[:-1], "--", key_args[-1]).out
        value_part = line[line.index('"value": ') + len('"value": '):-1]
        assert got == value_part + "\n", (key_args, got, line)


def test_floats__read_back_bit_for_bit(db, tmp):
    values = [0.1, 1 / 3, 2.0 ** -1074, 1.7976931348623157e308, 123456789.0,
              1e16, -2.5, 5e-324, 2.0 ** 53 + 2]
    for i, v in enumerate(values):
        ok("set", db, f"f{i}", repr(v))
    dump = ok("dump", db).out
    copy = os.path.join(tmp, "copy.db")
    ok("load", copy, stdin=dump)
    for i, v in enumerate(values):
        text = ok("get", copy, f"f{i}").out.strip()
        assert "." in text or "e" in text, text   # reads back as a float
        assert float(text) == v, (v, text)


def test_deep_nesting__within_the_limit_round_trips(db, tmp):
    deep = "[" * 31 + "1" + "]" * 31
    ok("set", db, "deep", deep)
    assert json.loads(ok("get", db, "deep").out) == json.loads(deep)
    copy = os.path.join(tmp, "copy.db")
    ok("load", copy, stdin=ok("dump", db).out)
    assert ok("dump", copy).out == ok("dump", db).out


def test_nesting_beyond_the_limit__is_refused_clearly(db):
    too_deep = "[" * 40 + "]" * 40
    r = permadict("set", db, "deep", too_deep)
    assert_one_line_error(r, 2, db)
    assert not os.path.exists(db)


def test_private_tag_outside_1_to_127__is_refused(db):
    for tag in (0, 128, -1):
        r = permadict("set", db, "p", json.dumps({"$private": [tag, ""]}))
        assert "tag" in assert_one_line_error(r, 2, db)


def test_plain_object_with_dollar_keys__is_refused_not_misread(db):
    for value in ('{"$bytes": "AA==", "other": 1}', '{"$ref": "x"}'):
        line = assert_one_line_error(permadict("set", db, "k", value), 2, db)
        assert "$map" in line


def test_duplicate_object_keys__are_refused(db):
    assert_one_line_error(permadict("set", db, "k", '{"a": 1, "a": 2}'), 2, db)


def test_large_bytes_value__round_trips(db, tmp):
    # 1 MiB: too big for one command-line argument, so it goes through load
    payload = bytes(range(256)) * 4096
    line = json.dumps({"key": "blob",
                       "value": {"$bytes": base64.b64encode(payload).decode()}})
    ok("load", db, stdin=line + "\n")
    got = json.loads(ok("get", db, "blob").out)
    assert base64.b64decode(got["$bytes"]) == payload
    assert ok("dump", db).out == line + "\n"
