"""The demo's coordinator: it starts worker processes written in C, Python and
Lua, and only then writes their configuration into a shared permadict file.
Each worker wakes, reads it, does a little work and reports back through the
same dict; the coordinator prints what each worker saw and how long it took
to see it. The key protocol is in examples/README.md.

Exit status: 0 when every worker saw every change and every result is
exact; 1 otherwise (the reasons are printed); 2 for bad arguments.

Run it through examples/demo.sh, which builds what it needs and sets
PYTHONPATH, LUA_PATH and LUA_CPATH; or by hand with those set:

    python3 coordinator.py --c-worker build/examples/worker [--lua lua5.4]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from permadict import Permadict

HERE = os.path.dirname(os.path.abspath(__file__))
LANGUAGES = ("C", "Python", "Lua")
# How long the workers get to exit once "stop" is written.
EXIT_GRACE_SECONDS = 5.0


def say(text: str) -> None:
    # One write per line: the workers share this output, and print() may
    # write the newline separately, letting another process's line in between.
    sys.stdout.write(f"[coordinator] {text}\n")
    sys.stdout.flush()


def expected_result(n: int) -> int:
    """What one worker must report for a config of size n (see the workers' work())."""
    return sum((i * i) % 1009 for i in range(n))


@dataclass
class Worker:
    worker_id: str
    language: str
    command: List[str]
    proc: Optional[subprocess.Popen] = None
    # generation -> (the n it read, the Unix time it woke up)
    seen: Dict[int, tuple] = field(default_factory=dict)

    @property
    def exit_status(self) -> Optional[int]:
        return None if self.proc is None else self.proc.poll()


class DemoFailed(Exception):
    """The demo cannot go on; the message says why."""


def parse_args(argv: List[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--c-worker", required=True, metavar="PATH",
                   help="the built C worker (examples/worker.c)")
    p.add_argument("--lua", default="lua5.4", metavar="INTERPRETER",
                   help="Lua interpreter for worker.lua (default: %(default)s)")
    p.add_argument("--workers-per-language", type=int, default=1, metavar="N",
                   help="workers started for each of C, Python and Lua (default: %(default)s)")
    p.add_argument("--file", metavar="PATH",
                   help="use this file instead of a new one in a temporary directory; its "
                        "namespace (--namespace) must be empty or absent")
    p.add_argument("--namespace", default="demo", help="namespace to use (default: %(default)s)")
    p.add_argument("--generations", type=int, default=2, metavar="G",
                   help="how many times the configuration is written (default: %(default)s)")
    p.add_argument("--n", type=int, default=100000, metavar="N",
                   help="size of the work in generation 1; generation g uses g*N "
                        "(default: %(default)s)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                   help="give up on a step (and workers give up) after this long "
                        "(default: %(default)s)")
    args = p.parse_args(argv)
    if not 1 <= args.workers_per_language <= 50:
        p.error(f"--workers-per-language must be from 1 to 50, got {args.workers_per_language}")
    if not 1 <= args.generations <= 100:
        p.error(f"--generations must be from 1 to 100, got {args.generations}")
    if not 0 <= args.n <= 10_000_000:
        p.error(f"--n must be from 0 to 10000000, got {args.n}")
    if not 1 <= args.timeout <= 3600:
        p.error(f"--timeout must be from 1 to 3600 seconds, got {args.timeout:g}")
    if not os.access(args.c_worker, os.X_OK):
        p.error(f"--c-worker: {args.c_worker!r} is not an executable file (build it first)")
    return args


def plan_workers(args: argparse.Namespace, path: str) -> List[Worker]:
    # Workers give up a little after the coordinator would, so it is always
    # the coordinator that reports a stuck step.
    common = [path, None, args.namespace, str(int(args.timeout) + 10)]
    launchers = {
        "C": [os.path.abspath(args.c_worker)],
        "Python": [sys.executable, os.path.join(HERE, "worker.py")],
        "Lua": [args.lua, os.path.join(HERE, "worker.lua")],
    }
    workers = []
    for language in LANGUAGES:
        for i in range(1, args.workers_per_language + 1):
            worker_id = f"{language.lower()}.{i}"
            tail = list(common)
            tail[1] = worker_id
            workers.append(Worker(worker_id, language, launchers[language] + tail))
    return workers


def wait_for_count(d: Permadict, key: str, workers: List[Worker], timeout: float,
                   what: str) -> None:
    """Sleep in d.wait() until the counter at key reaches the number of workers.

    Prints each new count. The version is read before the counter, so a change
    landing in between makes wait() return at once instead of being missed.
    The wait is cut into short slices only to notice a worker that exited early.
    """
    deadline = time.monotonic() + timeout
    shown = 0
    while True:
        since = d.version
        count = d.get(key, 0)
        if count != shown:
            say(f"{what}: {count}/{len(workers)}")
            shown = count
        if count >= len(workers):
            return
        gone = [w for w in workers if w.exit_status is not None]
        if gone:
            raise DemoFailed(f"{what}: " + ", ".join(
                f"worker {w.worker_id} (pid {w.proc.pid}) exited with status {w.exit_status}"
                for w in gone) + f" after {count}/{len(workers)}")
        left = deadline - time.monotonic()
        if left <= 0:
            raise DemoFailed(f"{what}: still {count}/{len(workers)} after {timeout:g} s")
        d.wait(since, timeout=min(left, 0.5))


def start_workers(workers: List[Worker]) -> None:
    for w in workers:
        try:
            w.proc = subprocess.Popen(w.command)
        except OSError as e:
            raise DemoFailed(f"cannot start worker {w.worker_id} ({w.command[0]}): {e}") from e
        say(f"started {w.language} worker {w.worker_id} (pid {w.proc.pid})")


def wait_ready(d: Permadict, workers: List[Worker], timeout: float) -> None:
    wait_for_count(d, "workers.ready", workers, timeout, "workers ready")


def run_generation(d: Permadict, workers: List[Worker], g: int, n: int, timeout: float,
                   problems: List[str]) -> float:
    """Write generation g of the config, wait for every worker's report, check the sum.

    Returns the Unix time at which the write had committed.
    """
    say(f"writing generation {g} of the config (n={n})")
    d["config"] = {"generation": g, "task": "sum of i*i mod 1009 for i in 0..n-1", "n": n,
                   "written_at": time.time()}
    # Taken once the commit has returned: the latencies printed at the end
    # are measured from here (see examples/README.md, "Latency").
    committed_at = time.time()
    wait_for_count(d, f"results.{g}.done", workers, timeout,
                   f"generation {g}: workers reported")
    expected = len(workers) * expected_result(n)
    got = d.get(f"results.{g}.sum")
    if got != expected:
        problems.append(f"generation {g}: results.{g}.sum is {got!r}, expected {expected} "
                        f"({len(workers)} workers x {expected_result(n)})")
    else:
        say(f"generation {g}: results.{g}.sum = {got}, exactly as expected")
    return committed_at


def stop_workers(d: Permadict, workers: List[Worker], problems: List[str]) -> None:
    d["stop"] = True
    say("wrote stop; waiting for the workers to exit")
    deadline = time.monotonic() + EXIT_GRACE_SECONDS
    for w in workers:
        try:
            w.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            problems.append(f"worker {w.worker_id} (pid {w.proc.pid}) did not exit after stop")
            continue
        if w.proc.returncode != 0:
            problems.append(f"worker {w.worker_id} (pid {w.proc.pid}) exited with status "
                            f"{w.proc.returncode}")


def collect(d: Permadict, workers: List[Worker], committed: Dict[int, float],
            problems: List[str]) -> None:
    for w in workers:
        for g in committed:
            woke_at = d.get(f"seen.{w.worker_id}.{g}.woke_at")
            n = d.get(f"seen.{w.worker_id}.{g}.n")
            if woke_at is None or n is None:
                problems.append(f"worker {w.worker_id} never reported generation {g}")
            else:
                w.seen[g] = (n, woke_at)


def print_table(workers: List[Worker], committed: Dict[int, float], args: argparse.Namespace,
                problems: List[str]) -> None:
    gens = sorted(committed)
    header = (["worker", "language", "pid", "saw generations"]
              + [f"gen {g} latency" for g in gens] + ["exit"])
    rows = []
    latencies = []
    for w in workers:
        cells = [w.worker_id, w.language, str(w.proc.pid if w.proc else "-"),
                 ", ".join(str(g) for g in sorted(w.seen)) or "none"]
        for g in gens:
            if g not in w.seen:
                cells.append("MISSED")
                continue
            n, woke_at = w.seen[g]
            ms = (woke_at - committed[g]) * 1000.0
            latencies.append(ms)
            cells.append(f"{ms:.3f} ms")
            if n != args.n * g:
                problems.append(f"worker {w.worker_id} read n={n} in generation {g}, "
                                f"the coordinator wrote {args.n * g}")
        status = w.exit_status
        cells.append("-" if status is None else f"signal {-status}" if status < 0
                     else str(status))
        rows.append(cells)
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    print()
    for r in [header] + rows:
        print("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip())
    print()
    if latencies:
        print(f"latency from the coordinator's commit returning to a worker waking up: "
              f"median {statistics.median(latencies):.3f} ms, max {max(latencies):.3f} ms "
              f"({len(latencies)} wake-ups)")


def open_dict(args: argparse.Namespace, path: str) -> Permadict:
    d = Permadict(path, name=args.namespace)
    count = len(d)
    if count:
        d.close()
        raise DemoFailed(f"namespace {args.namespace!r} of {path} already holds {count} keys; "
                         f"the demo needs an empty one: pass another --namespace or --file")
    return d


def run(args: argparse.Namespace, path: str) -> int:
    say(f"shared file: {path} (namespace {args.namespace!r})")
    d = open_dict(args, path)
    workers = plan_workers(args, path)
    problems: List[str] = []
    committed: Dict[int, float] = {}
    try:
        start_workers(workers)
        wait_ready(d, workers, args.timeout)
        for g in range(1, args.generations + 1):
            committed[g] = run_generation(d, workers, g, args.n * g, args.timeout, problems)
        stop_workers(d, workers, problems)
    except DemoFailed as e:
        problems.insert(0, str(e))
    finally:
        for w in workers:
            if w.proc is not None and w.proc.poll() is None:
                w.proc.kill()
                w.proc.wait()
    collect(d, workers, committed, problems)
    d.close()
    print_table(workers, committed, args, problems)

    if len(committed) < args.generations:
        problems.append(f"only {len(committed)} of {args.generations} generations were written")
    if problems:
        print("FAIL: not every worker saw every change:")
        for p in problems:
            print(f"  - {p}")
        return 1
    print(f"OK: all {len(workers)} workers ({args.workers_per_language} each in C, Python and "
          f"Lua) saw all {args.generations} changes, and every result was exact.")
    return 0


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    try:
        if args.file:
            return run(args, os.path.abspath(args.file))
        with tempfile.TemporaryDirectory(prefix="permadict-demo-") as tmp:
            return run(args, os.path.join(tmp, "demo.permadict"))
    except DemoFailed as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
