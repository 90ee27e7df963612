--[[ The Lua side of binding_faults.py (which makes the files and checks them
afterwards):
  binding_faults.lua fork_exit FILE            LuaJIT: fork inside a write
                                               transaction; the child ends with
                                               os.exit(0, true), closing its
                                               Lua state (and so, by __gc, the
                                               inherited dict); the parent
                                               goes on and commits
  binding_faults.lua malformed FILE BAD GOOD   BAD, GOOD: comma-separated keys
  binding_faults.lua pickle FILE HEX           HEX: the pickle stored at "evil"
  binding_faults.lua nul_namespace FILE
Prints each check; exits 1 when one fails. ]]
local permadict = require("permadict")
local failed = 0
local function check(cond, what)
  print((cond and "ok: " or "FAIL: ") .. what)
  if not cond then failed = failed + 1 end
end

local function split(s)
  local t = {}
  for x in s:gmatch("[^,]+") do t[#t + 1] = x end
  return t
end

local cmd, path = arg[1], arg[2]
if cmd == "fork_exit" then
  local ok, ffi = pcall(require, "ffi")
  if not ok then print("SKIPPED: fork needs LuaJIT's FFI"); os.exit(77) end
  ffi.cdef("int fork(void); int waitpid(int pid, int *status, int options);")
  local d = assert(permadict.open(path))
  permadict.begin(d)
  for i = 0, 99 do d[("k%03d"):format(i)] = i end
  local pid = ffi.C.fork()
  if pid == 0 then
    os.exit(0, true) -- closes the state: __gc runs on the inherited dict
  end
  local status = ffi.new("int[1]")
  ffi.C.waitpid(pid, status, 0)
  check(status[0] == 0, "child exited with 0")
  for i = 100, 199 do d[("k%03d"):format(i)] = i end
  permadict.commit(d)
  permadict.close(d)
elseif cmd == "malformed" then
  local bad, good = split(arg[3]), split(arg[4])
  local d = assert(permadict.open(path))
  for _, k in ipairs(bad) do
    local ok, err = pcall(function() return d[k] end)
    check(not ok and permadict.errcode(err) == "EDECODE" and err:find("'" .. k .. "'", 1, true),
          ("d[%q]: EDECODE naming the key (%s)"):format(k, tostring(err)))
  end
  -- A for loop ends at the first error; calling the iterator again after a
  -- caught error must give the rows after the damaged one.
  local next_item = permadict.pairs(d)
  local seen_good, seen_bad = {}, {}
  for _ = 1, #bad + #good + 1 do
    local ok, k = pcall(next_item)
    if ok and k == nil then break end
    if ok then
      seen_good[#seen_good + 1] = k
    else
      local named = k:match("'([^']*)'")
      check(permadict.errcode(k) == "EDECODE", "iteration error is EDECODE: " .. k)
      seen_bad[#seen_bad + 1] = named
    end
  end
  table.sort(seen_good)
  table.sort(seen_bad)
  check(table.concat(seen_bad, ",") == table.concat(bad, ","),
        "iteration names each damaged key: " .. table.concat(seen_bad, ","))
  check(table.concat(seen_good, ",") == table.concat(good, ","),
        "iteration goes on past the damaged rows: " .. table.concat(seen_good, ","))
elseif cmd == "pickle" then
  local payload = arg[3]:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end)
  local d = assert(permadict.open(path))
  local v = d.evil
  check(type(v) == "table" and v.tag == 1 and v.data == payload,
        "the pickle reads as an opaque private value (tag 1, same bytes)")
  local inner = d.inside.x[1]
  check(type(inner) == "table" and inner.tag == 1 and inner.data == payload, "a nested one too")
  for _ in permadict.pairs(d) do end
elseif cmd == "nul_namespace" then
  local ok, d, msg = pcall(permadict.open, path, { name = "a\0b" })
  if ok and d then
    check(false, "a namespace name with a zero byte is refused (it opened " .. tostring(d) .. ")")
    permadict.close(d)
  else
    local err = ok and msg or d
    check(tostring(err):lower():find("zero") ~= nil or tostring(err):lower():find("nul") ~= nil,
          "the error says what is wrong: " .. tostring(err))
  end
else
  print("unknown command " .. tostring(cmd))
  os.exit(2)
end
if failed > 0 then os.exit(1) end
