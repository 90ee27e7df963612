-- bench_kv.lua - the single-process workload for the Lua stores.
--
-- usage: lua5.4 bench_kv.lua STORE DIR KEYS RUNS BUDGET_MS KINDS
--   STORE: table (a plain Lua table: the floor), luasql (LuaSQL's sqlite3
--   driver, Debian's lua-sql-sqlite3) or permadict (the binding).
-- The first kind gets every operation, the others set_txn, get_hit and
-- iterate. Reads are measured warm: get_first is the first read of each key
-- on a freshly opened store; get_hit, get_miss and contains each follow an
-- untimed pass over all their keys, as a long-running process re-reading its
-- data would see them. Prints one JSON line per (run, kind, operation). Needs the
-- benchclock module (bench/lua/benchclock.c) on package.cpath.
local clock = require("benchclock")
local now = clock.now_ns

local store_name, dir, nkeys, runs, budget_ms, kinds_arg = ...
nkeys, runs, budget_ms = tonumber(nkeys), tonumber(runs), tonumber(budget_ms)
if not (store_name and dir and nkeys and runs and budget_ms and kinds_arg) then
  io.stderr:write("usage: bench_kv.lua STORE DIR KEYS RUNS BUDGET_MS KINDS\n")
  os.exit(2)
end
local budget_ns = budget_ms * 1000000
local AUTOCOMMIT_BUDGET_FACTOR = 5
local CHUNK = 64

-- ------------------------------------------------------------ the workload
local function key_list(prefix, n)
  local fmt = prefix .. "%0" .. (16 - #prefix) .. "d"
  local t = {}
  for i = 1, n do t[i] = fmt:format(i - 1) end
  return t
end

local keys, misses, fresh = key_list("key:", nkeys), key_list("miss:", nkeys), key_list("new:", nkeys)
local order = {}
do
  local seed = 42
  local function rand(n) -- a fixed LCG, so every run and store see one order
    seed = (seed * 6364136223846793005 + 1442695040888963407) & 0x7fffffffffffffff
    return (seed >> 20) % n + 1
  end
  for i = 1, nkeys do order[i] = i end
  for i = nkeys, 2, -1 do
    local j = rand(i)
    order[i], order[j] = order[j], order[i]
  end
end
local shuffled_keys, shuffled_misses = {}, {}
for i = 1, nkeys do
  shuffled_keys[i] = keys[order[i]]
  shuffled_misses[i] = misses[order[i]]
end

local text_pool, bytes_pool
do
  local t, b = {}, {}
  local seed = 7
  for i = 1, 1 << 17 do
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    t[i] = string.char(97 + seed % 26)
    b[i] = string.char((seed >> 8) & 0xff)
  end
  text_pool, bytes_pool = table.concat(t), table.concat(b)
end

-- Plain values per kind; a store may convert them once before timing.
local function value_of(kind, i)
  if kind == "text100" then
    local off = (i * 7919) % (#text_pool - 100)
    return text_pool:sub(off + 1, off + 100)
  elseif kind == "int" then
    return i * 1000003
  elseif kind == "bytes1k" then
    local off = (i * 7919) % (#bytes_pool - 1024)
    return bytes_pool:sub(off + 1, off + 1024)
  end
  return { id = i, name = "user-" .. i, pos = { x = i * 0.5, y = -2.25 }, tags = { "alpha", "beta" } }
end

-- ------------------------------------------------------------ the stores
local stores = {}

stores.table = {
  ops = { set_txn = true, len = true, get_first = true, get_hit = true, get_miss = true, contains = true,
          iterate = true, overwrite_txn = true, set_autocommit = true, delete_txn = true },
  open = function(s) s.t = s.t or {} end,
  close = function() end,
  remove = function(s) s.t = nil end,
  convert = function(_, v) return v end,
  begin = function() end,
  commit = function() end,
  rollback = function() end,
  get_hits = function(s, ks, a, b)
    local t = s.t
    for i = a, b do if t[ks[i]] == nil then error("missing " .. ks[i]) end end
  end,
  get_misses = function(s, ks, a, b)
    local t = s.t
    for i = a, b do if t[ks[i]] ~= nil then error("found " .. ks[i]) end end
  end,
  put = function(s, ks, vs, a, b)
    local t = s.t
    for i = a, b do t[ks[i]] = vs[i] end
  end,
  delete = function(s, ks, a, b)
    local t = s.t
    for i = a, b do t[ks[i]] = nil end
  end,
  -- counts(s, times): counts the entries times times in the store's own loop and
  -- returns the last count (a method call and a clock read per count would cost more
  -- than permadict's count itself).
  counts = function(s, times) -- Lua tables keep no count: # is for sequences only
    local n
    for _ = 1, times do
      n = 0
      for _ in next, s.t do n = n + 1 end
    end
    return n
  end,
  iterate = function(s)
    local n = 0
    for _k, _v in next, s.t do n = n + 1 end
    return n
  end,
}
stores.table.contains = stores.table.get_hits

local function sql_literal(kind, v)
  if kind == "int" then return tostring(v) end
  if kind == "bytes1k" then return "X'" .. (v:gsub(".", function(c) return ("%02X"):format(c:byte()) end)) .. "'" end
  return "'" .. v .. "'"
end

stores.luasql = {
  ops = { open = true, set_txn = true, len = true, get_first = true, get_hit = true, get_miss = true, contains = true,
          iterate = true, overwrite_txn = true, set_autocommit = true, delete_txn = true },
  open = function(s)
    local driver = require("luasql.sqlite3")
    s.env = s.env or driver.sqlite3()
    s.con = assert(s.env:connect(s.path))
    for _, sql in ipairs({ "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                           "CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY NOT NULL, value)" }) do
      local res = assert(s.con:execute(sql))
      if type(res) ~= "number" then res:close() end -- a PRAGMA answers with a row
    end
  end,
  close = function(s) s.con:close() end,
  remove = function(s)
    for _, suffix in ipairs({ "", "-wal", "-shm", "-journal" }) do os.remove(s.path .. suffix) end
  end,
  -- Values become SQL literals once, before timing (maps are not supported:
  -- LuaSQL has no serializer of its own).
  convert = function(s, v) return sql_literal(s.kind, v) end,
  begin = function(s) assert(s.con:execute("BEGIN IMMEDIATE")) end,
  commit = function(s) assert(s.con:execute("COMMIT")) end,
  rollback = function(s) assert(s.con:execute("ROLLBACK")) end,
  get_hits = function(s, ks, a, b)
    local con = s.con
    for i = a, b do
      local cur = assert(con:execute("SELECT value FROM kv WHERE key = '" .. ks[i] .. "'"))
      local v = cur:fetch()
      cur:close()
      if v == nil then error("missing " .. ks[i]) end
    end
  end,
  get_misses = function(s, ks, a, b)
    local con = s.con
    for i = a, b do
      local cur = assert(con:execute("SELECT value FROM kv WHERE key = '" .. ks[i] .. "'"))
      local v = cur:fetch()
      cur:close()
      if v ~= nil then error("found " .. ks[i]) end
    end
  end,
  contains = function(s, ks, a, b)
    local con = s.con
    for i = a, b do
      local cur = assert(con:execute("SELECT 1 FROM kv WHERE key = '" .. ks[i] .. "'"))
      local v = cur:fetch()
      cur:close()
      if v == nil then error("missing " .. ks[i]) end
    end
  end,
  put = function(s, ks, vs, a, b)
    local con = s.con
    for i = a, b do
      assert(con:execute("INSERT OR REPLACE INTO kv(key, value) VALUES ('" .. ks[i] .. "', " .. vs[i] .. ")"))
    end
  end,
  delete = function(s, ks, a, b)
    local con = s.con
    for i = a, b do
      if assert(con:execute("DELETE FROM kv WHERE key = '" .. ks[i] .. "'")) ~= 1 then
        error("missing " .. ks[i])
      end
    end
  end,
  counts = function(s, times)
    local con, n = s.con, nil
    for _ = 1, times do
      local cur = assert(con:execute("SELECT count(*) FROM kv"))
      n = cur:fetch()
      cur:close()
    end
    return math.tointeger(tonumber(n))
  end,
  iterate = function(s)
    local cur = assert(s.con:execute("SELECT key, value FROM kv ORDER BY key"))
    local n = 0
    local k = cur:fetch()
    while k ~= nil do
      n = n + 1
      k = cur:fetch()
    end
    cur:close()
    return n
  end,
}

stores.permadict = {
  ops = stores.luasql.ops,
  open = function(s)
    local pd = require("permadict")
    s.pd = pd
    s.d = assert(pd.open(s.path))
  end,
  close = function(s) s.pd.close(s.d) end,
  remove = stores.luasql.remove,
  convert = function(s, v)
    if s.kind == "bytes1k" then return require("permadict").bytes(v) end
    return v
  end,
  begin = function(s) s.pd.begin(s.d) end,
  commit = function(s) s.pd.commit(s.d) end,
  rollback = function(s) s.pd.rollback(s.d) end,
  get_hits = stores.table.get_hits,
  get_misses = stores.table.get_misses,
  contains = function(s, ks, a, b)
    local d, contains = s.d, s.pd.contains
    for i = a, b do if not contains(d, ks[i]) then error("missing " .. ks[i]) end end
  end,
  put = stores.table.put,
  delete = function(s, ks, a, b)
    local d, delete = s.d, s.pd.delete
    for i = a, b do if not delete(d, ks[i]) then error("missing " .. ks[i]) end end
  end,
  counts = function(s, times)
    local d, count, n = s.d, s.pd.count, nil
    for _ = 1, times do n = count(d) end
    return n
  end,
  iterate = function(s)
    local n = 0
    for _k, _v in s.pd.pairs(s.d) do n = n + 1 end
    return n
  end,
}
-- table's functions index s.t; the binding's dict is s.d.
for _, f in ipairs({ "get_hits", "get_misses", "put" }) do
  local plain = stores.table[f]
  stores.permadict[f] = function(s, ...)
    s.t = s.d
    return plain(s, ...)
  end
end

-- ------------------------------------------------------------ measuring
local function emit(store, kind, op, run, ops, ns, err)
  if err then
    io.write(('{"suite":"kv","lang":"lua","store":"%s","kind":"%s","op":"%s","run":%d,"error":%q}\n')
      :format(store, kind, op, run, tostring(err):gsub("[%c\"\\]", " ")))
  else
    io.write(('{"suite":"kv","lang":"lua","store":"%s","kind":"%s","op":"%s","run":%d,"ops":%d,"us":%.4f}\n')
      :format(store, kind, op, run, ops, ns / 1000 / ops))
  end
  io.stdout:flush()
end

-- Calls fn(s, a, b) over 1..n in chunks until done or out of budget
-- (budget_ns unless given).
local function timed(s, fn, n, budget)
  local t0 = now()
  local deadline = t0 + (budget or budget_ns)
  local done = 0
  while done < n do
    local b = math.min(done + CHUNK, n)
    fn(s, done + 1, b)
    done = b
    if now() > deadline then break end
  end
  return done, now() - t0
end

local function one_kind(store, kind, run, all_ops)
  local s = setmetatable({ path = dir .. "/lua-" .. store_name .. "-" .. kind, kind = kind },
                         { __index = store })
  local function want(op)
    return store.ops[op] and (all_ops or op == "set_txn" or op == "get_hit" or op == "iterate")
  end
  local function attempt(op, body)
    local ok, err = pcall(body)
    if not ok then
      emit(store_name, kind, op, run, 0, 0, err)
      io.stderr:write(("bench_kv.lua: %s %s %s: %s\n"):format(store_name, kind, op, tostring(err)))
    end
    return ok
  end
  local values, values2 = {}, {}
  for i = 1, nkeys do
    values[i] = s:convert(value_of(kind, i - 1))
    values2[i] = s:convert(value_of(kind, i))
  end
  s:remove()
  s:open()
  local filled = attempt("set_txn", function()
    local t0 = now()
    s:begin()
    s:put(keys, values, 1, nkeys)
    s:commit()
    emit(store_name, kind, "set_txn", run, nkeys, now() - t0)
  end)
  if not filled then s:close(); s:remove(); return end
  if want("open") then
    attempt("open", function()
      s:close()
      local t0 = now()
      local deadline, done = t0 + budget_ns, 0
      repeat
        s:open(); s:close(); done = done + 1
      until done >= 1000 or now() > deadline
      emit(store_name, kind, "open", run, done, now() - t0)
      s:open()
    end)
  end
  if want("len") then
    attempt("len", function()
      local function counts(x, a, b) -- one count per key of the chunk: the keys only set how many
        local n = x:counts(b - a + 1)
        if n ~= nkeys then error(("len returned %s, expected %d"):format(tostring(n), nkeys)) end
      end
      emit(store_name, kind, "len", run, timed(s, counts, nkeys))
    end)
  end
  local function get_hits(x, a, b) x:get_hits(shuffled_keys, a, b) end
  if want("get_first") then
    attempt("get_first", function()
      s:close() -- a fresh handle: nothing read yet
      s:open()
      emit(store_name, kind, "get_first", run, timed(s, get_hits, nkeys))
    end)
  end
  local reads = {
    { "get_hit", get_hits },
    { "get_miss", function(x, a, b) x:get_misses(shuffled_misses, a, b) end },
    { "contains", function(x, a, b) x:contains(shuffled_keys, a, b) end },
  }
  for _, r in ipairs(reads) do
    if want(r[1]) then
      attempt(r[1], function()
        r[2](s, 1, nkeys) -- untimed warm-up: every key once, so caches are warm
        emit(store_name, kind, r[1], run, timed(s, r[2], nkeys))
      end)
    end
  end
  if want("iterate") then
    attempt("iterate", function()
      local t0 = now()
      local n = s:iterate()
      local ns = now() - t0
      if n ~= nkeys then error(("iterated %d of %d"):format(n, nkeys)) end
      emit(store_name, kind, "iterate", run, n, ns)
    end)
  end
  local shuffled_values2 = {}
  for i = 1, nkeys do shuffled_values2[i] = values2[order[i]] end
  local writes = {
    { "overwrite_txn", true, function(x, a, b) x:put(shuffled_keys, shuffled_values2, a, b) end },
    -- A longer sample: see AUTOCOMMIT_BUDGET_FACTOR in bench/c/bench_data.h.
    { "set_autocommit", false, function(x, a, b) x:put(fresh, values, a, b) end,
      budget_ns * AUTOCOMMIT_BUDGET_FACTOR },
    { "delete_txn", true, function(x, a, b) x:delete(shuffled_keys, a, b) end },
  }
  for _, w in ipairs(writes) do
    if want(w[1]) then
      attempt(w[1], function()
        local t0 = now()
        if w[2] then s:begin() end
        local ok, done = pcall(timed, s, w[3], nkeys, w[4])
        if not ok then
          -- Left open, the transaction would take in the next operation's writes:
          -- autocommit sets timed without their commits, a begin that fails.
          if w[2] then s:rollback() end
          error(done, 0)
        end
        if w[2] then s:commit() end
        emit(store_name, kind, w[1], run, done, now() - t0)
      end)
    end
  end
  s:close()
  s:remove()
end

local store = stores[store_name]
if not store then
  io.stderr:write("bench_kv.lua: unknown store " .. store_name .. "\n")
  os.exit(2)
end
local kinds = {}
for k in kinds_arg:gmatch("[^,]+") do kinds[#kinds + 1] = k end
for run = 0, runs - 1 do
  for i, kind in ipairs(kinds) do
    if not (store_name == "luasql" and kind == "map") then
      one_kind(store, kind, run, i == 1)
      collectgarbage()
    end
  end
end
