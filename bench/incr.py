"""Contended increments: 4 processes each add 1 to one key N times.

usage: incr.py --bin DIR --n N --dir DIR [--lua LUA] [--scenarios a,b,...]
Scenarios: sqlite (4 C processes, UPDATE inside BEGIN IMMEDIATE, SQLite's
default busy handler), diskcache (4 Python processes, Cache.incr),
permadict-mixed (2 Python, 1 Lua, 1 C), permadict-c (4 C processes).
All workers of a scenario sleep until one common start time, so process
start-up is not measured. Prints one JSON line per scenario: throughput (the
increments whose call succeeded) over the wall time from the first start to
the last finish, updates lost (the expected total minus the final value, which
counts failed calls too), and the latency percentiles of every single
increment. A final value above the expected total (an increment applied
twice) is an error, not a negative loss.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"


def workers_for(scenario, a, path):
    c = os.path.join(a.bin, "bench_incr")
    pyw = [PY, os.path.join(HERE, "python", "incr_worker.py")]
    luaw = [a.lua, os.path.join(HERE, "lua", "incr_worker.lua")]
    if scenario == "sqlite":
        return [([c, "sqlite", path, "run"], "c")] * 4
    if scenario == "diskcache":
        return [(pyw + ["diskcache", path], "python")] * 4
    if scenario == "permadict-c":
        return [([c, "permadict", path, "run"], "c")] * 4
    if scenario == "permadict-mixed":
        return [(pyw + ["permadict", path], "python")] * 2 + [(luaw + [path], "lua"),
                                                             ([c, "permadict", path, "run"], "c")]
    raise SystemExit(f"incr.py: unknown scenario {scenario!r}")


def setup(scenario, a, path):
    if scenario == "sqlite":
        subprocess.run([os.path.join(a.bin, "bench_incr"), "sqlite", path, "setup"], check=True)
    elif scenario.startswith("permadict"):
        subprocess.run([os.path.join(a.bin, "bench_incr"), "permadict", path, "setup"], check=True)


def final_value(scenario, a, path):
    if scenario == "diskcache":
        import diskcache
        with diskcache.Cache(path) as c:
            return c.get("counter", 0)
    store = "sqlite" if scenario == "sqlite" else "permadict"
    out = subprocess.run([os.path.join(a.bin, "bench_incr"), store, path, "read"],
                         check=True, capture_output=True, text=True).stdout
    return int(out)


def percentile(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def run(scenario, a):
    path = os.path.join(a.dir, f"incr-{scenario}")
    shutil.rmtree(path, ignore_errors=True)
    for suffix in ("", "-wal", "-shm"):
        if os.path.isfile(path + suffix):
            os.remove(path + suffix)
    setup(scenario, a, path)
    start_at = time.time_ns() + 1_500_000_000
    procs, outs = [], []
    langs = []
    for i, (cmd, lang) in enumerate(workers_for(scenario, a, path)):
        out = os.path.join(a.dir, f"incr-{scenario}-{i}.txt")
        if os.path.exists(out):
            os.remove(out)
        procs.append(subprocess.Popen(cmd + [str(a.n), str(start_at), out]))
        outs.append(out)
        langs.append(lang)
    codes = [p.wait() for p in procs]
    if any(codes):
        return {"suite": "incr", "scenario": scenario, "error": f"worker exit codes {codes}"}
    starts, ends, lat, failures = [], [], [], 0
    for out in outs:
        with open(out) as f:
            s, e, fails = map(int, f.readline().split())
            starts.append(s)
            ends.append(e)
            failures += fails
            lat.extend(int(x) for x in f if x.strip())
        os.remove(out)
    expected = a.n * len(procs)
    value = final_value(scenario, a, path)
    if value > expected:
        return {"suite": "incr", "scenario": scenario,
                "error": f"final value {value} exceeds the {expected} increments made"}
    lat.sort()
    wall = (max(ends) - min(starts)) / 1e9
    return {"suite": "incr", "scenario": scenario, "processes": "+".join(langs),
            "increments": expected, "final": value, "failed_calls": failures,
            "lost": expected - value, "throughput": (expected - failures) / wall,
            "p50_us": percentile(lat, 0.50) / 1000, "p99_us": percentile(lat, 0.99) / 1000,
            "max_us": lat[-1] / 1000}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--lua", default="lua5.4")
    ap.add_argument("--scenarios", default="sqlite,diskcache,permadict-mixed,permadict-c")
    ap.add_argument("--runs", type=int, default=1)
    a = ap.parse_args()
    for run_no in range(a.runs):
        for scenario in a.scenarios.split(","):
            r = run(scenario, a)
            r["run"] = run_no
            print(json.dumps(r), flush=True)
            if "error" in r:
                print(f"incr.py: {scenario}: {r['error']}", file=sys.stderr)


if __name__ == "__main__":
    main()
