"""Watching: d.version, d.changes, d.wait, d.watch, d.watch_fd and d.wait_async.

Writers in other languages run as real processes: C through tests/python/watch_peer.c
(found through $PD_WATCH_PEER), Lua through the Lua 5.4 build of the binding ($PD_LUA,
$PD_LUA_PATH, $PD_LUA_CPATH), and the C watcher sees this Python process write.
"""

import asyncio
import os
import resource
import subprocess
import sys
import threading
import time

import pytest

import permadict
from permadict import Change, ClosedError, MisuseError, Permadict, ResyncNeeded

PEER = os.environ.get("PD_WATCH_PEER")
LUA = os.environ.get("PD_LUA")
WAIT = 10.0  # generous: no correct run comes near it
DELAY = 0.2  # writers start this late, so the watcher is asleep when they commit
TXN_KEYS = 500


def _lua_env():
    env = dict(os.environ)
    env["LUA_PATH"] = os.environ.get("PD_LUA_PATH", "")
    env["LUA_CPATH"] = os.environ.get("PD_LUA_CPATH", "")
    return env


class CWriter:
    """Commands for watch_peer, the C writer."""

    def __init__(self, path):
        if not PEER:
            pytest.fail("PD_WATCH_PEER is not set: run this file through ctest")
        self.path = path
        self.env = None

    def set(self, k, v):
        return [PEER, self.path, "set", k, v]

    def delete(self, k):
        return [PEER, self.path, "del", k]

    def clear(self):
        return [PEER, self.path, "clear"]

    def txn(self, prefix, n):
        return [PEER, self.path, "txn", prefix, str(n)]


class LuaWriter:
    """The same commands as one-line Lua programs using the Lua binding."""

    def __init__(self, path):
        if not LUA:
            pytest.skip("the Lua 5.4 binding was not built")
        self.path = path
        self.env = _lua_env()

    def _run(self, body):
        code = ("local p = require('permadict') "
                f"local d = assert(p.open([==[{self.path}]==], {{timeout = 30}})) "
                f"{body} p.close(d)")
        return [LUA, "-e", code]

    def set(self, k, v):
        return self._run(f"d['{k}'] = '{v}'")

    def delete(self, k):
        return self._run(f"d['{k}'] = nil")

    def clear(self):
        return self._run("p.clear(d)")

    def txn(self, prefix, n):
        return self._run(f"p.transaction(d, function(t) for i = 0, {n - 1} do "
                         f"t['{prefix}' .. i] = i end end)")


WRITERS = {"c": CWriter, "lua": LuaWriter}


def start_later(argv, env=None):
    """Starts argv DELAY seconds from now, without waiting for it."""
    return subprocess.Popen(["sh", "-c", f'sleep {DELAY}; exec "$@"', "sh", *argv], env=env)


def finish(proc):
    assert proc.wait(timeout=WAIT) == 0, "the writer failed"


def ops(changes):
    return [(c.op, c.key) for c in changes]


# ------------------------------------------------------ writers in other languages


@pytest.mark.parametrize("lang", sorted(WRITERS))
def test_wait__sees_set_delete_and_clear_of_another_language(db_path, lang):
    w = WRITERS[lang](db_path)
    with Permadict(db_path) as d:
        d["other"] = "there before"
        steps = [(w.set("k", "v"), [("set", "k")]),
                 (w.delete("k"), [("delete", "k")]),
                 (w.clear(), [("clear", None)])]
        for argv, expected in steps:
            v0 = d.version
            proc = start_later(argv, w.env)
            v = d.wait(v0, WAIT)
            finish(proc)
            assert v == v0 + 1, argv[2:]
            assert ops(d.changes(v0)) == expected
            assert d.changes(v0)[0] == Change(v0 + 1, expected[0][0], expected[0][1])
        assert len(d) == 0


@pytest.mark.parametrize("lang", sorted(WRITERS))
def test_wait__transaction_of_many_keys_is_one_wake_up_reporting_every_key(db_path, lang):
    w = WRITERS[lang](db_path)
    with Permadict(db_path) as d:
        v0 = d.version
        proc = start_later(w.txn("t", TXN_KEYS), w.env)
        v = d.wait(v0, WAIT)
        finish(proc)
        assert v == v0 + TXN_KEYS  # the first wake-up already sees the whole commit
        changes = d.changes(v0)
        assert [c.version for c in changes] == list(range(v0 + 1, v0 + TXN_KEYS + 1))
        assert {c.op for c in changes} == {"set"}
        assert sorted(c.key for c in changes) == sorted(f"t{i}" for i in range(TXN_KEYS))


def test_watch__iterates_the_changes_of_a_lua_writer(db_path):
    w = LuaWriter(db_path)
    with Permadict(db_path) as d:
        proc = start_later(w.txn("w", 3), w.env)
        seen = []
        for change in d.watch(timeout=WAIT):
            seen.append(change)
            if len(seen) == 3:
                break
        finish(proc)
        assert sorted(ops(seen)) == [("set", "w0"), ("set", "w1"), ("set", "w2")]
        proc = start_later(w.delete("w1"), w.env)
        change = next(d.watch(since=seen[-1].version, timeout=WAIT))
        finish(proc)
        assert (change.op, change.key) == ("delete", "w1")


def _peer_watch(path, count):
    """Starts the C watcher; returns it once it has read the version."""
    if not PEER:
        pytest.fail("PD_WATCH_PEER is not set: run this file through ctest")
    proc = subprocess.Popen([PEER, path, "watch", str(count), str(int(WAIT * 1000))],
                            stdout=subprocess.PIPE, text=True)
    ready = proc.stdout.readline()
    assert ready.startswith("ready "), ready
    return proc


def _wake_groups(output):
    """The C watcher's output as one list of (op, key) per wake-up."""
    groups = []
    for line in output.splitlines():
        word = line.split(" ", 3)
        if word[0] == "wake":
            groups.append([])
        elif word[0] == "change":
            groups[-1].append((word[2], None if word[3] == "-" else word[3]))
        else:
            pytest.fail(f"unexpected line from the C watcher: {line!r}")
    return groups


def test_c_watcher__sees_this_python_process_write(db_path):
    with Permadict(db_path) as d:
        proc = _peer_watch(db_path, 3 + TXN_KEYS)
        d["a"] = 1
        time.sleep(0.05)
        del d["a"]
        d.clear()
        with d.transaction():
            for i in range(TXN_KEYS):
                d[f"t{i}"] = i
        out, _ = proc.communicate(timeout=WAIT * 2)
        assert proc.returncode == 0, out
    groups = _wake_groups(out)
    flat = [c for g in groups for c in g]
    assert flat[:3] == [("set", "a"), ("delete", "a"), ("clear", None)]
    assert sorted(k for _, k in flat[3:]) == sorted(f"t{i}" for i in range(TXN_KEYS))
    # The transaction's keys all came with one wake-up.
    txn_groups = [g for g in groups if any(k and k.startswith("t") for _, k in g)]
    assert len(txn_groups) == 1
    assert len([c for c in txn_groups[0] if c[1] and c[1].startswith("t")]) == TXN_KEYS


# ----------------------------------------------------------- the log and resync


def test_changes__log_is_bounded_and_older_versions_need_resync(db_path):
    with Permadict(db_path) as d:
        v0 = d.version
        with d.transaction():
            for _ in range(10_600):
                d.incr("n")
        v = d.version
        assert v == v0 + 10_600
        with pytest.raises(ResyncNeeded) as e:
            d.changes(v0)
        assert isinstance(e.value, permadict.Error)
        assert permadict.ResyncError is ResyncNeeded
        assert len(d.changes(v - 10_000)) == 10_000
        assert d.changes(v - 1) == [Change(v, "set", "n")]
        watched = list(d.watch(since=v0, timeout=0.2))
        assert watched == [Change(v, "resync", None)]


def test_changes__of_the_current_version_is_empty(db_path):
    with Permadict(db_path) as d:
        d["x"] = 1
        assert d.changes(d.version) == []
        with pytest.raises(TypeError):
            d.changes("1")


def test_since_beyond_64_bits_is_named_in_the_error(db_path):
    # Not SWIG's "in method 'changes_open', argument 3 of type 'int64_t'".
    message = r"^since 9223372036854775808 does not fit in 64 bits \(versions are signed 64-bit\)$"
    with Permadict(db_path) as d:
        with pytest.raises(OverflowError, match=message):
            d.changes(2**63)
        with pytest.raises(OverflowError, match=message):
            d.wait(2**63, 0)
        with pytest.raises(OverflowError, match=message):
            next(d.watch(2**63, timeout=0))
        with pytest.raises(OverflowError, match=message):
            asyncio.run(d.wait_async(2**63, 0))


def test_since_that_is_not_an_int_is_named_in_the_error(db_path):
    # Not operator.index's "'str' object cannot be interpreted as an integer".
    with Permadict(db_path) as d:
        calls = [d.changes, lambda since: d.wait(since, 0),
                 lambda since: asyncio.run(d.wait_async(since, 0)),
                 lambda since: next(d.watch(since, timeout=0))]
        for since in ("1", 1.0, None):
            message = rf"^since must be an int \(a version\), not {type(since).__name__}$"
            for call in calls if since is not None else calls[:3]:  # watch's default is None
                with pytest.raises(TypeError, match=message):
                    call(since)


# ----------------------------------------------------------------- timeouts


def _timed(fn, *args):
    t0 = time.monotonic()
    r = fn(*args)
    return r, time.monotonic() - t0


def test_wait__timeouts_return_on_time(db_path):
    with Permadict(db_path) as d:
        v = d.version
        r, took = _timed(d.wait, v, 0.3)
        assert r is None and 0.29 <= took < 2.0
        r, took = _timed(d.wait, v, 0)
        assert r is None and took < 0.2
        r, took = _timed(lambda: list(d.watch(timeout=0.3)))
        assert r == [] and 0.29 <= took < 2.0
        assert d.wait(v - 1, 0) == v  # already newer: at once, no sleep
        with pytest.raises(ValueError):
            d.wait(v, -1)


@pytest.mark.parametrize("timeout", [1e7, 1e12, 1e306, 10**400, float("inf")],
                         ids=["116_days", "huge", "near_max_float", "beyond_float", "inf"])
def test_wait__long_timeouts_wait_for_the_change(db_path, timeout):
    """Beyond what poll() and a lock wait take at once (2^31 - 1 ms), a timeout
    still just means "wait": no OverflowError."""
    with Permadict(db_path, timeout=timeout) as d:
        v = d.version
        got = []

        def waits():  # in a thread: a lost wake-up fails below instead of hanging
            try:
                got.append(d.wait(v, timeout))
                got.append(next(d.watch(since=v + 1, timeout=timeout)).version)
            except BaseException as e:  # noqa: BLE001 - reported by the assert below
                got.append(e)

        t = threading.Thread(target=waits, daemon=True)
        t.start()
        time.sleep(0.1)
        d["k"] = 1
        time.sleep(0.1)
        d["k"] = 2
        t.join(WAIT)
        assert got == [v + 1, v + 2]


@pytest.mark.parametrize("timeout, error, says",
                         [(float("nan"), ValueError, "timeout must be >= 0 seconds or None, not nan"),
                          (-1, ValueError, "timeout must be >= 0 seconds or None, not -1"),
                          ("5", TypeError, "timeout must be a number of seconds or None, not str")])
def test_bad_timeouts_are_named_when_opening_and_waiting(db_path, timeout, error, says):
    with pytest.raises(error, match=says):
        Permadict(db_path, timeout=timeout)
    with Permadict(db_path) as d, pytest.raises(error, match=says):
        d.wait(d.version, timeout)


def test_wait__on_memory_dict_times_out_and_sees_other_threads(db_path):
    d = Permadict()
    v = d.version
    r, took = _timed(d.wait, v, 0.2)
    assert r is None and 0.19 <= took < 2.0
    threading.Timer(0.1, d.__setitem__, ("k", 1)).start()
    assert d.wait(v, WAIT) == v + 1


def test_wait__idle_watcher_uses_almost_no_cpu(db_path):
    with Permadict(db_path) as d:
        v = d.version
        before = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.monotonic()
        assert d.wait(v, 2.0) is None
        wall = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert wall >= 1.99
    assert cpu < 0.05, f"an idle wait of {wall:.2f} s used {cpu:.3f} s of CPU"


# ------------------------------------------------------------------ threads


def test_wait__another_thread_writing_the_same_permadict_wakes_it(db_path):
    with Permadict(db_path) as d:
        v = d.version
        threading.Timer(DELAY, d.__setitem__, ("k", 1)).start()
        assert d.wait(v, WAIT) == v + 1


def test_wait__close_from_another_thread_ends_it_with_closed_error(db_path):
    d = Permadict(db_path)
    v = d.version
    raised = []

    def waiter():
        try:
            d.wait(v)
        except ClosedError as e:
            raised.append(e)

    t = threading.Thread(target=waiter, daemon=True)
    t.start()
    time.sleep(DELAY)
    assert t.is_alive(), "wait() returned without a change"
    d.close()
    t.join(WAIT)
    assert not t.is_alive(), "close() did not wake the waiting thread"
    assert len(raised) == 1


def test_wait__inside_a_transaction_is_misuse(db_path):
    with Permadict(db_path) as d:
        with d.transaction():
            with pytest.raises(MisuseError):
                d.wait(d.version, 0.1)


# ------------------------------------------------------------------ asyncio


def test_wait_async__wakes_without_blocking_the_event_loop(db_path):
    w = CWriter(db_path)

    async def main():
        with Permadict(db_path) as d:
            v0 = d.version
            ticks = 0
            stop = asyncio.Event()

            async def ticker():
                nonlocal ticks
                while not stop.is_set():
                    ticks += 1
                    await asyncio.sleep(0.01)

            t = asyncio.create_task(ticker())
            proc = await asyncio.create_subprocess_exec(
                "sh", "-c", f'sleep {DELAY}; exec "$@"', "sh", *w.set("k", "v"))
            # Two coroutines waiting on one Permadict both wake.
            a, b = await asyncio.gather(d.wait_async(v0, WAIT), d.wait_async(v0, WAIT))
            stop.set()
            await t
            assert await proc.wait() == 0
            assert a == b == v0 + 1
            assert ticks >= 5, "the event loop did not run while waiting"
            assert isinstance(d.watch_fd(), int)

            r = time.monotonic()
            assert await d.wait_async(d.version, 0.3) is None
            assert 0.29 <= time.monotonic() - r < 2.0

    asyncio.run(main())


def test_wait_async__close_while_waiting_raises_closed_error(db_path):
    async def main():
        d = Permadict(db_path)
        task = asyncio.create_task(d.wait_async(d.version))
        await asyncio.sleep(DELAY)
        assert not task.done()
        d.close()
        with pytest.raises(ClosedError):
            await asyncio.wait_for(task, WAIT)

    asyncio.run(main())


def test_wait_async__on_memory_dict_sees_other_coroutines_and_threads():
    # An in-memory dict has no file whose changes wake the watch descriptor.
    async def main():
        d = Permadict()
        v = d.version

        async def write_later():
            await asyncio.sleep(DELAY)
            d["k"] = 1

        writer = asyncio.create_task(write_later())
        t0 = time.monotonic()
        assert await d.wait_async(v, WAIT) == v + 1
        assert time.monotonic() - t0 < WAIT / 2, "woke only when the timeout ran out"
        await writer
        threading.Timer(DELAY, d.__setitem__, ("k", 2)).start()
        t0 = time.monotonic()
        assert await d.wait_async(v + 1, WAIT) == v + 2
        assert time.monotonic() - t0 < WAIT / 2, "woke only when the timeout ran out"
        t0 = time.monotonic()
        assert await d.wait_async(v + 2, 0.2) is None
        assert 0.19 <= time.monotonic() - t0 < 2.0

    asyncio.run(main())


def test_watch_fd__is_readable_after_a_commit_and_wait_0_reads_the_version(db_path):
    import select
    with Permadict(db_path) as d, Permadict(db_path) as other:
        v = d.version
        fd = d.watch_fd()
        assert d.wait(v, 0) is None
        other["k"] = 1
        r, _, _ = select.select([fd], [], [], WAIT)
        assert r == [fd]
        # The commit may need a moment to show (the core's settle re-check
        # makes the descriptor readable again): read until it does.
        deadline = time.monotonic() + WAIT
        while d.wait(v, 0) is None and time.monotonic() < deadline:
            select.select([fd], [], [], 0.1)
        assert d.wait(v, 0) == v + 1


# --------------------------------------------------------------------- fork


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() here")
def test_wait__after_fork_the_child_reopens_and_sees_the_parent_write(db_path):
    with Permadict(db_path) as d:
        assert d.wait(d.version, 0) is None  # the parent's watch exists before fork
        d.watch_fd()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: never return into pytest
            code = 2
            try:
                os.close(r)
                v0 = d.version
                os.write(w, f"{v0}\n".encode())
                v = d.wait(v0, WAIT)
                code = 0 if v == v0 + 1 and ops(d.changes(v0)) == [("set", "from parent")] \
                    else 1
            finally:
                os._exit(code)
        os.close(w)
        with os.fdopen(r) as ready:
            v0 = int(ready.readline())
        time.sleep(DELAY)
        d["from parent"] = 1
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        # The parent's own watch still works.
        v1 = d.version
        assert v1 == v0 + 1
        proc = start_later(CWriter(db_path).set("from c", "1"))
        assert d.wait(v1, WAIT) == v1 + 1
        finish(proc)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
