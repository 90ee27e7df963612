#!/usr/bin/python3
"""The Python participant of the concurrency scenarios (run_concurrency.py):

  concurrent_py.py incr FILE N TIMEOUT_MS     N d.incr("counter")
  concurrent_py.py cas FILE N TIMEOUT_MS      N increments of "cas" by a
                                              compare_and_set retry loop
  concurrent_py.py txn FILE N TIMEOUT_MS      N transactions moving 1 from "a"
                                              to "b"; a transaction that meets
                                              BusyError is retried (counted)
  concurrent_py.py commits FILE N TIMEOUT_MS  N commits to the keys k000..k099
                                              (value [i, i*i]), then "done";
                                              prints the slowest commit
  concurrent_py.py slowread FILE 0 TIMEOUT_MS walks the dict slowly, again and
                                              again until "done", checking
                                              every page (below)
  concurrent_py.py rewrite FILE N TIMEOUT_MS  iterates items() and, inside
                                              the walk, writes each item back
                                              +1 through the same handle

Any error reaching this program (BusyError included, except where a retry
loop is the scenario) is printed and exits 1; the last line is a result.
"""
import sys
import time

import permadict


def main():
    cmd, path, n, timeout_ms = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    d = permadict.Permadict(path, timeout=timeout_ms / 1000.0)
    if cmd == "incr":
        for _ in range(n):
            d.incr("counter")
    elif cmd == "cas":
        for _ in range(n):
            while True:
                cur = d.get("cas", permadict.ABSENT)
                nxt = 1 if cur is permadict.ABSENT else cur + 1
                if d.compare_and_set("cas", cur, nxt):
                    break
    elif cmd == "txn":
        retries = 0
        for _ in range(n):
            while True:
                try:
                    with d.transaction():
                        d["a"] = d.get("a", 0) - 1
                        d["b"] = d.get("b", 0) + 1
                    break
                except permadict.BusyError:
                    retries += 1
        print("retries %d" % retries)
    elif cmd == "commits":
        worst = 0.0
        for i in range(n):
            t0 = time.monotonic()
            d["k%03d" % (i % 100)] = [i, i * i]
            worst = max(worst, time.monotonic() - t0)
        d["done"] = True
        print("max_commit_ms %.1f" % (worst * 1000))
    elif cmd == "slowread":
        walks = items = 0
        while True:
            prev = None
            finished = d.get("done", False)
            for k, v in d.items():
                # Keys strictly increase, every value is whole ([i, i*i] as
                # one commit wrote it), and nothing raises.
                if prev is not None and not prev < k:
                    raise SystemExit("FAIL: key order %r then %r" % (prev, k))
                prev = k
                if k != "done" and (not isinstance(v, list) or v[1] != v[0] * v[0]
                                    or int(k[1:]) != v[0] % 100):
                    raise SystemExit("FAIL: inconsistent %r = %r" % (k, v))
                items += 1
                if items == 1:  # the harness starts the writer now
                    print("walking", flush=True)
                time.sleep(0.001)
            walks += 1
            if finished:
                break
        print("walks %d items %d" % (walks, items))
    elif cmd == "rewrite":
        # The walk reads a page in a short read transaction; the writes go
        # through the same handle while the walk is open and another process
        # commits. Each key must be visited once and written once.
        seen = 0
        for k, v in d.items():
            if k.startswith("r"):
                d[k] = v + 1
                seen += 1
        print("rewrote %d" % seen)
    else:
        raise SystemExit("unknown command %s" % cmd)
    d.close()


if __name__ == "__main__":
    try:
        main()
    except permadict.Error as e:
        print("FAIL %s: %s" % (type(e).__name__, e))
        sys.exit(1)
