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

T.done()
