--- permadict: a dictionary in one SQLite file, shared safely by many processes.
--
--   local permadict = require("permadict")
--   local d = assert(permadict.open("db.sqlite", { name = "config" }))
--   d.workers = 8              -- d[key] reads and writes items, always
--   print(d.workers, #d)
--   d.workers = nil            -- deletes
--   for k, v in pairs(d) do end          -- 5.2+; permadict.pairs(d) everywhere
--   permadict.close(d)
--
-- Operations are functions of this module taking the dict first
-- (permadict.close(d), permadict.incr(d, k)), never methods on d: the dict
-- has no method names, so every key, "close" and "get" included, is an item.
-- See docs/LUA.md for the value rules and the error conventions.

local core = require("permadict_core")

local support = core.support()
local dict_mt = support.dict

local M = {}

M.VERSION = core.libversion()

-- ------------------------------------------------------------ values

--- The null value (nil cannot be stored, and cannot sit in a list).
M.null = support.null

-- Bad arguments raise like the C side: "permadict: ... [EINVALID]", so
-- permadict.errcode tells them apart from other errors.
local function invalid(fn, what, level)
  error(("permadict: permadict.%s: %s [EINVALID]"):format(fn, what), level + 1)
end

local function wrap_string(mt, fn)
  return function(s)
    if type(s) ~= "string" then
      invalid(fn, "expected a string, got " .. type(s), 2)
    end
    return setmetatable({ s }, mt)
  end
end

--- Stores s as text (it must be valid UTF-8) / as bytes, whatever it holds.
-- Bytes keys that are valid UTF-8 are read back (pairs, changes, map keys)
-- as such bytes boxes. Boxes compare equal to boxes of the same kind and content.
M.text = wrap_string(support.text, "text")
M.bytes = wrap_string(support.bytes, "bytes")
local function box_tostring(t) return t[1] end
local function box_eq(a, b)
  return getmetatable(a) == getmetatable(b) and a[1] == b[1]
end
support.text.__tostring = box_tostring
support.bytes.__tostring = box_tostring
support.text.__eq = box_eq
support.bytes.__eq = box_eq

--- Marks t (default: a new table) as a list / as a map; returns t.
function M.array(t)
  return setmetatable(t or {}, support.array)
end
function M.map(t)
  return setmetatable(t or {}, support.map)
end

--- A language-private value: an opaque (tag, data) pair, e.g. a Python
-- pickle (tag 1) read back from a file another language wrote.
function M.private(tag, data)
  if type(tag) ~= "number" or type(data) ~= "string" then
    invalid("private", "expected (number tag, string data)", 2)
  end
  -- Refused where the value is made, not only when it is stored (the C side
  -- checks again then, for private values built by hand).
  if tag % 1 ~= 0 or tag < 1 or tag > 127 then
    invalid("private", "tag " .. tostring(tag) .. " is not an integer in 1..127", 2)
  end
  return setmetatable({ tag = tag, data = data }, support.private)
end
support.private.__tostring = function(p)
  return ("permadict.private(tag %d, %d bytes)"):format(p.tag, #p.data)
end

local INT64_MAX_DIGITS, INT64_MIN_DIGITS = "9223372036854775807", "9223372036854775808"

-- true when the decimal digits (optional "-") fit a signed 64-bit integer.
-- Compared as strings: tonumber would round to a double first, and
-- -9223372036854775809 rounds to exactly -2^63.
local function int64_in_range(digits)
  local minus, magnitude = digits:match("^(%-?)0*(%d-)$")
  local limit = minus == "-" and INT64_MIN_DIGITS or INT64_MAX_DIGITS
  if #magnitude ~= #limit then
    return #magnitude < #limit
  end
  return magnitude <= limit
end

--- An exact 64-bit integer from its decimal digits (outside the signed
-- 64-bit range: [EINVALID]). On Lua 5.3+ this is simply the integer; on
-- 5.1/LuaJIT, whose numbers are doubles, it is a box (tostring gives the
-- digits) that is stored as that exact integer.
-- Integers beyond +-2^53 stored by others read back as such boxes on 5.1.
function M.int64(digits)
  digits = tostring(digits)
  if not digits:match("^%-?%d+$") then
    invalid("int64", "expected decimal digits, got '" .. digits .. "'", 2)
  end
  if not int64_in_range(digits) then
    invalid("int64", digits .. " is outside the signed 64-bit range", 2)
  end
  if support.exact_integers then
    return math.tointeger(tonumber(digits)) -- exact once in range
  end
  return setmetatable({ digits }, support.int64)
end

--- true for the null value (permadict.null).
function M.is_null(v)
  return v == M.null
end

-- ------------------------------------------------------- the dict object

dict_mt.__index = core.get     -- d[k]: the value, or nil when absent
dict_mt.__newindex = core.assign -- d[k] = v; nil deletes
dict_mt.__len = core.len       -- #d: the number of entries
dict_mt.__pairs = function(d) return M.pairs(d) end
dict_mt.__close = function(d) core.close(d) end -- local d <close> (5.4)
dict_mt.__tostring = function(d)
  if core.is_closed(d) then
    return "permadict (closed)"
  end
  return ("permadict: %s [%s]"):format(core.path(d), core.name(d))
end
dict_mt.__metatable = "permadict"

--- Opens namespace opts.name ("default") of the file at path; ":memory:"
-- gives a private in-memory dict. opts: name, readonly, create (default
-- true), timeout (seconds to wait for a lock, default 5), durable.
-- Returns the dict, or nil, message, code (as io.open does).
function M.open(path, opts)
  if type(path) ~= "string" or path:find("\0", 1, true) then
    error("permadict.open: path must be a string without zero bytes [EINVALID]", 2)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error("permadict.open: options must be a table [EINVALID]", 2)
  end
  return core.open(path, opts)
end

--- Closes d: later use raises "attempt to use a closed permadict". Closing
-- twice is harmless; __gc and <close> do the same. An open transaction is
-- rolled back.
M.close = core.close
M.is_closed = core.is_closed

M.path = core.path
M.name = core.name

-- ------------------------------------------------------------ items

--- d[k], or default when k is absent.
function M.get(d, k, default)
  local v = core.get(d, k)
  if v == nil then
    return default
  end
  return v
end

--- d[k] = v (nil deletes).
function M.set(d, k, v)
  core.assign(d, k, v)
end

--- Deletes k; true if it was there.
M.delete = core.delete
--- true if k is present.
M.contains = core.contains
--- The number of entries (#d).
M.count = core.count
--- Deletes every entry of this namespace.
M.clear = core.clear

-- --------------------------------------------------------- atomic updates

--- Adds by (default 1; integer or float) to the number at k (absent: 0)
-- and returns the new value, in one step safe against other processes.
function M.incr(d, k, by)
  if by == nil then
    by = 1
  end
  return core.incr(d, k, by)
end

--- If d[k] equals expected (nil: absent), stores desired (nil or omitted:
-- deletes); true when it did. A plain string also matches stored bytes of the
-- same content (bytes read back as plain strings), and on 5.1/LuaJIT a whole
-- number also matches the float of the same value (a float 1.0 reads back as
-- the number 1 there), so a value just read matches itself.
function M.compare_and_set(d, k, expected, desired)
  -- Passed on explicitly: the C function counts its arguments.
  return core.compare_and_swap(d, k, expected, desired)
end

--- Stores v only when k is absent; true when it did.
M.set_if_absent = core.set_if_absent

--- Reads and deletes k in one step; default when it was absent.
function M.pop(d, k, default)
  local v = core.pop(d, k)
  if v == nil then
    return default
  end
  return v
end

--- Stores v and returns what was there (nil when absent).
function M.get_and_set(d, k, v)
  local old, found = core.get_and_set(d, k, v)
  if found then
    return old
  end
  return nil
end

-- ----------------------------------------------------------- transactions

-- Lua's own message for a yield where it is not allowed (5.1: "attempt to
-- yield across metamethod/C-call boundary"; 5.2+: "... across a C-call
-- boundary"; LuaJIT puts the position first), raised inside fn, which is
-- called without continuation.
local function is_yield_refused(err)
  return type(err) == "string" and err:find("attempt to yield across", 1, true) ~= nil
end

-- Dicts whose permadict.transaction function is running. Ending its
-- transaction from inside (commit, rollback, reopen) would make the
-- function's later writes commit one by one, beyond the reach of its
-- rollback, and the end of the function fail with "no transaction is open".
local in_transaction_function = setmetatable({}, { __mode = "k" })

-- Raises the error of a transaction that core.transaction_call has already
-- rolled back, or returns fn's results from one it committed.
local function finish(ok, ...)
  if ok then
    return ...
  end
  local err = ...
  if is_yield_refused(err) then
    error("permadict: a transaction function cannot yield (" .. err ..
          "); the transaction was rolled back [EMISUSE]", 0)
  end
  error(err, 0)
end

-- Whether Lua can call v: a function, or a value whose metatable has
-- __call (read raw, as Lua does, also behind a protected metatable).
local raw_getmetatable = debug and debug.getmetatable or getmetatable
local function is_callable(v)
  if type(v) == "function" then
    return true
  end
  local mt = raw_getmetatable(v)
  return type(mt) == "table" and rawget(mt, "__call") ~= nil
end

--- Runs fn(d) inside one write transaction: commits everything it did and
-- returns its results, or, when fn raises, rolls everything back and
-- re-raises the same error. fn is anything callable. Transactions do not
-- nest, and fn may not end its transaction itself (commit, rollback and
-- reopen raise [EMISUSE] there). fn may not yield: the transaction would
-- stay open on d while suspended, and other code's writes would join it; a
-- yield raises [EMISUSE] after the rollback.
function M.transaction(d, fn)
  if not is_callable(fn) then
    core.is_closed(d) -- a forgotten d (transaction(fn)) is named as such first
    error("permadict.transaction: expected a function (or a callable value), got " ..
          type(fn) .. " [EINVALID]", 2)
  end
  -- Begin, fn and the commit or rollback all happen in C: an error raised
  -- in Lua code between them (a debug hook's) would leave the transaction open.
  return finish(core.transaction_call(d, fn, in_transaction_function))
end

-- core_fn, refused inside a permadict.transaction function (see above).
local function outside_transaction_function(name, core_fn)
  return function(d, ...)
    if in_transaction_function[d] then
      error(("permadict: permadict.%s cannot be called inside a permadict.transaction " ..
             "function: its transaction ends when the function returns (commit) " ..
             "or raises (rollback) [EMISUSE]"):format(name), 2)
    end
    return core_fn(d, ...)
  end
end

M.begin = core.begin
M.commit = outside_transaction_function("commit", core.commit)
M.rollback = outside_transaction_function("rollback", core.rollback)
M.in_transaction = core.in_transaction

--- After fork() calls reopen an inherited handle by themselves; this does
-- it explicitly (needed only for a transaction begun before the fork).
M.reopen = outside_transaction_function("reopen", core.reopen)

-- -------------------------------------------------------------- iteration

--- An iterator over (key, value) in key order: integers, then text, then
-- bytes. for k, v in permadict.pairs(d) do ... end (pairs(d) on 5.2+).
-- opts: prefix, start (inclusive), stop (exclusive), page_size. It reads a
-- page at a time, never holds a lock between pages, and skips keys other
-- processes delete meanwhile. It keeps d alive; closing d ends it.
function M.pairs(d, opts)
  local o = { values = true }
  if opts ~= nil then
    if type(opts) ~= "table" then
      error("permadict.pairs: options must be a table [EINVALID]", 2)
    end
    for k, v in next, opts do
      o[k] = v
    end
  end
  local it = core.iter_open(d, o)
  local iter_next = core.iter_next
  return function()
    return iter_next(it)
  end, d, nil
end

-- ------------------------------------------------------------ namespaces

-- C sees a string up to its first zero byte: refuse one rather than act on
-- another file or namespace. Raised at the caller of the function calling it.
local function refuse_zero_byte(s, what)
  if type(s) == "string" and s:find("\0", 1, true) then
    error(("permadict: %s %q contains a zero byte [EINVALID]"):format(what, s), 3)
  end
end

--- All namespace names of d's file, sorted; given a path instead of a dict,
--- of the file at that path, opening no namespace (none need be "default").
function M.namespaces(d)
  if type(d) == "string" then
    refuse_zero_byte(d, "path")
    return core.file_namespaces(d)
  end
  return core.namespaces(d)
end
--- Deletes a namespace of d's file and everything in it.
function M.drop_namespace(d, name)
  refuse_zero_byte(name, "namespace name")
  return core.drop_namespace(d, name)
end

-- -------------------------------------------------------------- watching

--- The namespace's change counter: it grows with every committed change.
M.version = core.version

--- The changes committed after version since, oldest first: an array of
-- { version = n, op = "set" | "delete" | "clear", key = k } (key nil for
-- clear). A transaction of many changes gives one entry per key. Returns
-- nil, "resync" when the bounded log (the last 10,000 changes) no longer
-- reaches back that far: re-read everything, carry on from version(d).
function M.changes(d, since)
  return core.changes(d, since)
end

--- Blocks until the version exceeds since and returns the new version, or
-- nil once timeout seconds (nil: no limit; 0: just look) pass without a
-- change. The process sleeps in the kernel meanwhile. Raises [EMISUSE]
-- inside a transaction, whose lock would keep every writer out.
function M.wait(d, since, timeout)
  return core.wait(d, since, timeout)
end

--- A file descriptor (an integer, owned by d: do not close it) that becomes
-- readable when the file may have changed, for event loops (luv, cqueues,
-- OpenResty...). When it is readable call permadict.wait(d, since, 0),
-- which reads the version and drains it.
M.watch_fd = core.watch_fd

-- ----------------------------------------------------------- maintenance

--- count, version, namespaces, page_size, page_count, freelist_count,
-- file_bytes, wal_bytes, format_version.
M.stats = core.stats_get

--- Checks the file (SQLite's integrity_check and the library's own
-- invariants): true, or raises naming the first problem [ECORRUPT].
function M.check(d)
  core.check(d)
  return true
end

--- The code name ("EBUSY", "ENOTFOUND", ...) of an error raised by this
-- module, or nil for any other error.
function M.errcode(err)
  if type(err) ~= "string" then
    return nil
  end
  -- Bad arguments caught in this file carry the caller's position, as
  -- error(msg, 2) gives it ("app.lua:12: permadict: ..."); so does an error
  -- re-raised with error(err).
  -- The binding's own argument checks say which function: "permadict.open: ...".
  local msg = err:match("^[^\n]-:%d+: (permadict.*)$") or err
  return msg:match("^permadict: .*%[(E%u+)%]$") or msg:match("^permadict%.[%a_]+: .*%[(E%u+)%]$")
end

return M
