/*
 * pdlua_handle.c - the dict and iterator userdata, closing, errors, fork().
 *
 * After lsqlite3 and LuaFileSystem: the userdata carries a closed state, an
 * explicit close followed by __gc frees once, and using a closed handle
 * raises "attempt to use a closed permadict". An open iterator is linked to
 * its dict so that closing the dict frees the iterator first: the core
 * requires the dict to outlive its iterators, and Lua may finalize them in
 * either order.
 */
#include "pdlua.h"

#include <string.h>

const char pdlua_mt_dict;
const char pdlua_mt_iter;
const char pdlua_mt_text;
const char pdlua_mt_bytes;
const char pdlua_mt_array;
const char pdlua_mt_map;
const char pdlua_mt_private;
const char pdlua_mt_int64;


void pdlua_push_registry(lua_State *L, const char *key) {
  lua_pushlightuserdata(L, (void *)key);
  lua_rawget(L, LUA_REGISTRYINDEX);
}

int pdlua_has_mt(lua_State *L, int idx, const char *key) {
  if (!lua_getmetatable(L, idx))
    return 0;
  pdlua_push_registry(L, key);
  int same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same;
}

/* ------------------------------------------------------------- errors */

const char *pdlua_code_name(int rc) {
  switch (rc) {
  case PD_OK: return "OK";
  case PD_ENOTFOUND: return "ENOTFOUND";
  case PD_ITEROVER: return "ITEROVER";
  case PD_EBUSY: return "EBUSY";
  case PD_ETIMEOUT: return "ETIMEOUT";
  case PD_EREADONLY: return "EREADONLY";
  case PD_EFORMAT: return "EFORMAT";
  case PD_ENOTADB: return "ENOTADB";
  case PD_ECORRUPT: return "ECORRUPT";
  case PD_EDECODE: return "EDECODE";
  case PD_ETOOBIG: return "ETOOBIG";
  case PD_EINVALID: return "EINVALID";
  case PD_ETYPE: return "ETYPE";
  case PD_EFORKED: return "EFORKED";
  case PD_ENOMEM: return "ENOMEM";
  case PD_EIO: return "EIO";
  case PD_EFULL: return "EFULL";
  case PD_EMISUSE: return "EMISUSE";
  case PD_ERESYNC: return "ERESYNC";
  case PD_EGONE: return "EGONE";
  default: return "ERROR";
  }
}

void pdlua_push_error(lua_State *L, const pd_dict *d, int rc) {
  const char *msg = pd_errmsg(d);
  if (!msg || !*msg)
    msg = pd_errstr(rc);
  lua_pushfstring(L, "permadict: %s [%s]", msg, pdlua_code_name(rc));
}

int pdlua_raise(lua_State *L, const pd_dict *d, int rc) {
  pdlua_push_error(L, d, rc);
  return lua_error(L);
}

int pdlua_reopen_after_fork(pd_dict *d, int rc) {
  /* Reopening inside a transaction begun before fork() would silently turn
   * the rest of it into separate commits, so that case is raised instead. */
  if (rc != PD_EFORKED || pd_in_transaction(d))
    return 0;
  return pd_reopen(d) == PD_OK;
}

/* ---------------------------------------------------------------- dicts */

void pdlua_bad_arg(lua_State *L, int idx, const char *expected) {
  lua_pushfstring(L, "permadict: bad argument #%d (%s expected, got %s) [EINVALID]", idx,
                  expected, luaL_typename(L, idx));
  lua_error(L);
}

void pdlua_bad_arg_count(lua_State *L, const char *fn, int min, int max, int got) {
  luaL_where(L, 1);
  lua_pushfstring(L, "permadict: %s takes %d to %d arguments, got %d [EINVALID]", fn, min,
                  max, got);
  lua_concat(L, 2);
  lua_error(L);
}

/* Every call checks its dict, so by a tag rather than by the metatable (a
 * registry lookup: 330 of a cached get's 2,000 instructions). Only this
 * file writes a full userdata of this size with this tag; Lua code cannot
 * write the bytes of a userdata at all. No lua_type call is needed:
 * lua_touserdata is non-NULL for a full or a light userdata only, and the
 * length of a light one (a pointer to anything, not to be read) is 0, so a
 * length of sizeof *u means a full userdata, whose bytes may be read. Inline
 * so that the checks below are one call less on every operation. */
static inline pdlua_dict *test_dict_ud(lua_State *L, int idx) {
  pdlua_dict *u = (pdlua_dict *)lua_touserdata(L, idx);
  if (!u || pdlua_rawlen(L, idx) != sizeof *u || u->tag != &pdlua_mt_dict)
    pdlua_bad_arg(L, idx, "permadict");
  return u;
}

/* Raised by every call on a closed dict or on an iterator of one, and
 * returned by transaction_call when fn closed its dict: one text for all. */
static const char closed_message[] = "permadict: attempt to use a closed permadict [EMISUSE]";

static inline pd_dict *test_dict(lua_State *L, int idx) {
  pdlua_dict *u = test_dict_ud(L, idx);
  if (!u->d) {
    lua_pushstring(L, closed_message);
    lua_error(L);
  }
  return u->d;
}

pd_dict *pdlua_check_dict(lua_State *L, int idx) {
  return test_dict(L, idx);
}

void pdlua_push_dict(lua_State *L, pd_dict *d) {
  pdlua_dict *u = (pdlua_dict *)lua_newuserdata(L, sizeof *u);
  u->tag = &pdlua_mt_dict;
  u->d = d;
  u->iters = NULL;
  pdlua_push_registry(L, &pdlua_mt_dict);
  lua_setmetatable(L, -2);
}

static void iter_unlink(pdlua_iter *i) {
  if (i->owner) {
    if (i->prev)
      i->prev->next = i->next;
    else
      i->owner->iters = i->next;
    if (i->next)
      i->next->prev = i->prev;
  }
  i->owner = NULL;
  i->prev = i->next = NULL;
}

static void dict_close(pdlua_dict *u) {
  while (u->iters) {
    pdlua_iter *i = u->iters;
    pd_iter_free(i->it);
    i->it = NULL;
    iter_unlink(i);
  }
  pd_close(u->d); /* rolls back an open transaction; NULL is a no-op */
  u->d = NULL;
}

int pdlua_dict_close(lua_State *L) {
  dict_close(test_dict_ud(L, 1)); /* closing twice is harmless */
  return 0;
}

int pdlua_dict_is_closed(lua_State *L) {
  lua_pushboolean(L, test_dict_ud(L, 1)->d == NULL);
  return 1;
}

static int dict_gc(lua_State *L) {
  dict_close((pdlua_dict *)lua_touserdata(L, 1));
  return 0;
}

/* ------------------------------------------------------------- iterators */

void pdlua_push_iter(lua_State *L, pd_iter *it, int dict_idx, int values) {
  if (dict_idx < 0)
    dict_idx = lua_gettop(L) + dict_idx + 1;
  pdlua_dict *owner = test_dict_ud(L, dict_idx);
  pdlua_iter *i = (pdlua_iter *)lua_newuserdata(L, sizeof *i);
  i->it = it;
  i->owner = owner;
  i->values = values;
  i->prev = NULL;
  i->next = owner->iters;
  if (owner->iters)
    owner->iters->prev = i;
  owner->iters = i;
  pdlua_push_registry(L, &pdlua_mt_iter);
  lua_setmetatable(L, -2);
  /* The iterator references its dict, so the dict lives as long as it. */
  lua_pushvalue(L, dict_idx);
#if LUA_VERSION_NUM >= 504
  lua_setiuservalue(L, -2, 1); /* lua_newuserdata gives one user value */
#elif LUA_VERSION_NUM >= 503
  lua_setuservalue(L, -2);
#else
  lua_createtable(L, 1, 0); /* 5.1: the environment must be a table */
  lua_insert(L, -2);
  lua_rawseti(L, -2, 1);
  lua_setfenv(L, -2);
#endif
}

pd_iter *pdlua_check_iter(lua_State *L, int idx) {
  pdlua_iter *i = (pdlua_iter *)lua_touserdata(L, idx);
  if (!i || !pdlua_has_mt(L, idx, &pdlua_mt_iter))
    pdlua_bad_arg(L, idx, "permadict iterator");
  if (!i->it && !i->owner) {
    lua_pushstring(L, closed_message);
    lua_error(L);
  }
  return i->it;
}

const pd_dict *pdlua_iter_dict(lua_State *L, int idx) {
  pdlua_iter *i = (pdlua_iter *)lua_touserdata(L, idx);
  return i && i->owner ? i->owner->d : NULL;
}

int pdlua_iter_has_values(lua_State *L, int idx) {
  pdlua_iter *i = (pdlua_iter *)lua_touserdata(L, idx);
  return i && i->values;
}

static void iter_free(pdlua_iter *i) {
  pd_iter_free(i->it);
  i->it = NULL;
}

int pdlua_iter_close(lua_State *L) {
  pdlua_check_iter(L, 1);
  iter_free((pdlua_iter *)lua_touserdata(L, 1));
  return 0;
}

static int iter_gc(lua_State *L) {
  pdlua_iter *i = (pdlua_iter *)lua_touserdata(L, 1);
  iter_free(i);
  iter_unlink(i);
  return 0;
}

/* ------------------------------------------------------ small operations */

int pdlua_assign(lua_State *L) {
  pd_dict *d = pdlua_check_dict(L, 1);
  pd_val key, value;
  int rc;
  pdlua_to_key(L, 2, &key);
  if (lua_isnil(L, 3)) {
    rc = pd_delete(d, &key);
    if (pdlua_reopen_after_fork(d, rc))
      rc = pd_delete(d, &key);
    if (rc == PD_ENOTFOUND)
      rc = PD_OK; /* t[k] = nil on an absent key is no error in Lua either */
  } else {
    pdlua_to_value(L, 3, PDLUA_ENC_FIRST, &value);
    rc = pd_set(d, &key, &value);
    if (pdlua_reopen_after_fork(d, rc))
      rc = pd_set(d, &key, &value);
  }
  if (rc != PD_OK)
    return pdlua_raise(L, d, rc);
  return 0;
}

/* SWIG's wrapper did the same in more steps: every key converted by a call
 * to pdlua_to_key, a call to pdlua_reopen_after_fork after every get, and
 * the value pushed through the generic result path (pdlua_push_value, from
 * the pd_val *out typemap). d[k] is the call Lua programs make most, and the
 * interpreter's own part of it (the metamethod call, the new string) is
 * fixed, so the binding's part is what can be kept small. */
int pdlua_get(lua_State *L) {
  int nargs = lua_gettop(L);
  if (nargs != 2)
    pdlua_bad_arg_count(L, "pd_get", 2, 2, nargs);
  pd_dict *d = test_dict(L, 1);
  pd_val key, value;
  if (lua_type(L, 2) == LUA_TSTRING) /* the usual key, converted here */
    pdlua_string_value(L, 2, &key);
  else
    pdlua_to_key(L, 2, &key);
  int rc = pd_get(d, &key, &value);
  if (rc == PD_EFORKED && pdlua_reopen_after_fork(d, rc)) /* no call unless forked */
    rc = pd_get(d, &key, &value);
  /* Text and bytes straight from where pd_get left them (the handle's
   * buffer): the usual value needs none of pdlua_push_value's dispatch. */
  if (rc == PD_OK && (value.kind == PD_TEXT || value.kind == PD_BYTES))
    lua_pushlstring(L, (const char *)value.u.s.ptr, value.u.s.len);
  else if (rc == PD_OK)
    pdlua_push_value(L, &value);
  else if (rc == PD_ENOTFOUND)
    lua_pushnil(L); /* absence is an answer, not an error */
  else
    return pdlua_raise(L, d, rc);
  return 1;
}

int pdlua_len(lua_State *L) {
  pd_dict *d = pdlua_check_dict(L, 1);
  int64_t n = 0;
  int rc = pd_count(d, &n);
  if (pdlua_reopen_after_fork(d, rc))
    rc = pd_count(d, &n);
  if (rc != PD_OK)
    return pdlua_raise(L, d, rc);
  pdlua_push_int(L, n);
  return 1;
}

/* marks[d] for transaction_call (d at index 1, marks at 3): true, or nil
 * to clear it. */
static void set_mark(lua_State *L, int marked) {
  lua_pushvalue(L, 1);
  if (marked)
    lua_pushboolean(L, 1);
  else
    lua_pushnil(L);
  lua_rawset(L, 3);
}

/* Lua: core.transaction_call(d, fn, marks): permadict.transaction's work,
 * begin to commit or rollback, with no Lua code in between: an error that
 * Lua code can raise anywhere (a count hook enforcing a time limit, a
 * memory error) struck the Lua steps between begin and calling fn, or
 * between fn's return and the commit, and left the transaction open, with
 * later writes joining it uncommitted and the lock held. marks[d] is true
 * while fn runs (permadict.lua refuses commit, rollback and reopen then).
 *
 * fn is called by lua_pcall without a continuation: a yield inside fn (5.2+,
 * and LuaJIT, whose pcall is yieldable) raises "attempt to yield across a
 * C-call boundary" there and is caught like any error. A transaction
 * suspended mid-way would stay open on the shared handle, and whatever other
 * code wrote meanwhile would join it and share its fate.
 *
 * Returns true and fn's results once committed; false and the error (fn's,
 * or the commit's message) once rolled back; raises if begin fails. */
int pdlua_transaction_call(lua_State *L) {
  pd_dict *d = test_dict(L, 1);
  pdlua_dict *u = (pdlua_dict *)lua_touserdata(L, 1); /* u->d is read again after fn */
  luaL_checkany(L, 2); /* any callable: lua_pcall honours __call */
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 3);
  /* Marked first: setting a new key may raise (out of memory), which must
   * happen before anything is begun; clearing it never does. */
  set_mark(L, 1);
  int rc = pd_begin(d);
  if (pdlua_reopen_after_fork(d, rc))
    rc = pd_begin(d);
  if (rc != PD_OK) {
    set_mark(L, 0);
    return pdlua_raise(L, d, rc);
  }
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 1);
  int ok = lua_pcall(L, 1, LUA_MULTRET, 0) == 0; /* results, or the error, from index 4 */
  if (!lua_checkstack(L, 3)) { /* lua_checkstack never raises, luaL_checkstack would */
    ok = 0;
    lua_settop(L, 3);
    lua_pushliteral(L, "permadict: too many results from a transaction function");
  }
  set_mark(L, 0);
  /* fn may have closed d: nothing is open then. */
  d = u->d;
  if (ok && d) {
    rc = pd_commit(d);
    if (rc != PD_OK) {
      ok = 0;
      lua_settop(L, 3);
      pdlua_push_error(L, d, rc);
    }
  } else if (ok) {
    ok = 0;
    lua_settop(L, 3);
    lua_pushstring(L, closed_message);
  }
  if (!ok && d && pd_in_transaction(d))
    pd_rollback(d);
  lua_pushboolean(L, ok);
  lua_replace(L, 3); /* ok, then the results or the error */
  return lua_gettop(L) - 2;
}

/* ------------------------------------------------------------ the module */

static void new_registry_mt(lua_State *L, const char *key, const char *name) {
  lua_pushlightuserdata(L, (void *)key);
  lua_newtable(L);
  lua_pushstring(L, name);
  lua_setfield(L, -2, "__name");
  lua_rawset(L, LUA_REGISTRYINDEX);
}

static void set_registry_mt_function(lua_State *L, const char *key,
                                     const char *field, lua_CFunction f) {
  pdlua_push_registry(L, key);
  lua_pushcfunction(L, f);
  lua_setfield(L, -2, field);
  lua_pop(L, 1);
}

void pdlua_init(lua_State *L) {
  new_registry_mt(L, &pdlua_mt_dict, "permadict");
  new_registry_mt(L, &pdlua_mt_iter, "permadict.iterator");
  new_registry_mt(L, &pdlua_mt_text, "permadict.text");
  new_registry_mt(L, &pdlua_mt_bytes, "permadict.bytes");
  new_registry_mt(L, &pdlua_mt_array, "permadict.array");
  new_registry_mt(L, &pdlua_mt_map, "permadict.map");
  new_registry_mt(L, &pdlua_mt_private, "permadict.private");
  new_registry_mt(L, &pdlua_mt_int64, "permadict.int64");
  set_registry_mt_function(L, &pdlua_mt_dict, "__gc", dict_gc);
  set_registry_mt_function(L, &pdlua_mt_iter, "__gc", iter_gc);
  set_registry_mt_function(L, &pdlua_mt_int64, "__tostring",
                           pdlua_int64_tostring);
  set_registry_mt_function(L, &pdlua_mt_int64, "__eq", pdlua_int64_eq);
  pdlua_codec_init(L);
}

int pdlua_support(lua_State *L) {
  static const struct {
    const char *field;
    const char *key;
  } mts[] = {{"dict", &pdlua_mt_dict},       {"iterator", &pdlua_mt_iter},
             {"text", &pdlua_mt_text},       {"bytes", &pdlua_mt_bytes},
             {"array", &pdlua_mt_array},     {"map", &pdlua_mt_map},
             {"private", &pdlua_mt_private}, {"int64", &pdlua_mt_int64}};
  lua_newtable(L);
  for (size_t k = 0; k < sizeof mts / sizeof mts[0]; k++) {
    pdlua_push_registry(L, mts[k].key);
    lua_setfield(L, -2, mts[k].field);
  }
  lua_pushlightuserdata(L, NULL);
  lua_setfield(L, -2, "null");
  lua_pushboolean(L, PDLUA_EXACT_INTEGERS);
  lua_setfield(L, -2, "exact_integers");
  return 1;
}
