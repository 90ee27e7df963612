--[[ The Lua side of the vector exchange; same commands as pd_vectors.c:

  vectors.lua write FILE NS VECTORS
  vectors.lua check FILE NS VECTORS
  vectors.lua copy  FILE IN OUT VECTORS   (check IN, store what was read in OUT)

Runs on Lua 5.4, 5.3, 5.1 and LuaJIT. Lua cannot hold every value exactly,
so reading follows docs/LUA.md and this program checks that rule rather than
an exact copy:
  - text and bytes values both read as plain strings, so a string written
    back is text when it is valid UTF-8 (bytes values that are valid UTF-8
    come back as text);
  - a bytes key (a top-level key from pairs, or a map key) that is valid
    UTF-8 reads as a permadict.bytes box; other bytes keys are plain strings
    that are not UTF-8. Either way the key written back is bytes again, and
    never the text key of the same content;
  - on 5.1/LuaJIT numbers are doubles: integers beyond +-2^53 read as
    permadict.int64 boxes holding the exact digits, never a rounded number,
    and a float read is indistinguishable from an integer of the same value.
Values are compared through a "view": a string that spells out what a Lua
program can observe (kind, box or plain string, exact digits or bits). The
expected view is derived from the typed vector by the same rule, so a value
read differently from the rule (a rounded integer, a lost box, a list read as
a map) is a mismatch. On writing, typed text/bytes/int are forced with
permadict.text/bytes/int64 so that the writer is exact wherever Lua can be.
Vectors that a Lua runtime cannot represent exactly carry "beyond" markers in
vectors.json; run_vectors.py checks the stored rows against the rule.
]]

local ok, permadict = pcall(require, "permadict")
if not ok then -- binding not built for this Lua: skipped, never passed
  print("SKIPPED: cannot load permadict: " .. tostring(permadict))
  os.exit(77)
end

local exact_integers = math.type ~= nil -- 5.3+: integers are their own subtype
local RUNTIME = (jit and "luajit") or ("lua" .. _VERSION:match("%d+%.%d+"))

-- ------------------------------------------------------------ JSON reader
-- A small reader for vectors.json (trusted data): objects, arrays, strings
-- with every escape (\u0000 and surrogate pairs included), numbers, literals.

local function utf8_char(cp)
  if cp < 0x80 then
    return string.char(cp)
  elseif cp < 0x800 then
    return string.char(0xC0 + math.floor(cp / 0x40), 0x80 + cp % 0x40)
  elseif cp < 0x10000 then
    return string.char(0xE0 + math.floor(cp / 0x1000), 0x80 + math.floor(cp / 0x40) % 0x40,
                       0x80 + cp % 0x40)
  end
  return string.char(0xF0 + math.floor(cp / 0x40000), 0x80 + math.floor(cp / 0x1000) % 0x40,
                     0x80 + math.floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
end

local function json_decode(s)
  local pos = 1
  local value
  local function fail(what)
    error(("vectors.json: %s at byte %d"):format(what, pos), 0)
  end
  local function skip()
    pos = s:find("[^ \t\r\n]", pos) or #s + 1
  end
  local escapes = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f",
                    n = "\n", r = "\r", t = "\t" }
  local function hex4()
    local h = s:sub(pos, pos + 3)
    if not h:match("^%x%x%x%x$") then fail("bad \\u escape") end
    pos = pos + 4
    return tonumber(h, 16)
  end
  local function str()
    pos = pos + 1
    local out = {}
    while true do
      local c = s:sub(pos, pos)
      if c == "" then fail("unterminated string") end
      if c == '"' then pos = pos + 1; return table.concat(out) end
      if c == "\\" then
        local e = s:sub(pos + 1, pos + 1)
        pos = pos + 2
        if e == "u" then
          local cp = hex4()
          if cp >= 0xD800 and cp <= 0xDBFF and s:sub(pos, pos + 1) == "\\u" then
            pos = pos + 2
            cp = 0x10000 + (cp - 0xD800) * 0x400 + (hex4() - 0xDC00)
          end
          out[#out + 1] = utf8_char(cp)
        elseif escapes[e] then
          out[#out + 1] = escapes[e]
        else
          fail("bad escape")
        end
      else
        out[#out + 1] = c
        pos = pos + 1
      end
    end
  end
  function value()
    skip()
    local c = s:sub(pos, pos)
    if c == "{" then
      local obj = {}
      pos = pos + 1
      skip()
      if s:sub(pos, pos) == "}" then pos = pos + 1; return obj end
      while true do
        skip()
        if s:sub(pos, pos) ~= '"' then fail("expected a name") end
        local k = str()
        skip()
        if s:sub(pos, pos) ~= ":" then fail("expected ':'") end
        pos = pos + 1
        obj[k] = value()
        skip()
        local d = s:sub(pos, pos)
        pos = pos + 1
        if d == "}" then return obj end
        if d ~= "," then fail("expected ',' or '}'") end
      end
    elseif c == "[" then
      local arr = {}
      pos = pos + 1
      skip()
      if s:sub(pos, pos) == "]" then pos = pos + 1; return arr end
      while true do
        arr[#arr + 1] = value()
        skip()
        local d = s:sub(pos, pos)
        pos = pos + 1
        if d == "]" then return arr end
        if d ~= "," then fail("expected ',' or ']'") end
      end
    elseif c == '"' then
      return str()
    elseif s:sub(pos, pos + 3) == "true" then pos = pos + 4; return true
    elseif s:sub(pos, pos + 4) == "false" then pos = pos + 5; return false
    elseif s:sub(pos, pos + 3) == "null" then pos = pos + 4; return nil
    end
    local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
    if not num then fail("unexpected character") end
    pos = pos + #num
    return tonumber(num)
  end
  return value()
end

local function load_vectors(path)
  local f = assert(io.open(path, "rb"))
  local data = json_decode(f:read("*a"))
  f:close()
  return data
end

-- ---------------------------------------------------------- typed values

local function unhex(h)
  h = h:gsub("%s", "")
  return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

local function tohex(s)
  return (s:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

-- "nest" expanded, as typed_vectors.expand does.
local function expand(t)
  local kind = t[1]
  if kind == "nest" then
    local inner = expand(t[3])
    for _ = 1, t[2] do inner = { "list", { inner } } end
    return inner
  elseif kind == "list" then
    local items = {}
    for i, x in ipairs(t[2]) do items[i] = expand(x) end
    return { "list", items }
  elseif kind == "map" then
    local entries = {}
    for i, kv in ipairs(t[2]) do entries[i] = { expand(kv[1]), expand(kv[2]) } end
    return { "map", entries }
  end
  return t
end

local function float_of(s)
  if s == "nan" then return 0 / 0 end
  if s == "inf" then return 1 / 0 end
  if s == "-inf" then return -1 / 0 end
  local f = tonumber(s)
  -- Keep the float subtype on 5.3+ ("1.0" is already a float; + 0.0 would
  -- turn -0.0 into 0.0, so only integers are converted).
  if exact_integers and math.type(f) == "integer" then f = f + 0.0 end
  return f
end

-- The Lua value that stores typed value t as exactly as this Lua can.
local function native(t)
  local kind = t[1]
  if kind == "null" then return permadict.null
  elseif kind == "bool" then return t[2]
  elseif kind == "int" then return permadict.int64(t[2])
  elseif kind == "float" then return float_of(t[2])
  elseif kind == "text" then return permadict.text(t[2])
  elseif kind == "bytes" then return permadict.bytes(unhex(t[2]))
  elseif kind == "private" then return permadict.private(t[2], unhex(t[3]))
  elseif kind == "list" then
    local l = {}
    for i, x in ipairs(t[2]) do l[i] = native(x) end
    return permadict.array(l)
  elseif kind == "map" then
    local m = {}
    for _, kv in ipairs(t[2]) do m[native(kv[1])] = native(kv[2]) end
    return permadict.map(m)
  end
  error("unknown kind " .. tostring(kind))
end

-- ------------------------------------------------------------------ views

local TWO53 = 2 ^ 53

local function float_view(f)
  if f ~= f then return "f:nan" end
  return "f:" .. ("%.17g"):format(f)
end

-- How a number read on 5.1/LuaJIT looks: the binding gives integers within
-- +-2^53 as integral numbers, so an integral float is seen the same way.
local function double_view(f)
  if f == math.floor(f) and math.abs(f) <= TWO53 and not (f == 0 and 1 / f < 0) then
    return ("i:%.0f"):format(f)
  end
  return float_view(f)
end

local function is_box(v, mt)
  return type(v) == "table" and getmetatable(v) == getmetatable(mt)
end
local BYTES_BOX, INT64_BOX = permadict.bytes(""), (not exact_integers) and permadict.int64("0")
local PRIVATE_BOX = permadict.private(1, "")

local function sorted_concat(parts)
  table.sort(parts)
  return table.concat(parts, ",")
end

-- The view of a value read through the binding.
local function view_of(v)
  local ty = type(v)
  if v == permadict.null then return "null"
  elseif ty == "boolean" then return "bool:" .. tostring(v)
  elseif ty == "number" then
    if exact_integers then
      if math.type(v) == "integer" then return ("i:%d"):format(v) end
      return float_view(v)
    end
    return double_view(v)
  elseif ty == "string" then return "s:" .. tohex(v)
  elseif ty == "table" then
    if is_box(v, BYTES_BOX) then return "b:" .. tohex(v[1])
    elseif INT64_BOX and is_box(v, INT64_BOX) then return "box:" .. tostring(v)
    elseif is_box(v, PRIVATE_BOX) then return ("p:%d:%s"):format(v.tag, tohex(v.data))
    elseif getmetatable(v) == getmetatable(permadict.array()) then
      local parts = {}
      for i = 1, #v do parts[i] = view_of(v[i]) end
      return "[" .. table.concat(parts, ",") .. "]"
    elseif getmetatable(v) == getmetatable(permadict.map()) then
      local parts = {}
      for k, x in next, v do parts[#parts + 1] = view_of(k) .. "=" .. view_of(x) end
      return "{" .. sorted_concat(parts) .. "}"
    end
    return "table without a list/map marker"
  end
  return "unexpected " .. ty
end

-- true when s is valid UTF-8 (as pd_utf8_valid: shortest forms only, no
-- surrogates, nothing beyond U+10FFFF), decided independently of the binding.
local function valid_utf8(s)
  local i, n = 1, #s
  while i <= n do
    local c = s:byte(i)
    local len, min
    if c < 0x80 then len, min = 1, 0
    elseif c >= 0xC2 and c <= 0xDF then len, min = 2, 0x80
    elseif c >= 0xE0 and c <= 0xEF then len, min = 3, 0x800
    elseif c >= 0xF0 and c <= 0xF4 then len, min = 4, 0x10000
    else return false end
    if i + len - 1 > n then return false end
    local cp = len == 1 and c or c % (2 ^ (7 - len))
    for j = i + 1, i + len - 1 do
      local b = s:byte(j)
      if b < 0x80 or b > 0xBF then return false end
      cp = cp * 64 + (b - 0x80)
    end
    if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return false end
    i = i + len
  end
  return true
end

-- |n| > 2^53 for decimal digits n, decided on the digits (a double would
-- round 2^53+1 down to 2^53).
local function beyond_2p53(digits)
  local mag = digits:gsub("^%-", "")
  local limit = "9007199254740992"
  return #mag > #limit or (#mag == #limit and mag > limit)
end

-- The view the rule of docs/LUA.md predicts for typed value t.
-- is_key: t is a key (top-level, or of a map), where a bytes key that is
-- valid UTF-8 is read as a permadict.bytes box.
local function expected_view(t, is_key)
  local kind = t[1]
  if kind == "null" then return "null"
  elseif kind == "bool" then return "bool:" .. tostring(t[2])
  elseif kind == "int" then
    local digits = t[2]
    if not exact_integers and beyond_2p53(digits) then
      return "box:" .. digits
    end
    return "i:" .. digits
  elseif kind == "float" then
    if exact_integers then return float_view(float_of(t[2])) end
    return double_view(float_of(t[2]))
  elseif kind == "text" then return "s:" .. tohex(t[2])
  elseif kind == "bytes" then
    local b = unhex(t[2])
    if is_key and valid_utf8(b) then return "b:" .. tohex(b) end
    return "s:" .. tohex(b)
  elseif kind == "private" then return ("p:%d:%s"):format(t[2], tohex(unhex(t[3])))
  elseif kind == "list" then
    local parts = {}
    for i, x in ipairs(t[2]) do parts[i] = expected_view(x) end
    return "[" .. table.concat(parts, ",") .. "]"
  elseif kind == "map" then
    local parts = {}
    for _, kv in ipairs(t[2]) do
      parts[#parts + 1] = expected_view(kv[1], true) .. "=" .. expected_view(kv[2])
    end
    return "{" .. sorted_concat(parts) .. "}"
  end
  error("unknown kind " .. tostring(kind))
end

-- --------------------------------------------------------------- commands

local failures = 0
local function failure(fmt, ...)
  print(fmt:format(...))
  failures = failures + 1
end

local function open(path, ns)
  return assert(permadict.open(path, { name = ns }))
end

local function write(path, ns, data)
  local d = open(path, ns)
  for _, vec in ipairs(data.values) do
    local okw, err = pcall(function() d[vec.name] = native(expand(vec.value)) end)
    if not okw then failure("WRITE %s failed: %s", vec.name, tostring(err)) end
  end
  permadict.close(d)
  local k = open(path, ns .. ".keys")
  for _, vec in ipairs(data.keys) do
    local okw, err = pcall(function() k[native(vec.key)] = vec.name end)
    if not okw then failure("WRITE key %s failed: %s", vec.name, tostring(err)) end
  end
  permadict.close(k)
end

local function check(path, ns, data, out)
  local src = assert(permadict.open(path, { name = ns, readonly = true }))
  local dst = out and open(path, out)
  for _, vec in ipairs(data.values) do
    local okr, got = pcall(function() return src[vec.name] end)
    local want = expected_view(expand(vec.value))
    if not okr then
      failure("READ %s failed: %s", vec.name, tostring(got))
    elseif got == nil then
      failure("MISSING %s", vec.name)
    elseif view_of(got) ~= want then
      failure("MISMATCH %s (%s):\n  expected %s\n  got      %s", vec.name, RUNTIME, want,
              view_of(got))
    elseif dst then
      dst[vec.name] = got -- what was read, as read: the rule decides how it is stored
    end
  end
  permadict.close(src)
  if dst then permadict.close(dst) end

  -- Keys: iterate, so that they come from the library. Each key read is
  -- matched by the name stored with it, and must address that same item
  -- again (text "1" reads as "1", bytes "1" as a permadict.bytes box).
  local ksrc = assert(permadict.open(path, { name = ns .. ".keys", readonly = true }))
  local kdst = out and open(path, out .. ".keys")
  local wanted, seen = {}, {}
  for _, vec in ipairs(data.keys) do wanted[vec.name] = expected_view(vec.key, true) end
  for key, name in permadict.pairs(ksrc) do
    if wanted[name] == nil or view_of(key) ~= wanted[name] then
      failure("KEY MISMATCH %s: expected %s, got %s", tostring(name), tostring(wanted[name]),
              view_of(key))
    elseif seen[name] then
      failure("KEY %s read twice", tostring(name))
    elseif ksrc[key] ~= name then
      failure("KEY %s read as %s does not address its item (got %s)", tostring(name),
              view_of(key), tostring(ksrc[key]))
    else
      seen[name] = true
      if kdst then kdst[key] = name end
    end
  end
  for _, vec in ipairs(data.keys) do
    if not seen[vec.name] then failure("MISSING key %s", vec.name) end
  end
  permadict.close(ksrc)
  if kdst then permadict.close(kdst) end
end

local cmd = arg[1]
if cmd == "write" and #arg == 4 then
  write(arg[2], arg[3], load_vectors(arg[4]))
elseif cmd == "check" and #arg == 4 then
  check(arg[2], arg[3], load_vectors(arg[4]), nil)
elseif cmd == "copy" and #arg == 5 then
  check(arg[2], arg[3], load_vectors(arg[5]), arg[4])
else
  io.stderr:write("usage: vectors.lua write|check FILE NS VECTORS | copy FILE IN OUT VECTORS\n")
  os.exit(2)
end
if failures > 0 then
  print(("%d failure(s) on %s"):format(failures, RUNTIME))
  os.exit(1)
end
