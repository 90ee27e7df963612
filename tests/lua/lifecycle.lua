-- Closing: explicit close, double close, use after close, __gc, and
-- <close> on Lua 5.4. A dict that is closed (by any route) rolls back its
-- open transaction, which is how the tests observe that it happened.
local T = require("testlib")
local permadict = require("permadict")

local path = T.tmpdir() .. "/lifecycle.db"
local watcher = assert(permadict.open(path, { timeout = 0.2 }))

-- true when no other handle holds the write lock.
local function lock_free()
  local ok = pcall(permadict.begin, watcher)
  if ok then
    permadict.rollback(watcher)
  end
  return ok
end

T.case("close twice is harmless; use after close raises", function()
  local d = assert(permadict.open(path))
  d.a = 1
  permadict.close(d)
  permadict.close(d)
  T.raises(function() return d.a end, "attempt to use a closed permadict")
  T.raises(function() d.a = 2 end, "attempt to use a closed permadict")
  T.raises(function() return #d end, "attempt to use a closed permadict")
  T.raises(function() permadict.incr(d, "a") end, "attempt to use a closed permadict")
  T.eq(tostring(d), "permadict (closed)")
  T.eq(watcher.a, 1)
end)

T.case("close rolls back an open transaction", function()
  local d = assert(permadict.open(path))
  permadict.begin(d)
  d.uncommitted = true
  T.eq(lock_free(), false, "the transaction holds the lock")
  permadict.close(d)
  T.eq(lock_free(), true, "released by close")
  T.eq(watcher.uncommitted, nil)
end)

T.case("__gc closes a dropped dict", function()
  do
    local d = assert(permadict.open(path))
    permadict.begin(d)
    d.dropped = true
  end
  collectgarbage()
  collectgarbage()
  T.eq(lock_free(), true, "released by __gc")
  T.eq(watcher.dropped, nil)
end)

T.case("explicit close then __gc frees once", function()
  for _ = 1, 50 do
    local d = assert(permadict.open(path))
    permadict.close(d)
  end
  collectgarbage()
  collectgarbage()
  T.eq(watcher.a, 1, "still fine after many close + __gc")
end)

if T.lua_version == "5.4" then
  T.case("local d <close> closes at the end of the scope", function()
    local chunk = assert(load([[
      local permadict, path = ...
      local d <close> = assert(permadict.open(path))
      permadict.begin(d)
      d.scoped = true
      return d
    ]]))
    local d = chunk(permadict, path)
    T.eq(permadict.is_closed(d), true, "closed on leaving the scope")
    T.eq(lock_free(), true)
    T.eq(watcher.scoped, nil)
  end)
end

T.case("functions refuse what is not a dict", function()
  local d = assert(permadict.open(path))
  -- The iterator's own userdata, held by the step function pairs returns.
  local step = permadict.pairs(d)
  local it
  for i = 1, 10 do
    local _, v = debug.getupvalue(step, i)
    if type(v) == "userdata" then it = v end
  end
  T.eq(type(it), "userdata")
  -- io.stdout is a full userdata of another library; permadict.null a light one.
  for _, other in ipairs({ io.stdout, it, permadict.null, {}, "x", 1 }) do
    T.raises(function() return permadict.get(other, "a") end, "permadict expected")
    T.raises(function() permadict.set(other, "a", 1) end, "permadict expected")
    T.raises(function() permadict.incr(other, "a") end, "permadict expected")
  end
  T.eq(io.type(io.stdout), "file", "io.stdout is still an open file")
  permadict.close(d)
end)

T.case("tostring names the file and namespace", function()
  local d = assert(permadict.open(path, { name = "ns" }))
  T.truthy(tostring(d):find("lifecycle.db", 1, true), tostring(d))
  T.truthy(tostring(d):find("[ns]", 1, true), tostring(d))
  T.eq(getmetatable(d), "permadict", "the metatable is protected")
  permadict.close(d)
end)

T.done()
