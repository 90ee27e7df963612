#!/usr/bin/env bash
# Installs the build into a fresh prefix and builds a user's program against
# it the three documented ways: pkg-config, CMake's permadict::permadict (and
# permadict::permadict_static), and
# the Python package and Lua module found where the install put them; then
# the CLI and pkg-config from a build configured with absolute install dirs.
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
"$work/cmake-build/consumer_static" "$work/cmake-static.db"
if ldd "$work/cmake-build/consumer_static" | grep libpermadict >/dev/null; then
  echo "permadict::permadict_static linked libpermadict.so"; exit 1
fi

# GNUInstallDirs' directories may be absolute (Nix passes them that way): the
# installed CLI and permadict.pc must still find the library and the header.
# Outside the source tree, where CMake refuses an install include directory.
abs=$(mktemp -d "${TMPDIR:-/tmp}/permadict-absolute-dirs.XXXXXX")
trap 'rm -rf "$abs"' EXIT
cmake -S "$src/../.." -B "$abs/build" -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTING=OFF \
      -DPERMADICT_PYTHON=OFF -DPERMADICT_LUA=OFF -DCMAKE_INSTALL_PREFIX="$abs/out" \
      -DCMAKE_INSTALL_BINDIR="$abs/bin/bin" -DCMAKE_INSTALL_LIBDIR="$abs/lib/lib" \
      -DCMAKE_INSTALL_INCLUDEDIR="$abs/dev/include" >/dev/null
cmake --build "$abs/build" -j2 --target permadict_cli permadict_static >/dev/null
cmake --install "$abs/build" >/dev/null
"$abs/bin/bin/permadict" --version >/dev/null
# shellcheck disable=SC2046
cc "$src/consumer.c" $(PKG_CONFIG_PATH=$abs/lib/lib/pkgconfig pkg-config --cflags --libs permadict) \
   -Wl,-rpath,"$abs/lib/lib" -o "$work/consumer-abs"
"$work/consumer-abs" "$work/abs.db"

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
