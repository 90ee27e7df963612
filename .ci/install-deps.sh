#!/usr/bin/env bash
# Install the Debian 12 packages a task needs, only those missing.
# Usage: .ci/install-deps.sh build|test|demo|bench
# Every package comes from Debian's archive; nothing is downloaded from anywhere else.
set -euo pipefail

build=(cmake make gcc pkg-config libsqlite3-dev libmsgpack-dev libjansson-dev swig
       python3 python3-dev lua5.4 liblua5.4-dev lua-system)
test=("${build[@]}" libcmocka-dev python3-pytest python3-msgpack sqlite3
      python3-venv python3-pip python3-setuptools python3-wheel
      lua5.3 liblua5.3-dev lua5.1 liblua5.1-0-dev luajit libluajit-5.1-dev
      clang-14 libclang-rt-14-dev util-linux luarocks)
demo=("${build[@]}")
bench=("${build[@]}" liblmdb-dev python3-lmdb python3-diskcache python3-sqlitedict
       lua-sql-sqlite3 gnuplot-nox)

case "${1:-}" in
  build) wanted=("${build[@]}") ;;
  test) wanted=("${test[@]}") ;;
  demo) wanted=("${demo[@]}") ;;
  bench) wanted=("${bench[@]}") ;;
  *) echo "usage: $0 build|test|demo|bench" >&2; exit 2 ;;
esac

missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "Not root: run as root, or install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
