-- LuaRocks package of the Lua binding. From the repository root:
--   luarocks make bindings/lua/permadict-0.1.0-1.rockspec
-- (`make` builds the working tree and ignores source.url.) It builds one
-- module for the Lua LuaRocks runs with, links libpermadict statically so
-- the rock is self-contained, and needs the C build dependencies installed
-- (Debian: cmake, swig, libsqlite3-dev, libmsgpack-dev).
rockspec_format = "3.0"
package = "permadict"
version = "0.1.0-1"

-- No published repository yet: the source is the checkout `make` runs in.
source = {
  url = ".",
}

description = {
  summary = "A dictionary in one SQLite file, shared safely by many processes",
  detailed = [[
    d[key] reads and writes a persistent dict that many processes (C, Python,
    Lua) share safely through one SQLite file: atomic increments,
    compare-and-set, transactions, namespaces, ordered iteration.
  ]],
  license = "unspecified: see the repository",
}

dependencies = {
  "lua >= 5.1, < 5.5",
}

build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    BUILD_TESTING = "OFF",
    PERMADICT_CLI = "OFF",
    PERMADICT_PYTHON = "OFF",
    PERMADICT_LUA = "ON",
    PERMADICT_LUA_INCDIR = "$(LUA_INCDIR)",
    PERMADICT_LUA_CMOD_DIR = "$(LIBDIR)",
    PERMADICT_LUA_LMOD_DIR = "$(LUADIR)",
    PERMADICT_LUA_LINK_STATIC = "ON",
    PERMADICT_INSTALL_LIBRARY = "OFF",
  },
}
