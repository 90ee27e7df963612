#!/usr/bin/env bash
# Installs the build into a fresh prefix and builds a user's program against
# it the three documented ways: pkg-config, CMake's permadict::permadict, and
# the Python package and Lua module found where the install put them.
set -euo pipefail
build=$1 src=$(cd "$(dirname "$0")" && pwd) work=$2 python=$3 lua=${4:-}
rm -rf "$work"; mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null

libdir=$(dirname "$(find "$prefix" -name 'libpermadict.so' | head -1)")
export PKG_CONFIG_PATH=$libdir/pkgconfig
# shellcheck disable=SC2046
cc "$src/consumer.c" $(pkg-config --cflags --libs permadict) -Wl,-rpath,"$libdir" \
   -Wall -Wextra -Werror -o "$work/consumer-pc"
"$work/consumer-pc" "$work/pc.db"

mkdir -p "$work/cmake-src"
cp "$src/CMakeLists.txt.in" "$work/cmake-src/CMakeLists.txt"
cmake -S "$work/cmake-src" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCONSUMER_SOURCE="$src/consumer.c" >/dev/null
cmake --build "$work/cmake-build" >/dev/null
"$work/cmake-build/consumer" "$work/cmake.db"

site=$(dirname "$(find "$prefix" -path '*permadict/__init__.py' | head -1)")
(cd "$work" && PYTHONPATH=$(dirname "$site") "$python" -c '
from permadict import Permadict
with Permadict("py.db") as d:
    d["k"] = {"a": [1, b"x"]}
    assert d["k"] == {"a": [1, b"x"]}
print("python ok")')

if [ -n "$lua" ]; then
  luamod=$(find "$prefix" -path '*lua/5.4/permadict_core.so' | head -1)
  lualib=$(find "$prefix" -path '*lua/5.4/permadict.lua' | head -1)
  (cd "$work" && LUA_CPATH="$(dirname "$luamod")/?.so" LUA_PATH="$(dirname "$lualib")/?.lua" \
     "$lua" -e '
local permadict = require("permadict")
local d = permadict.open("lua.db")
d.workers = 8
assert(d.workers == 8 and #d == 1)
permadict.close(d)
print("lua ok")')
else
  echo "lua: this build has no Lua binding, not checked"
fi
echo "1 passed, 0 failed"
