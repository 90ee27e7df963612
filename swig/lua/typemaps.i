/*
 * lua/typemaps.i - how permadict.h crosses into Lua.
 *
 * Included by ../permadict.i before permadict.h. SWIG's default Lua
 * typemaps would turn 64-bit integers into doubles and cut strings at the
 * first zero byte, so every pd_val, handle and out-parameter is converted by
 * the hand-written C beside this file (pdlua_*.c, compiled into the same
 * module): values with lua_Integer/lua_pushlstring, tables walked in C.
 *
 * The result is permadict_core, a plain function table (core.get(d, k),
 * core.set(d, k, v), ...) that the pure-Lua layer bindings/lua/permadict.lua
 * turns into the table-like object. Return codes never reach Lua: a failure
 * raises "permadict: <pd_errmsg> [ECODE]"; only core.open returns
 * nil, message, code, as io.open does.
 */

%{
#include "pdlua.h"

/* SWIG's own argument checks (a count, or a type the typemaps leave to
 * SWIG), worded and coded like the binding's errors, so that
 * permadict.errcode() names them too (docs/LUA.md, "Errors"). */
#undef SWIG_fail_arg
#define SWIG_fail_arg(func_name, argnum, type)                                          \
  {                                                                                    \
    SWIG_Lua_pushferrstring(L, "permadict: %s: argument %d must be %s, not %s [EINVALID]", \
                            func_name, argnum, type, SWIG_Lua_typename(L, argnum));     \
    goto fail;                                                                         \
  }
#undef SWIG_check_num_args
#define SWIG_check_num_args(func_name, a, b)                                           \
  {                                                                                    \
    int pdlua_nargs = lua_gettop(L); /* once: the check is on every call */            \
    if (pdlua_nargs < a || pdlua_nargs > b)                                            \
      pdlua_bad_arg_count(L, func_name, a, b, pdlua_nargs);                            \
  }
%}

%init %{
  pdlua_init(L);
%}

/* ------------------------------------------------ not exposed to Lua as is */

/* Closing frees the handle's iterators first; see pdlua_handle.c. */
%ignore pd_close;
%ignore pd_iter_free;
%ignore pd_free_names;
/* Option and stats structs travel as Lua tables, not as wrapped structs. */
%ignore pd_options;
%ignore pd_iter_options;
%ignore pd_stats;
%ignore pd_iter_options::end; /* a Lua keyword; the struct is ignored anyway */
/* pd_val is ignored by permadict.i, but SWIG still wraps its nested union. */
%ignore pd_val_u;
%ignore pd_val_u_s;
/* Meaningless once a handle can only be an open dict (pd_errmsg(NULL) is
 * what core.open returns itself). */
%ignore pd_errmsg;
%ignore pd_sqlite_errcode;

%native(close) int pdlua_dict_close(lua_State *L);
%native(is_closed) int pdlua_dict_is_closed(lua_State *L);
%native(iter_close) int pdlua_iter_close(lua_State *L);
%native(assign) int pdlua_assign(lua_State *L);
%native(len) int pdlua_len(lua_State *L);
%native(support) int pdlua_support(lua_State *L);
%native(transaction_call) int pdlua_transaction_call(lua_State *L);
/* d[k] (__index) is the most frequent call: written by hand, see pdlua_get. */
%ignore pd_get;
%native(get) int pdlua_get(lua_State *L);

/* ------------------------------------------------------------------ handles */

%typemap(in) pd_dict *, const pd_dict * %{
  $1 = pdlua_check_dict(L, $input);
%}

%typemap(in, numinputs=0) pd_dict **out (pd_dict *handle = NULL) %{
  $1 = &handle;
%}
%typemap(argout) pd_dict **out %{
  pdlua_push_dict(L, *$1);
  SWIG_arg++;
%}

%typemap(in) const pd_options *opts (pd_options tmp) %{
  pdlua_to_options(L, $input, &tmp);
  $1 = &tmp;
%}

/* pd_open has no handle: its message is this thread's pd_errmsg(NULL). It
 * ends in the code like every other error, so that the error raised by
 * assert(permadict.open(path)) gives its code to permadict.errcode too. */
%typemap(out) int pd_open %{
  if ($1 != PD_OK) {
    lua_pushnil(L);
    lua_pushfstring(L, "permadict: %s [%s]", pd_errmsg(NULL), pdlua_code_name($1));
    lua_pushstring(L, pdlua_code_name($1));
    return 3;
  }
%}

/* -------------------------------------------------------------------- values */

/* Keys are scalars and never need an encoder. */
%typemap(in) const pd_val *key (pd_val tmp) %{
  pdlua_to_key(L, $input, &tmp);
  $1 = &tmp;
%}

/* A value may be a whole table; two can be alive in one call, so the second
 * of a pair uses the second encoder. */
%typemap(in) const pd_val *value (pd_val tmp), const pd_val *by (pd_val tmp),
             const pd_val *a (pd_val tmp) %{
  pdlua_to_value(L, $input, PDLUA_ENC_FIRST, &tmp);
  $1 = &tmp;
%}
%typemap(in) const pd_val *b (pd_val tmp) %{
  pdlua_to_value(L, $input, PDLUA_ENC_SECOND, &tmp);
  $1 = &tmp;
%}

/* compare_and_swap: nil means "absent" (expected) and "delete" (desired). */
%typemap(in) const pd_val *expected (pd_val tmp) %{
  $1 = NULL;
  if (!lua_isnil(L, $input)) {
    pdlua_to_value(L, $input, PDLUA_ENC_SECOND, &tmp);
    $1 = &tmp;
  }
%}
%typemap(in) const pd_val *desired (pd_val tmp) %{
  $1 = NULL;
  if (!lua_isnil(L, $input)) {
    pdlua_to_value(L, $input, PDLUA_ENC_FIRST, &tmp);
    $1 = &tmp;
  }
%}

/* Results: the value, or nil when the call found nothing. */
%typemap(in, numinputs=0) pd_val *out (pd_val tmp), pd_val *old (pd_val tmp) %{
  tmp.kind = PD_NULL;
  $1 = &tmp;
%}
%typemap(argout) pd_val *out, pd_val *old %{
  if (result == PD_OK)
    pdlua_push_value(L, $1);
  else
    lua_pushnil(L);
  SWIG_arg++;
%}

%typemap(in, numinputs=0) int *inserted (int tmp = 0), int *swapped (int tmp = 0),
                          int *found (int tmp = 0) %{
  $1 = &tmp;
%}
%typemap(argout) int *inserted, int *swapped, int *found %{
  lua_pushboolean(L, *$1);
  SWIG_arg++;
%}

%typemap(in, numinputs=0) int64_t *out (int64_t tmp = 0) %{
  $1 = &tmp;
%}
%typemap(argout) int64_t *out %{
  pdlua_push_int(L, *$1);
  SWIG_arg++;
%}

%typemap(in, numinputs=0) pd_stats *out (pd_stats tmp) %{
  $1 = &tmp;
%}
%typemap(argout) pd_stats *out %{
  pdlua_push_stats(L, $1);
  SWIG_arg++;
%}

%typemap(in, numinputs=0) (char ***out, size_t *count)
    (char **names = NULL, size_t n = 0) %{
  $1 = &names;
  $2 = &n;
%}
%typemap(argout) (char ***out, size_t *count) %{
  lua_createtable(L, (int)*$2, 0);
  for (size_t k = 0; k < *$2; k++) {
    lua_pushstring(L, (*$1)[k]);
    lua_rawseti(L, -2, (int)k + 1);
  }
  pd_free_names(*$1, *$2);
  SWIG_arg++;
%}

/* ---------------------------------------------------------------- iteration */

%typemap(in) const pd_iter_options *opts (pd_iter_options tmp, pd_val keys[3]) %{
  pdlua_to_iter_options(L, $input, &tmp, keys);
  $1 = &tmp;
%}
%typemap(in, numinputs=0) pd_iter **out (pd_iter *it = NULL) %{
  $1 = &it;
%}
%typemap(argout) pd_iter **out %{
  pdlua_push_iter(L, *$1, 1, arg3 && arg3->values);
  SWIG_arg++;
%}
%typemap(out) int pd_iter_open %{
  if ($1 != PD_OK)
    return pdlua_raise(L, arg2, $1);
%}

/* A finished iterator is NULL: core.iter_next then just answers nil. */
%typemap(in) pd_iter *it %{
  $1 = pdlua_check_iter(L, $input);
%}
%exception pd_iter_next %{
  if (arg1) {
    $action
  } else {
    result = PD_ITEROVER;
  }
%}
%typemap(in, numinputs=0) pd_val *key (pd_val tmp), pd_val *value (pd_val tmp) %{
  tmp.kind = PD_NULL;
  $1 = &tmp;
%}
/* SWIG would also apply these to the const inputs of the same names. */
%typemap(argout) const pd_val *key, const pd_val *value ""
%typemap(argout) pd_val *key %{
  if (result == PD_OK) {
    pdlua_push_key(L, $1);
    SWIG_arg++;
  }
%}
%typemap(argout) pd_val *value %{
  if (result == PD_OK && pdlua_iter_has_values(L, 1)) {
    pdlua_push_value(L, $1);
    SWIG_arg++;
  }
%}
%typemap(out) int pd_iter_next %{
  if ($1 != PD_OK && $1 != PD_ITEROVER)
    return pdlua_raise(L, pdlua_iter_dict(L, 1), $1);
  if ($1 == PD_ITEROVER) {
    lua_pushnil(L);
    return 1;
  }
%}

/* ------------------------------------------------------------- return codes */

/* Calls on a dict: after fork() the inherited handle is reopened and the
 * call made once more (outside a transaction; see pdlua_reopen_after_fork),
 * then any failure is raised. dict is the wrapper's argument holding the
 * handle: arg1, but arg2 for pd_iter_open, whose first argument is out. */
%define PDLUA_RETRY_AFTER_FORK_ON(fn, dict)
%exception fn %{
  $action
  if (pdlua_reopen_after_fork(dict, result)) {
    $action
  }
%}
%enddef
%define PDLUA_RETRY_AFTER_FORK(fn)
PDLUA_RETRY_AFTER_FORK_ON(fn, arg1)
%enddef

/* Success pushes nothing of its own (the out-parameters are the results). */
%define PDLUA_STATUS(fn)
PDLUA_RETRY_AFTER_FORK(fn)
%typemap(out) int fn %{
  if ($1 != PD_OK)
    return pdlua_raise(L, arg1, $1);
%}
%enddef

/* PD_ENOTFOUND is an answer, not an error: the out value is then nil. */
%define PDLUA_LOOKUP(fn)
PDLUA_RETRY_AFTER_FORK(fn)
%typemap(out) int fn %{
  if ($1 != PD_OK && $1 != PD_ENOTFOUND)
    return pdlua_raise(L, arg1, $1);
%}
%enddef

/* PD_OK / PD_ENOTFOUND become true / false. */
%define PDLUA_FOUND_FLAG(fn)
PDLUA_RETRY_AFTER_FORK(fn)
%typemap(out) int fn %{
  if ($1 != PD_OK && $1 != PD_ENOTFOUND)
    return pdlua_raise(L, arg1, $1);
  lua_pushboolean(L, $1 == PD_OK);
  SWIG_arg++;
%}
%enddef

PDLUA_LOOKUP(pd_pop)
PDLUA_FOUND_FLAG(pd_delete)
PDLUA_FOUND_FLAG(pd_contains)
PDLUA_STATUS(pd_set)
PDLUA_STATUS(pd_count)
PDLUA_STATUS(pd_clear)
PDLUA_STATUS(pd_incr)
PDLUA_STATUS(pd_set_if_absent)
PDLUA_STATUS(pd_get_and_set)
/* pairs() may be the child's first call (its failure is raised above). */
PDLUA_RETRY_AFTER_FORK_ON(pd_iter_open, arg2)
/* A value just read must match itself. On 5.1/LuaJIT a whole float (1.0)
 * reads back as the number 1, which converts to the integer 1 and never
 * equals the stored float: when the stored value is a float, the float form
 * is the expected one. Likewise bytes read back as a plain string, which
 * converts to text when it is valid UTF-8: when bytes are stored, a plain
 * string means those bytes. (A read from the handle's cache, not a second
 * write transaction after a failed swap: should the value change in
 * between, the swap fails, as it must.) The choice is made before each
 * attempt: on a handle inherited across fork() the first read fails too,
 * and the retry after reopening must choose. */
%exception pd_compare_and_swap %{
  {
    pd_val *given = arg3;
    pd_val float_form, bytes_form, stored;
    for (int attempt = 0;; attempt++) {
      arg3 = given;
      int floaty = given && pdlua_float_form(L, 3, &float_form);
      int stringy = given && pdlua_bytes_form(L, 3, given, &bytes_form);
      if ((floaty || stringy) && pd_get(arg1, arg2, &stored) == PD_OK) {
        if (floaty && stored.kind == PD_FLOAT) arg3 = &float_form;
        else if (stringy && stored.kind == PD_BYTES) arg3 = &bytes_form;
      }
      $action
      if (attempt || !pdlua_reopen_after_fork(arg1, result)) break;
    }
  }
%}
%typemap(out) int pd_compare_and_swap %{
  if ($1 != PD_OK)
    return pdlua_raise(L, arg1, $1);
%}
PDLUA_STATUS(pd_begin)
PDLUA_STATUS(pd_namespaces)
/* No handle: the message is this thread's, as for pd_open. */
%typemap(out) int pd_file_namespaces %{
  if ($1 != PD_OK)
    return pdlua_raise(L, NULL, $1);
%}
PDLUA_STATUS(pd_drop_namespace)
PDLUA_STATUS(pd_version)
PDLUA_STATUS(pd_stats_get)
PDLUA_STATUS(pd_check)

/* Commit and rollback are never retried after fork(): the transaction they
 * end was begun on the inherited connection. */
%typemap(out) int pd_commit, int pd_rollback, int pd_reopen %{
  if ($1 != PD_OK)
    return pdlua_raise(L, arg1, $1);
%}

%typemap(out) int pd_in_transaction, int pd_val_equal %{
  lua_pushboolean(L, $1);
  SWIG_arg++;
%}

/* ---------------------------------------------------------------- watching */

%include "lua/watch.i"
