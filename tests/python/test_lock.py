"""The per-Permadict lock (permadict._core.Lock) and the methods written in C
that take it: d[k], d[k] = v, del d[k], k in d, len(d), d.get."""

import os
import signal
import threading
import time

import pytest

from permadict import Permadict, _core


def held_by_other_thread(lock):
    """Starts a thread that takes lock and keeps it until the returned event is
    set (or 5 s have passed, so that a test gone wrong fails rather than hangs)."""
    taken, done = threading.Event(), threading.Event()

    def hold():
        with lock:
            taken.set()
            done.wait(timeout=5)

    t = threading.Thread(target=hold)
    t.start()
    taken.wait()
    return t, done


def test_lock__is_reentrant_for_its_owner_and_free_after_as_many_releases():
    lock = _core.Lock()
    assert lock.acquire() and lock.acquire(timeout=0) and lock._is_owned()
    lock.release()
    assert lock._is_owned()
    lock.release()
    assert not lock._is_owned()
    with pytest.raises(RuntimeError, match="un-acquired"):
        lock.release()


def test_lock__another_thread_waits_until_it_is_free():
    lock = _core.Lock()
    t, done = held_by_other_thread(lock)
    assert lock.acquire(blocking=False) is False
    t0 = time.monotonic()
    assert lock.acquire(timeout=0.1) is False
    assert time.monotonic() - t0 >= 0.09
    with pytest.raises(RuntimeError, match="un-acquired"):
        lock.release()  # not ours
    threading.Timer(0.1, done.set).start()
    assert lock.acquire(timeout=5) is True  # taken once the holder lets go
    lock.release()
    t.join()


def test_lock__refuses_bad_arguments():
    lock = _core.Lock()
    with pytest.raises(ValueError, match="non-blocking"):
        lock.acquire(False, 1)
    with pytest.raises(ValueError, match="non-negative"):
        lock.acquire(timeout=-2)
    with pytest.raises(TypeError):
        _core.Lock(1)
    with Permadict() as d, pytest.raises(TypeError, match="Lock"):
        d._lock = threading.RLock()


def test_lock__a_signal_interrupts_a_method_waiting_for_it():
    class Interrupted(Exception):
        pass

    def on_alarm(signum, frame):
        raise Interrupted()

    with Permadict() as d:
        d["k"] = 1
        t, done = held_by_other_thread(d._lock)
        old = signal.signal(signal.SIGALRM, on_alarm)
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.1)
            t0 = time.monotonic()
            with pytest.raises(Interrupted):
                d["k"]
            assert time.monotonic() - t0 < 2
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
            done.set()
            t.join()
        assert d["k"] == 1  # the lock is still usable afterwards


def test_methods__wait_for_a_transaction_of_another_thread(db_path):
    """Inside the transaction the connection sees its own pending writes: a
    method that did not wait for the lock would see them too."""
    with Permadict(db_path) as d:
        d["x"] = 0
        inside = threading.Event()
        seen = {}

        def reader():
            inside.wait()
            seen["getitem"] = d["x"]
            seen["get"] = d.get("y", "absent")
            seen["contains"] = "y" in d
            seen["len"] = len(d)
            try:
                del d["y"]
            except KeyError:
                seen["del"] = "KeyError"

        t = threading.Thread(target=reader)
        t.start()
        with pytest.raises(RuntimeError):
            with d.transaction():
                d["x"] = 1
                d["y"] = 2
                inside.set()
                time.sleep(0.2)
                raise RuntimeError("roll back")
        t.join()
        assert seen == {"getitem": 0, "get": "absent", "contains": False, "len": 1,
                        "del": "KeyError"}


@pytest.mark.parametrize("first_call", ["getitem", "get", "contains", "len", "setitem",
                                        "delitem"])
def test_methods__reopen_a_handle_inherited_across_fork(db_path, first_call):
    with Permadict(db_path) as d:
        d["a"] = 1
        d["b"] = 2
        calls = {
            "getitem": lambda: d["a"] == 1,
            "get": lambda: d.get("a") == 1 and d.get("zz", 7) == 7,
            "contains": lambda: "a" in d and "zz" not in d,
            "len": lambda: len(d) == 2,
            "setitem": lambda: d.__setitem__("c", 3) is None,
            "delitem": lambda: d.__delitem__("b") is None,
        }
        pid = os.fork()
        if pid == 0:  # the first call on the inherited handle is the C method
            try:
                os._exit(0 if calls[first_call]() else 2)
            except BaseException:
                os._exit(3)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0
        want = {"a": 1, "b": 2}
        if first_call == "setitem":
            want["c"] = 3
        if first_call == "delitem":
            del want["b"]
        assert dict(d.items()) == want
