-- Child process of concurrency.lua: increments one counter n times.
local permadict = require("permadict")
local path, n = arg[1], tonumber(arg[2])
local d = assert(permadict.open(path, { timeout = 30 }))
for _ = 1, n do
  permadict.incr(d, "counter")
end
permadict.close(d)
print("worker done")
