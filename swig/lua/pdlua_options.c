/*
 * pdlua_options.c - option tables <-> the core's option and stats structs.
 *
 * An unknown field is an error, not silently ignored: a misspelt
 * `readonyl = true` must not open the file for writing.
 */
#include "pdlua.h"

#include <limits.h>
#include <math.h>
#include <string.h>

static void raise_option(lua_State *L, const char *fn, const char *field,
                         const char *expected) {
  lua_pushfstring(L, "permadict.%s: option '%s' %s [EINVALID]", fn, field, expected);
  lua_error(L);
}

static int option_flag(lua_State *L, const char *fn, const char *field) {
  if (!lua_isboolean(L, -1))
    raise_option(L, fn, field, "must be a boolean");
  return lua_toboolean(L, -1);
}

static double option_number(lua_State *L, const char *fn, const char *field) {
  if (lua_type(L, -1) != LUA_TNUMBER)
    raise_option(L, fn, field, "must be a number");
  return (double)lua_tonumber(L, -1);
}

int pdlua_seconds_to_ms(double s) {
  double ms = ceil(s * 1000.0); /* a short timeout never becomes zero */
  return ms >= (double)INT_MAX ? INT_MAX : (int)ms;
}

void pdlua_to_options(lua_State *L, int idx, pd_options *opts) {
  static const pd_options defaults = PD_OPTIONS_INIT;
  *opts = defaults;
  if (lua_isnoneornil(L, idx))
    return;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    const char *field =
        lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
    if (strcmp(field, "name") == 0) {
      if (lua_type(L, -1) != LUA_TSTRING)
        raise_option(L, "open", field, "must be a string");
      size_t len;
      opts->name = lua_tolstring(L, -1, &len); /* the table keeps it alive */
      /* C sees the name up to its first zero byte: refuse rather than open
       * a namespace other than the one asked for. */
      if (strlen(opts->name) != len)
        raise_option(L, "open", field, "must not contain a zero byte");
    } else if (strcmp(field, "readonly") == 0) {
      opts->readonly = option_flag(L, "open", field);
    } else if (strcmp(field, "create") == 0) {
      opts->create = option_flag(L, "open", field);
    } else if (strcmp(field, "durable") == 0) {
      opts->durable = option_flag(L, "open", field);
    } else if (strcmp(field, "timeout") == 0) {
      /* Seconds, as Lua's os.time and socket.sleep count them. More than
       * the C library takes (math.huge included) waits as long as it can,
       * as in permadict.wait and the Python binding. */
      double s = option_number(L, "open", field);
      if (!(s >= 0))
        raise_option(L, "open", field, "must be seconds >= 0");
      opts->timeout_ms = pdlua_seconds_to_ms(s);
    } else {
      raise_option(L, "open", field,
                   "is unknown (name, readonly, create, timeout, durable)");
    }
    lua_pop(L, 1);
  }
}

/* The key given as option `field` of pairs (prefix, start, stop), the
 * value at idx; a refused one is named. */
static void option_key(lua_State *L, int idx, const char *field, pd_val *out) {
  if (!pdlua_key_value(L, idx, out))
    raise_option(L, "pairs", field, lua_pushfstring(L, "must be a key: %s", lua_tostring(L, -1)));
}

void pdlua_to_iter_options(lua_State *L, int idx, pd_iter_options *opts,
                           pd_val keys[3]) {
  static const pd_iter_options defaults = PD_ITER_OPTIONS_INIT;
  *opts = defaults;
  if (lua_isnoneornil(L, idx))
    return;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    const char *field =
        lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
    int top = lua_gettop(L);
    if (strcmp(field, "values") == 0) {
      opts->values = option_flag(L, "pairs", field);
    } else if (strcmp(field, "prefix") == 0) {
      option_key(L, top, field, &keys[0]);
      opts->prefix = &keys[0];
    } else if (strcmp(field, "start") == 0) {
      option_key(L, top, field, &keys[1]);
      opts->start = &keys[1];
    } else if (strcmp(field, "stop") == 0) {
      option_key(L, top, field, &keys[2]);
      opts->end = &keys[2];
    } else if (strcmp(field, "page_size") == 0) {
      double n = option_number(L, "pairs", field);
      if (!(n >= 1 && n <= 1e6))
        raise_option(L, "pairs", field, "must be from 1 to 1000000");
      opts->page_size = (size_t)n;
    } else {
      raise_option(L, "pairs", field,
                   "is unknown (prefix, start, stop, page_size)");
    }
    lua_pop(L, 1);
  }
}

void pdlua_push_stats(lua_State *L, const pd_stats *s) {
  lua_createtable(L, 0, 9);
#define FIELD(name)                                                          \
  pdlua_push_int(L, s->name);                                                \
  lua_setfield(L, -2, #name)
  FIELD(count);
  FIELD(version);
  FIELD(namespaces);
  FIELD(page_size);
  FIELD(page_count);
  FIELD(freelist_count);
  FIELD(file_bytes);
  FIELD(wal_bytes);
  FIELD(format_version);
#undef FIELD
}
