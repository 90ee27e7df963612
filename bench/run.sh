#!/usr/bin/env bash
# bench/run.sh - build what is needed, run every benchmark, write the report.
#
#   bench/run.sh           full run (100,000 keys, several runs; about 10 minutes on 2 cores)
#                          -> docs/BENCHMARKS.md and docs/bench.svg
#   bench/run.sh --quick   smoke test (10,000 keys, one run, no 1M-entry memory test; < 2 minutes)
#                          -> build/bench/results/BENCHMARKS.md and bench.svg (docs/ untouched)
#
# Missing Debian packages are installed with apt-get (.ci/install-deps.sh bench).
# A benchmark that fails is reported as failed in the report; it never gets a number.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=full
for arg in "$@"; do
  case "$arg" in
    --quick) MODE=quick ;;
    -h|--help) sed -n 2,10p "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown argument '$arg' (use --quick or nothing)" >&2; exit 2 ;;
  esac
done

if [ "$MODE" = full ]; then
  KEYS=100000 C_RUNS=5 RUNS=3 BUDGET_MS=200 INCR_N=5000 MEM_N=1000000 WATCH_EVENTS=300 IDLE_MS=10000
  OUT_DIR=$ROOT/docs
else
  KEYS=10000 C_RUNS=1 RUNS=1 BUDGET_MS=50 INCR_N=1000 MEM_N=0 WATCH_EVENTS=50 IDLE_MS=1000
  OUT_DIR=$ROOT/build/bench/results
fi
PY=/usr/bin/python3       # Debian's Python: the one the binding is built for
LUA=lua5.4
BUILD=$ROOT/build/bench
HARNESS=$BUILD/harness
RESULTS=$BUILD/results
DATA=$(mktemp -d "${TMPDIR:-/tmp}/permadict-bench.XXXXXX")
trap 'rm -rf "$DATA"' EXIT
say() { printf '\n== %s\n' "$*" >&2; }

say "Debian packages"
bash "$ROOT/.ci/install-deps.sh" bench || { echo "bench/run.sh: missing packages (see above)" >&2; exit 1; }

say "Building the project (Release) in $BUILD"
configure() {
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE=$PY \
        -DBUILD_TESTING=OFF -DPERMADICT_CLI=OFF "$@" >"$BUILD.log" 2>&1 &&
    cmake --build "$BUILD" -j"$(nproc)" >>"$BUILD.log" 2>&1
}
mkdir -p "$BUILD"
# A binding that does not build yet must not stop the other benchmarks.
configure -DPERMADICT_PYTHON=ON -DPERMADICT_LUA=ON ||
  configure -DPERMADICT_PYTHON=ON -DPERMADICT_LUA=OFF ||
  configure -DPERMADICT_PYTHON=OFF -DPERMADICT_LUA=ON ||
  configure -DPERMADICT_PYTHON=OFF -DPERMADICT_LUA=OFF ||
  echo "bench/run.sh: the project does not build (see $BUILD.log): anchors only" >&2

say "Building the harness in $HARNESS"
cmake -S "$ROOT/bench" -B "$HARNESS" -DCMAKE_BUILD_TYPE=Release -DPERMADICT_BUILD_DIR="$BUILD" \
      >"$HARNESS.log" 2>&1 && cmake --build "$HARNESS" -j"$(nproc)" >>"$HARNESS.log" 2>&1 ||
  { echo "bench/run.sh: the harness does not build, see $HARNESS.log" >&2; exit 1; }

export PYTHONPATH=$BUILD/bindings/python/pkg${PYTHONPATH:+:$PYTHONPATH}
export LUA_PATH="$BUILD/bindings/lua/5.4/?.lua;;"
export LUA_CPATH="$BUILD/bindings/lua/5.4/?.so;$HARNESS/lua/?.so;;"
HAVE_C=0; HAVE_PY=0; HAVE_LUA=0
[ -x "$HARNESS/bench_watch" ] && HAVE_C=1
[ $HAVE_C = 1 ] && $PY -c "from permadict import Permadict" 2>/dev/null && HAVE_PY=1
[ $HAVE_C = 1 ] && $LUA -e 'require("permadict")' 2>/dev/null && HAVE_LUA=1
echo "permadict available: C=$HAVE_C Python=$HAVE_PY Lua=$HAVE_LUA" >&2

rm -rf "$RESULTS"
mkdir -p "$RESULTS" "$OUT_DIR"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# Every store of a language is measured once per round, and the rounds
# repeat: a machine that slows down for a minute (a shared VM does) then
# weighs on every store alike instead of on whichever ran during that minute.
# (Measured with bench_kv on this VM: raw SQLite's set in a transaction took
# 1.9 us in one run and 2.6-3.2 us in three runs 40 minutes later.) Each round
# starts at the next store, so no store always runs right after the heaviest
# writer of the previous round (the disk is still flushing its files): in
# one run Python permadict, always first, measured 0.99, 0.93 and 0.62 us a
# get in its three rounds while the dict right after it was not slowed.

# rotated K WORD...: the words from the K-th on (1-based), then the ones before.
rotated() {
  local k=$1 i
  shift
  for ((i = 0; i < $#; i++)); do
    local j=$(((k - 1 + i) % $# + 1))
    printf '%s ' "${!j}"
  done
}

# stage NAME OUTFILE CMD...: runs one benchmark program; if it fails, a
# "stage" record names it, so the report shows the failure instead of a gap.
stage() {
  local name=$1 out=$2
  shift 2
  echo "-- $name" >&2
  timeout 900 "$@" >>"$out" 2>>"$RESULTS/stderr.log"
  local rc=$?
  if [ $rc -ne 0 ]; then
    echo "   $name failed (exit $rc), see $RESULTS/stderr.log" >&2
    printf '{"suite":"stage","name":"%s","error":"exited with status %d (see stderr.log)"}\n' \
      "$name" $rc >>"$RESULTS/stages.jsonl"
  fi
}

say "C ($KEYS keys, $C_RUNS runs)"
C_STORES="sqlite sqlite-mmap-readtxn sqlite-permadict-layout lmdb"
[ $HAVE_C = 1 ] && C_STORES="permadict $C_STORES"
for round in $(seq "$C_RUNS"); do
  for s in $(rotated "$round" $C_STORES); do
    stage "c/$s" "$RESULTS/kv-c.jsonl" "$HARNESS/bench_kv" "$s" "$DATA" $KEYS 1 $BUDGET_MS \
      text100,int,bytes1k,map
  done
done

say "Python ($KEYS keys, $RUNS runs)"
PY_STORES="dict sqlite3 lmdb sqlitedict sqlitedict-batched diskcache-Index diskcache-Cache shelve"
[ $HAVE_PY = 1 ] && PY_STORES="permadict $PY_STORES"
for round in $(seq "$RUNS"); do
  for s in $(rotated "$round" $PY_STORES); do
    case $s in # the value-kind matrix for the fast stores; the slow ones would take minutes
      permadict|dict|sqlite3|lmdb) kinds=text100,int,bytes1k,map ;;
      *) kinds=text100 ;;
    esac
    stage "python/$s" "$RESULTS/kv-python.jsonl" $PY "$ROOT/bench/python/bench_kv.py" --store "$s" \
      --keys $KEYS --runs 1 --budget-ms $BUDGET_MS --kinds $kinds --dir "$DATA"
  done
done

say "Lua ($KEYS keys, $RUNS runs)"
LUA_STORES="table luasql"
[ $HAVE_LUA = 1 ] && LUA_STORES="permadict $LUA_STORES"
for round in $(seq "$RUNS"); do
  for s in $(rotated "$round" $LUA_STORES); do
    stage "lua/$s" "$RESULTS/kv-lua.jsonl" $LUA "$ROOT/bench/lua/bench_kv.lua" "$s" "$DATA" $KEYS 1 \
      $BUDGET_MS text100,int,bytes1k,map
  done
done

say "Contended increments (4 processes x $INCR_N)"
SCEN=sqlite,diskcache
[ $HAVE_C = 1 ] && SCEN=permadict-c,$SCEN
[ $HAVE_PY = 1 ] && [ $HAVE_LUA = 1 ] && SCEN=permadict-mixed,$SCEN
INCR_RUNS=$([ "$MODE" = full ] && echo 3 || echo 1)
# The stages before leave hundreds of MB of files not yet written to disk;
# the kernel writing them back during the contention skews it for every
# contender alike. A run without this sync measured permadict at 34,065
# increments/s, and the same build 40,500-41,700/s run alone.
sync
stage incr "$RESULTS/incr.jsonl" $PY "$ROOT/bench/incr.py" --bin "$HARNESS" --n $INCR_N --dir "$DATA" \
  --lua $LUA --scenarios $SCEN --runs $INCR_RUNS

if [ "$MEM_N" -gt 0 ]; then
  say "Memory: iterating over $MEM_N entries"
  MEM_STORES="sqlite lmdb"
  [ $HAVE_C = 1 ] && MEM_STORES="permadict $MEM_STORES"
  for s in $MEM_STORES; do
    if stage "memory-fill/$s" /dev/null "$HARNESS/bench_memory" "$s" "$DATA/mem-$s" $MEM_N fill; then
      stage "memory/c/$s" "$RESULTS/memory.jsonl" "$HARNESS/bench_memory" "$s" "$DATA/mem-$s" $MEM_N iterate
      if [ "$s" = permadict ] && [ $HAVE_PY = 1 ]; then
        stage "memory/python/permadict" "$RESULTS/memory.jsonl" $PY "$ROOT/bench/python/memory_iter.py" \
          "$DATA/mem-$s" $MEM_N
      fi
    fi
    rm -f "$DATA/mem-$s"*
  done
fi

if [ $HAVE_C = 1 ]; then
  say "Watch latency and idle watcher CPU"
  stage watch "$RESULTS/watch.jsonl" "$HARNESS/bench_watch" "$DATA/watch.db" $WATCH_EVENTS $IDLE_MS
fi

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
CMD="bench/run.sh$([ "$MODE" = quick ] && echo ' --quick')"
$PY - "$RESULTS/meta.json" <<PYEOF
import json, platform, sqlite3, subprocess, sys, datetime
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception:
        return "?"
cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
meta = {
    "command": "$CMD", "mode": "$MODE", "keys": $KEYS, "runs": "C $C_RUNS, Python $RUNS, Lua $RUNS",
    "budget_ms": $BUDGET_MS, "incr_n": $INCR_N, "results_dir": "$RESULTS",
    "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
    "machine": {
        "CPU": f"{cpu}, {sh('nproc')} cores", "kernel": platform.release(),
        "OS": sh(". /etc/os-release; echo \$PRETTY_NAME"),
        "SQLite": sqlite3.sqlite_version, "Python": platform.python_version(),
        "Lua": sh("$LUA -v"), "permadict": sh("git -C $ROOT describe --always --dirty 2>/dev/null"),
        "load average (1, 5, 15 min) before / after": "$LOAD_BEFORE / $LOAD_AFTER",
        "filesystem of the data": sh("df -T $DATA | awk 'NR==2 {print \$2}'"),
    },
}
json.dump(meta, open(sys.argv[1], "w"), indent=1)
PYEOF

say "Report"
$PY "$ROOT/bench/report.py" "$RESULTS" "$OUT_DIR/BENCHMARKS.md" "$OUT_DIR/bench.svg" ||
  { echo "bench/run.sh: the report could not be written" >&2; exit 1; }
echo "Report: $OUT_DIR/BENCHMARKS.md"
echo "Chart:  $OUT_DIR/bench.svg"
echo "Raw results: $RESULTS"
FAILED=$(cat "$RESULTS"/stages.jsonl 2>/dev/null | wc -l)
[ "$FAILED" -eq 0 ] || echo "bench/run.sh: $FAILED benchmark program(s) failed: see the report's Failures section" >&2
