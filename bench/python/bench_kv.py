"""The single-process workload for the Python stores (Debian's /usr/bin/python3).

usage: bench_kv.py --store NAME --keys N --runs R --budget-ms B --kinds K1,K2 --dir DIR
The first kind gets every operation, the others the core three (set_txn,
get_hit, iterate). Prints one JSON line per (run, kind, operation) with the
microseconds per operation. Timed loops stop at the key count or when the
budget is spent, whichever comes first. A failed call or a wrong answer stops
that operation: it is reported as an "error" line (never as a time) and the run
goes on with the next operation, as in C and Lua.
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


def emit(store, kind, op, run, ops=0, ns=0, error=None):
    """One result line: a measurement, or the error that stopped it."""
    record = {"suite": "kv", "lang": "python", "store": store.name, "kind": kind, "op": op,
              "run": run}
    record.update({"error": error} if error else {"ops": ops, "us": ns / 1000 / ops})
    print(json.dumps(record), flush=True)


class Measuring:
    """The block measuring one operation: an exception inside it becomes that operation's
    error line, so the report says which figure failed and in how many runs (a run that
    died there would leave the median of the other runs looking complete)."""

    def __init__(self, store, kind, op, run):
        self.store, self.kind, self.op, self.run = store, kind, op, run
        self.failed = False

    def __enter__(self):
        return self

    def __exit__(self, etype, e, tb):
        if etype is None or not issubclass(etype, Exception):
            return False
        self.failed = True
        why = f"{etype.__name__}: {e}"
        emit(self.store, self.kind, self.op, self.run, error=why)
        print(f"bench_kv.py: {self.store.name} {self.kind} {self.op}: {why}", file=sys.stderr)
        return True


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
    """Calls fn until max_times or out of budget: (calls, ns). It reads the clock after
    every call, so it is only for calls much slower than that (open); fast ones use timed."""
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

    def measuring(op):
        return Measuring(s, kind, op, run)

    def check_count():
        n = s.count()
        if n != w.n:
            raise AssertionError(f"{n} entries after filling {w.n}")
    if "set_txn" in ops:
        with measuring("set_txn") as filling:
            t0 = now()
            with s.transaction():
                s.put(w.keys, values)
            ns = now() - t0
            check_count()
            emit(s, kind, "set_txn", run, w.n, ns)
        if filling.failed:  # the other operations need every key
            s.close()
            s.remove()
            return
    else:  # a store without transactions: a failed fill fails the whole run
        s.fill(w.keys, values)
        check_count()
    if "open" in ops:
        with measuring("open"):
            s.close()

            def reopen():
                s.open()
                s.close()
            calls, ns = repeat(reopen, 1000, budget_ns)
            s.open()
            emit(s, kind, "open", run, calls, ns)
    key_chunks, miss_chunks = w.chunks(w.keys), w.chunks(w.misses)
    if "len" in ops:
        def counts(chunk):  # one len per key of the chunk: the keys only set how many
            n = s.counts(len(chunk))
            if n != w.n:
                raise AssertionError(f"len returned {n}, expected {w.n}")
        with measuring("len"):
            emit(s, kind, "len", run, *timed(counts, key_chunks, budget_ns))
    if "get_first" in ops:
        with measuring("get_first"):
            s.close()  # a fresh handle: nothing read yet
            s.open()
            emit(s, kind, "get_first", run, *timed(s.get_hits, key_chunks, budget_ns))
    for op, fn, chunks in (("get_hit", s.get_hits, key_chunks),
                           ("get_miss", s.get_misses, miss_chunks),
                           ("contains", s.contains, key_chunks)):
        if op in ops:
            with measuring(op):
                for chunk in chunks:  # untimed warm-up: every key once, so caches are warm
                    fn(chunk)
                emit(s, kind, op, run, *timed(fn, chunks, budget_ns))
    if "iterate" in ops:
        with measuring("iterate"):
            t0 = now()
            n = s.iterate()
            ns = now() - t0
            if n != w.n:
                raise AssertionError(f"iterated {n} of {w.n}")
            emit(s, kind, "iterate", run, n, ns)
    if "overwrite_txn" in ops:
        with measuring("overwrite_txn"):
            new_values = w.chunks(w.values(kind, 1))  # built before the clock starts
            t0 = now()
            with s.transaction():
                ops_done, _ = timed_pairs(s.put, key_chunks, new_values, budget_ns)
            emit(s, kind, "overwrite_txn", run, ops_done, now() - t0)
    if "set_autocommit" in ops:
        with measuring("set_autocommit"):
            fresh = w.chunks_in_order(w.fresh)
            new_values = w.chunks_in_order(values)
            t0 = now()
            # A longer sample: see AUTOCOMMIT_BUDGET_FACTOR in bench/c/bench_data.h.
            ops_done, _ = timed_pairs(s.put, fresh, new_values,
                                      budget_ns * AUTOCOMMIT_BUDGET_FACTOR)
            s.flush()
            emit(s, kind, "set_autocommit", run, ops_done, now() - t0)
    if "delete_txn" in ops:
        with measuring("delete_txn"):
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
