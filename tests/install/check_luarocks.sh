#!/usr/bin/env bash
# install.luarocks: `luarocks make` of the rockspec (docs/LUA.md) builds, puts
# only the Lua module and permadict.lua in the tree (libpermadict linked in),
# and that module works from the tree.
set -euo pipefail
root=$1 work=$2 lua=$3
command -v luarocks >/dev/null ||
  { echo "SKIPPED: luarocks is not installed (apt-get install luarocks)"; exit 77; }
rm -rf "$work"; mkdir -p "$work/src"
# A copy of what the build reads: luarocks make builds in ./build.luarocks of
# the directory it runs in, which must not be the source tree.
(cd "$root" && cp -r CMakeLists.txt cmake lib bindings swig examples "$work/src/")
tree=$work/tree
(cd "$work/src" &&
   luarocks --lua-version 5.4 --tree "$tree" make bindings/lua/permadict-0.1.0-1.rockspec \
     >"$work/luarocks.log" 2>&1) || { cat "$work/luarocks.log"; exit 1; }

mod=$tree/lib/lua/5.4/permadict_core.so
[ -f "$mod" ] && [ -f "$tree/share/lua/5.4/permadict.lua" ] ||
  { echo "the rock lacks its module or permadict.lua"; find "$tree" -type f; exit 1; }
if find "$tree" -name 'libpermadict*' | grep . >/dev/null; then
  echo "the rock installed the C library too:"; find "$tree" -name 'libpermadict*'; exit 1
fi
if ldd "$mod" | grep libpermadict >/dev/null; then
  echo "the module needs libpermadict.so: not self-contained"; ldd "$mod"; exit 1
fi
(cd "$work" && LUA_PATH="$tree/share/lua/5.4/?.lua" LUA_CPATH="$tree/lib/lua/5.4/?.so" "$lua" -e '
local permadict = require("permadict")
local d = assert(permadict.open("rock.db"))
d.n = 41
assert(permadict.incr(d, "n") == 42 and d.n == 42)
permadict.close(d)
print("luarocks ok")')
