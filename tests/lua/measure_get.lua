-- Quick timing, not a test: d[k] hits on a dict of 100,000 integer keys.
-- Run: LUA_PATH=... LUA_CPATH=... lua5.4 measure_get.lua [dir]
local permadict = require("permadict")
local dir = arg[1] or os.getenv("PD_TEST_TMP") or "/tmp"
local path = dir .. "/measure_get.db"
os.remove(path)
local d = assert(permadict.open(path))
local n = 100000
permadict.transaction(d, function(t)
  for i = 1, n do
    t[i] = "value " .. i
  end
end)
local rounds = 3
local best = math.huge
for _ = 1, rounds do
  local t0 = os.clock()
  local hits = 0
  for i = 1, n do
    if d[(i * 7919) % n + 1] then
      hits = hits + 1
    end
  end
  assert(hits == n)
  best = math.min(best, os.clock() - t0)
end
print(("d[k] hit, %d keys: %.2f us per read (best of %d)"):format(n, best / n * 1e6, rounds))
permadict.close(d)
os.remove(path)
os.remove(path .. "-wal")
os.remove(path .. "-shm")
