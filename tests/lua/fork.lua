-- fork() (LuaJIT only: its FFI can call fork from Lua). A handle inherited
-- by the child is reopened transparently on its first use there, outside a
-- transaction; inside a transaction begun before fork() the child gets
-- EFORKED instead of silently splitting the transaction. The parent's
-- handle keeps working either way.
local T = require("testlib")
local permadict = require("permadict")
local ffi = require("ffi")

ffi.cdef [[
  int fork(void);
  int waitpid(int pid, int *status, int options);
  void _exit(int status);
]]

-- Runs child() in a forked process; returns its exit status.
local function in_child(child)
  local pid = ffi.C.fork()
  assert(pid >= 0, "fork failed")
  if pid == 0 then
    local ok, code = pcall(child)
    ffi.C._exit(ok and code or 99)
  end
  local status = ffi.new("int[1]")
  ffi.C.waitpid(pid, status, 0)
  return math.floor(status[0] / 256) -- WEXITSTATUS
end

local path = T.tmpdir() .. "/fork.db"
local d = assert(permadict.open(path))
d.parent = "before fork"

T.case("the child reopens an inherited handle by itself", function()
  local code = in_child(function()
    if d.parent ~= "before fork" then return 1 end
    d.child = "written by the child"
    permadict.incr(d, "n")
    return 0
  end)
  T.eq(code, 0, "child exit status")
  T.eq(d.child, "written by the child", "the parent sees the child's writes")
  d.parent = "after fork"
  T.eq(d.parent, "after fork", "the parent's handle still works")
end)

T.case("a first compare_and_set in the child matches a whole float", function()
  d.f = nil
  permadict.incr(d, "f", 0.5)
  permadict.incr(d, "f", 0.5) -- stored: the float 1.0, which LuaJIT reads as 1
  local code = in_child(function()
    -- the first call on the inherited handle, which reopens it first
    -- (1, as LuaJIT reads the stored 1.0 back)
    return permadict.compare_and_set(d, "f", 1, 2) and 0 or 1
  end)
  T.eq(code, 0, "child exit status")
  T.eq(d.f, 2, "the child's swap is seen by the parent")
end)

T.case("a first pairs() in the child reopens too", function()
  local code = in_child(function()
    for k, v in permadict.pairs(d, { prefix = "parent" }) do
      return (k == "parent" and v == "after fork") and 0 or 1
    end
    return 2
  end)
  T.eq(code, 0, "child exit status")
end)

T.case("inside a transaction begun before fork the child gets EFORKED", function()
  permadict.begin(d)
  d.in_txn = "parent"
  local code = in_child(function()
    local ok, err = pcall(function() d.in_txn = "child" end)
    if ok then return 1 end
    return permadict.errcode(err) == "EFORKED" and 0 or 2
  end)
  T.eq(code, 0, "child saw EFORKED")
  permadict.commit(d)
  T.eq(d.in_txn, "parent")
end)

T.case("a watching child reopens and sees the parent write; the parent still watches", function()
  local v0 = permadict.version(d)
  T.eq(permadict.wait(d, v0, 0), nil, "the parent watches before fork")
  permadict.watch_fd(d)
  local pid = ffi.C.fork()
  assert(pid >= 0, "fork failed")
  if pid == 0 then
    local ok, code = pcall(function()
      local v = permadict.wait(d, v0, 10)
      if v ~= v0 + 1 then return 1 end
      local changes = permadict.changes(d, v0)
      if #changes ~= 1 or changes[1].key ~= "from parent" then return 2 end
      return 0
    end)
    ffi.C._exit(ok and code or 99)
  end
  os.execute("sleep 0.2")
  d["from parent"] = 1
  local status = ffi.new("int[1]")
  ffi.C.waitpid(pid, status, 0)
  T.eq(math.floor(status[0] / 256), 0, "child exit status")
  local peer = assert(os.getenv("PD_WATCH_PEER"), "PD_WATCH_PEER not set: run through ctest")
  local v1 = permadict.version(d)
  local p = assert(io.popen(("sleep 0.2; '%s' '%s' set from-c 1 && echo ok"):format(peer, path)))
  T.eq(permadict.wait(d, v1, 10), v1 + 1, "the parent wakes for a C writer")
  T.eq(p:read("*a"), "ok\n")
  p:close()
end)

T.done()
