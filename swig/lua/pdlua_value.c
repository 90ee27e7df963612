/*
 * pdlua_value.c - Lua values <-> pd_val, entirely in C.
 *
 * Tables are walked here with a reusable pd_enc and packed documents are
 * unpacked with a reusable pd_dec, so storing or reading a nested table is
 * one Lua->C call, not a chain of them. The rules (docs/LUA.md, "Values"):
 *   - a string that is valid UTF-8 is text, any other string bytes;
 *     permadict.text(s) / permadict.bytes(s) force either;
 *   - a proper sequence (keys exactly 1..n, n >= 1) is a list, any other
 *     table a map, the empty table an empty map; permadict.array{} and
 *     permadict.map{} force either, and tables read back carry those
 *     metatables so that they are written back as the same kind;
 *   - permadict.null is null (nil cannot sit in a table);
 *   - 5.3+: integers and floats are Lua's own subtypes. 5.1/LuaJIT: a number
 *     is an integer when it is integral, within +-2^53 and not -0.0, else a
 *     float; integers beyond +-2^53 read back as permadict.int64 boxes.
 */
#include "pdlua.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --------------------------------------------------- the per-state codec */

/* One per lua_State (kept in the registry): Lua states in different threads
 * never share an encoder. dec_busy guards against a finalizer that reads a
 * packed value while another is being unpacked (GC runs inside pushes). */
typedef struct pdlua_codec {
  pd_enc *enc[2];
  pd_dec *dec;
  int dec_busy;
} pdlua_codec;

static const char codec_key;

static int codec_gc(lua_State *L) {
  pdlua_codec *c = (pdlua_codec *)lua_touserdata(L, 1);
  pd_enc_free(c->enc[0]);
  pd_enc_free(c->enc[1]);
  pd_dec_free(c->dec);
  c->enc[0] = c->enc[1] = NULL;
  c->dec = NULL;
  return 0;
}

void pdlua_codec_init(lua_State *L) {
  lua_pushlightuserdata(L, (void *)&codec_key);
  pdlua_codec *c = (pdlua_codec *)lua_newuserdata(L, sizeof *c);
  memset(c, 0, sizeof *c);
  lua_newtable(L);
  lua_pushcfunction(L, codec_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  if (pd_enc_new(&c->enc[0]) != PD_OK || pd_enc_new(&c->enc[1]) != PD_OK ||
      pd_dec_new(&c->dec) != PD_OK) {
    lua_pushstring(L, "permadict: out of memory creating the codec [ENOMEM]");
    lua_error(L);
  }
  lua_rawset(L, LUA_REGISTRYINDEX);
}

static pdlua_codec *get_codec(lua_State *L) {
  lua_pushlightuserdata(L, (void *)&codec_key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  pdlua_codec *c = (pdlua_codec *)lua_touserdata(L, -1);
  lua_pop(L, 1); /* the registry keeps it alive */
  return c;
}

/* ------------------------------------------------------------- numbers */

#if !PDLUA_EXACT_INTEGERS
/* Nonzero and *out set when x is an integral double within +-2^53 (where
 * doubles are exact integers); -0.0 is not an integer (it would lose its
 * sign). */
static int exact_integer_double(double x, int64_t *out) {
  if (!(x >= -PDLUA_EXACT_DOUBLE_INT && x <= PDLUA_EXACT_DOUBLE_INT))
    return 0; /* also NaN */
  int64_t i = (int64_t)x;
  if ((double)i != x || (i == 0 && signbit(x)))
    return 0;
  *out = i;
  return 1;
}
#endif

static pd_val number_value(lua_State *L, int idx) {
#if PDLUA_EXACT_INTEGERS
  if (lua_isinteger(L, idx))
    return pd_int((int64_t)lua_tointeger(L, idx));
  return pd_float((double)lua_tonumber(L, idx));
#else
  double x = (double)lua_tonumber(L, idx);
  int64_t i;
  return exact_integer_double(x, &i) ? pd_int(i) : pd_float(x);
#endif
}

int pdlua_bytes_form(lua_State *L, int idx, const pd_val *given, pd_val *out) {
  if (lua_type(L, idx) != LUA_TSTRING || given->kind != PD_TEXT)
    return 0;
  *out = pd_bytes(given->u.s.ptr, given->u.s.len);
  return 1;
}

int pdlua_float_form(lua_State *L, int idx, pd_val *out) {
#if PDLUA_EXACT_INTEGERS
  (void)L;
  (void)idx;
  (void)out;
  return 0; /* 1 and 1.0 are different Lua values: no second form */
#else
  if (lua_type(L, idx) != LUA_TNUMBER)
    return 0;
  pd_val v = number_value(L, idx);
  if (v.kind != PD_INT)
    return 0;
  *out = pd_float((double)v.u.i);
  return 1;
#endif
}

void pdlua_push_int(lua_State *L, int64_t i) {
#if PDLUA_EXACT_INTEGERS
  lua_pushinteger(L, (lua_Integer)i);
#else
  if (i >= -(int64_t)PDLUA_EXACT_DOUBLE_INT &&
      i <= (int64_t)PDLUA_EXACT_DOUBLE_INT) {
    lua_pushnumber(L, (lua_Number)i);
    return;
  }
  /* A double would round it: give the exact value as a box instead. */
  char digits[24];
  snprintf(digits, sizeof digits, "%" PRId64, i);
  lua_createtable(L, 1, 0);
  lua_pushstring(L, digits);
  lua_rawseti(L, -2, 1);
  pdlua_push_registry(L, &pdlua_mt_int64);
  lua_setmetatable(L, -2);
#endif
}

/* The int64 in a permadict.int64 box at idx; raises on a malformed box. */
static int64_t int64_box_value(lua_State *L, int idx) {
  lua_rawgeti(L, idx, 1);
  const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  char *end = NULL;
  errno = 0;
  long long v = s ? strtoll(s, &end, 10) : 0;
  if (!s || end == s || *end != '\0' || errno == ERANGE) {
    lua_pushstring(L, "permadict: a permadict.int64 box must hold the "
                      "decimal digits of a signed 64-bit integer [EINVALID]");
    lua_error(L);
  }
  lua_pop(L, 1);
  return (int64_t)v;
}

int pdlua_int64_tostring(lua_State *L) {
  lua_rawgeti(L, 1, 1);
  return 1;
}

/* By value, not by digits: permadict.int64("007") and "-0" are the integers
 * 7 and 0, as they are on 5.3+ and as a box read back spells them. */
int pdlua_int64_eq(lua_State *L) {
  lua_pushboolean(L, int64_box_value(L, 1) == int64_box_value(L, 2));
  return 1;
}

/* ---------------------------------------------------------- scalars in */

/* The string held by a permadict.text/bytes marker at idx. */
static const char *marker_string(lua_State *L, int idx, size_t *len) {
  lua_rawgeti(L, idx, 1);
  if (lua_type(L, -1) != LUA_TSTRING) {
    lua_pushstring(L, "permadict: a permadict.text or permadict.bytes value "
                      "must wrap a string [EINVALID]");
    lua_error(L);
  }
  const char *s = lua_tolstring(L, -1, len);
  lua_pop(L, 1); /* the marker table keeps the string alive */
  return s;
}

/* Nonzero and *out set when the table at idx is a text, bytes or int64
 * marker: values that are scalars although Lua holds them in tables. */
static int marker_scalar(lua_State *L, int idx, pd_val *out) {
  size_t len;
  if (!lua_getmetatable(L, idx))
    return 0;
  int found = 1;
  pdlua_push_registry(L, &pdlua_mt_text);
  if (lua_rawequal(L, -1, -2)) {
    lua_pop(L, 2);
    const char *s = marker_string(L, idx, &len);
    *out = pd_text(s, len);
    return found;
  }
  lua_pop(L, 1);
  pdlua_push_registry(L, &pdlua_mt_bytes);
  if (lua_rawequal(L, -1, -2)) {
    lua_pop(L, 2);
    const char *s = marker_string(L, idx, &len);
    *out = pd_bytes(s, len);
    return found;
  }
  lua_pop(L, 1);
  pdlua_push_registry(L, &pdlua_mt_int64);
  if (lua_rawequal(L, -1, -2)) {
    lua_pop(L, 2);
    *out = pd_int(int64_box_value(L, idx));
    return found;
  }
  lua_pop(L, 2);
  return 0;
}

/* Pushes why the value at idx cannot be stored: its type. */
static const char *push_refused_type(lua_State *L, int idx) {
  return lua_pushfstring(L, "cannot store a %s value", luaL_typename(L, idx));
}

int pdlua_key_value(lua_State *L, int idx, pd_val *out) {
  switch (lua_type(L, idx)) {
  case LUA_TSTRING:
    pdlua_string_value(L, idx, out);
    return 1;
  case LUA_TNUMBER: {
#if PDLUA_EXACT_INTEGERS
    lua_Integer i;
    int isnum = 0;
    i = lua_tointegerx(L, idx, &isnum); /* a float like 3.0 is key 3 */
    if (isnum) {
      *out = pd_int((int64_t)i);
      return 1;
    }
#else
    int64_t i;
    double x = (double)lua_tonumber(L, idx);
    if (x == 0)
      x = 0; /* -0.0 is key 0, as in a Lua table */
    if (exact_integer_double(x, &i)) {
      *out = pd_int(i);
      return 1;
    }
    if (x == floor(x) && x >= -0x1p63 && x < 0x1p63) { /* whole, not exact here */
      lua_pushfstring(L, "key %f is beyond +-2^53, where a number is not an "
                         "exact integer (use permadict.int64)",
                      (lua_Number)x);
      return 0;
    }
#endif
    /* A whole number here (2^63, 1e300) is an integer no key can hold. */
    lua_Number n = lua_tonumber(L, idx);
    int whole = n == floor(n) && !isinf(n);
    lua_pushvalue(L, idx); /* tostring converts in place: not the key itself */
    lua_pushfstring(L, whole
                           ? "key %s is outside the signed 64-bit range (keys are integers or strings)"
                           : "key %s is not an integer (keys are integers or strings)",
                    lua_tostring(L, -1));
    lua_remove(L, -2);
    return 0;
  }
  case LUA_TTABLE:
    if (marker_scalar(L, idx, out))
      return 1;
    break;
  default:
    break;
  }
  /* Not "cannot store": reads (d[k], contains, pop) convert keys here too. */
  lua_pushfstring(L, "a %s cannot be a key (keys are integers or strings)",
                  luaL_typename(L, idx));
  return 0;
}

void pdlua_to_key(lua_State *L, int idx, pd_val *out) {
  if (!pdlua_key_value(L, idx, out)) {
    lua_pushfstring(L, "permadict: %s [EINVALID]", lua_tostring(L, -1));
    lua_error(L);
  }
}

/* ----------------------------------------------------------- tables in */

/* Number of entries of the table at idx, and whether its keys are exactly
 * 1..n (a proper sequence). */
static size_t table_shape(lua_State *L, int idx, int *is_sequence) {
  size_t n = (size_t)pdlua_rawlen(L, idx);
  size_t count = 0;
  int seq = 1;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    count++;
    lua_pop(L, 1); /* the value */
    if (seq) {
#if PDLUA_EXACT_INTEGERS
      if (!lua_isinteger(L, -1))
        seq = 0;
      else {
        lua_Integer k = lua_tointeger(L, -1);
        seq = k >= 1 && (size_t)k <= n;
      }
#else
      int64_t k;
      seq = lua_type(L, -1) == LUA_TNUMBER &&
            exact_integer_double((double)lua_tonumber(L, -1), &k) && k >= 1 &&
            (size_t)k <= n;
#endif
    }
  }
  /* Distinct keys all within 1..n and n of them: exactly 1..n. */
  *is_sequence = seq && count == n;
  return count;
}

/* Where a table walk is inside the value being stored: one link per level
 * of nesting, on the C stack, so that what it refuses can be placed
 * (value["a"][2]) at the cost of one store per item. */
typedef struct walk_path {
  const struct walk_path *up; /* NULL for the value itself */
  const pd_val *key;          /* the map key walked, or NULL in a list */
  size_t index;               /* the list index walked (from 1) */
  int depth;                  /* the value itself is 1 */
} walk_path;

/* Appends the location of `at` to buf (size left: *room), as Lua would
 * index it from "value"; long string keys are cut short. */
static void append_location(char **buf, size_t *room, const walk_path *at) {
  int n;
  if (!at->up) {
    n = snprintf(*buf, *room, "value");
  } else {
    append_location(buf, room, at->up);
    if (!at->key)
      n = snprintf(*buf, *room, "[%zu]", at->index);
    else if (at->key->kind == PD_INT)
      n = snprintf(*buf, *room, "[%" PRId64 "]", at->key->u.i);
    else
      n = snprintf(*buf, *room, "[\"%.*s%s\"]",
                   (int)(at->key->u.s.len > 40 ? 40 : at->key->u.s.len),
                   (const char *)at->key->u.s.ptr, at->key->u.s.len > 40 ? "..." : "");
  }
  size_t used = n < 0 ? 0 : (size_t)n < *room ? (size_t)n : *room - 1;
  *buf += used;
  *room -= used;
}

/* Raises the reason on top of the stack for something refused inside the
 * value at `at`: ", inside the value at value["a"]" tells a key or value
 * deep in a table from the key or value of the call. A refused key is
 * placed by itself: value["a"][true]. */
static void raise_inside(lua_State *L, const walk_path *at, int bad_key_idx) {
  char where[256];
  char *end = where;
  size_t room = sizeof where;
  append_location(&end, &room, at);
  if (bad_key_idx) {
    int t = lua_type(L, bad_key_idx);
    if (t == LUA_TBOOLEAN || t == LUA_TNUMBER) {
      lua_pushvalue(L, bad_key_idx); /* tostring converts in place */
      snprintf(end, room, "[%s]", t == LUA_TBOOLEAN
                                      ? (lua_toboolean(L, -1) ? "true" : "false")
                                      : lua_tostring(L, -1));
      lua_pop(L, 1);
    } else {
      snprintf(end, room, "[<%s>]", luaL_typename(L, bad_key_idx));
    }
  }
  lua_pushfstring(L, "permadict: %s, inside the value at %s [EINVALID]",
                  lua_tostring(L, -1), where);
  lua_error(L);
}

static void encode_item(lua_State *L, pd_enc *e, int idx, const walk_path *at);

/* The encoder's code ends the message as for any failed call, so a value
 * refused inside a table gives the same code as the same value on its own. */
static void check_enc(lua_State *L, pd_enc *e, int rc) {
  if (rc != PD_OK) {
    lua_pushfstring(L, "permadict: %s [%s]", pd_enc_errmsg(e),
                    pdlua_code_name(rc));
    lua_error(L);
  }
}

static void encode_list(lua_State *L, pd_enc *e, int idx, size_t n,
                        const walk_path *at) {
  walk_path item = {at, NULL, 0, at->depth + 1};
  check_enc(L, e, pd_enc_list(e, n));
  for (size_t k = 1; k <= n; k++) {
    item.index = k;
    lua_rawgeti(L, idx, (int)k);
    encode_item(L, e, lua_gettop(L), &item);
    lua_pop(L, 1);
  }
}

static void encode_map(lua_State *L, pd_enc *e, int idx, size_t n,
                       const walk_path *at) {
  pd_val key;
  walk_path item = {at, &key, 0, at->depth + 1};
  check_enc(L, e, pd_enc_map(e, n));
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int top = lua_gettop(L);
    if (!pdlua_key_value(L, top - 1, &key)) /* never converts the key in place */
      raise_inside(L, at, top - 1);
    check_enc(L, e, pd_enc_val(e, &key));
    encode_item(L, e, top, &item);
    lua_pop(L, 1);
  }
}

static void encode_table(lua_State *L, pd_enc *e, int idx, const walk_path *at) {
  pd_val scalar;
  if (marker_scalar(L, idx, &scalar)) {
    check_enc(L, e, pd_enc_val(e, &scalar));
    return;
  }
  if (pdlua_has_mt(L, idx, &pdlua_mt_private)) {
    lua_getfield(L, idx, "tag");
    lua_getfield(L, idx, "data");
    if (lua_type(L, -2) != LUA_TNUMBER || lua_type(L, -1) != LUA_TSTRING) {
      lua_pushstring(L, "permadict: a permadict.private value needs a number "
                        "tag and a string data [EINVALID]");
      lua_error(L);
    }
    /* Checked as a double: converting 1.9 or 2^40 to int would silently
     * give another tag (or be undefined). */
    double tag = (double)lua_tonumber(L, -2);
    if (!(tag >= 1 && tag <= 127) || tag != floor(tag)) {
      lua_pushfstring(L, "permadict: private tag %s is not an integer in "
                         "1..127 [EINVALID]",
                      lua_tostring(L, -2));
      lua_error(L);
    }
    size_t len;
    const char *data = lua_tolstring(L, -1, &len);
    check_enc(L, e, pd_enc_private(e, (int)tag, data, len));
    lua_pop(L, 2);
    return;
  }
  if (at->depth > PD_MAX_DEPTH) {
    lua_pushfstring(L, "permadict: tables nested more than %d deep (or a "
                       "table that contains itself) [ETOOBIG]",
                    PD_MAX_DEPTH);
    lua_error(L);
  }
  luaL_checkstack(L, 4, "permadict: nesting");
  int is_sequence;
  size_t n = table_shape(L, idx, &is_sequence);
  if (pdlua_has_mt(L, idx, &pdlua_mt_array)) {
    if (!is_sequence && n > 0) {
      lua_pushstring(L, "permadict: a permadict.array table must have keys "
                        "1..n only (use permadict.null for holes) [EINVALID]");
      lua_error(L);
    }
    encode_list(L, e, idx, n, at);
  } else if (is_sequence && n > 0 && !pdlua_has_mt(L, idx, &pdlua_mt_map)) {
    encode_list(L, e, idx, n, at);
  } else {
    encode_map(L, e, idx, n, at);
  }
}

static void encode_item(lua_State *L, pd_enc *e, int idx, const walk_path *at) {
  switch (lua_type(L, idx)) {
  case LUA_TBOOLEAN:
    check_enc(L, e, pd_enc_bool(e, lua_toboolean(L, idx)));
    return;
  case LUA_TNUMBER: {
    pd_val v = number_value(L, idx);
    check_enc(L, e, pd_enc_val(e, &v));
    return;
  }
  case LUA_TSTRING: {
    pd_val v;
    pdlua_string_value(L, idx, &v);
    check_enc(L, e, pd_enc_val(e, &v));
    return;
  }
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, idx) == NULL) {
      check_enc(L, e, pd_enc_null(e));
      return;
    }
    break;
  case LUA_TTABLE:
    encode_table(L, e, idx, at);
    return;
  default:
    break;
  }
  push_refused_type(L, idx);
  raise_inside(L, at, 0);
}

void pdlua_to_value(lua_State *L, int idx, int which, pd_val *out) {
  switch (lua_type(L, idx)) {
  case LUA_TBOOLEAN:
    *out = pd_bool(lua_toboolean(L, idx));
    return;
  case LUA_TNUMBER:
    *out = number_value(L, idx);
    return;
  case LUA_TSTRING:
    pdlua_string_value(L, idx, out);
    return;
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, idx) == NULL) {
      *out = pd_null();
      return;
    }
    break;
  case LUA_TTABLE: {
    if (marker_scalar(L, idx, out))
      return;
    pd_enc *e = get_codec(L)->enc[which];
    if (idx < 0)
      idx = lua_gettop(L) + idx + 1;
    pd_enc_reset(e); /* a walk cut short by an error left it mid-value */
    walk_path whole = {NULL, NULL, 0, 1};
    encode_table(L, e, idx, &whole);
    check_enc(L, e, pd_enc_finish(e, out));
    return;
  }
  case LUA_TNIL:
    lua_pushstring(L, "permadict: cannot store nil (use permadict.null for "
                      "null; assigning nil deletes) [EINVALID]");
    lua_error(L);
    return;
  default:
    break;
  }
  lua_pushfstring(L, "permadict: %s [EINVALID]", push_refused_type(L, idx));
  lua_error(L);
}

/* ---------------------------------------------------------- values out */

static void push_private(lua_State *L, int tag, const void *p, size_t len) {
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, tag);
  lua_setfield(L, -2, "tag");
  lua_pushlstring(L, (const char *)p, len);
  lua_setfield(L, -2, "data");
  pdlua_push_registry(L, &pdlua_mt_private);
  lua_setmetatable(L, -2);
}

static void push_bytes_marker(lua_State *L, const void *p, size_t len) {
  lua_createtable(L, 1, 0);
  lua_pushlstring(L, (const char *)p, len);
  lua_rawseti(L, -2, 1);
  pdlua_push_registry(L, &pdlua_mt_bytes);
  lua_setmetatable(L, -2);
}

static void push_scalar(lua_State *L, const pd_val *v) {
  switch (v->kind) {
  case PD_NULL: lua_pushlightuserdata(L, NULL); return;
  case PD_BOOL: lua_pushboolean(L, v->u.b); return;
  case PD_INT: pdlua_push_int(L, v->u.i); return;
  case PD_FLOAT: lua_pushnumber(L, (lua_Number)v->u.f); return;
  case PD_TEXT:
  case PD_BYTES:
    lua_pushlstring(L, (const char *)v->u.s.ptr, v->u.s.len);
    return;
  case PD_PRIVATE: push_private(L, v->tag, v->u.s.ptr, v->u.s.len); return;
  default:
    lua_pushfstring(L, "permadict: unexpected value kind %d [EDECODE]",
                    (int)v->kind);
    lua_error(L);
  }
}

void pdlua_push_key(lua_State *L, const pd_val *key) {
  /* A plain string that is valid UTF-8 would address the text key of the
   * same content: give such a bytes key as a box, so that d[k] and writing
   * a map back reach the same key. Other bytes keys stay plain strings,
   * which are bytes again when used. */
  if (key->kind == PD_BYTES && pd_utf8_valid(key->u.s.ptr, key->u.s.len))
    push_bytes_marker(L, key->u.s.ptr, key->u.s.len);
  else
    push_scalar(L, key);
}

static void push_decoded(lua_State *L, pd_dec *dec);

static void next_item(lua_State *L, pd_dec *dec, pd_val *item) {
  int rc = pd_dec_next(dec, item);
  if (rc != PD_OK) { /* pd_dec_start checked the whole document already */
    lua_pushfstring(L, "permadict: %s [%s]", pd_dec_errmsg(dec),
                    pdlua_code_name(rc));
    lua_error(L);
  }
}

static void push_container(lua_State *L, pd_dec *dec, const pd_val *head) {
  size_t n = head->u.n;
  luaL_checkstack(L, 4, "permadict: nesting");
  if (head->kind == PD_LIST) {
    lua_createtable(L, n > INT32_MAX ? 0 : (int)n, 0);
    for (size_t k = 1; k <= n; k++) {
      push_decoded(L, dec);
      lua_rawseti(L, -2, (int)k);
    }
    pdlua_push_registry(L, &pdlua_mt_array);
  } else {
    lua_createtable(L, 0, n > INT32_MAX ? 0 : (int)n);
    for (size_t k = 0; k < n; k++) {
      pd_val key;
      next_item(L, dec, &key);
      pdlua_push_key(L, &key); /* also keeps a text and a bytes "k" apart */
      push_decoded(L, dec);
      lua_rawset(L, -3);
    }
    pdlua_push_registry(L, &pdlua_mt_map);
  }
  lua_setmetatable(L, -2);
}

static void push_decoded(lua_State *L, pd_dec *dec) {
  pd_val item;
  next_item(L, dec, &item);
  if (item.kind == PD_LIST || item.kind == PD_MAP)
    push_container(L, dec, &item);
  else
    push_scalar(L, &item);
}

/* Lua stack a decode may need: per level of nesting a table and, in a map,
 * its key, plus the few slots push_container checks for at the deepest. */
#define PDLUA_DECODE_STACK (2 * PD_MAX_DEPTH + LUA_MINSTACK)

/* Lua: decode_protected(dec) -> the value; run under lua_pcall. */
static int decode_protected(lua_State *L) {
  push_decoded(L, (pd_dec *)lua_touserdata(L, 1));
  return 1;
}

/* The decoder is taken (the shared one marked busy, or a private one made)
 * only once nothing but the protected decode can raise: an error escaping
 * in between would leave the shared one busy for good, and leak a private
 * one with its copy of the document. A Lua error inside the decode (out of
 * memory, no stack left, a finalizer's error on 5.1) is caught, the decoder
 * given back, and the error raised again. */
static void push_packed(lua_State *L, const pd_val *v) {
  pdlua_codec *c = get_codec(L);
  luaL_checkstack(L, PDLUA_DECODE_STACK,
                  "permadict: no Lua stack left to read a nested value");
  lua_pushcfunction(L, decode_protected); /* allocates on 5.1 */
  pd_dec *dec = c->dec;
  int own = 0;
  if (c->dec_busy) { /* re-entered from a finalizer: use a private one */
    if (pd_dec_new(&dec) != PD_OK) {
      lua_pushstring(L, "permadict: out of memory [ENOMEM]");
      lua_error(L);
    }
    own = 1;
  } else {
    c->dec_busy = 1;
  }
  char msg[256] = "";
  int status = 0;
  int rc = pd_dec_start(dec, v);
  if (rc == PD_OK) {
    lua_pushlightuserdata(L, dec);
    status = lua_pcall(L, 1, 1, 0);
  } else {
    snprintf(msg, sizeof msg, "%s", pd_dec_errmsg(dec));
  }
  if (own)
    pd_dec_free(dec);
  else
    c->dec_busy = 0;
  if (rc != PD_OK) {
    lua_pushfstring(L, "permadict: %s [EDECODE]", msg);
    lua_error(L);
  }
  if (status != 0)
    lua_error(L); /* the decode's own error, unchanged */
}

void pdlua_push_value(lua_State *L, const pd_val *v) {
  if (v->kind == PD_PACKED)
    push_packed(L, v);
  else
    push_scalar(L, v);
}
