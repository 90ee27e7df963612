"""Peak RSS growth while a Permadict of many entries is iterated.

usage: memory_iter.py PATH N   (PATH filled beforehand by bench_memory ... fill)
Prints one JSON line. ru_maxrss is the process's peak; the figure is its
growth from just after opening to just after the walk.
"""
import json
import resource
import sys
import time


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    from permadict import Permadict
    d = Permadict(path)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter_ns()
    seen = 0
    for _k, _v in d.items():
        seen += 1
    ns = time.perf_counter_ns() - t0
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    d.close()
    if seen != n:
        print(json.dumps({"suite": "memory", "lang": "python", "store": "permadict",
                          "entries": n, "error": f"iterated {seen} of {n}"}))
        return
    print(json.dumps({"suite": "memory", "lang": "python", "store": "permadict", "entries": n,
                      "rss_before_mib": before / 1024, "rss_growth_mib": (after - before) / 1024,
                      "us_per_item": ns / 1000 / n}))


if __name__ == "__main__":
    main()
