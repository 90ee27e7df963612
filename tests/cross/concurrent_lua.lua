--[[ The Lua participant of the concurrency scenarios (run_concurrency.py);
same commands as concurrent_py.py:
  incr, cas, txn (retried on EBUSY, counted), commits, slowread, rewrite.
Any error reaching this program (EBUSY included, except in the txn retry
loop) is printed and exits 1. Lua has no sleep: slowread waits by busy-looping
on os.clock, which is what a slow, CPU-bound reader looks like anyway. ]]
local permadict = require("permadict")

local cmd, path, n, timeout_ms = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4])
local d = assert(permadict.open(path, { timeout = timeout_ms / 1000 }))

local function pause(seconds)
  local t = os.clock() + seconds
  while os.clock() < t do end
end

local ok, err = pcall(function()
  if cmd == "incr" then
    for _ = 1, n do permadict.incr(d, "counter") end
  elseif cmd == "cas" then
    for _ = 1, n do
      repeat
        local cur = d.cas
        local swapped = permadict.compare_and_set(d, "cas", cur, (cur or 0) + 1)
      until swapped
    end
  elseif cmd == "txn" then
    local retries = 0
    for _ = 1, n do
      while true do
        local done, e = pcall(permadict.transaction, d, function(t)
          t.a = (t.a or 0) - 1
          t.b = (t.b or 0) + 1
        end)
        if done then break end
        if permadict.errcode(e) ~= "EBUSY" then error(e, 0) end
        retries = retries + 1
      end
    end
    print("retries " .. retries)
  elseif cmd == "slowread" then
    local walks, items = 0, 0
    while true do
      local finished = d.done
      local prev
      for k, v in permadict.pairs(d) do
        if prev ~= nil and not (prev < k) then
          error(("FAIL: key order %s then %s"):format(prev, k), 0)
        end
        prev = k
        if k ~= "done" and (v[2] ~= v[1] * v[1] or tonumber(k:sub(2)) ~= v[1] % 100) then
          error(("FAIL: inconsistent %s"):format(k), 0)
        end
        items = items + 1
        if items == 1 then -- the harness starts the writer now
          io.write("walking\n")
          io.stdout:flush()
        end
        pause(0.001)
      end
      walks = walks + 1
      if finished then break end
    end
    print(("walks %d items %d"):format(walks, items))
  elseif cmd == "rewrite" then
    local seen = 0
    for k, v in permadict.pairs(d) do
      if k:sub(1, 1) == "r" then
        d[k] = v + 1
        seen = seen + 1
      end
    end
    print("rewrote " .. seen)
  else
    error("unknown command " .. tostring(cmd), 0)
  end
end)
if not ok then
  print("FAIL " .. tostring(err))
  os.exit(1)
end
permadict.close(d)
