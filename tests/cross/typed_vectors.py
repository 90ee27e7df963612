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


# ---------------------------------------------------------------------------
# What each runtime stores: the documented rules for values it cannot hold
# exactly (docs/LUA.md, "Values"). Runtimes: c, python, lua5.4, lua5.3,
# lua5.1, luajit; a "beyond" marker names a runtime or "lua" (all four).

LUA_RUNTIMES = ("lua5.4", "lua5.3", "lua5.1", "luajit")
DOUBLE_RUNTIMES = ("lua5.1", "luajit")  # numbers are doubles only
TWO53 = 2 ** 53


def family(runtime):
    return "lua" if runtime in LUA_RUNTIMES else runtime


def marked_beyond(vec, runtime):
    marks = vec.get("beyond", [])
    return runtime in marks or family(runtime) in marks


def _valid_utf8(b):
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _map(t, fn):
    """t with fn applied to every scalar, as fn(x, is_key): is_key is True
    for the keys of maps (at any depth), False for values and list items."""
    kind = t[0]
    if kind == "list":
        return ["list", [_map(x, fn) for x in t[1]]]
    if kind == "map":
        return ["map", [[fn(k, True), _map(v, fn)] for k, v in t[1]]]
    return fn(t, False)


def _double_number(t, _is_key=False):
    """5.1/LuaJIT: a float that is integral, within 2^53 and not -0.0 is an
    integer to the binding (it cannot tell 1.0 from 1)."""
    if t[0] == "float":
        f = float(t[1])
        if (math.isfinite(f) and f == int(f) and abs(f) <= TWO53
                and not (f == 0 and math.copysign(1, f) < 0)):
            return ["int", str(int(f))]
    return t


def _string_back(t, is_key=False):
    """Lua reads text and bytes values as plain strings, and stores a plain
    string back as text when it is valid UTF-8: a bytes value that is valid
    UTF-8 comes back as text. A bytes key (top-level or of a map) that is
    valid UTF-8 reads as a permadict.bytes box and other bytes keys as plain
    strings that are not UTF-8: either way it is stored back as bytes."""
    if t[0] == "bytes" and not is_key:
        b = bytes.fromhex(t[1])
        if _valid_utf8(b):
            return ["text", b.decode("utf-8")]
    return t


def written_by(runtime, t):
    """What runtime stores when it writes typed value t as well as it can
    (Lua forces text/bytes/int64 with boxes, but has no float box on 5.1)."""
    t = expand(t)
    if runtime in DOUBLE_RUNTIMES:
        return _map(t, _double_number)
    return t


def stored_back_by(runtime, t):
    """What runtime stores when it reads t and writes back what it read."""
    t = expand(t)
    if family(runtime) != "lua":
        return t
    if runtime in DOUBLE_RUNTIMES:
        t = _map(t, _double_number)
    return _map(t, _string_back)


def has_wide_int(t):
    """An integer beyond +-2^53: read as a permadict.int64 box on 5.1/LuaJIT."""
    t = expand(t)
    if t[0] == "int":
        return abs(int(t[1])) > TWO53
    if t[0] == "list":
        return any(has_wide_int(x) for x in t[1])
    if t[0] == "map":
        return any(has_wide_int(k) or has_wide_int(v) for k, v in t[1])
    return False


def key_stored_back_by(runtime, t):
    """What runtime stores when it reads top-level key t (iterating) and
    writes with the key it read."""
    t = expand(t)
    if family(runtime) != "lua":
        return t
    return _string_back(t, is_key=True)


def keys_stored_back_by(runtime, keys):
    """The key vectors after runtime iterated them (in key order) and stored
    each key it read with its name: keys that would read as the same Lua
    value would collapse, the later one winning (by the rule above none do:
    text "1" reads as "1", bytes "1" as a permadict.bytes box)."""
    out = {}
    for vec in sorted(keys, key=lambda v: key_order(v["key"])):
        k = key_stored_back_by(runtime, vec["key"])
        out[json.dumps(k)] = {"name": vec["name"], "key": k}
    return list(out.values())


def rule_applies(vec, runtime, keys=None):
    """True when runtime cannot hold vec exactly, by the rules above: what it
    stores or stores back differs, or it reads an int64 box. With keys (the
    whole key list), vec is a key vector and collisions count too."""
    if keys is not None:
        t = vec["key"]
        back = keys_stored_back_by(runtime, keys)
        survived = any(b["name"] == vec["name"] and b["key"] == t for b in back)
        return (not survived or written_by(runtime, t) != t
                or (runtime in DOUBLE_RUNTIMES and has_wide_int(t)))
    t = expand(vec["value"])
    return (written_by(runtime, t) != t or stored_back_by(runtime, t) != t
            or (runtime in DOUBLE_RUNTIMES and has_wide_int(t)))


def stored_row(t):
    """(type code, SQLite storage class, value) of typed value t as FORMAT.md
    4 stores it; floats as their 8 bytes, text as UTF-8."""
    kind = t[0]
    if kind in ("list", "map", "private"):
        return (6, "blob", canonical_msgpack(t))
    v = scalar(t)
    if kind == "null":
        return (0, "null", None)
    if kind == "bool":
        return (1, "integer", int(v))
    if kind == "int":
        return (2, "integer", v)
    if kind == "float":
        if math.isnan(v):
            return (3, "null", None)  # FORMAT.md: NULL means NaN
        return (3, "real", struct.pack(">d", v))
    if kind == "text":
        return (4, "text", v.encode("utf-8"))
    return (5, "blob", v)


def stored_key(t):
    """(SQLite storage class, stored key) of a typed key."""
    v = scalar(t)
    if t[0] == "int":
        return ("integer", v)
    if t[0] == "text":
        return ("text", v.encode("utf-8"))
    return ("blob", v)
