"""Every value type and edge value survives a round trip, and the limits hold."""

import math

import pytest

import permadict
from permadict import Permadict, Private

EDGE_VALUES = [
    None, True, False, 0, 1, -1, 2**63 - 1, -2**63, 2**53 + 1, 0.0, 1.5, float("inf"),
    float("-inf"), 5e-324, "", "text", "zero\x00byte", "ключ ✓ 𝄞", b"", b"\x00", b"\xff\xfe\x80",
    [], {}, [1, "two", b"3", None, 4.5, [True, []]],
    {"nested": {1: b"int key", b"bk": "bytes key", "": [{}]}},
    {-2**63: 1, 2**63 - 1: 2},
]


def nested(depth):
    """A list nested depth levels deep (the outer list is level 1)."""
    v = []
    for _ in range(depth - 1):
        v = [v]
    return v


@pytest.fixture
def d(db_path):
    with Permadict(db_path) as pd:
        yield pd


@pytest.mark.parametrize("value", EDGE_VALUES, ids=repr)
def test_values__round_trip_exactly(d, value):
    d["k"] = value
    got = d["k"]
    assert got == value and type(got) is type(value)
    d["list"] = [value]
    d["map"] = {"v": value}
    assert d["list"] == [value] and type(d["list"][0]) is type(value)
    assert d["map"] == {"v": value}


def test_values__nan_and_negative_zero_keep_their_identity(d):
    d["nan"] = float("nan")
    d["negzero"] = -0.0
    d["nested"] = [float("nan"), -0.0]
    assert math.isnan(d["nan"])
    assert math.copysign(1.0, d["negzero"]) == -1.0
    assert math.isnan(d["nested"][0]) and math.copysign(1.0, d["nested"][1]) == -1.0


def test_values__bool_is_not_stored_as_int(d):
    d["t"] = True
    d["one"] = 1
    assert d["t"] is True and type(d["one"]) is int
    assert d["one"] is not True


def test_values__tuple_reads_back_as_list(d):
    d["t"] = (1, (2, 3), "x")
    assert d["t"] == [1, [2, 3], "x"]


def test_values__bytearray_and_memoryview_are_stored_as_bytes(d):
    d["ba"] = bytearray(b"\x00ab")
    d["mv"] = memoryview(b"abcdef")[1:4]
    d["strided"] = memoryview(b"abcdef")[::2]
    d["nested"] = [bytearray(b"x"), memoryview(b"yz")]
    assert d["ba"] == b"\x00ab" and type(d["ba"]) is bytes
    assert d["mv"] == b"bcd"
    assert d["strided"] == b"ace"
    assert d["nested"] == [b"x", b"yz"]


@pytest.mark.parametrize("key", [0, -2**63, 2**63 - 1, "", "k\x00ey", b"", b"\xff", "ключ"],
                         ids=repr)
def test_keys__every_kind_round_trips(d, key):
    d[key] = "v"
    assert d[key] == "v" and key in d and list(d) == [key]


def test_keys__one_str_and_bytes_one_are_three_keys(d):
    d[1], d["1"], d[b"1"] = "int", "str", "bytes"
    assert (d[1], d["1"], d[b"1"]) == ("int", "str", "bytes")
    assert len(d) == 3
    assert list(d) == [1, "1", b"1"]  # key order: ints, str, bytes


def test_depth__32_levels_are_stored_and_33_refused(d):
    d["ok"] = nested(32)
    assert d["ok"] == nested(32)
    with pytest.raises(permadict.TooBigError):
        d["deep"] = nested(33)
    with pytest.raises(ValueError):  # TooBigError is also a ValueError
        d["deep"] = {"a": nested(32)}
    assert "deep" not in d


def test_depth__a_list_containing_itself_is_refused(d):
    loop = []
    loop.append(loop)
    with pytest.raises(permadict.TooBigError):
        d["loop"] = loop
    assert "loop" not in d


def test_ints__beyond_64_bits_are_refused_and_nothing_stored(d):
    d["k"] = "before"
    for big in (2**63, -2**63 - 1, 2**100):
        with pytest.raises(OverflowError):
            d["k"] = big
        with pytest.raises(OverflowError):
            d["k"] = [1, {"x": big}]
        with pytest.raises(OverflowError):
            d[big] = 1
    assert d["k"] == "before" and len(d) == 1


def test_str__lone_surrogate_is_refused_clearly(d):
    with pytest.raises(UnicodeEncodeError, match="surrogate"):
        d["k"] = "a\udc80b"
    with pytest.raises(UnicodeEncodeError):
        d["a\ud800"] = 1
    assert len(d) == 0


def test_types__unsupported_value_and_key_types_raise_typeerror(d):
    for bad in (object(), {1, 2}, 1j, Private):
        with pytest.raises(TypeError, match="cannot be stored"):
            d["k"] = bad
    with pytest.raises(TypeError, match="keys"):
        d[1.5] = 1
    with pytest.raises(TypeError, match="keys"):
        d[(1, 2)] = 1
    with pytest.raises(TypeError, match="keys of a stored dict"):
        d["k"] = {1.5: "float key"}
    assert len(d) == 0


def test_private__values_round_trip_opaque(d):
    d["p"] = Private(77, b"\x00opaque")
    d["nested"] = [Private(64, b"")]
    assert d["p"] == Private(77, b"\x00opaque")
    assert d["nested"] == [Private(64, b"")]


def test_private__data_must_be_bytes_like(d):
    assert Private(5, bytearray(b"ab")).data == b"ab"
    assert Private(5, memoryview(b"abcd")[::2]).data == b"ac"
    for data in (5, "text", [1, 2], None):
        with pytest.raises(TypeError, match=rf"^private data must be bytes-like .*, not "
                                            rf"{type(data).__name__}$"):
            Private(5, data)


def test_big__value_of_a_few_megabytes_round_trips(d):
    blob = bytes(range(256)) * 20000
    d["blob"] = blob
    d["text"] = "é" * 1_000_000
    assert d["blob"] == blob and d["text"] == "é" * 1_000_000


def test_keys__over_4096_bytes_are_refused(d):
    with pytest.raises(permadict.TooBigError):
        d["x" * 4097] = 1
    d["x" * 4096] = 1
    assert len(d) == 1


@pytest.mark.parametrize("tag", [0, 128, -1, 2**32 + 1, 2**32 + 200, 2**64 + 1])
def test_private__tag_out_of_range_is_refused_not_wrapped(d, tag):
    p = Private(5, b"payload")
    p.tag = tag  # Private() checks its argument; an attribute set later is checked on store
    with pytest.raises(permadict.InvalidError, match="out of range"):
        d["k"] = p
    with pytest.raises(permadict.InvalidError, match="out of range"):
        d["k"] = [p]
    assert "k" not in d
