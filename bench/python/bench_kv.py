"""The single-process workload for the Python stores (Debian's /usr/bin/python3).

usage: bench_kv.py --store NAME --keys N --runs R --budget-ms B --kinds K1,K2 --dir DIR
The first kind gets every operation, the others the core three (set_txn,
get_hit, iterate). Prints one JSON line per (run, kind, operation) with the
microseconds per operation. Timed loops stop at the key count or when the
budget is spent, whichever comes first. Errors abort the run.
Reads are measured warm: get_first is the first read of each key on a freshly
opened store; get_hit, get_miss and contains each follow an untimed pass over
all their keys, as a long-running process re-reading its data would see them.
"""
import argparse
import gc
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from contenders import store_named  # noqa: E402
from workload import KINDS, Workload  # noqa: E402

now = time.perf_counter_ns
AUTOCOMMIT_BUDGET_FACTOR = 5


def emit(store, kind, op, run, ops, ns):
    print(json.dumps({"suite": "kv", "lang": "python", "store": store.name, "kind": kind,
                      "op": op, "run": run, "ops": ops, "us": ns / 1000 / ops}), flush=True)


def timed(fn, chunks, budget_ns):
    """Calls fn on each chunk until done or out of budget: (ops, ns)."""
    t0 = now()
    deadline = t0 + budget_ns
    ops = 0
    for chunk in chunks:
        fn(chunk)
        ops += len(chunk)
        if now() > deadline:
            break
    return ops, now() - t0


def timed_pairs(fn, key_chunks, value_chunks, budget_ns):
    t0 = now()
    deadline = t0 + budget_ns
    ops = 0
    for keys, values in zip(key_chunks, value_chunks):
        fn(keys, values)
        ops += len(keys)
        if now() > deadline:
            break
    return ops, now() - t0


def repeat(fn, max_times, budget_ns):
    t0 = now()
    deadline = t0 + budget_ns
    done = 0
    while done < max_times:
        fn()
        done += 1
        if now() > deadline:
            break
    return done, now() - t0


def one_kind(cls, w, kind, run, budget_ns, all_ops, dirpath):
    path = os.path.join(dirpath, f"py-{cls.name}-{kind}")
    s = cls(path, kind)
    ops = cls.ops if all_ops else cls.ops & {"set_txn", "get_hit", "iterate"}
    s.remove()
    s.open()
    values = w.values(kind)
    if "set_txn" in ops:
        t0 = now()
        with s.transaction():
            s.put(w.keys, values)
        emit(s, kind, "set_txn", run, w.n, now() - t0)
    else:
        s.fill(w.keys, values)
    if s.count() != w.n:
        raise SystemExit(f"{s.name}: {s.count()} entries after filling {w.n}")
    if "open" in ops:
        s.close()

        def reopen():
            s.open()
            s.close()
        emit(s, kind, "open", run, *repeat(reopen, 1000, budget_ns))
        s.open()
    if "len" in ops:
        def count():
            if s.count() != w.n:
                raise SystemExit(f"{s.name}: wrong len")
        emit(s, kind, "len", run, *repeat(count, w.n, budget_ns))
    key_chunks, miss_chunks = w.chunks(w.keys), w.chunks(w.misses)
    if "get_first" in ops:
        s.close()  # a fresh handle: nothing read yet
        s.open()
        emit(s, kind, "get_first", run, *timed(s.get_hits, key_chunks, budget_ns))
    for op, fn, chunks in (("get_hit", s.get_hits, key_chunks),
                           ("get_miss", s.get_misses, miss_chunks),
                           ("contains", s.contains, key_chunks)):
        if op in ops:
            for chunk in chunks:  # untimed warm-up: every key once, so caches are warm
                fn(chunk)
            emit(s, kind, op, run, *timed(fn, chunks, budget_ns))
    if "iterate" in ops:
        t0 = now()
        n = s.iterate()
        ns = now() - t0
        if n != w.n:
            raise SystemExit(f"{s.name}: iterated {n} of {w.n}")
        emit(s, kind, "iterate", run, n, ns)
    if "overwrite_txn" in ops:
        new_values = w.chunks(w.values(kind, 1))  # built before the clock starts
        t0 = now()
        with s.transaction():
            ops_done, _ = timed_pairs(s.put, key_chunks, new_values, budget_ns)
        emit(s, kind, "overwrite_txn", run, ops_done, now() - t0)
    if "set_autocommit" in ops:
        fresh = w.chunks_in_order(w.fresh)
        new_values = w.chunks_in_order(values)
        t0 = now()
        # A longer sample: see AUTOCOMMIT_BUDGET_FACTOR in bench/c/bench_data.h.
        ops_done, _ = timed_pairs(s.put, fresh, new_values, budget_ns * AUTOCOMMIT_BUDGET_FACTOR)
        s.flush()
        emit(s, kind, "set_autocommit", run, ops_done, now() - t0)
    if "delete_txn" in ops:
        t0 = now()
        with s.transaction():
            ops_done, _ = timed(s.delete, key_chunks, budget_ns)
        emit(s, kind, "delete_txn", run, ops_done, now() - t0)
    s.close()
    s.remove()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", required=True)
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--budget-ms", type=int, default=300)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--dir", required=True)
    a = ap.parse_args()
    cls = store_named(a.store)
    kinds = a.kinds.split(",")
    for k in kinds:
        if k not in KINDS:
            raise SystemExit(f"bench_kv.py: unknown value kind {k!r}")
    w = Workload(a.keys)
    gc.disable()  # collections would land at random inside timed loops
    for run in range(a.runs):
        for i, kind in enumerate(kinds):
            one_kind(cls, w, kind, run, a.budget_ms * 1_000_000, i == 0, a.dir)
            gc.collect()


if __name__ == "__main__":
    main()
