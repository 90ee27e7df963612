"""Processes (fork and spawn) and threads sharing one file."""

import multiprocessing
import os
import signal
import threading
import time

import pytest

import permadict
from permadict import Permadict

WORKERS = 4
INCREMENTS = 200


def increment_many(d, n):
    """Worker body: module level so that spawn can import it."""
    for _ in range(n):
        d.incr("counter")
    with d.transaction():
        d[f"worker-{os.getpid()}"] = d.get("counter")


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_processes__workers_incrementing_one_counter_get_the_exact_total(db_path, method):
    ctx = multiprocessing.get_context(method)
    with Permadict(db_path) as d:
        d["counter"] = 0
        procs = [ctx.Process(target=increment_many, args=(d, INCREMENTS)) for _ in range(WORKERS)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
            assert p.exitcode == 0
        assert d["counter"] == WORKERS * INCREMENTS
        assert len([k for k in d if str(k).startswith("worker-")]) == WORKERS
        d.check()


def add_in_pool(args):
    d, n = args
    for _ in range(n):
        d.incr("pool")
    return d["pool"] > 0


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_processes__permadict_travels_through_a_pool(db_path, method):
    with Permadict(db_path) as d:
        with multiprocessing.get_context(method).Pool(2) as pool:
            assert all(pool.map(add_in_pool, [(d, 50)] * 4))
        assert d["pool"] == 200


def test_fork__child_uses_inherited_handle_and_parent_transaction_survives(db_path):
    with Permadict(db_path) as d:
        d["before"] = 1
        with d.transaction():
            d["parent-tx"] = "pending"
            pid = os.fork()
            if pid == 0:  # child: the inherited handle just works (reopened)
                code = 1
                try:
                    with Permadict(db_path, timeout=10) as fresh:
                        code = 0 if fresh.get("before") == 1 else 2
                except BaseException:
                    code = 3
                os._exit(code)
            _, status = os.waitpid(pid, 0)
            assert os.WEXITSTATUS(status) == 0
            d["parent-tx2"] = "pending"
        assert d["parent-tx"] == "pending" and d["parent-tx2"] == "pending"
        d.check()


def test_fork__child_forked_inside_a_transaction_is_refused_writes_with_advice_for_python(
        db_path):
    with Permadict(db_path) as d:
        with d.transaction():
            d["parent"] = 1
            pid = os.fork()
            if pid == 0:  # update() first: it must not join the parent's transaction
                code = 1
                try:
                    d.update({"child": 1})
                except permadict.ForkedError as e:
                    code = 0 if "pd_reopen" not in str(e) and "fork outside transactions" in str(
                        e) else 2
                except BaseException:
                    code = 3
                os._exit(code)
            _, status = os.waitpid(pid, 0)
            assert os.WEXITSTATUS(status) == 0
        assert d["parent"] == 1 and "child" not in d


def test_fork__transaction_made_before_fork_and_entered_in_the_child_commits(db_path):
    with Permadict(db_path) as d:
        tx = d.transaction()
        pid = os.fork()
        if pid == 0:
            try:
                with tx:
                    d["child"] = 1
                os._exit(0)
            except BaseException:
                os._exit(3)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0
        assert d.get("child") == 1


def test_fork__inherited_permadict_is_reopened_transparently(db_path):
    with Permadict(db_path) as d:
        d["n"] = 0
        pid = os.fork()
        if pid == 0:
            try:
                d.incr("n", 5)
                os._exit(0 if d["n"] == 5 else 2)
            except BaseException:
                os._exit(3)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0
        assert d["n"] == 5
        d.incr("n")
        assert d["n"] == 6


def test_fork__child_that_changed_directory_writes_the_same_file(db_path, monkeypatch):
    # The transparent reopen goes to the file opened, not to what the
    # relative path names from the child's new directory.
    folder, name = os.path.split(db_path)
    monkeypatch.chdir(folder)
    os.mkdir("elsewhere")
    with Permadict(name) as d:
        pid = os.fork()
        if pid == 0:
            try:
                os.chdir("elsewhere")
                d["from child"] = 1
                os._exit(2 if os.path.exists(name) else 0)
            except BaseException:
                os._exit(3)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0
        assert d["from child"] == 1


def test_threads__share_one_permadict(db_path):
    with Permadict(db_path) as d:
        errors = []

        def work(t):
            try:
                for i in range(300):
                    d.incr("count")
                    d[f"t{t}-{i % 10}"] = [t, i]
                    d.get(f"t{t}-{i % 10}")
                    list(d.keys())[:1]
            except BaseException as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert d["count"] == 1200 and len(d) == 41


def test_threads__transaction_excludes_other_threads_of_the_same_handle(db_path):
    with Permadict(db_path) as d:
        d["x"] = 0
        seen = []
        started = threading.Event()

        def writer():
            started.wait()
            d["x"] = 99  # must wait until the transaction below ends

        t = threading.Thread(target=writer)
        t.start()
        with pytest.raises(RuntimeError):
            with d.transaction():
                d["x"] = 1
                started.set()
                time.sleep(0.2)
                seen.append(d["x"])
                raise RuntimeError("roll back")
        t.join()
        assert seen == [1] and d["x"] == 99


def test_busy__a_locked_file_times_out_with_timeouterror(db_path):
    with Permadict(db_path) as holder, Permadict(db_path, timeout=0.2) as waiter:
        with holder.transaction():
            holder["h"] = 1
            t0 = time.monotonic()
            with pytest.raises(TimeoutError):
                waiter["w"] = 1
            assert 0.1 < time.monotonic() - t0 < 5
            with pytest.raises(permadict.BusyError):
                waiter.incr("w")
        waiter["w"] = 2
        assert holder["w"] == 2


def test_threads__gil_is_released_while_waiting_for_a_lock(db_path):
    with Permadict(db_path) as holder, Permadict(db_path, timeout=1.0) as waiter:
        ticks = []

        def blocked_writer():
            try:
                waiter["w"] = 1
            except TimeoutError:
                pass

        with holder.transaction():
            holder["h"] = 1
            t = threading.Thread(target=blocked_writer)
            t.start()
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:  # this thread keeps running meanwhile
                ticks.append(1)
                time.sleep(0.01)
            t.join()
        assert len(ticks) > 20


def _waits_for_the_write_lock(tid):
    """Whether thread tid waits for a file's write lock: asleep in the core's
    busy back-off (the only sleep it does here), or, once it has waited 10 ms
    and claimed the lock, in a futex wait on the writers' shared memory object
    (lib/src/write_priority.c). A futex wait elsewhere (the GIL) does not count."""
    with open(f"/proc/self/task/{tid}/wchan") as f:
        wchan = f.read()
    if "nanosleep" in wchan:
        return True
    if "futex" not in wchan:
        return False
    with open(f"/proc/self/task/{tid}/syscall") as f:
        fields = f.read().split()
    if len(fields) < 2:  # not in a system call after all (wchan says futex)
        return False
    address = int(fields[1], 16)
    with open("/proc/self/maps") as f:
        for line in f:
            if "/permadict-writers-" in line:
                start, end = (int(x, 16) for x in line.split()[0].split("-"))
                if start <= address < end:
                    return True
    return False


def _interrupt_when_blocked(holder):
    """In a thread: once the main thread waits for the write lock, send this
    process SIGINT, then end holder's transaction, so the blocked call returns
    with a KeyboardInterrupt pending."""
    main = threading.get_native_id()
    release = threading.Event()

    def interrupter():
        deadline = time.monotonic() + 30  # then no SIGINT, and the test fails, not hangs
        while not _waits_for_the_write_lock(main) and time.monotonic() < deadline:
            time.sleep(0.001)
        if time.monotonic() < deadline:
            os.kill(os.getpid(), signal.SIGINT)
        release.set()

    held = threading.Event()

    def hold():
        with holder.transaction():
            holder["held"] = 1
            held.set()
            release.wait()

    threads = [threading.Thread(target=hold), threading.Thread(target=interrupter)]
    threads[0].start()
    assert held.wait(30), "the holder never began its transaction"
    threads[1].start()
    return threads


def test_signals__ctrl_c_while_a_transaction_waits_to_begin_leaves_none_open(db_path):
    with Permadict(db_path, timeout=None) as d, Permadict(db_path) as holder, \
            Permadict(db_path) as other:
        threads = _interrupt_when_blocked(holder)
        with pytest.raises(KeyboardInterrupt):
            with d.transaction():  # begins once holder commits, then Ctrl-C is raised
                d["x"] = 1
        for t in threads:
            t.join()
        assert not d._lock._is_owned(), "the lock is still held"
        assert "x" not in other
        d["y"] = 2  # committed at once, not joined to a transaction left open
        assert other["y"] == 2
        with d.transaction():
            d["z"] = 3
        assert other["z"] == 3


def test_signals__ctrl_c_in_a_transactions_last_statement_rolls_it_back(db_path, tmp_path):
    # The last statement is a set on another file, blocked on its lock: Ctrl-C
    # comes during it and is raised as the with-block ends.
    locked = str(tmp_path / "locked.db")
    with Permadict(db_path) as d, Permadict(db_path) as other, \
            Permadict(locked, timeout=None) as blocked, Permadict(locked) as holder:
        threads = _interrupt_when_blocked(holder)
        with pytest.raises(KeyboardInterrupt):
            with d.transaction():
                d["x"] = 1
                blocked["y"] = 1
        for t in threads:
            t.join()
        assert not d._lock._is_owned(), "the lock is still held"
        assert "x" not in other, "not rolled back"
        d["z"] = 3
        assert other["z"] == 3, "later writes commit"
