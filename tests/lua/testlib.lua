--- testlib: the few helpers the Lua tests share. Each case counts as one
-- pass or one failure; done() prints "N passed, M failed" and exits
-- non-zero when anything failed.
local T = { passed = 0, failed = 0 }

T.lua_version = (type(jit) == "table" and "luajit") or _VERSION:match("%d+%.%d+")
T.exact_integers = math.type ~= nil -- 5.3+

function T.case(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    T.passed = T.passed + 1
  else
    T.failed = T.failed + 1
    io.stderr:write(("FAIL %s: %s\n"):format(name, tostring(err)))
  end
end

local function show(v)
  if type(v) == "string" then
    return ("%q"):format(v)
  end
  return tostring(v)
end

function T.eq(got, want, what)
  if got ~= want then
    error(("%s: got %s, want %s"):format(what or "value", show(got), show(want)), 2)
  end
end

function T.truthy(v, what)
  if not v then
    error((what or "condition") .. " is false", 2)
  end
end

--- Calls fn and requires an error whose message contains `plain`.
function T.raises(fn, plain)
  local ok, err = pcall(fn)
  if ok then
    error("expected an error containing '" .. plain .. "', got none", 2)
  end
  if not tostring(err):find(plain, 1, true) then
    error("expected an error containing '" .. plain .. "', got: " .. tostring(err), 2)
  end
  return err
end

--- A fresh directory under $PD_TEST_TMP (or the system's), removed by done().
function T.tmpdir()
  local base = os.getenv("PD_TEST_TMP") or os.getenv("TMPDIR") or "/tmp"
  local p = io.popen("mktemp -d '" .. base .. "/pdlua.XXXXXX'")
  local dir = p:read("*l")
  p:close()
  assert(dir and #dir > 0, "mktemp -d failed")
  T.dirs = T.dirs or {}
  table.insert(T.dirs, dir)
  return dir
end

--- The interpreter running this test, for child processes.
function T.interpreter()
  return assert(os.getenv("PDLUA_INTERPRETER"), "PDLUA_INTERPRETER not set")
end

function T.done()
  for _, dir in ipairs(T.dirs or {}) do
    os.execute("rm -rf '" .. dir .. "'")
  end
  print(("%d passed, %d failed"):format(T.passed, T.failed))
  os.exit(T.failed == 0 and T.passed > 0 and 0 or 1)
end

return T
