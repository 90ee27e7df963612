-- Iteration: key order, pairs() on 5.2+, permadict.pairs everywhere, ranges,
-- and deletes made by another handle while a walk is under way.
local T = require("testlib")
local permadict = require("permadict")

local path = T.tmpdir() .. "/iteration.db"
local d = assert(permadict.open(path))

T.case("keys come in key order: integers, then text, then bytes", function()
  d[permadict.bytes("b")] = 6
  d.b = 5
  d.a = 4
  d[10] = 3
  d[-1] = 1
  d[2] = 2
  local keys, values = {}, {}
  for k, v in permadict.pairs(d) do
    keys[#keys + 1] = tostring(k)
    values[#values + 1] = v
  end
  T.eq(table.concat(keys, ","), "-1,2,10,a,b,b")
  T.eq(table.concat(values, ","), "1,2,3,4,5,6")
end)

T.case("pairs(d) walks the dict through __pairs (5.2+)", function()
  if T.lua_version == "5.1" or T.lua_version == "luajit" then
    -- 5.1 has no __pairs: pairs(d) must refuse, not walk something else
    T.raises(function() return pairs(d) end, "table expected")
    return
  end
  local n = 0
  for k, v in pairs(d) do
    n = n + 1
    T.truthy(v ~= nil, "value of " .. tostring(k))
  end
  T.eq(n, 6)
end)

T.case("prefix, start and stop select a range", function()
  for i = 1, 5 do
    d["user:" .. i] = i
  end
  local n = 0
  for k in permadict.pairs(d, { prefix = "user:" }) do
    n = n + 1
    T.truthy(k:find("^user:"), k)
  end
  T.eq(n, 5, "prefix")
  local ks = {}
  for k in permadict.pairs(d, { start = 2, stop = "a" }) do
    ks[#ks + 1] = tostring(k)
  end
  T.eq(table.concat(ks, ","), "2,10", "start inclusive, stop exclusive")
  T.raises(function() permadict.pairs(d, { prefx = "u" }) end, "unknown")
end)

T.case("a prefix, start or stop that cannot be a key is named", function()
  T.raises(function() permadict.pairs(d, { start = true }) end,
           "option 'start' must be a key: a boolean cannot be a key")
  T.raises(function() permadict.pairs(d, { stop = 1.5 }) end,
           "option 'stop' must be a key: key 1.5 is not an integer")
  local err = T.raises(function() permadict.pairs(d, { prefix = {} }) end,
                       "option 'prefix' must be a key: a table cannot be a key")
  T.eq(permadict.errcode(err), "EINVALID", err)
end)

T.case("deletes by another handle mid-walk: deleted keys are not returned", function()
  permadict.clear(d)
  for i = 1, 1000 do
    d[i] = i
  end
  local other = assert(permadict.open(path))
  local seen, count = {}, 0
  for k, v in permadict.pairs(d, { page_size = 100 }) do
    if k == 1 then
      for j = 500, 1000 do
        other[j] = nil -- not yet visited
      end
    end
    T.eq(v, k, "value")
    T.truthy(not seen[k], "each key once")
    seen[k] = true
    count = count + 1
  end
  T.eq(count, 499, "keys 1..499 exactly")
  T.truthy(seen[499] and not seen[500], "stops before the deleted keys")
  permadict.close(other)
end)

T.case("an iterator keeps its dict alive", function()
  local iter
  do
    local local_d = assert(permadict.open(path))
    iter = permadict.pairs(local_d)
  end
  collectgarbage()
  collectgarbage()
  local n = 0
  for _ in iter do
    n = n + 1
  end
  T.eq(n, 499)
end)

T.case("closing the dict ends its iterators with a clear error", function()
  local local_d = assert(permadict.open(path))
  local iter = permadict.pairs(local_d)
  T.truthy(iter() ~= nil, "first item")
  permadict.close(local_d)
  T.raises(iter, "attempt to use a closed permadict")
end)

T.case("a row that cannot be decoded raises naming its key; the walk goes on past it", function()
  local bad_path = T.tmpdir() .. "/undecodable.db"
  local bd = assert(permadict.open(bad_path))
  bd.a, bd.b, bd.c, bd.d = 1, permadict.array({ 1, 2 }), 3, "x"
  -- Damage two rows with raw SQL: a packed value that is not MessagePack, an unknown type.
  local sql = "UPDATE permadict_rows SET value = x'c1' WHERE type >= 0 AND key = 'b';" ..
              "UPDATE permadict_rows SET type = 99 WHERE type >= 0 AND key = 'c';"
  local ok = os.execute(("sqlite3 '%s' \"%s\""):format(bad_path, sql))
  T.truthy(ok == true or ok == 0, "sqlite3 shell ran")
  local iter, state, ctl = permadict.pairs(bd)
  local seen = {}
  for _ = 1, 5 do
    local fine, k, v = pcall(iter, state, ctl)
    if fine then
      seen[#seen + 1] = tostring(k) .. "=" .. tostring(v)
    else
      T.eq(permadict.errcode(k), "EDECODE", "error code")
      local key = k:match("entry '(%w)'")
      T.truthy(key, "the message names the key: " .. k)
      seen[#seen + 1] = "error:" .. key
    end
  end
  T.eq(table.concat(seen, ","), "a=1,error:b,error:c,d=x,nil=nil")
  -- Keys alone need no value decoding: all four come.
  local keys = {}
  for k in permadict.pairs(bd, { values = false }) do
    keys[#keys + 1] = k
  end
  T.eq(table.concat(keys, ","), "a,b,c,d")
  permadict.close(bd)
end)

T.done()
