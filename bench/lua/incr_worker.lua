-- incr_worker.lua - one Lua process of the contended-increment benchmark.
-- usage: lua5.4 incr_worker.lua PATH N START_AT_NS OUTFILE   (store: permadict)
-- Writes "start_ns end_ns failures" (realtime), then one latency in ns per line.
local clock = require("benchclock")
local permadict = require("permadict")
local path, n, start_at, out = ...
n, start_at = math.tointeger(tonumber(n)), math.tointeger(tonumber(start_at))
local d = assert(permadict.open(path))
local incr, now = permadict.incr, clock.now_ns
local lat, failures = {}, 0
clock.sleep_until_realtime(start_at)
local start = clock.realtime_ns()
for i = 1, n do
  local t0 = now()
  local ok, err = pcall(incr, d, "counter", 1)
  if not ok then
    if failures == 0 then io.stderr:write("incr_worker.lua: ", tostring(err), "\n") end
    failures = failures + 1
  end
  lat[i] = now() - t0
end
local stop = clock.realtime_ns()
local f = assert(io.open(out, "w"))
f:write(("%d %d %d\n"):format(start, stop, failures))
f:write(table.concat(lat, "\n"), "\n")
f:close()
permadict.close(d)
