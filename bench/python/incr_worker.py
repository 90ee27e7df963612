"""One Python process of the contended-increment benchmark.

usage: incr_worker.py STORE PATH N START_AT_NS OUTFILE
STORE: diskcache (Cache.incr) or permadict (Permadict.incr). Writes the same
file as bench_incr.c: "start_ns end_ns failures" (realtime), then one
latency in ns per line. A failed increment is counted, not retried.
"""
import sys
import time


def main():
    store, path, n, start_at, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    if store == "diskcache":
        import diskcache
        d = diskcache.Cache(path)
    elif store == "permadict":
        from permadict import Permadict
        d = Permadict(path)
    else:
        raise SystemExit(f"incr_worker.py: unknown store {store!r}")
    incr = d.incr
    lat = [0] * n
    failures = 0
    now = time.perf_counter_ns
    delay = start_at - time.time_ns()
    if delay > 0:
        time.sleep(delay / 1e9)
    start = time.time_ns()
    for i in range(n):
        t0 = now()
        try:
            incr("counter")
        except Exception as e:  # counted as a lost update, and said once
            if failures == 0:
                print(f"incr_worker.py: {store}: {e}", file=sys.stderr)
            failures += 1
        lat[i] = now() - t0
    end = time.time_ns()
    with open(out, "w") as f:
        f.write(f"{start} {end} {failures}\n")
        f.write("\n".join(map(str, lat)))
        f.write("\n")
    d.close()


if __name__ == "__main__":
    main()
