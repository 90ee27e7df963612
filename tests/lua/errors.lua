-- Failures raise errors that name the cause, and leave stored data as it
-- was. permadict.open alone returns nil, message, code (as io.open does).
local T = require("testlib")
local permadict = require("permadict")

local dir = T.tmpdir()
local path = dir .. "/errors.db"
local d = assert(permadict.open(path))
d.keep = "original"
d.n = "text"

T.case("a value that cannot be stored leaves the old one", function()
  T.raises(function() d.keep = { f = print } end, "cannot store a function")
  T.raises(function() d.keep = { [true] = 1 } end, "keys are integers or strings")
  T.raises(function() d.keep = coroutine.create(function() end) end, "cannot store a thread")
  T.eq(d.keep, "original")
end)

T.case("the binding's own argument checks end in a code too", function()
  local other = assert(permadict.open(dir .. "/other.db"))
  permadict.close(other)
  local cases = {
    { function() permadict.open(path, { readonyl = true }) end, "option 'readonyl'", "EINVALID" },
    { function() permadict.open(path, { timeout = "5" }) end, "option 'timeout'", "EINVALID" },
    { function() permadict.open("a\0b") end, "zero bytes", "EINVALID" },
    { function() permadict.open(path, 5) end, "options must be a table", "EINVALID" },
    { function() permadict.transaction(d, 5) end, "expected a function", "EINVALID" },
    { function() permadict.pairs(d, { limitt = 1 }) end, "option 'limitt'", "EINVALID" },
    { function() permadict.get({}, "a") end, "permadict expected", "EINVALID" },
    { function() permadict.wait(d, "x", 0) end, "a version number", "EINVALID" },
    { function() permadict.wait(d, 0, -1) end, "timeout must be >= 0", "EINVALID" },
    { function() return other.a end, "attempt to use a closed permadict", "EMISUSE" },
    { function() return permadict.contains(d) end, "takes 2 to 2 arguments", "EINVALID" },
    { function() return permadict.version() end, "takes 1 to 1 arguments", "EINVALID" },
    { function() permadict.drop_namespace(d, true) end, "argument 2 must be", "EINVALID" },
  }
  -- A message of another module is not read as one of ours.
  T.eq(permadict.errcode("permadict.lua:12: Error in something [EBUSY]"), nil)
  for _, c in ipairs(cases) do
    local ok, err = pcall(c[1])
    T.eq(ok, false)
    T.truthy(tostring(err):find(c[2], 1, true), tostring(err))
    T.eq(permadict.errcode(err), c[3], tostring(err))
  end
end)

T.case("a key of the wrong type is named as a key, for reads and writes alike", function()
  T.raises(function() return d[true] end, "a boolean cannot be a key")
  T.raises(function() return permadict.contains(d, {}) end, "a table cannot be a key")
  T.raises(function() d[print] = 1 end, "a function cannot be a key")
  T.eq(d.keep, "original")
end)

T.case("a key or value refused inside a table says where it is", function()
  local cases = {
    { function() d.keep = { [true] = 1 } end, "a boolean cannot be a key", "value[true]" },
    { function() d.keep = { a = { [1.5] = 1 } } end, "key 1.5 is not an integer", 'value["a"][1.5]' },
    { function() d.keep = { a = { 1, { [print] = 1 } } } end, "a function cannot be a key",
      'value["a"][2][<function>]' },
    { function() d.keep = { a = { f = print } } end, "cannot store a function", 'value["a"]["f"]' },
    { function() permadict.compare_and_set(d, "keep", { [false] = 1 }, 2) end,
      "a boolean cannot be a key", "value[false]" },
  }
  for _, c in ipairs(cases) do
    local err = T.raises(c[1], c[2])
    T.truthy(err:find(", inside the value at " .. c[3] .. " [EINVALID]", 1, true), err)
    T.eq(permadict.errcode(err), "EINVALID", err)
  end
  -- the key of the call itself is not "inside the value"
  local err = T.raises(function() d[true] = 1 end, "a boolean cannot be a key")
  T.eq(err:find("inside", 1, true), nil, err)
  T.eq(d.keep, "original")
end)

T.case("a value refused inside a table ends in the same code as on its own", function()
  local big = ("a"):rep(64 * 1024 * 1024 + 10)
  local loop = {}
  loop[1] = loop
  local cases = {
    { "over 64 MiB in a table", function() d.keep = { big } end, "ETOOBIG" },
    { "invalid UTF-8 text in a table", function() d.keep = { permadict.text("\255") } end, "EINVALID" },
    { "a function value", function() d.keep = print end, "EINVALID" },
    { "a function in a table", function() d.keep = { f = print } end, "EINVALID" },
    { "nesting over 32", function() d.keep = loop end, "ETOOBIG" },
    { "key 1.5", function() d[1.5] = 1 end, "EINVALID" },
    { "key 1.5 in a table", function() d.keep = { [1.5] = 1 } end, "EINVALID" },
    { "private tag 300", function() d.keep = permadict.private(300, "x") end, "EINVALID" },
    { "nil", function() permadict.set_if_absent(d, "keep", nil) end, "EINVALID" },
  }
  for _, c in ipairs(cases) do
    local ok, err = pcall(c[2])
    T.eq(ok, false, c[1] .. " raises")
    T.eq(permadict.errcode(err), c[3], c[1] .. ": " .. tostring(err):sub(1, 120))
  end
  big = nil
  collectgarbage()
  T.eq(d.keep, "original")
end)

T.case("errcode finds the code after error() added a position", function()
  local ok, err = pcall(function()
    local ok2, e = pcall(function() d[1.5] = 1 end)
    assert(not ok2)
    error(e) -- adds "errors.lua:<line>: "
  end)
  T.eq(ok, false)
  T.eq(permadict.errcode(err), "EINVALID", err)
  T.eq(permadict.errcode("errors.lua:3: something else"), nil)
end)

T.case("incr on text raises ETYPE and keeps the text", function()
  local err = T.raises(function() permadict.incr(d, "n") end, "not a number")
  T.eq(permadict.errcode(err), "ETYPE", "errcode")
  T.eq(d.n, "text")
end)

T.case("over-long keys raise ETOOBIG naming the limit", function()
  local err = T.raises(function() d[("k"):rep(5000)] = 1 end, "ETOOBIG")
  T.eq(#d, 2, "nothing added")
  T.truthy(err:find("4096", 1, true), "names the limit: " .. err)
end)

T.case("read-only handles refuse writes", function()
  local ro = assert(permadict.open(path, { readonly = true }))
  T.eq(ro.keep, "original")
  T.raises(function() ro.keep = "changed" end, "EREADONLY")
  T.raises(function() permadict.incr(ro, "c") end, "EREADONLY")
  T.raises(function() permadict.pop(ro, "keep") end, "EREADONLY")
  -- popping an absent key writes nothing: a read-only handle answers it
  T.eq(permadict.pop(ro, "absent", "dflt"), "dflt")
  T.eq(d.keep, "original")
  permadict.close(ro)
end)

T.case("open returns nil, message, code; a foreign file is left untouched", function()
  local foreign = dir .. "/foreign.txt"
  local f = assert(io.open(foreign, "wb"))
  f:write("not a database, not at all. ")
  f:close()
  local h, msg, code = permadict.open(foreign)
  T.eq(h, nil)
  T.eq(code, "ENOTADB")
  T.truthy(msg:find("foreign.txt", 1, true), "message names the file: " .. tostring(msg))
  f = assert(io.open(foreign, "rb"))
  T.eq(f:read("*a"), "not a database, not at all. ")
  f:close()
  local h2, _, code2 = permadict.open(dir .. "/missing.db", { create = false })
  T.eq(h2, nil)
  T.eq(code2, "ENOTFOUND")
end)

T.case("the error of assert(permadict.open(path)) has its code for errcode", function()
  local ok, err = pcall(function() return assert(permadict.open(dir .. "/missing.db", { create = false })) end)
  T.eq(ok, false)
  T.truthy(tostring(err):find("missing.db", 1, true), "names the file: " .. tostring(err))
  T.eq(permadict.errcode(err), "ENOTFOUND", tostring(err))
end)

T.case("bad options are refused by name", function()
  T.raises(function() permadict.open(path, { readonyl = true }) end, "readonyl")
  T.raises(function() permadict.open(path, { timeout = "5" }) end, "timeout")
  T.raises(function() permadict.open(path, { name = 42 }) end, "name")
  T.raises(function() permadict.open(nil) end, "path")
  T.raises(function() permadict.open(path, { timeout = -1 }) end, "timeout")
  T.raises(function() permadict.open(path, { timeout = 0 / 0 }) end, "timeout")
end)

T.case("timeout = math.huge (or beyond 24.8 days) waits as long as it can, as in wait", function()
  for _, s in ipairs({ math.huge, 1e12, 2147484 }) do
    local h = assert(permadict.open(path, { timeout = s }))
    T.eq(h.keep, "original", "opened with timeout " .. tostring(s))
    permadict.close(h)
  end
end)

T.case("namespaces are separate dicts in one file", function()
  local a = assert(permadict.open(path, { name = "alpha" }))
  a.keep = "alpha's"
  T.eq(d.keep, "original", "default untouched")
  local names = permadict.namespaces(d)
  T.eq(table.concat(names, ","), "alpha,default")
  T.eq(permadict.name(a), "alpha")
  permadict.drop_namespace(d, "alpha")
  T.eq(table.concat(permadict.namespaces(d), ","), "default")
  permadict.close(a)
end)

T.case("namespaces of a file by path, with no default namespace", function()
  local p = path .. "-nodefault"
  local z = assert(permadict.open(p, { name = "zeta" }))
  local a = assert(permadict.open(p, { name = "alpha" }))
  permadict.close(z)
  permadict.close(a)
  T.eq(table.concat(permadict.namespaces(p), ","), "alpha,zeta")
  -- Listing created nothing: "default" still cannot be opened read-only.
  T.eq(permadict.open(p, { readonly = true }), nil)
  T.raises(function() permadict.namespaces(p .. "-missing") end, "ENOTFOUND")
  T.raises(function() permadict.namespaces(p .. "\0x") end, "zero byte")
  os.remove(p)
end)

T.case("version grows with every change; stats and check answer", function()
  local v0 = permadict.version(d)
  d.x = 1
  d.x = nil
  T.eq(permadict.version(d), v0 + 2)
  local s = permadict.stats(d)
  T.eq(s.count, #d, "stats.count")
  T.eq(s.format_version, 3)
  T.eq(permadict.check(d), true)
end)

T.case("a busy file raises EBUSY after the timeout", function()
  local holder = assert(permadict.open(path))
  local waiter = assert(permadict.open(path, { timeout = 0.2 }))
  permadict.begin(holder)
  holder.locked = true
  local wall0 = os.time()
  T.raises(function() waiter.other = 1 end, "EBUSY")
  T.truthy(os.time() - wall0 <= 2, "gave up after about the timeout")
  permadict.rollback(holder)
  waiter.other = 1
  T.eq(d.other, 1, "works once the lock is gone")
  permadict.close(holder)
  permadict.close(waiter)
end)

T.done()
