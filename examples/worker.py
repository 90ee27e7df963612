"""The Python worker of the demo (examples/README.md has the key protocol;
worker.c and worker.lua follow the same one).

    usage: python3 worker.py FILE WORKER_ID [NAMESPACE [TIMEOUT_SECONDS]]

Started before its configuration exists, it announces itself, sleeps in
d.wait(), and on every new generation of "config" does a little work and
reports it back through the same dict; it exits when "stop" is set.

Exit status: 0 stopped as asked, 1 no "stop" before the timeout, 2 bad
usage, 3 a library error, 4 a config that is not as the protocol says.
"""
import sys
import time

from permadict import Error as PermadictError, Permadict, ResyncNeeded


def say(worker_id: str, text: str) -> None:
    # One write per line: the other processes share this output.
    sys.stdout.write(f"  [{worker_id}] {text}\n")
    sys.stdout.flush()


def complain(worker_id: str, text: str) -> None:
    sys.stderr.write(f"  [{worker_id}] {text}\n")
    sys.stderr.flush()


def announce(d: Permadict) -> int:
    """Count this worker as ready and return the version to watch from.

    One transaction, so no write can fall between the two: the coordinator's
    config, written after it has counted every worker, is always newer.
    """
    with d.transaction():
        d.incr("workers.ready")
        return d.version


def keys_changed(d: Permadict, since: int, upto: int) -> set:
    """The keys changed in (since, upto]; None stands for "everything".

    Changes after upto are left for the next wake-up, so a wake-up is never
    credited with a change committed after it. A resync (the bounded log no
    longer reaches back to since) says nothing about which keys changed.
    """
    try:
        changes = d.changes(since)
    except ResyncNeeded:
        return {None}
    return {c.key if c.op != "clear" else None for c in changes if c.version <= upto}


def valid_config(config: object) -> bool:
    return (isinstance(config, dict)
            and type(config.get("generation")) is int and config["generation"] >= 1
            and type(config.get("n")) is int and config["n"] >= 0
            and type(config.get("written_at")) in (int, float))


def work(n: int) -> int:
    """"A little work" whose result the coordinator can check exactly."""
    return sum((i * i) % 1009 for i in range(n))


def report(d: Permadict, worker_id: str, config: dict, woke_at: float, result: int) -> None:
    """What this worker saw of one generation, and its result, in one
    transaction: the coordinator never sees a count without its details."""
    g = config["generation"]
    with d.transaction():
        d[f"seen.{worker_id}.{g}.woke_at"] = woke_at
        d[f"seen.{worker_id}.{g}.n"] = config["n"]
        d.incr(f"results.{g}.sum", result)
        d.incr(f"results.{g}.done")


def run(path: str, worker_id: str, namespace: str, timeout: float) -> int:
    d = Permadict(path, name=namespace)
    since = announce(d)
    say(worker_id, f"ready, watching from version {since}")
    last_generation = 0
    give_up = time.monotonic() + timeout
    while True:
        left = give_up - time.monotonic()
        if left <= 0:
            complain(worker_id, f"no \"stop\" within {timeout:g} s, giving up")
            return 1
        now_version = d.wait(since, timeout=left)
        if now_version is None:
            continue
        woke_at = time.time()
        changed = keys_changed(d, since, now_version)
        since = now_version

        config = d.get("config") if changed & {"config", None} else None
        if config is not None:
            if not valid_config(config):
                complain(worker_id, f"\"config\" is not a map with integers generation and n "
                                    f"and a number written_at: {config!r}")
                return 4
            if config["generation"] != last_generation:
                result = work(config["n"])
                report(d, worker_id, config, woke_at, result)
                last_generation = config["generation"]
                say(worker_id, f"saw generation {last_generation} (n={config['n']}) "
                               f"{(woke_at - config['written_at']) * 1000:.3f} ms after it was "
                               f"written; reported {result}")

        if changed & {"stop", None} and d.get("stop") is True:
            say(worker_id, "told to stop")
            d.close()
            return 0


def main(argv: list) -> int:
    if not 3 <= len(argv) <= 5:
        print(f"usage: {argv[0]} FILE WORKER_ID [NAMESPACE [TIMEOUT_SECONDS]]", file=sys.stderr)
        return 2
    path, worker_id = argv[1], argv[2]
    namespace = argv[3] if len(argv) > 3 else "demo"
    try:
        timeout = float(argv[4]) if len(argv) > 4 else 30.0
    except ValueError:
        timeout = -1.0
    if not 0 < timeout <= 86400:
        print(f"worker.py: TIMEOUT_SECONDS must be a number from 1 to 86400, got {argv[4]!r}",
              file=sys.stderr)
        return 2
    try:
        return run(path, worker_id, namespace, timeout)
    except PermadictError as e:
        complain(worker_id, str(e))
        return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
