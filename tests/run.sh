#!/usr/bin/env bash
# The one test command: installs what is missing, builds, runs every test
# (C, CLI, Python, Lua on each installed version, cross-language, fuzzers),
# then rebuilds the C parts under ASan+UBSan and runs their tests again.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/install-deps.sh test

# Debian's interpreter: the one python3-pytest belongs to, and the one the
# extension is built for (the default preset names it too, for hand builds).
py=/usr/bin/python3

# ctest exits 0 when tests were skipped; a skipped test has not passed.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run_tests() {
  ctest "$@" | tee "$log"
  if grep -q "The following tests did not run" "$log"; then
    echo "tests were skipped (listed above): a skipped test is not a passed one" >&2
    exit 1
  fi
}

echo "== build (default preset)"
cmake --preset default -DPython3_EXECUTABLE="$py" >/dev/null
cmake --build --preset default
echo "== tests (default preset)"
run_tests --preset default

echo "== build (sanitize preset: ASan + UBSan)"
cmake --preset sanitize >/dev/null
cmake --build --preset sanitize
echo "== tests (sanitize preset)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_tests --preset sanitize
