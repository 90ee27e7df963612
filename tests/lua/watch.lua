-- Watching from Lua: version, changes, wait and watch_fd, with writers in C
-- (tests/python/watch_peer.c, $PD_WATCH_PEER) and Python ($PD_PYTHON with
-- $PD_PYTHONPATH) running as real processes, and the C watcher seeing this
-- Lua process write.
local T = require("testlib")
local permadict = require("permadict")

local PEER = assert(os.getenv("PD_WATCH_PEER"), "PD_WATCH_PEER not set: run through ctest")
local PYTHON = os.getenv("PD_PYTHON")
local PYTHONPATH = os.getenv("PD_PYTHONPATH")
local WAIT = 10    -- seconds; generous, no correct run comes near it
local DELAY = 0.2  -- writers start this late, so the watcher is asleep when they commit
local TXN_KEYS = 500

local dir = T.tmpdir()
local files = 0
local function new_path()
  files = files + 1
  return ("%s/watch%d.db"):format(dir, files)
end

-- Wall-clock seconds (os.clock is CPU time and os.time whole seconds).
local function now()
  local p = assert(io.popen("date +%s%N"))
  local ns = p:read("*l")
  p:close()
  return tonumber(ns) / 1e9
end

--- Runs the shell command DELAY seconds from now, without waiting for it;
-- finish() waits and checks that it succeeded.
local function start_later(cmd)
  return assert(io.popen(("sleep %s; %s && echo writer-ok"):format(DELAY, cmd)))
end
local function finish(p)
  local out = p:read("*a")
  p:close()
  T.eq(out, "writer-ok\n", "writer output")
end

local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- Writer commands: the same operations in C and in Python.
local writers = {}
writers.c = {
  set = function(path, k, v) return table.concat({ quote(PEER), quote(path), "set", k, v }, " ") end,
  delete = function(path, k) return table.concat({ quote(PEER), quote(path), "del", k }, " ") end,
  clear = function(path) return table.concat({ quote(PEER), quote(path), "clear" }, " ") end,
  txn = function(path, prefix, n)
    return table.concat({ quote(PEER), quote(path), "txn", prefix, tostring(n) }, " ")
  end,
}
local function python(path, body)
  -- body uses double quotes only: the whole program sits in single quotes.
  return ("PYTHONPATH=%s %s -c %s"):format(quote(PYTHONPATH), quote(PYTHON), quote(
    ("import permadict\nd = permadict.Permadict(%q, timeout=30)\n%s\nd.close()"):format(path, body)))
end
writers.python = {
  set = function(path, k, v) return python(path, ('d["%s"] = "%s"'):format(k, v)) end,
  delete = function(path, k) return python(path, ('del d["%s"]'):format(k)) end,
  clear = function(path) return python(path, "d.clear()") end,
  txn = function(path, prefix, n)
    return python(path, ('d.update({"%s%%d" %% i: i for i in range(%d)})'):format(prefix, n))
  end,
}
local languages = { "c" }
if PYTHON and PYTHONPATH then
  languages[2] = "python"
else
  -- ctest reports the whole file as skipped on this line (tests/lua/CMakeLists.txt).
  print("SKIP the Python writer cases: the Python binding was not built")
end

local function ops(changes)
  local out = {}
  for i, c in ipairs(changes) do
    out[i] = c.op .. ":" .. tostring(c.key)
  end
  return table.concat(out, ",")
end

-- ---------------------------------------------------- writers in other languages

for _, lang in ipairs(languages) do
  local w = writers[lang]

  T.case("wait sees set, delete and clear of a " .. lang .. " writer", function()
    local path = new_path()
    local d = assert(permadict.open(path))
    d.other = "there before"
    local steps = {
      { w.set(path, "k", "v"), "set:k" },
      { w.delete(path, "k"), "delete:k" },
      { w.clear(path), "clear:nil" },
    }
    for _, step in ipairs(steps) do
      local v0 = permadict.version(d)
      local p = start_later(step[1])
      local v = permadict.wait(d, v0, WAIT)
      finish(p)
      T.eq(v, v0 + 1, step[2] .. ": the new version")
      local changes = permadict.changes(d, v0)
      T.eq(ops(changes), step[2])
      T.eq(changes[1].version, v0 + 1, "version of the change")
    end
    T.eq(#d, 0)
    permadict.close(d)
  end)

  T.case("a transaction of a " .. lang .. " writer is one wake-up reporting every key", function()
    local path = new_path()
    local d = assert(permadict.open(path))
    local v0 = permadict.version(d)
    local p = start_later(w.txn(path, "t", TXN_KEYS))
    local v = permadict.wait(d, v0, WAIT)
    finish(p)
    T.eq(v, v0 + TXN_KEYS, "the first wake-up already sees the whole commit")
    local changes = permadict.changes(d, v0)
    T.eq(#changes, TXN_KEYS)
    local keys = {}
    for i, c in ipairs(changes) do
      T.eq(c.version, v0 + i, "consecutive versions")
      T.eq(c.op, "set")
      keys[c.key] = true
    end
    for i = 0, TXN_KEYS - 1 do
      T.truthy(keys["t" .. i], "key t" .. i .. " reported")
    end
    permadict.close(d)
  end)
end

T.case("the C watcher sees this Lua process write", function()
  local path = new_path()
  local d = assert(permadict.open(path))
  local p = assert(io.popen(("%s %s watch %d %d"):format(quote(PEER), quote(path),
                                                        3 + TXN_KEYS, WAIT * 1000)))
  local ready = p:read("*l")
  T.truthy(ready and ready:find("^ready "), "the watcher is ready: " .. tostring(ready))
  d.a = 1
  d.a = nil
  permadict.clear(d)
  permadict.transaction(d, function(t)
    for i = 0, TXN_KEYS - 1 do
      t["t" .. i] = i
    end
  end)
  local out = p:read("*a")
  p:close()
  -- One group of changes per wake-up.
  local groups, flat = {}, {}
  for line in out:gmatch("[^\n]+") do
    local word, rest = line:match("^(%a+) ?(.*)$")
    if word == "wake" then
      groups[#groups + 1] = {}
    elseif word == "change" then
      local op, key = rest:match("^%d+ (%a+) (.*)$")
      table.insert(groups[#groups], key)
      flat[#flat + 1] = op .. ":" .. key
    else
      error("unexpected line from the C watcher: " .. line)
    end
  end
  T.eq(#flat, 3 + TXN_KEYS, "changes seen")
  T.eq(table.concat(flat, ",", 1, 3), "set:a,delete:a,clear:-")
  local txn_groups = 0
  for _, g in ipairs(groups) do
    local n = 0
    for _, key in ipairs(g) do
      if key:find("^t%d") then n = n + 1 end
    end
    if n > 0 then
      txn_groups = txn_groups + 1
      T.eq(n, TXN_KEYS, "every key of the transaction in its wake-up")
    end
  end
  T.eq(txn_groups, 1, "wake-ups carrying the transaction")
  permadict.close(d)
end)

-- ------------------------------------------------------------ the log and resync

T.case("the change log is bounded; older versions answer resync", function()
  local path = new_path()
  local d = assert(permadict.open(path))
  local v0 = permadict.version(d)
  local n = 10600
  permadict.transaction(d, function(t)
    for i = 1, n do
      t[i] = i
    end
  end)
  local v = permadict.version(d)
  T.eq(v, v0 + n)
  local changes, why = permadict.changes(d, v0)
  T.eq(changes, nil)
  T.eq(why, "resync")
  T.eq(#permadict.changes(d, v - 10000), 10000, "the last 10,000 changes are kept")
  T.eq(ops(permadict.changes(d, v - 1)), "set:" .. n)
  T.eq(#permadict.changes(d, v), 0, "nothing after the current version")
  T.raises(function() permadict.changes(d, "1") end, "version number")
  permadict.close(d)
end)

-- ----------------------------------------------------------------------- timeouts

T.case("timeouts return on time", function()
  local d = assert(permadict.open(new_path()))
  local v = permadict.version(d)
  local t0 = now()
  T.eq(permadict.wait(d, v, 0.3), nil, "timed out")
  local took = now() - t0
  T.truthy(took >= 0.29 and took < 2, ("0.3 s timeout took %.3f s"):format(took))
  t0 = now()
  T.eq(permadict.wait(d, v, 0), nil, "just looked")
  T.truthy(now() - t0 < 0.2, "a zero timeout does not sleep")
  T.eq(permadict.wait(d, v - 1, 0), v, "already newer: at once")
  T.raises(function() permadict.wait(d, v, -1) end, ">= 0")
  T.raises(function() permadict.wait(d, v, "1") end, "timeout in seconds")
  permadict.close(d)
end)

T.case("math.huge waits without limit, like nil", function()
  local path = new_path()
  local d = assert(permadict.open(path))
  local v = permadict.version(d)
  local p = start_later(writers.c.set(path, "k", "1"))
  local t0 = now()
  T.eq(permadict.wait(d, v, math.huge), v + 1)
  T.truthy(now() - t0 < WAIT, "woken by the writer")
  finish(p)
  permadict.close(d)
end)

T.case("an idle watcher uses almost no CPU", function()
  local d = assert(permadict.open(new_path()))
  local v = permadict.version(d)
  local cpu0, t0 = os.clock(), now()
  T.eq(permadict.wait(d, v, 2), nil)
  local cpu, wall = os.clock() - cpu0, now() - t0
  T.truthy(wall >= 1.99, "waited the whole 2 s")
  T.truthy(cpu < 0.05, ("an idle wait of %.2f s used %.3f s of CPU"):format(wall, cpu))
  permadict.close(d)
end)

-- --------------------------------------------------------------- misuse, closing

T.case("watch_fd is the dict's descriptor; waiting in a transaction is misuse", function()
  local d = assert(permadict.open(new_path()))
  local fd = permadict.watch_fd(d)
  T.truthy(type(fd) == "number" and fd >= 0, "a descriptor")
  T.eq(permadict.watch_fd(d), fd, "the same one each time")
  permadict.begin(d)
  local err = T.raises(function() permadict.wait(d, 0, 0) end, "transaction")
  T.eq(permadict.errcode(err), "EMISUSE")
  permadict.rollback(d)
  permadict.close(d)
  T.raises(function() permadict.wait(d, 0, 0) end, "closed permadict")
  T.raises(function() permadict.watch_fd(d) end, "closed permadict")
  T.raises(function() permadict.changes(d, 0) end, "closed permadict")
end)

T.done()
