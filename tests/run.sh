#!/usr/bin/env bash
# The one test command: installs what is missing, builds, runs every test
# (C, CLI, Python, Lua on each installed version, cross-language, fuzzers),
# then rebuilds the C parts under ASan+UBSan and runs their tests again.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/install-deps.sh test

# Debian's interpreter: the one python3-pytest belongs to, and the one the extension is built for.
py=/usr/bin/python3

echo "== build (default preset)"
cmake --preset default -DPython3_EXECUTABLE="$py" >/dev/null
cmake --build --preset default
echo "== tests (default preset)"
ctest --preset default

echo "== build (sanitize preset: ASan + UBSan)"
cmake --preset sanitize >/dev/null
cmake --build --preset sanitize
echo "== tests (sanitize preset)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --preset sanitize
