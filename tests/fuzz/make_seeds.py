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


def write(kind, name, hexbytes):
    d = os.path.join(HERE, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(bytes.fromhex(hexbytes))


for name, h in DECODER.items():
    write("decoder", name, h)
for name, h in ROUNDTRIP.items():
    write("roundtrip", name, h)
