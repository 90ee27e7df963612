#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus (tests/fuzz/corpus/): a few hand-made
documents for fuzz_decoder and a few little programs for fuzz_roundtrip.
The outputs are committed; run this again only to change them."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

# Packed documents (docs/FORMAT.md 4.1), valid and not, each a few bytes.
DECODER = {
    "list_int_text": "92 01 a1 61",                      # [1, "a"]
    "map_sorted_mixed_keys": "83 fb 04 a1 61 05 c4 01 78 01",  # {-5:4,"a":5,b"x":1}
    "floats": "93 cb 3f f0 00 00 00 00 00 00 cb 7f f8 00 00 00 00 00 00 ca 3f c0 00 00",
    "nested_map_list": "82 a1 6d c0 a1 7a 83 01 a1 61 02 91 82 a1 78 01 a1 79 00 03 a1 63",
    "private_top": "c7 03 01 61 62 63",
    "private_in_list": "92 d4 40 7a d5 01 80 2e",
    "text_with_zero": "91 a3 61 00 62",
    "bytes_not_utf8": "91 c4 03 ff fe 00",
    "int_edges": "94 cf 7f ff ff ff ff ff ff ff d3 80 00 00 00 00 00 00 00 "
                 "cf 00 20 00 00 00 00 00 01 e0",
    "depth_32": "91 " * 31 + "90",
    "depth_33": "91 " * 32 + "90",
    "empty_containers": "93 90 80 c4 00",
    "bad_utf8": "91 a3 ed a0 80",
    "bad_unsorted_map": "82 a1 62 01 a1 61 02",
    "bad_float_key": "81 cb 3f f0 00 00 00 00 00 00 01",
    "bad_huge_count": "dd ff ff ff ff",
    "bad_trailing": "91 01 02",
}

# fuzz_roundtrip programs: one byte picks an item (op % 11: 0 null, 1 bool,
# 2 int, 3 float, 4 text, 5 bytes, 6 private, 7 list, 8 map, 9/10 inline a
# document), followed by that item's content bytes.
ROUNDTRIP = {
    # [null, true, 2^63-1, NaN, "a\0b", b"\xff\x00"]
    "list_of_scalars": "07 06 00 17 02 03 7f ff ff ff ff ff ff ff "
                       "03 00 00 00 00 00 00 f8 7f 04 03 61 00 62 05 02 ff 00",
    # {"b": 1, "a": null, 5: -60}, given unsorted (in a key position the op
    # byte % 3 picks int, text or bytes)
    "map_unsorted": "08 03 04 01 62 02 00 01 04 01 61 00 00 00 05 02 00 c4",
    # [{"k": [private 64 "z"]}, inlined {1: null, "b": []}]
    "nested": "07 02 08 01 04 01 6b 07 01 06 40 01 7a 09 01",
    "top_text": "04 03 e2 82 ac",
    "duplicate_key": "08 02 04 01 61 00 04 01 61 00",
}

# fuzz_rows programs: an op byte (op % 16: 0/1 set, 2 delete, 3 get,
# 4 contains, 5 count/version, 6 iterate, 7 changes, 8 check, 9 incr,
# 10 pop/get_and_set, 11 set_if_absent/compare_and_swap, 12 clear,
# 13 begin/commit/rollback, 14 stats, 15 raw SQL damage), a key (byte % 4:
# 0 int, 1 text, 2 bytes, 3 a one-letter text key), then the op's content.
ROWS = {
    # set a = 1, b = [1, "a"]; get a; iterate with values; changes; check
    "set_get_iterate": "00 03 02 01 00 07 06 00 03 03 16 03 00 00 00 "
                       "07 03 02 08 03",
    # set a = 1, then a raw row of key "zz", type 3 (float), a REAL value
    "raw_float_row": "00 03 02 01 0f 03 00 01 03 04 02 7a 7a 01 04 03 "
                     "08 03 16 03 00 00 00",
    # set a = 1, then the log row (second row by id) gets type -4: op 4
    "log_row_unknown_op": "00 03 02 01 0f 03 03 01 01 01 0a 07 03 01 08 03",
    # set a = 1; the log row's count becomes INT64_MAX; set b (the count
    # overflowed: now PD_ECORRUPT)
    "count_overflow": "00 03 02 01 0f 03 04 01 01 01 0c 00 07 02 01",
    # begin; set a, b; commit; clear; changes
    "transaction_clear": "0d 03 00 03 02 01 00 07 04 01 61 1d 03 0c 03 "
                         "07 03 03",
}

# fuzz_json inputs: JSON text as `set` and `load` read it (every $-form),
# and one packed document to print (the target tries each input both ways).
JSON = {
    "scalars": '[null, true, false, -9223372036854775808, 1.0, 0.1, 1e300, "a\\u0000b"]',
    "object": '{"b": {"x": [1, 2]}, "a": "\\u00e9"}',
    "tagged": '[{"$bytes": "AP8="}, {"$float": "-0.0"}, {"$float": "nan"}, '
              '{"$private": [64, "eg=="]}]',
    "map_form": '{"$map": [[2, "two"], ["$k", null], [{"$bytes": ""}, [1]]]}',
    "bad_dollar": '{"$bytes": "AB=="}',
    "bad_key": '{"$map": [[1.5, 1]]}',
}
JSON = {name: text.encode().hex() for name, text in JSON.items()}
JSON["packed_map"] = "83 fb 04 a1 24 05 c4 01 78 cb 80 00 00 00 00 00 00 00"
# {-4: null, 0: 47, 4: ""}: an empty text before any other (printed as
# "not valid UTF-8" once)
JSON["packed_empty_text"] = "83 fc c0 00 2f 04 a0"


def write(kind, name, hexbytes):
    d = os.path.join(HERE, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes.fromhex(hexbytes))


for name, h in DECODER.items():
    write("decoder", name, h)
for name, h in ROUNDTRIP.items():
    write("roundtrip", name, h)
for name, h in ROWS.items():
    write("rows", name, h)
for name, h in JSON.items():
    write("json", name, h)
