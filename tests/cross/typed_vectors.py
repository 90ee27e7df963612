"""The typed-JSON notation of vectors.json (see VECTORS.md), for the harness.

Independent of permadict: it builds the expected MessagePack bytes of each
vector with Debian's python3-msgpack, following docs/FORMAT.md 4.1 only, so the
harness can check that what a language stored is the canonical encoding.
"""
import json
import math
import struct

import msgpack


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def expand(t):
    """Typed value with "nest" expanded."""
    kind = t[0]
    if kind == "nest":
        inner = expand(t[2])
        for _ in range(t[1]):
            inner = ["list", [inner]]
        return inner
    if kind == "list":
        return ["list", [expand(x) for x in t[1]]]
    if kind == "map":
        return ["map", [[expand(k), expand(v)] for k, v in t[1]]]
    return t


def scalar(t):
    """Python value of a scalar typed value (text -> str, bytes -> bytes)."""
    kind = t[0]
    if kind == "null":
        return None
    if kind == "bool":
        return bool(t[1])
    if kind == "int":
        return int(t[1])
    if kind == "float":
        return float(t[1])
    if kind == "text":
        return t[1]
    if kind == "bytes":
        return bytes.fromhex(t[1])
    raise ValueError("not a scalar: %r" % (t,))


def key_order(t):
    """Sort key of a typed map key in permadict key order (FORMAT.md 3)."""
    kind = t[0]
    if kind == "int":
        return (0, int(t[1]), b"")
    if kind == "text":
        return (1, 0, t[1].encode("utf-8"))
    return (2, 0, bytes.fromhex(t[1]))


def canonical_msgpack(t):
    """The bytes FORMAT.md 4.1 requires for typed value t (expanded)."""
    p = msgpack.Packer(use_bin_type=True, use_single_float=False, autoreset=True)
    kind = t[0]
    if kind == "list":
        return p.pack_array_header(len(t[1])) + b"".join(canonical_msgpack(x) for x in t[1])
    if kind == "map":
        entries = sorted(t[1], key=lambda kv: key_order(kv[0]))
        return p.pack_map_header(len(entries)) + b"".join(
            canonical_msgpack(k) + canonical_msgpack(v) for k, v in entries)
    if kind == "private":
        return p.pack(msgpack.ExtType(t[1], bytes.fromhex(t[2])))
    if kind == "float":
        f = float(t[1])
        return b"\xcb" + (b"\x7f\xf8" + bytes(6) if math.isnan(f) else struct.pack(">d", f))
    return p.pack(scalar(t))


def comparable(x):
    """A form of a decoded Python value where == is exact (NaN, -0.0, kinds)."""
    if isinstance(x, bool) or x is None:
        return ("atom", x)
    if isinstance(x, int):
        return ("int", x)
    if isinstance(x, float):
        return ("float", "nan" if math.isnan(x) else struct.pack(">d", x))
    if isinstance(x, str):
        return ("text", x)
    if isinstance(x, (bytes, bytearray)):
        return ("bytes", bytes(x))
    if isinstance(x, tuple):  # ext_hook's private value
        return ("ext", x[1], bytes(x[2]))
    if isinstance(x, list):
        return ("list", tuple(comparable(i) for i in x))
    if isinstance(x, dict):
        return ("map", tuple(sorted(((comparable(k), comparable(v)) for k, v in x.items()),
                                    key=repr)))
    raise TypeError(type(x))


def expected_python(t):
    """What msgpack.unpackb(raw=False, ext_hook=...) should give for t."""
    kind = t[0]
    if kind == "list":
        return [expected_python(x) for x in t[1]]
    if kind == "map":
        return {expected_python(k): expected_python(v) for k, v in t[1]}
    if kind == "private":
        return ("ext", t[1], bytes.fromhex(t[2]))
    return scalar(t)


def ext_hook(code, data):
    return ("ext", code, data)


def unpack(blob):
    return msgpack.unpackb(blob, raw=False, strict_map_key=False, ext_hook=ext_hook,
                           use_list=True)
