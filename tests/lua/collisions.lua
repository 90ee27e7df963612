-- d[key] is always an item: keys named like the module's operations are
-- ordinary keys, and the operations keep working next to them.
local T = require("testlib")
local permadict = require("permadict")

local d = assert(permadict.open(T.tmpdir() .. "/collisions.db"))
local names = { "close", "get", "set", "incr", "pairs", "transaction", "count",
                "pop", "delete", "__index", "__gc", "open" }

T.case("keys named like operations are absent until set", function()
  for _, k in ipairs(names) do
    T.eq(d[k], nil, k)
  end
end)

T.case("keys named like operations read and write items", function()
  for i, k in ipairs(names) do
    d[k] = i
  end
  for i, k in ipairs(names) do
    T.eq(d[k], i, k)
  end
  T.eq(#d, #names, "#d")
end)

T.case("operations still work on a dict holding those keys", function()
  T.eq(permadict.incr(d, "incr", 10), 14, "incr of the key 'incr'")
  T.eq(permadict.get(d, "get"), 2)
  T.eq(permadict.pop(d, "pop"), 8)
  T.eq(d.pop, nil, "popped")
  local seen = 0
  for k in permadict.pairs(d) do
    seen = seen + 1
  end
  T.eq(seen, #names - 1, "pairs sees every key")
  permadict.transaction(d, function(t) t.transaction = "in" end)
  T.eq(d.transaction, "in")
  d.close = nil
  T.eq(d.close, nil, "deleting the key 'close' does not close")
  T.eq(permadict.is_closed(d), false)
  permadict.close(d)
  T.eq(permadict.is_closed(d), true)
end)

T.done()
