-- Transactions commit all or nothing; the atomic helpers mean what they
-- mean in C and Python.
local T = require("testlib")
local permadict = require("permadict")

local path = T.tmpdir() .. "/transactions.db"
local d = assert(permadict.open(path))
local other = assert(permadict.open(path))

T.case("a transaction commits everything and returns fn's results", function()
  local a, b = permadict.transaction(d, function(t)
    t.x = 1
    t.y = 2
    T.eq(t.x, 1, "reads see the transaction's own writes")
    T.eq(other.x, nil, "others see nothing before the commit")
    return "r1", "r2"
  end)
  T.eq(a, "r1")
  T.eq(b, "r2")
  T.eq(other.x, 1)
  T.eq(other.y, 2)
end)

T.case("an error rolls everything back and is re-raised unchanged", function()
  local marker = { "my error" }
  local ok, err = pcall(permadict.transaction, d, function(t)
    t.x = 100
    t.z = 3
    error(marker)
  end)
  T.eq(ok, false)
  T.eq(err, marker, "the same error object")
  T.eq(other.x, 1, "x unchanged")
  T.eq(other.z, nil, "z never written")
  T.eq(permadict.in_transaction(d), false, "no transaction left open")
end)

T.case("the transaction function may be any callable value", function()
  local callable = setmetatable({}, {
    __call = function(self, t) t.cv = "called"; return "r" end,
    __metatable = "protected",
  })
  T.eq(permadict.transaction(d, callable), "r")
  T.eq(other.cv, "called")
  local err = T.raises(function() permadict.transaction(d, {}) end, "expected a function")
  T.eq(permadict.errcode(err), "EINVALID")
  -- a forgotten dict is named, not the function given in its place
  err = T.raises(function() permadict.transaction(function() end) end,
                 "bad argument #1 (permadict expected, got function)")
  T.eq(permadict.errcode(err), "EINVALID")
  T.eq(permadict.in_transaction(d), false)
end)

T.case("commit, rollback and reopen inside the transaction function are refused", function()
  for _, name in ipairs({ "commit", "rollback", "reopen" }) do
    d.tc_before = "kept"
    local ok, err = pcall(permadict.transaction, d, function(t)
      t.tc_before = "changed"
      permadict[name](t)
      t.tc_after = name -- must not be committed on its own
    end)
    T.eq(ok, false, name .. " raises")
    T.eq(permadict.errcode(err), "EMISUSE", tostring(err))
    T.truthy(tostring(err):find("permadict." .. name .. " cannot be called inside", 1, true),
             tostring(err))
    T.eq(permadict.in_transaction(d), false, "no transaction left open")
    T.eq(other.tc_before, "kept", name .. ": the whole transaction is rolled back")
    T.eq(other.tc_after, nil, name .. ": no write after it is committed")
  end
  -- outside a transaction function they work as before
  permadict.begin(d)
  d.tc_after = "explicit"
  permadict.commit(d)
  T.eq(other.tc_after, "explicit")
end)

T.case("transactions do not nest", function()
  T.raises(function()
    permadict.transaction(d, function(t)
      permadict.transaction(t, function() end)
    end)
  end, "EMISUSE")
  T.eq(permadict.in_transaction(d), false)
end)

T.case("incr: integers stay exact, floats mix in, absent counts as 0", function()
  T.eq(permadict.incr(d, "n"), 1)
  T.eq(permadict.incr(d, "n", 41), 42)
  T.eq(permadict.incr(d, "n", -2), 40)
  T.eq(permadict.incr(d, "f", 0.5), 0.5)
  if T.exact_integers then
    d.big = math.maxinteger - 1
    T.eq(permadict.incr(d, "big"), math.maxinteger)
    T.raises(function() permadict.incr(d, "big") end, "EINVALID")
    T.eq(d.big, math.maxinteger, "overflow leaves the value")
  end
end)

T.case("compare_and_set swaps only on a match; nil means absent/delete", function()
  T.eq(permadict.compare_and_set(d, "c", nil, "first"), true, "absent -> set")
  T.eq(permadict.compare_and_set(d, "c", nil, "again"), false, "present now")
  T.eq(permadict.compare_and_set(d, "c", "wrong", "x"), false)
  T.eq(d.c, "first")
  T.eq(permadict.compare_and_set(d, "c", "first", { 1, 2 }), true)
  T.eq(permadict.compare_and_set(d, "c", { 1, 2 }, { 3 }), true, "tables compare by value")
  T.eq(permadict.compare_and_set(d, "c", { 3 }, nil), true, "delete")
  T.eq(d.c, nil)
  T.eq(permadict.compare_and_set(d, "i", nil, 1), true)
  if T.exact_integers then
    T.eq(permadict.compare_and_set(d, "i", 1.0, 2), false, "float 1.0 is not integer 1")
  end
end)

T.case("compare_and_set with desired omitted deletes", function()
  d.om = 1
  T.eq(permadict.compare_and_set(d, "om", 2), false, "no match")
  T.eq(d.om, 1)
  T.eq(permadict.compare_and_set(d, "om", 1), true, "match")
  T.eq(d.om, nil, "deleted")
end)

T.case("compare_and_set matches a whole float just read (5.1: read as 1)", function()
  d.wf = nil
  permadict.incr(d, "wf", 0.5)
  permadict.incr(d, "wf", 0.5) -- stored: the float 1.0
  local cur = d.wf
  T.eq(permadict.compare_and_set(d, "wf", cur, cur + 1), true, "the value just read")
  T.eq(d.wf, 2)
  -- the optimistic-update loop ends
  local tries = 0
  d.wf = nil
  permadict.incr(d, "wf", 0.5)
  permadict.incr(d, "wf", 1.5) -- the float 2.0 again
  repeat
    tries = tries + 1
    local v = d.wf
  until permadict.compare_and_set(d, "wf", v, v * 2) or tries == 5
  T.eq(tries, 1, "tries")
  T.eq(d.wf, 4)
  T.eq(permadict.compare_and_set(d, "wf", 5, 6), false, "another number still differs")
  T.eq(d.wf, 4)
end)

T.case("a transaction function that yields is rolled back, not left open", function()
  local co = coroutine.create(function()
    return permadict.transaction(d, function(t)
      t.yq = 1
      coroutine.yield()
      t.yq = 2
    end)
  end)
  local ok, err = coroutine.resume(co)
  T.eq(ok, false, "the yield is an error")
  T.eq(permadict.errcode(err), "EMISUSE", tostring(err))
  T.eq(permadict.in_transaction(d), false, "no transaction left open")
  d.important = "saved"
  T.eq(other.important, "saved", "a later write is committed on its own")
  T.eq(other.yq, nil, "the transaction's write is rolled back")
  -- a coroutine inside the function may still yield to its own resumer
  permadict.transaction(d, function(t)
    local inner = coroutine.wrap(function() coroutine.yield(1) end)
    t.yq = inner()
  end)
  T.eq(other.yq, 1)
end)

T.case("no instruction of permadict.lua runs with a transaction open outside its function", function()
  -- A count hook that enforces a time limit raises at whatever Lua instruction
  -- runs. Were any of permadict.lua's own to run while the transaction is
  -- open but its function is not (before it runs, or after it returned), an
  -- error raised there could leave it open. core.transaction_call begins,
  -- calls and commits in C, so there is none: the hook below must run in
  -- permadict.lua (library_hook_calls) and never find the transaction open
  -- there, or it raises.
  local phase, ran, in_fn, library_hook_calls
  local function fire_in_library()
    local info = debug.getinfo(2, "S")
    if not (info and info.short_src:find("permadict.lua", 1, true)) then return end
    library_hook_calls = library_hook_calls + 1
    if not in_fn and ran == (phase == "after") and permadict.in_transaction(d) then
      debug.sethook()
      error("time limit", 0)
    end
  end
  for _, p in ipairs({ "before", "after" }) do
    phase, ran, in_fn, library_hook_calls = p, false, false, 0
    local key = "hook_" .. p
    debug.sethook(fire_in_library, "", 1)
    local ok, err = pcall(permadict.transaction, d, function(t)
      in_fn = true
      t[key] = true
      in_fn, ran = false, true
    end)
    debug.sethook()
    T.truthy(library_hook_calls > 0, p .. ": the hook ran in permadict.lua")
    T.eq(ok, true, p .. ": no instruction of permadict.lua ran with the transaction open "
         .. "outside the function (" .. tostring(err) .. ")")
    T.eq(permadict.in_transaction(d), false,
         p .. ": no transaction left open (" .. tostring(err) .. ")")
    T.eq(other[key], true, p .. ": committed exactly when it returned")
    d.after_hook = key
    T.eq(other.after_hook, key, p .. ": a later write is committed on its own")
  end
end)

T.case("set_if_absent, pop, get_and_set", function()
  T.eq(permadict.set_if_absent(d, "s", "one"), true)
  T.eq(permadict.set_if_absent(d, "s", "two"), false)
  T.eq(d.s, "one")
  T.eq(permadict.pop(d, "s"), "one")
  T.eq(permadict.pop(d, "s"), nil, "already popped")
  T.eq(permadict.pop(d, "s", "dflt"), "dflt")
  T.eq(permadict.get_and_set(d, "g", 1), nil, "was absent")
  T.eq(permadict.get_and_set(d, "g", 2), 1)
  T.eq(d.g, 2)
end)

T.case("delete, contains, clear and the explicit begin/commit", function()
  T.eq(permadict.delete(d, "g"), true)
  T.eq(permadict.delete(d, "g"), false)
  T.eq(permadict.contains(d, "g"), false)
  permadict.begin(d)
  d.q = 1
  permadict.rollback(d)
  T.eq(d.q, nil, "rolled back")
  permadict.clear(d)
  T.eq(#other, 0)
end)

T.done()
