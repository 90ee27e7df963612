/*
 * lua/watch.i - change watching in Lua: version, changes, wait, watch_fd.
 * Included by typemaps.i.
 *
 *   core.version(d)              -> integer
 *   core.changes(d, since)       -> { {version=, op=, key=}, ... }, or nil, "resync"
 *   core.wait(d, since, seconds) -> the new version, or nil after the timeout
 *                                   (seconds nil: no timeout)
 *   core.watch_fd(d)             -> integer descriptor, owned by d
 *
 * Lua has no lock to give up while waiting, so wait is the core's blocking
 * pd_wait: the process sleeps in the kernel (inotify) until a commit.
 */

/* ------------------------------------------------------------ arguments */

%{
#include <math.h>

/* A version number argument: an integer (a permadict.int64 box on 5.1). */
static int64_t pdlua_check_version_arg(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TTABLE && pdlua_has_mt(L, idx, &pdlua_mt_int64)) {
    pd_val v;
    pdlua_to_key(L, idx, &v);
    return v.u.i;
  }
  if (lua_type(L, idx) == LUA_TNUMBER) {
#if PDLUA_EXACT_INTEGERS
    int isnum = 0;
    lua_Integer i = lua_tointegerx(L, idx, &isnum);
    if (isnum) return (int64_t)i;
#else
    double x = (double)lua_tonumber(L, idx);
    if (x == floor(x) && fabs(x) <= PDLUA_EXACT_DOUBLE_INT) return (int64_t)x;
#endif
  }
  pdlua_bad_arg(L, idx, "a version number, an integer,");
  return 0;
}

/* A timeout in seconds as pd_wait's milliseconds: nil and math.huge are -1
 * (no limit), more than 2^31 - 1 ms is that (24.8 days);
 * fractions round up so that a short timeout never becomes "just look". */
static int pdlua_check_timeout_arg(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx)) return -1;
  if (lua_type(L, idx) != LUA_TNUMBER) pdlua_bad_arg(L, idx, "timeout in seconds or nil");
  double s = (double)lua_tonumber(L, idx);
  if (!(s >= 0)) {
    lua_pushfstring(L, "permadict: bad argument #%d (timeout must be >= 0 seconds, got %s) [EINVALID]", idx,
                    lua_tostring(L, idx));
    lua_error(L);
  }
  if (isinf(s)) return -1; /* math.huge: no limit, as nil */
  return pdlua_seconds_to_ms(s);
}
%}

%typemap(in) int64_t since %{
  $1 = pdlua_check_version_arg(L, $input);
%}
%typemap(in) int timeout_ms %{
  $1 = pdlua_check_timeout_arg(L, $input);
%}

/* ------------------------------------------------------------- pd_wait */

%typemap(in, numinputs=0) int64_t *version (int64_t tmp = 0) %{
  $1 = &tmp;
%}
%typemap(argout) int64_t *version %{
  if (result == PD_OK)
    pdlua_push_int(L, *$1);
  else
    lua_pushnil(L);
  SWIG_arg++;
%}
PDLUA_RETRY_AFTER_FORK(pd_wait)
%typemap(out) int pd_wait %{
  if ($1 != PD_OK && $1 != PD_ETIMEOUT)
    return pdlua_raise(L, arg1, $1);
%}

/* ---------------------------------------------------------- pd_watch_fd */

%typemap(in, numinputs=0) int *fd (int tmp = -1) %{
  $1 = &tmp;
%}
%typemap(argout) int *fd %{
  lua_pushinteger(L, *$1);
  SWIG_arg++;
%}
PDLUA_STATUS(pd_watch_fd)

/* ------------------------------------------------------------- changes */

/* The change list is read in one call and handed to Lua as a table. While
 * the table is built, the pd_changes sits in a userdata whose __gc frees it,
 * so a Lua error halfway (out of memory) does not leak it. */
%ignore pd_change;
%ignore pd_changes; /* the opaque type: its name would clash with core.changes */
%ignore pd_changes_open;
%ignore pd_changes_next;
%ignore pd_changes_free;
%native(changes) int pdlua_changes(lua_State *L);

%{
static const char pdlua_mt_changes;

static int pdlua_changes_gc(lua_State *L) {
  pd_changes **box = (pd_changes **)lua_touserdata(L, 1);
  pd_changes_free(*box);
  *box = NULL;
  return 0;
}

static const char *pdlua_op_name(pd_change_op op) {
  switch (op) {
  case PD_CHANGE_SET: return "set";
  case PD_CHANGE_DELETE: return "delete";
  case PD_CHANGE_CLEAR: return "clear";
  default: return "unknown";
  }
}

static int pdlua_changes(lua_State *L) {
  pd_dict *d = pdlua_check_dict(L, 1);
  int64_t since = pdlua_check_version_arg(L, 2);
  pd_changes **box = (pd_changes **)lua_newuserdata(L, sizeof *box);
  *box = NULL;
  lua_pushlightuserdata(L, (void *)&pdlua_mt_changes);
  lua_rawget(L, LUA_REGISTRYINDEX);
  if (lua_isnil(L, -1)) { /* first use in this state */
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, pdlua_changes_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushlightuserdata(L, (void *)&pdlua_mt_changes);
    lua_pushvalue(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
  }
  lua_setmetatable(L, -2);
  int rc = pd_changes_open(box, d, since);
  if (pdlua_reopen_after_fork(d, rc))
    rc = pd_changes_open(box, d, since);
  if (rc == PD_ERESYNC) {
    lua_pushnil(L);
    lua_pushliteral(L, "resync");
    return 2;
  }
  if (rc != PD_OK)
    return pdlua_raise(L, d, rc);
  lua_newtable(L);
  pd_change c;
  int n = 0;
  while ((rc = pd_changes_next(*box, &c)) == PD_OK) {
    lua_createtable(L, 0, 3);
    pdlua_push_int(L, c.version);
    lua_setfield(L, -2, "version");
    lua_pushstring(L, pdlua_op_name(c.op));
    lua_setfield(L, -2, "op");
    if (c.key.kind != PD_NULL) { /* clear: no key field, i.e. nil */
      pdlua_push_key(L, &c.key);
      lua_setfield(L, -2, "key");
    }
    lua_rawseti(L, -2, ++n);
  }
  pd_changes_free(*box);
  *box = NULL;
  if (rc != PD_ITEROVER)
    return pdlua_raise(L, d, rc);
  return 1;
}
%}
