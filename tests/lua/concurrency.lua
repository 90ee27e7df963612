-- Two Lua processes incrementing one counter lose no update.
local T = require("testlib")
local permadict = require("permadict")

local dir = T.tmpdir()
local path = dir .. "/concurrency.db"
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."

T.case("two processes, 2000 increments each: exactly 4000", function()
  local d = assert(permadict.open(path))
  d.counter = 0
  local cmd = ("'%s' '%s/incr_worker.lua' '%s' 2000 2>&1"):format(T.interpreter(), here, path)
  -- io.popen starts both before either is read: they run at the same time.
  local a = assert(io.popen(cmd))
  local b = assert(io.popen(cmd))
  local out_a, out_b = a:read("*a"), b:read("*a")
  a:close()
  b:close()
  T.eq(out_a, "worker done\n", "first worker")
  T.eq(out_b, "worker done\n", "second worker")
  T.eq(d.counter, 4000)
  permadict.close(d)
end)

T.done()
