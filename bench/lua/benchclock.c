/* benchclock.c - the clocks the Lua benchmarks need and Lua lacks.
 *
 * os.clock() is process CPU time and os.time() has one-second resolution;
 * timing microsecond operations (and those that wait on the disk) needs a
 * monotonic wall clock, and lining up several processes needs the realtime
 * clock. Lua 5.3+ integers are 64-bit, so nanoseconds fit exactly. */
#define _POSIX_C_SOURCE 200809L
#include <lauxlib.h>
#include <lua.h>
#include <time.h>

static lua_Integer read_clock(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (lua_Integer)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int now_ns(lua_State *L) {
  lua_pushinteger(L, read_clock(CLOCK_MONOTONIC));
  return 1;
}

static int realtime_ns(lua_State *L) {
  lua_pushinteger(L, read_clock(CLOCK_REALTIME));
  return 1;
}

static int sleep_until_realtime(lua_State *L) {
  lua_Integer at = luaL_checkinteger(L, 1);
  struct timespec ts = {(time_t)(at / 1000000000), (long)(at % 1000000000)};
  while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) != 0) {
  }
  return 0;
}

static const luaL_Reg functions[] = {{"now_ns", now_ns},
                                     {"realtime_ns", realtime_ns},
                                     {"sleep_until_realtime", sleep_until_realtime},
                                     {NULL, NULL}};

int luaopen_benchclock(lua_State *L);
int luaopen_benchclock(lua_State *L) {
  luaL_newlib(L, functions);
  return 1;
}
