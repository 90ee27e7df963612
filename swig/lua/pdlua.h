/*
 * pdlua.h - the C half of the Lua binding, shared by the SWIG typemaps
 * (typemaps.i) and the helper sources beside this file.
 *
 * The same sources are compiled once per Lua version (5.1/LuaJIT, 5.3, 5.4),
 * so every difference between those C APIs is settled here and nowhere else.
 */
#ifndef PDLUA_H
#define PDLUA_H

#include <stddef.h>
#include <stdint.h>

#include <lauxlib.h>
#include <lua.h>

#include "permadict.h"

/* ------------------------------------------------- Lua version differences */

#if LUA_VERSION_NUM >= 503
#define PDLUA_EXACT_INTEGERS 1 /* lua_Integer is 64-bit and distinct */
#else
#define PDLUA_EXACT_INTEGERS 0 /* numbers are doubles only */
#endif

#if LUA_VERSION_NUM >= 502
#define pdlua_rawlen(L, i) lua_rawlen(L, (i))
#else
#define pdlua_rawlen(L, i) lua_objlen(L, (i))
#endif

/* Largest magnitude below which every integer is exactly a double: 2^53. */
#define PDLUA_EXACT_DOUBLE_INT 9007199254740992.0

/* ------------------------------------------------------- registry entries */

/* Metatables the typemaps recognise by identity, kept in the registry under
 * the address of these variables. */
extern const char pdlua_mt_dict;    /* the dict handle userdata */
extern const char pdlua_mt_iter;    /* an iterator userdata */
extern const char pdlua_mt_text;    /* permadict.text(s):  { s } */
extern const char pdlua_mt_bytes;   /* permadict.bytes(s): { s } */
extern const char pdlua_mt_array;   /* a table forced to be a list */
extern const char pdlua_mt_map;     /* a table forced to be a map */
extern const char pdlua_mt_private; /* { tag = n, data = s } */
extern const char pdlua_mt_int64;   /* { "decimal" }: exact int on 5.1 */

/* Pushes the registry entry stored under key. */
void pdlua_push_registry(lua_State *L, const char *key);
/* Nonzero when the value at idx has the metatable registered under key. */
int pdlua_has_mt(lua_State *L, int idx, const char *key);

/* Creates every metatable above and the per-state codec; returns (leaves on
 * the stack) nothing. Called once from luaopen. */
void pdlua_init(lua_State *L);
/* Lua: core.support() -> table of the metatables and the null sentinel, for
 * the pure-Lua layer. */
int pdlua_support(lua_State *L);

/* ---------------------------------------------------------------- handles */

struct pdlua_iter;

/* The userdata behind a Lua dict object. */
typedef struct pdlua_dict {
  const char *tag;          /* &pdlua_mt_dict: see test_dict_ud, pdlua_handle.c */
  pd_dict *d;               /* NULL once closed */
  struct pdlua_iter *iters; /* open iterators: freed before d is closed */
} pdlua_dict;

/* The userdata behind an iterator; linked into its dict's list. */
typedef struct pdlua_iter {
  pd_iter *it; /* NULL once finished or freed with its dict */
  pdlua_dict *owner;
  int values; /* opened with values: pd_iter_next fills the value too */
  struct pdlua_iter *prev, *next;
} pdlua_iter;

/* The open pd_dict at idx; raises "attempt to use a closed permadict" or a
 * type error. */
pd_dict *pdlua_check_dict(lua_State *L, int idx);
/* Wraps a freshly opened handle in a new userdata on the stack. */
void pdlua_push_dict(lua_State *L, pd_dict *d);

/* The live pd_iter at idx; NULL when it already finished (raises when its
 * dict was closed). */
pd_iter *pdlua_check_iter(lua_State *L, int idx);
/* Wraps a freshly opened iterator of the dict userdata at dict_idx. */
void pdlua_push_iter(lua_State *L, pd_iter *it, int dict_idx, int values);
/* The dict of the iterator at idx (already checked), for its messages. */
const pd_dict *pdlua_iter_dict(lua_State *L, int idx);
/* Nonzero when the iterator at idx was opened with values. */
int pdlua_iter_has_values(lua_State *L, int idx);

/* Lua: core.close(d); core.iter_close(it); core.is_closed(d). */
int pdlua_dict_close(lua_State *L);
int pdlua_iter_close(lua_State *L);
int pdlua_dict_is_closed(lua_State *L);

/* Pushes the error of a failed call, "permadict: <message> [ECODE]" (the
 * code's own text when d has no message); pdlua_raise raises it. */
void pdlua_push_error(lua_State *L, const pd_dict *d, int rc);
int pdlua_raise(lua_State *L, const pd_dict *d, int rc);
/* "EBUSY" for PD_EBUSY etc.; "ERROR" for an unknown code. */
const char *pdlua_code_name(int rc);
/* Nonzero when rc is PD_EFORKED and d could be reopened so the call can be
 * repeated: outside a transaction only (see docs/LUA.md, fork()). */
int pdlua_reopen_after_fork(pd_dict *d, int rc);

/* ------------------------------------------------------------------ values */

/* Which of the per-state encoders a conversion may use: two values can be
 * alive in one call (compare_and_swap's expected and desired). */
enum { PDLUA_ENC_FIRST = 0, PDLUA_ENC_SECOND = 1 };

/* Converts the Lua value at idx into *out. Scalars need no memory; tables
 * and markers are encoded with encoder `which`, whose memory *out then
 * points into until that encoder is used again. Raises on a value that
 * cannot be stored, naming what and where. */
void pdlua_to_value(lua_State *L, int idx, int which, pd_val *out);
/* The same for a key: integer, string, permadict.text/bytes/int64 only. */
void pdlua_to_key(lua_State *L, int idx, pd_val *out);
/* The same without raising: 0, with why the value at idx cannot be a key
 * pushed, for callers that say where the key was (inside a value, an
 * option). */
int pdlua_key_value(lua_State *L, int idx, pd_val *out);

/* The string at idx (the caller checked it is one) as text when it is valid
 * UTF-8, else as bytes. Inline: every string key and value passes here, and
 * pdlua_get converts its key without a call into pdlua_value.c. */
static inline void pdlua_string_value(lua_State *L, int idx, pd_val *out) {
  size_t len;
  const char *s = lua_tolstring(L, idx, &len);
  /* Field by field: choosing between pd_text() and pd_bytes() made the
   * compiler build and copy two whole structs. */
  out->kind = pd_utf8_valid(s, len) ? PD_TEXT : PD_BYTES;
  out->tag = 0;
  out->u.s.ptr = s;
  out->u.s.len = len;
}

/* Pushes an integer: exact on 5.3+; on 5.1/LuaJIT a number when within
 * +-2^53, else a permadict.int64 box (never a rounded double). */
void pdlua_push_int(lua_State *L, int64_t i);

/* Creates the per-state encoders and decoder (registry). */
void pdlua_codec_init(lua_State *L);
/* __tostring and __eq of permadict.int64 boxes. */
int pdlua_int64_tostring(lua_State *L);
int pdlua_int64_eq(lua_State *L);

/* Pushes v (a scalar, PD_PRIVATE or PD_PACKED) as a Lua value. */
void pdlua_push_value(lua_State *L, const pd_val *v);
/* Pushes a key so that using it addresses the same key again: a bytes key
 * whose content is valid UTF-8 as a permadict.bytes box. */
void pdlua_push_key(lua_State *L, const pd_val *key);

/* On 5.1/LuaJIT, nonzero and *out the float of the same value when the
 * value at idx is a number stored as an integer (a whole 1.0 read back is
 * the number 1 there, so compare_and_swap tries both forms). Always 0 on
 * 5.3+, where 1 and 1.0 are different values. */
int pdlua_float_form(lua_State *L, int idx, pd_val *out);

/* 1 with *out the bytes of given when the value at idx is a plain string
 * (no box) that given holds as text: text and bytes both read back as plain
 * strings, so compare_and_swap with a string just read tries the bytes form
 * when bytes are stored. */
int pdlua_bytes_form(lua_State *L, int idx, const pd_val *given, pd_val *out);

/* Raises "permadict: bad argument #idx (<expected> expected, got <type>)
 * [EINVALID]": the binding's argument checks all read alike. */
void pdlua_bad_arg(lua_State *L, int idx, const char *expected);
/* Raises "<where>permadict: <fn> takes <min> to <max> arguments, got <got>
 * [EINVALID]": the count check of SWIG's wrappers and of pdlua_get. */
void pdlua_bad_arg_count(lua_State *L, const char *fn, int min, int max, int got);

/* ---------------------------------------------------------------- options */

/* Seconds (>= 0, math.huge included) as milliseconds for the C library:
 * rounded up, at most INT_MAX (24.8 days, the longest it takes). */
int pdlua_seconds_to_ms(double s);
/* Fills *opts from the Lua table at idx (or defaults when idx is nil);
 * raises on an unknown field or a field of the wrong type. */
void pdlua_to_options(lua_State *L, int idx, pd_options *opts);
/* The same for iteration; the pd_val fields point into *keys (3 slots). */
void pdlua_to_iter_options(lua_State *L, int idx, pd_iter_options *opts,
                           pd_val keys[3]);
/* Pushes a table of the stats fields. */
void pdlua_push_stats(lua_State *L, const pd_stats *s);
/* Lua: core.assign(d, k, v): d[k] = v, nil deleting. */
int pdlua_assign(lua_State *L);
/* Lua: core.get(d, k), also d[k] (__index): the value, or nil when absent. */
int pdlua_get(lua_State *L);
/* Lua: core.len(d, ...): the count, ignoring the extra operand __len gets. */
int pdlua_len(lua_State *L);
/* Lua: core.transaction_call(d, fn, marks): begin, pcall(fn, d) (a yield
 * from fn is an error instead of suspending it), then commit or roll back,
 * all in C (permadict.transaction). */
int pdlua_transaction_call(lua_State *L);

#endif /* PDLUA_H */
