-- The Lua worker of the demo (examples/README.md has the key protocol;
-- worker.c and worker.py follow the same one). Lua 5.3 or later.
--
--   usage: lua5.4 worker.lua FILE WORKER_ID [NAMESPACE [TIMEOUT_SECONDS]]
--
-- Started before its configuration exists, it announces itself, sleeps in
-- permadict.wait, and on every new generation of "config" does a little work
-- and reports it back through the same dict; it exits when "stop" is set.
--
-- Exit status: 0 stopped as asked, 1 no "stop" before the timeout, 2 bad
-- usage, 3 a library error, 4 a config that is not as the protocol says.

local permadict = require("permadict")

-- Standard Lua has no clock finer than a second; the coordinator compares
-- the moment a worker woke with its own clock, so this needs a real one.
local has_system, system = pcall(require, "system")
if not has_system then
  io.stderr:write("worker.lua: needs luasystem for a sub-millisecond clock ",
                  "(Debian package lua-system)\n")
  os.exit(2)
end

local function say(worker_id, text)
  io.stdout:write("  [", worker_id, "] ", text, "\n")
  io.stdout:flush()
end

local function complain(worker_id, text)
  io.stderr:write("  [", worker_id, "] ", text, "\n")
  io.stderr:flush()
end

-- Counts this worker as ready and returns the version to watch from, in one
-- transaction, so no write can fall between the two: the coordinator's
-- config, written after it has counted every worker, is always newer.
local function announce(d)
  return permadict.transaction(d, function(t)
    permadict.incr(t, "workers.ready")
    return permadict.version(t)
  end)
end

-- The keys changed in (since, upto], as a set; "everything" when the bounded
-- log no longer reaches back to since (a resync says nothing about which
-- keys). Changes after upto are left for the next wake-up, so a wake-up is
-- never credited with a change committed after it.
local function keys_changed(d, since, upto)
  local changes = permadict.changes(d, since)
  if changes == nil then
    return { config = true, stop = true }
  end
  local keys = {}
  for _, change in ipairs(changes) do
    if change.version <= upto then
      if change.op == "clear" then
        keys.config, keys.stop = true, true
      elseif change.key ~= nil then
        keys[change.key] = true
      end
    end
  end
  return keys
end

local function valid_config(config)
  return type(config) == "table"
    and math.type(config.generation) == "integer" and config.generation >= 1
    and math.type(config.n) == "integer" and config.n >= 0
    and type(config.written_at) == "number"
end

-- "A little work" whose result the coordinator can check exactly.
local function work(n)
  local sum = 0
  for i = 0, n - 1 do
    sum = sum + (i * i) % 1009
  end
  return sum
end

-- What this worker saw of one generation, and its result, in one
-- transaction: the coordinator never sees a count without its details.
local function report(d, worker_id, config, woke_at, result)
  local g = config.generation
  permadict.transaction(d, function(t)
    t[("seen.%s.%d.woke_at"):format(worker_id, g)] = woke_at
    t[("seen.%s.%d.n"):format(worker_id, g)] = config.n
    permadict.incr(t, ("results.%d.sum"):format(g), result)
    permadict.incr(t, ("results.%d.done"):format(g))
  end)
end

local function run(path, worker_id, namespace, timeout)
  local d <close> = assert(permadict.open(path, { name = namespace }))
  local since = announce(d)
  say(worker_id, ("ready, watching from version %d"):format(since))
  local last_generation = 0
  local give_up = system.monotime() + timeout
  while true do
    local left = give_up - system.monotime()
    if left <= 0 then
      complain(worker_id, ('no "stop" within %g s, giving up'):format(timeout))
      return 1
    end
    local now_version = permadict.wait(d, since, left)
    if now_version ~= nil then
      local woke_at = system.gettime()
      local changed = keys_changed(d, since, now_version)
      since = now_version

      local config = changed.config and d.config or nil
      if config ~= nil then
        if not valid_config(config) then
          complain(worker_id, '"config" is not a map with integers generation and n '
                              .. "and a number written_at")
          return 4
        end
        if config.generation ~= last_generation then
          local result = work(config.n)
          report(d, worker_id, config, woke_at, result)
          last_generation = config.generation
          say(worker_id, ("saw generation %d (n=%d) %.3f ms after it was written; reported %d")
            :format(last_generation, config.n, (woke_at - config.written_at) * 1000, result))
        end
      end

      if changed.stop and d.stop == true then
        say(worker_id, "told to stop")
        return 0
      end
    end
  end
end

local function main(args)
  if #args < 2 or #args > 4 then
    io.stderr:write("usage: lua5.4 worker.lua FILE WORKER_ID [NAMESPACE [TIMEOUT_SECONDS]]\n")
    return 2
  end
  local path, worker_id = args[1], args[2]
  local namespace = args[3] or "demo"
  local timeout = tonumber(args[4] or "30")
  if timeout == nil or timeout <= 0 or timeout > 86400 then
    io.stderr:write(("worker.lua: TIMEOUT_SECONDS must be a number from 1 to 86400, got '%s'\n")
      :format(args[4]))
    return 2
  end
  local ok, status = pcall(run, path, worker_id, namespace, timeout)
  if not ok then
    complain(worker_id, tostring(status))
    return 3
  end
  return status
end

os.exit(main(arg), true)
