#!/usr/bin/env bash
# The README's main command: C, Python and Lua workers sharing one permadict
# file, started before their configuration exists (examples/README.md).
#
#   bash examples/demo.sh [--build-dir DIR] [--no-build] [COORDINATOR OPTIONS]
#
#   -h, --help       print this and exit, building and installing nothing
#   --build-dir DIR  build into (or, with --no-build, use) DIR; default build/demo
#   --no-build       install nothing and build nothing: DIR is already built
#                    (the ctest test demo.run uses this on its own build tree)
#   --python PATH    the Python the build's extension is for; default /usr/bin/python3
# Every other option goes to examples/coordinator.py, e.g.
#   --workers-per-language N   workers per language (default 1)
#   --file PATH                use PATH instead of a file in a temporary directory
#   --generations G, --n N, --timeout SECONDS, --namespace NAME
# Relative paths are taken from the current directory, as for any command.
# Exit status: the coordinator's: 0 only if every worker saw every change.
set -euo pipefail
# Paths given on the command line are the caller's: relative ones are made
# absolute before the cd to the repository root below.
caller_dir=$PWD
from_caller() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$caller_dir/$1" ;; esac; }
cd "$(dirname "$0")/.."

build_dir=build/demo
build=1
# Debian's interpreter: the one python3-pytest belongs to; the extension is built for it.
py=/usr/bin/python3
coordinator_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir)
      [ $# -ge 2 ] || { echo "demo.sh: --build-dir needs a directory" >&2; exit 2; }
      build_dir=$(from_caller "$2")
      shift 2
      ;;
    --no-build) build=0; shift ;;
    # Here, not in the coordinator: asking for help must not install or build.
    -h|--help) sed -n '2,/^set /s/^# \{0,1\}//p' examples/demo.sh; exit 0 ;;
    --python)
      [ $# -ge 2 ] || { echo "demo.sh: --python needs an interpreter" >&2; exit 2; }
      case $2 in */*) py=$(from_caller "$2") ;; *) py=$2 ;; esac  # else found in PATH
      shift 2
      ;;
    --file)
      [ $# -ge 2 ] || { echo "demo.sh: --file needs a path" >&2; exit 2; }
      coordinator_args+=(--file "$(from_caller "$2")")
      shift 2
      ;;
    --file=*) coordinator_args+=(--file "$(from_caller "${1#--file=}")"); shift ;;
    *) coordinator_args+=("$1"); shift ;;
  esac
done

if [ "$build" = 1 ]; then
  bash .ci/install-deps.sh demo
  echo "== building the library, the C worker, the Python and Lua 5.4 bindings in $build_dir"
  mkdir -p "$build_dir"
  log=$build_dir/demo-build.log
  # The build's chatter goes to a log, shown only when something fails.
  if ! { cmake -S . -B "$build_dir" -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$py" \
               -DCMAKE_BUILD_TYPE=Release &&
         cmake --build "$build_dir" -j2 \
               --target permadict permadict_worker permadict_python permadict_lua_54; } \
       >"$log" 2>&1; then
    cat "$log" >&2
    echo "demo.sh: the build failed (log above, also in $log)" >&2
    exit 2
  fi
  echo "== running the demo"
fi

[ -d "$build_dir" ] || { echo "demo.sh: no build directory $build_dir (drop --no-build)" >&2; exit 2; }
build_dir=$(cd "$build_dir" && pwd)
c_worker=$build_dir/examples/worker
python_pkg=$build_dir/bindings/python/pkg
lua_dir=$build_dir/bindings/lua/5.4
for built in "$c_worker" "$python_pkg/permadict" "$lua_dir/permadict.lua"; do
  if [ ! -e "$built" ]; then
    echo "demo.sh: $built is missing: build $build_dir first (or drop --no-build)" >&2
    exit 2
  fi
done

# The same settings the Python and Lua test suites use (tests/python,
# tests/lua); ";;" keeps Lua's default search path for luasystem.
export PYTHONPATH="$python_pkg${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
export LUA_PATH="$lua_dir/?.lua;;"
export LUA_CPATH="$lua_dir/?.so;;"
exec "$py" examples/coordinator.py --c-worker "$c_worker" --lua lua5.4 \
     ${coordinator_args[@]+"${coordinator_args[@]}"}
