#!/bin/sh
# run_fuzzer.sh CLANG MSGPACK_LIB NAME WORKDIR SECONDS
#
# Builds tests/fuzz/fuzz_NAME.c with the sources it tests (below) under
# libFuzzer + ASan + UBSan, then fuzzes for SECONDS starting from the
# checked-in seeds. Any crash, leak, sanitizer report or failed check makes
# libFuzzer exit non-zero, and so this script and the ctest test.
set -eu
clang=$1 msgpack_lib=$2 name=$3 work=$4 seconds=$5
here=$(cd "$(dirname "$0")" && pwd)
src=$here/../../lib/src

# The codec targets need the codec alone, fuzz_json the CLI's JSON mapping
# on top of it; fuzz_rows drives the whole library over SQLite.
cli=$here/../../lib/cli
if [ "$name" = rows ]; then
  set -- "$src"/*.c -lsqlite3 -lpthread
else
  set -- "$src/utf8.c" "$src/value_compare.c" "$src/value_check.c" \
    "$src/codec_fail.c" "$src/decoder.c" "$src/encoder.c"
  if [ "$name" = json ]; then
    set -- "$@" -I"$cli" "$cli/json_value.c" "$cli/base64.c" -ljansson
  fi
fi

mkdir -p "$work/corpus-$name" "$work/artifacts-$name"
"$clang" -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -I"$here/../../lib/include" -I"$src" \
  "$here/fuzz_$name.c" "$@" "$msgpack_lib" -lm -o "$work/fuzz_$name"

# New inputs go to the work corpus (in the build tree), never to the seeds.
exec "$work/fuzz_$name" -max_total_time="$seconds" -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts-$name/" \
  "$work/corpus-$name" "$here/corpus/$name"
