-- Values survive a round trip through the file with their kind intact: the
-- shared edge values (zero bytes, non-UTF-8, 2^53+1, NaN, -0.0, deep
-- nesting, maps with integer keys) on every Lua version.
local T = require("testlib")
local permadict = require("permadict")

local dir = T.tmpdir()
local path = dir .. "/values.db"
local d = assert(permadict.open(path))
-- A second handle reads what the first wrote through the file, not a cache.
local r = assert(permadict.open(path))

-- Computed, not a literal: Lua 5.1's constant folding turns -0.0 into 0.
local negative_zero = 1 / -math.huge

local function roundtrip(v)
  d.v = v
  return r.v
end

local array_mt = getmetatable(permadict.array {})
local map_mt = getmetatable(permadict.map {})

T.case("text with a zero byte reads back whole", function()
  local got = roundtrip("a\0b\0")
  T.eq(got, "a\0b\0")
  T.eq(#got, 4, "length")
end)

T.case("a string that is not UTF-8 is stored as bytes and reads back equal", function()
  local s = "\255\254\0\128"
  T.eq(roundtrip(s), s)
  -- bytes and text are different keys: the string key stays apart from
  -- an explicitly text key of the same bytes
  d[s] = "as-bytes"
  T.eq(r[permadict.bytes(s)], "as-bytes", "same key via permadict.bytes")
end)

T.case("text and bytes of the same content are two keys", function()
  d.k = "text"
  d[permadict.bytes("k")] = "bytes"
  T.eq(r.k, "text")
  T.eq(r[permadict.text("k")], "text")
  T.eq(r[permadict.bytes("k")], "bytes")
  d[permadict.bytes("k")] = nil
  T.eq(r.k, "text", "deleting the bytes key keeps the text key")
end)

T.case("permadict.text refuses a string that is not UTF-8", function()
  T.raises(function() d.t = permadict.text("\255") end, "EINVALID")
end)

T.case("empty text and empty bytes", function()
  T.eq(roundtrip(""), "")
  T.eq(roundtrip(permadict.bytes("")), "")
end)

T.case("keys with zero bytes and non-UTF-8 bytes", function()
  d["kz\0y"] = 1
  d["\0\255"] = 2
  T.eq(r["kz\0y"], 1)
  T.eq(r["kz"], nil, "the key is not cut at the zero byte")
  T.eq(r["\0\255"], 2)
end)

T.case("2^53+1 is exact", function()
  if T.exact_integers then
    local n = 9007199254740993
    local got = roundtrip(n)
    T.eq(got, n)
    T.eq(math.type(got), "integer", "math.type")
    T.eq(roundtrip({ n })[1], n, "inside a list")
  else
    -- 5.1/LuaJIT: the exact integer travels as a permadict.int64 box,
    -- never as a rounded double.
    local got = roundtrip(permadict.int64("9007199254740993"))
    T.eq(type(got), "table", "type")
    T.eq(tostring(got), "9007199254740993")
    T.eq(got, permadict.int64("9007199254740993"), "boxes compare by value")
    T.eq(got, permadict.int64("09007199254740993"), "leading zeros do not count")
    T.eq(permadict.int64("-0"), permadict.int64("0"), "-0 is 0")
    T.truthy(got ~= permadict.int64("9007199254740995"), "other values differ")
    T.eq(tostring(roundtrip({ got })[1]), "9007199254740993", "inside a list")
    T.eq(roundtrip(2 ^ 53), 2 ^ 53, "2^53 itself is a plain number")
  end
end)

T.case("2^63-1 and -2^63 are exact", function()
  if T.exact_integers then
    T.eq(roundtrip(math.maxinteger), math.maxinteger)
    T.eq(roundtrip(math.mininteger), math.mininteger)
  else
    T.eq(tostring(roundtrip(permadict.int64("9223372036854775807"))), "9223372036854775807")
    T.eq(tostring(roundtrip(permadict.int64("-9223372036854775808"))), "-9223372036854775808")
    T.raises(function() permadict.set(d, "x", permadict.int64("9223372036854775808")) end,
             "signed 64-bit")
  end
end)

T.case("integers stay integers and floats stay floats", function()
  T.eq(roundtrip(42), 42)
  T.eq(roundtrip(-7), -7)
  T.eq(roundtrip(0.5), 0.5)
  if T.exact_integers then
    T.eq(math.type(roundtrip(3.0)), "float", "3.0")
    T.eq(math.type(roundtrip(3)), "integer", "3")
  end
  d.v = 3
  T.eq(permadict.incr(d, "v", 1), 4, "an integral value incremented by an integer")
end)

T.case("NaN, -0.0 and the infinities", function()
  local nan = roundtrip(0 / 0)
  T.truthy(nan ~= nan, "NaN reads back as NaN")
  local z = roundtrip(negative_zero)
  T.eq(z, 0)
  T.eq(1 / z, -math.huge, "the sign of -0.0")
  T.eq(roundtrip(math.huge), math.huge)
  T.eq(roundtrip(-math.huge), -math.huge)
  local l = roundtrip({ negative_zero, 0 / 0 })
  T.eq(1 / l[1], -math.huge, "-0.0 inside a list")
  T.truthy(l[2] ~= l[2], "NaN inside a list")
end)

T.case("booleans and null", function()
  T.eq(roundtrip(true), true)
  T.eq(roundtrip(false), false)
  T.eq(roundtrip(permadict.null), permadict.null)
  T.eq(permadict.contains(r, "v"), true, "a null value is present")
end)

T.case("a proper sequence is a list, null keeps its place", function()
  local l = roundtrip({ 1, "two", 3.5, true, permadict.null })
  T.eq(#l, 5, "length")
  T.eq(l[2], "two")
  T.eq(l[5], permadict.null)
  T.eq(getmetatable(l), array_mt, "read back as a list")
end)

T.case("nested maps with integer keys keep their key kinds", function()
  local m = roundtrip({ [1] = "a", [3] = "c", [-7] = { x = 1 }, name = "n", ["1"] = "text one" })
  T.eq(getmetatable(m), map_mt, "a map")
  T.eq(m[1], "a")
  T.eq(m[3], "c")
  T.eq(m[-7].x, 1)
  T.eq(m.name, "n")
  T.eq(m["1"], "text one", "text key '1' apart from integer key 1")
end)

T.case("empty table is an empty map; array{} and map{} force the kind", function()
  T.eq(getmetatable(roundtrip({})), map_mt, "{}")
  local l = roundtrip(permadict.array {})
  T.eq(getmetatable(l), array_mt, "array{}")
  T.eq(next(l), nil, "empty")
  T.eq(getmetatable(roundtrip(permadict.map { "x", "y" })), map_mt, "map{'x','y'}")
  -- what was read back is written back as the same kind
  T.eq(getmetatable(roundtrip(l)), array_mt, "an empty list stays a list")
  T.raises(function() d.v = permadict.array { 1, nil, 3 } end, "permadict.null for holes")
end)

T.case("a map with a text key and an equal bytes key keeps both", function()
  local m = roundtrip({ k = "text", [permadict.bytes("k")] = "bytes" })
  T.eq(m.k, "text")
  local bytes_value
  for key, v in pairs(m) do
    if type(key) == "table" then
      T.eq(tostring(key), "k", "boxed bytes key")
      bytes_value = v
    end
  end
  T.eq(bytes_value, "bytes")
end)

T.case("bytes keys that are valid UTF-8 come back as boxes that reach them", function()
  local f = assert(permadict.open(dir .. "/byteskeys.db"))
  f[permadict.bytes("cfg")] = "from python"
  f.only_text = 1
  f[permadict.bytes("\255")] = "not utf-8"
  local since = permadict.version(f)
  for k in permadict.pairs(f) do
    f[k] = nil -- "delete every key" must reach every key
  end
  T.eq(#f, 0, "every iterated key deleted")
  f.dup = "text"
  f[permadict.bytes("dup")] = "bytes"
  local got = {}
  for k, v in permadict.pairs(f) do
    got[#got + 1] = tostring(k) .. "=" .. v
    T.eq(f[k], v, "d[k] for key " .. tostring(k))
  end
  T.eq(table.concat(got, " "), "dup=text dup=bytes")
  local kinds = {}
  for _, c in ipairs(permadict.changes(f, since)) do
    kinds[#kinds + 1] = c.op .. ":" .. type(c.key)
  end
  T.eq(table.concat(kinds, " "),
       "delete:string delete:table delete:string set:string set:table", "changes")
  local box = permadict.changes(f, since)[5].key
  T.eq(box, permadict.bytes("dup"), "a bytes box equals a box of the same content")
  T.truthy(box ~= permadict.text("dup"), "but not a text box")
  -- a map with a bytes key, read and written back, keeps the bytes key
  f.m = { [permadict.bytes("k")] = 1 }
  f.m = f.m
  T.eq(permadict.compare_and_set(f, "m", { [permadict.bytes("k")] = 1 }, 2), true,
       "still a bytes key")
  permadict.close(f)
end)

T.case("a string just read matches itself in compare_and_set, text or bytes", function()
  local f = assert(permadict.open(":memory:"))
  f.b = permadict.bytes("abc") -- as Python's b"abc" would store it
  f.t = "abc"
  local b, t = f.b, f.t
  T.eq(type(b), "string")
  T.eq(permadict.compare_and_set(f, "b", b, permadict.bytes("abd")), true, "bytes read back")
  T.eq(permadict.compare_and_set(f, "t", t, "abd"), true, "text read back")
  T.eq(permadict.compare_and_set(f, "b", "abc", "x"), false, "other content: no match")
  T.eq(permadict.compare_and_set(f, "b", permadict.text("abd"), "x"), false,
       "a text box still means text")
  T.eq(permadict.compare_and_set(f, "b", "abd", permadict.bytes("abe")), true)
  T.eq(f.b, "abe")
  permadict.close(f)
end)

T.case("int64 and private refuse what they cannot hold, at construction", function()
  for _, digits in ipairs({ "-9223372036854775809", "-9223372036854776000",
                            "9223372036854775808", "99999999999999999999" }) do
    local ok, err = pcall(permadict.int64, digits)
    T.eq(ok, false, digits .. " refused")
    T.eq(permadict.errcode(err), "EINVALID", tostring(err))
  end
  T.eq(tostring(permadict.int64("-9223372036854775808")), "-9223372036854775808")
  T.eq(tostring(permadict.int64("0009223372036854775807")), T.exact_integers and
       "9223372036854775807" or "0009223372036854775807", "leading zeros")
  for _, tag in ipairs({ 1.9, 0, 128, 300, 2 ^ 40 + 1, 0 / 0 }) do
    local ok, err = pcall(permadict.private, tag, "x")
    T.eq(ok, false, tostring(tag) .. " refused")
    T.eq(permadict.errcode(err), "EINVALID", tostring(err))
  end
  -- a private value read back and given a bad tag is refused when stored
  d.pv = permadict.private(1, "x")
  local pv = d.pv
  pv.tag = 1.9
  local ok, err = pcall(function() d.pv = pv end)
  T.eq(ok, false, "tag 1.9 stored")
  T.eq(permadict.errcode(err), "EINVALID", tostring(err))
  T.eq(r.pv.tag, 1)
end)

-- Resident memory in MiB (Linux), or nil.
local function rss_mib()
  local f = io.open("/proc/self/statm")
  if not f then
    return nil
  end
  local _, pages = f:read("*n", "*n")
  f:close()
  return pages and pages * 4096 / 2 ^ 20
end

-- A finalizer that raises while a value is unpacked aborts the read
-- halfway. Only 5.1 and LuaJIT pass such an error on to the read (5.3
-- rarely runs a finalizer there, 5.4 makes its error a warning), so only
-- there can this be made to happen, and only there is the case run.
local finalizer_errors_reach_reads = T.lua_version == "5.1" or T.lua_version == "luajit"
if finalizer_errors_reach_reads then
T.case("an error in the middle of a read gives the decoder back", function()
  -- Each decoder left behind would keep its copy of the 33 MiB document.
  T.truthy(rss_mib(), "/proc/self/statm is readable")
  local many = {}
  for i = 1, 5000 do
    many[i] = { i }
  end
  d.huge = { ("x"):rep(33 * 1024 * 1024), many }
  many = nil
  local armed = false
  local function bomb()
    local gc = function() if armed then error("finalizer bomb") end end
    if newproxy then
      getmetatable(newproxy(true)).__gc = gc
    else
      setmetatable({}, { __gc = gc })
    end
  end
  local function read() return d.huge end
  local pause = collectgarbage("setpause", 100)
  local stepmul = collectgarbage("setstepmul", 400)
  local before, failed_reads = nil, 0
  for i = 1, 8 do
    collectgarbage()
    collectgarbage()
    if i == 3 then
      before = rss_mib()
    end
    bomb()
    armed = true
    local ok, err = pcall(read)
    armed = false
    if not ok and tostring(err):find("finalizer bomb", 1, true) then
      failed_reads = failed_reads + 1
    end
  end
  collectgarbage()
  collectgarbage()
  collectgarbage("setpause", pause)
  collectgarbage("setstepmul", stepmul)
  local grown = rss_mib() - before
  T.truthy(failed_reads > 0, "the finalizer's error ended a read halfway")
  T.truthy(grown < 33, ("no decoder kept per failed read (grew %.0f MiB)"):format(grown))
  T.eq(type(r.huge), "table", "reads work afterwards")
  d.huge = nil
end)
end

local function nest(depth)
  local t = "leaf"
  for _ = 1, depth do
    t = { t }
  end
  return t
end

T.case("nesting 32 deep is stored, 33 is refused and nothing changes", function()
  d.deep = nest(32)
  local t = r.deep
  for _ = 1, 31 do
    t = t[1]
  end
  T.eq(t[1], "leaf", "the innermost item")
  T.raises(function() d.deep = nest(33) end, "nested more than 32")
  T.eq(r.deep[1][1][1] ~= nil, true, "the 32-deep value is still there")
end)

T.case("a table that contains itself is refused, not a crash", function()
  local t = {}
  t[1] = t
  T.raises(function() d.loop = t end, "contains itself")
  T.eq(r.loop, nil)
end)

T.case("private values read back as typed opaque values", function()
  local pickle = "\128\4\149\11\0\0\0\0\0\0\0\140\5hello\148."
  local p = roundtrip(permadict.private(1, pickle))
  T.eq(p.tag, 1, "tag")
  T.eq(p.data, pickle, "payload")
  T.truthy(tostring(p):find("private", 1, true), "tostring says what it is")
  local l = roundtrip({ p, 2 })
  T.eq(l[1].data, pickle, "inside a list, written back from what was read")
end)

T.case("number keys: 1.0 is key 1, 1.5 and booleans are refused", function()
  d[1] = "one"
  T.eq(r[1.0], "one")
  T.raises(function() d[1.5] = 1 end, "not an integer")
  if T.exact_integers then
    d[2 ^ 60] = "2^60" -- a whole float is its integer, as in a Lua table
    T.eq(r[math.tointeger(2 ^ 60)], "2^60")
  else
    -- a double that large may be a rounded integer: it says so, not "not an integer"
    T.raises(function() d[2 ^ 60] = 1 end, "beyond +-2^53")
    d[permadict.int64("1152921504606846976")] = "2^60"
    T.eq(r[permadict.int64("1152921504606846976")], "2^60")
  end
  T.raises(function() return d[true] end, "keys are integers or strings")
  T.raises(function() d.f = function() end end, "cannot store a function")
end)

T.case("a whole number key beyond 64 bits says so, not 'not an integer'", function()
  for _, x in ipairs({ 2 ^ 63, -(2 ^ 64), 1e300 }) do
    local err = T.raises(function() d[x] = 1 end, "outside the signed 64-bit range")
    T.eq(permadict.errcode(err), "EINVALID", err)
  end
  T.raises(function() d[math.huge] = 1 end, "not an integer")
end)

T.done()
