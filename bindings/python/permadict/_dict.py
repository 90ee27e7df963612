"""Permadict: a dict that lives in an SQLite file shared by many processes."""

from __future__ import annotations

import asyncio
import collections.abc
import copyreg
import math
import operator
import os
import pathlib
import select
import threading
import time
import weakref
from typing import (TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, NamedTuple, Optional, Set,
                    Tuple, TypeVar, Union)

from . import _core
from ._errors import (ClosedError, DecodeError, Error, FormatError, ForkedError, MisuseError,
                      NotFoundError, ResyncNeeded)
from ._views import ItemsView, KeysView, ValuesView

Key = Union[str, int, bytes]
"""What a key can be: str, int (signed 64-bit) or bytes. ``1``, ``"1"`` and ``b"1"``
are three different keys, as in a dict."""
PathArg = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
"""A file path: str, bytes or path-like, as ``open()`` takes it."""

_T = TypeVar("_T")
_MISSING: Any = object()

# The extension's functions, called directly: no SWIG proxy layer in between.
_get = _core.get
_pop = _core.pop
_set_if_absent = _core.set_if_absent
_set_many = _core.set_many
_base_get = _core.PermadictBase.get
_iter_open = _core.iter_open
_iter_next = _core.iter_next
_iter_free = _core.iter_free
_set_pickle = _core.set_pickle

_FOREVER_MS = 2**31 - 1
_NO_LIMIT_ABOVE_S = 366 * 24 * 3600.0
_CHANGE_OPS = {1: "set", 2: "delete", 3: "clear"}
# In-memory dicts have no file to watch: wait() re-reads the version with this back-off.
_MEMORY_POLL_FIRST = 0.001
_MEMORY_POLL_CAP = 0.05


class Change(NamedTuple):
    """One committed change, as :meth:`Permadict.changes` and :meth:`Permadict.watch` give it."""

    version: int
    """The namespace's version right after this change."""
    op: str
    """``"set"``, ``"delete"`` or ``"clear"``; :meth:`Permadict.watch` also gives
    ``"resync"`` when changes were missed and everything should be re-read."""
    key: Optional[Any]
    """The key set or deleted; None for ``"clear"`` and ``"resync"``."""

# Every open Permadict, so a forked child can replace locks that another
# thread of the parent may have held at the moment of fork().
_open_dicts: "weakref.WeakValueDictionary[int, Permadict]" = weakref.WeakValueDictionary()


def _after_fork_in_child() -> None:
    for d in list(_open_dicts.values()):
        d._lock = _core.Lock()
        # The parent's waker and event loops are not the child's to use.
        d._waker = None
        d._async_waiters = set()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _Cursor:
    """One core iterator; freed by its _Walk, or by close() if that comes first."""

    __slots__ = ("it", "__weakref__")

    def __init__(self, it: Any) -> None:
        self.it = it


class _Walk:
    """Keys (what=0), values (1) or items (2) of a Permadict, in key order.

    A class rather than a generator so that iteration goes on after a row that
    cannot be decoded: next() raises :class:`DecodeError` naming that key, and
    the next next() returns the row after it. A generator would end at the
    first exception.
    """

    __slots__ = ("_d", "_what", "_cursor", "_last", "__weakref__")

    def __init__(self, d: "Permadict", what: int) -> None:
        self._d = d
        self._what = what
        self._last: Any = _MISSING
        self._cursor: Optional[_Cursor] = None
        with d._lock:
            self._cursor = d._open_cursor(what != 0)

    def __iter__(self) -> "_Walk":
        return self

    def __next__(self) -> Any:
        c = self._cursor
        if c is None:
            raise StopIteration
        d = self._d
        lock = d._lock
        # acquire()/release(), not `with`: a with-statement looks up and binds
        # __enter__ and __exit__ on every item.
        lock.acquire()
        try:
            r = d._next_item(c, self._what != 0, self._last)
        except DecodeError as e:
            if e.key is not None:  # resume after it, should the handle be reopened
                self._last = e.key
            raise
        finally:
            lock.release()
        if r is None:
            self.close()
            raise StopIteration
        self._last = r[0]
        return r[0] if self._what == 0 else (r[1] if self._what == 1 else r)

    def close(self) -> None:
        """Free the core iterator now rather than when garbage collected."""
        c, self._cursor = self._cursor, None
        if c is not None:
            with self._d._lock:
                self._d._free_cursor(c)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown, or the Permadict already closed
            pass


class _Waker:
    """A descriptor that close() makes readable, so a thread blocked in wait() wakes up.

    Once set it stays readable: every waiter, present and future, sees it.
    """

    __slots__ = ("_r", "_w")

    def __init__(self) -> None:
        if hasattr(os, "eventfd"):
            self._r = self._w = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        else:
            self._r, self._w = os.pipe()
            os.set_blocking(self._w, False)

    def fileno(self) -> int:
        return self._r

    def set(self) -> None:
        try:
            os.write(self._w, (1).to_bytes(8, "little"))
        except (BlockingIOError, OSError):  # already full of wake-ups: readable anyway
            pass

    def __del__(self) -> None:
        try:
            os.close(self._r)
            if self._w != self._r:
                os.close(self._w)
        except Exception:  # interpreter shutdown
            pass


def _version_arg(since: Any) -> int:
    """since checked: an int the core's signed 64-bit versions can be compared with."""
    try:
        since = operator.index(since)
    except TypeError:  # its own message does not say which argument
        raise TypeError(f"since must be an int (a version), not "
                        f"{type(since).__name__}") from None
    if not -2**63 <= since < 2**63:
        raise OverflowError(f"since {since} does not fit in 64 bits (versions are signed 64-bit)")
    return since


def _timeout_seconds(timeout: Optional[float]) -> Optional[float]:
    """timeout checked: a number of seconds >= 0, or None for no limit (as is
    an infinite one)."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds or None, not "
                        f"{type(timeout).__name__}")
    if not timeout >= 0:
        raise ValueError(f"timeout must be >= 0 seconds or None, not {timeout!r}")
    try:
        seconds = float(timeout)
    except OverflowError:  # an int beyond any float: no limit either
        return None
    # Beyond a year is no limit in practice, and keeps the arithmetic finite.
    return None if seconds > _NO_LIMIT_ABOVE_S else seconds


def _deadline(timeout: Optional[float]) -> Optional[float]:
    """The time.monotonic() at which a wait of timeout seconds ends; None: never."""
    t = _timeout_seconds(timeout)
    return None if t is None else time.monotonic() + t


def _memory_pauses() -> Iterator[float]:
    """The growing pauses between re-reads of an in-memory dict's version."""
    step = _MEMORY_POLL_FIRST
    while True:
        yield step
        step = min(step * 2, _MEMORY_POLL_CAP)


def _remaining(deadline: Optional[float]) -> Optional[float]:
    """Seconds left until deadline (never below 0); None for no deadline."""
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


def _wake(fut: "asyncio.Future[None]") -> None:
    if not fut.done():
        fut.set_result(None)


class Permadict(_core.PermadictBase, collections.abc.MutableMapping):
    """A dictionary kept in one SQLite file, shared safely by threads and processes.

    ``Permadict("db.sqlite")`` opens (creating if needed) the namespace ``name``
    of the file; ``Permadict()`` gives a private in-memory one. Every change is
    committed at once (or at the end of :meth:`transaction`) and seen by every
    other Permadict on the same file.

    It behaves like a ``dict`` with these differences, all deliberate:

    * keys are ``str``, ``int`` (64-bit) or ``bytes``; values are ``None``,
      ``bool``, ``int``, ``float``, ``str``, ``bytes`` (``bytearray`` and
      ``memoryview`` are stored as bytes), ``list``, ``tuple`` (read back as a
      list) and ``dict`` (same key types), nested up to 32 deep; other objects
      only with ``pickle=True``;
    * iteration is in key order (ints, then str, then bytes), not insertion
      order; ``popitem`` removes the first item in that order;
    * values are copies: mutating a list you read does not change the stored one;
    * changing the Permadict while iterating is allowed (deleted keys are skipped);
    * ``update``, ``clear`` and ``popitem`` are atomic.

    Threads may share one Permadict: calls are serialised by a lock per object,
    and the GIL is released while SQLite works or waits. Across processes, pass
    it to a ``multiprocessing`` worker (fork or spawn) and it reopens itself
    there. ``pickle=True`` unpickles stored Python objects, which runs code chosen
    by whoever wrote the file: only use it on files you trust.
    """

    # _h (the core handle) and _lock (a _core.Lock) are _core.PermadictBase's.
    __slots__ = ("_path", "_file", "_name", "_readonly", "_timeout", "_durable",
                 "_pickle", "_pid", "_cursors", "_waker", "_async_waiters", "__weakref__")

    def __init__(self, path: PathArg = ":memory:", name: str = "default",
                 readonly: bool = False, timeout: Optional[float] = 5.0, durable: bool = False,
                 pickle: bool = False, **initial: Any) -> None:
        """Open namespace ``name`` of the file at ``path``.

        :param path: the file (created when missing unless ``readonly``), or
            ``":memory:"`` for a private in-memory dict. str, bytes or path-like,
            as for ``open()``: a name that is not UTF-8 works, a NUL in it is a
            ``ValueError``.
        :param name: the namespace within the file: independent dicts side by side.
        :param readonly: refuse every write (:class:`ReadOnlyError`, also a
            ``PermissionError``); the file is never created.
        :param timeout: seconds to wait for another process's lock before
            :class:`BusyError` (also a ``TimeoutError``); ``None`` waits forever.
        :param durable: make each commit survive power loss (slower).
        :param pickle: store other objects pickled and unpickle them on read.
            Unpickling runs arbitrary code: only for files you trust.
        :param initial: items stored right after opening, as ``dict(**initial)``;
            except the original permadict's options: ``filename=`` is ``path``,
            ``synchronous=True`` is ``durable=True``, and ``journal_mode=`` is
            accepted and has no effect (every permadict file is in WAL mode).
        """
        if "filename" in initial:
            if path != ":memory:":
                raise TypeError("Permadict() got both path and filename (the original "
                                "permadict's name for path): give one")
            path = initial.pop("filename")
        if "synchronous" in initial:
            if durable:
                raise TypeError("Permadict() got both durable and synchronous (the original "
                                "permadict's name for it): give one")
            durable = initial.pop("synchronous")
        if "journal_mode" in initial:
            _check_journal_mode(initial.pop("journal_mode"))
        self._h = None
        self._cursors: "weakref.WeakSet[_Cursor]" = weakref.WeakSet()
        self._waker: Optional[_Waker] = None
        self._async_waiters: Set[Tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]] = set()
        self._path = os.fsdecode(os.fspath(path))
        # The file opened, for pickling: another process (spawned in whatever
        # directory this one has moved to since) must find the same one. Joined,
        # not os.path.abspath: collapsing "x/.." is wrong where x is a symlink.
        self._file = self._path
        if not self._in_memory() and not os.path.isabs(self._path):
            self._file = os.path.join(os.getcwd(), self._path)
        self._name = "default" if name is None else name
        self._readonly = bool(readonly)
        self._timeout = timeout
        self._durable = bool(durable)
        self._pickle = bool(pickle)
        _check_namespace_name(self._name)
        # _core.open encodes the path as os.fsencode does (the exact name, even
        # when it is not UTF-8) and refuses a NUL (ValueError) rather than cut it.
        try:
            self._h = _core.open(self._path, self._options())
        except FormatError as e:
            if not _is_original_permadict_file(self._path):
                raise
            raise FormatError(f"{e}: it is a file of the original pure-Python permadict (a "
                              "table of pickles), which this one cannot read; copy its items "
                              "into a new file as docs/PYTHON.md shows") from None
        self._pid = os.getpid()  # the process whose connection _h is (see Transaction)
        if self._pickle:
            _set_pickle(self._h, 1)
        _open_dicts[id(self)] = self
        if initial:
            self.update(initial)

    def _options(self) -> Tuple[str, bool, bool, int, bool]:
        t = _timeout_seconds(self._timeout)
        timeout_ms = _FOREVER_MS if t is None else int(min(t * 1000, _FOREVER_MS))
        return (self._name, self._readonly, not self._readonly, timeout_ms, self._durable)

    # ------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Close the file. Further use raises :class:`ClosedError`; closing twice is fine.

        From code that a call on this Permadict runs before it returns (a
        pickling hook, a list subclass's ``__iter__`` while its value is
        converted) it raises :class:`MisuseError` and closes nothing: that
        call still uses the file.
        """
        with self._lock:
            h = self._h
            if h is None:
                return
            if _core.in_call(h):
                raise MisuseError(
                    f"cannot close Permadict({self._path!r}, name={self._name!r}) while a call "
                    "on it is in progress (close() was called from code that call runs: a "
                    "pickling hook, __reduce__, or a list, dict or Private subclass being "
                    "converted); close it after the call returns")
            for c in list(self._cursors):
                self._free_cursor(c)
            self._h = None
            if self._pickle:
                _set_pickle(h, 0)
            _core.close(h)
            # Waiters find the handle gone when they wake: ClosedError.
            if self._waker is not None:
                self._waker.set()
            waiters, self._async_waiters = self._async_waiters, set()
        for loop, fut in waiters:
            try:
                loop.call_soon_threadsafe(_wake, fut)
            except RuntimeError:  # that event loop is closed: nobody is waiting there
                pass
        _open_dicts.pop(id(self), None)

    def __del__(self) -> None:
        try:
            if getattr(self, "_h", None) is not None:
                self.close()
        except Exception:  # interpreter shutdown: nothing useful to report
            pass

    def __enter__(self) -> "Permadict":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._h is None

    @property
    def filename(self) -> str:
        """:attr:`path`, by the original permadict's name for it."""
        return self._path

    @property
    def path(self) -> str:
        """The file this Permadict lives in (``":memory:"`` for an in-memory one).

        A str, as ``os.fsdecode`` gives it: a name that is not UTF-8 carries
        surrogate escapes, and ``os.fsencode(d.path)`` is the exact name.
        """
        return self._path

    @property
    def name(self) -> str:
        """The namespace within the file."""
        return self._name

    @property
    def readonly(self) -> bool:
        """True when opened with ``readonly=True``."""
        return self._readonly

    @property
    def pickle(self) -> bool:
        """True when other objects are pickled and tag-1 values unpickled."""
        return self._pickle

    def _in_memory(self) -> bool:
        """Whether this is a private in-memory dict, with no file behind it."""
        return self._path in (":memory:", "")

    def _reopen(self) -> None:
        """After fork(): a fresh connection on the same file (the core's pd_reopen)."""
        # Iterators of the inherited connection are dropped, not freed: freeing
        # them would touch SQLite state that belongs to the parent.
        for c in list(self._cursors):
            c.it = None
        self._cursors = weakref.WeakSet()
        _core.reopen(self._h)
        self._pid = os.getpid()

    def _retry_key(self, fn: Any, key: Any, *args: Any) -> Any:
        """_retry of a call on one key: a DecodeError it raises names that key."""
        try:
            return self._retry(fn, key, *args)
        except DecodeError as e:
            _blame(e, key)
            raise

    def _retry(self, fn: Any, *args: Any) -> Any:
        """Call fn(handle, *args) with the lock held; after fork(), reopen and call again."""
        lock = self._lock
        lock.acquire()
        try:
            return fn(self._h, *args)
        except ForkedError:
            self._reopen()
            return fn(self._h, *args)
        finally:
            lock.release()

    # ------------------------------------------------------------ pickling

    def __getstate__(self) -> Dict[str, Any]:
        """Path and options only: the receiving process opens the file itself."""
        if self._in_memory():
            raise TypeError("an in-memory Permadict cannot be pickled or sent to another "
                            "process: it exists only in this one; open a file path instead")
        return {"path": self._file, "name": self._name, "readonly": self._readonly,
                "timeout": self._timeout, "durable": self._durable, "pickle": self._pickle}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        Permadict.__init__(self, **state)

    def __reduce__(self) -> Any:
        """A new object given __getstate__'s state, in every pickle protocol: by
        default, protocols 0 and 1 try to pickle the C base class, and cannot."""
        return (copyreg.__newobj__, (type(self),), self.__getstate__())

    # --------------------------------------------------------- dict protocol

    # d[k], d[k] = v, del d[k], k in d, len(d) and d.get() are
    # _core.PermadictBase's, in C (swig/python/mapping.swg): they behave as
    # dict's, with the lock held, and reopen after fork() like _retry. Their
    # signatures, for type checkers:
    if TYPE_CHECKING:
        def __getitem__(self, key: Key) -> Any:
            """The value stored for key; KeyError when absent."""

        def get(self, key: Key, default: Any = None) -> Any:
            """The value for key, or default when absent."""

        def __setitem__(self, key: Key, value: Any) -> None:
            """Store value under key, committed at once (or with the transaction)."""

        def __delitem__(self, key: Key) -> None:
            """Remove key; KeyError when absent."""

        def __contains__(self, key: object) -> bool:
            """Whether key is stored."""

        def __len__(self) -> int:
            """The number of items, O(1) (kept in the file)."""

    def __iter__(self) -> Iterator[Key]:
        """Keys in key order: ints numerically, then str, then bytes."""
        return self._walk(0)

    def __reversed__(self) -> Iterator[Key]:
        """Keys in reverse key order (from a snapshot of the keys)."""
        return reversed(list(self._walk(0)))

    def keys(self) -> KeysView:  # type: ignore[override]
        """A live view of the keys, in key order."""
        return KeysView(self)

    def values(self) -> ValuesView:  # type: ignore[override]
        """A live view of the values, in key order."""
        return ValuesView(self)

    def items(self) -> ItemsView:  # type: ignore[override]
        """A live view of the (key, value) pairs, in key order."""
        return ItemsView(self)

    def _open_cursor(self, values: bool, start: Any = None) -> _Cursor:
        it = self._retry(_iter_open, (values, None, start, None, 0))
        if self._pickle and values:
            _set_pickle(it, 1)
        c = _Cursor(it)
        self._cursors.add(c)
        return c

    def _free_cursor(self, c: _Cursor) -> None:
        it, c.it = c.it, None
        if it is not None:
            if self._pickle:
                _set_pickle(it, 0)
            _iter_free(it)
        self._cursors.discard(c)

    def _walk(self, what: int) -> "_Walk":
        """Keys (what=0), values (1) or items (2) through the core's paged iterator."""
        return _Walk(self, what)

    def _next_item(self, c: _Cursor, values: bool, last: Any) -> Optional[Tuple[Any, Any]]:
        """The next (key, value-or-None) of cursor c, or None at the end. Lock held."""
        if c.it is None and self._h is None:
            raise ClosedError("Permadict closed during iteration")
        try:
            if c.it is None:
                # The handle was reopened after fork(): go on from the last key seen.
                start = None if last is _MISSING else last
                c.it = self._retry(_iter_open, (values, None, start, None, 0))
                if self._pickle and values:
                    _set_pickle(c.it, 1)
                self._cursors.add(c)
                if start is not None:
                    r = _iter_next(c.it)
                    if r is None or type(r[0]) is not type(last) or r[0] != last:
                        return r
            return _iter_next(c.it)
        except ForkedError:
            self._reopen()
            return self._next_item(c, values, last)
        except DecodeError as e:
            if e.key is not None:  # the binding's own decoding failed: it named the key
                raise
            # The core could not read the row; its message (on the handle) names the key.
            err = DecodeError(_core.errmsg(self._h) or str(e))
            err.key = self._undecodable_key_after(last)
            raise err from None
        except Error as e:
            # The iterator has no message of its own: the handle has it.
            raise type(e)(_core.errmsg(self._h) or str(e)) from None

    def _undecodable_key_after(self, last: Any) -> Any:
        """The key of the row the core just failed to read, or None if unsure. Lock held.

        The core's iterator skips the row and reports only a message, so the key
        is found again: the first key after ``last`` whose value cannot be read.
        """
        candidate: Any = None
        try:
            it = _iter_open(self._h, (False, None, None if last is _MISSING else last, None, 2))
            try:
                r = _iter_next(it)
                if r is not None and last is not _MISSING and type(r[0]) is type(last) \
                        and r[0] == last:
                    r = _iter_next(it)
            finally:
                _iter_free(it)
            if r is None:
                return None
            candidate = r[0]
            _get(self._h, candidate)
        except DecodeError:
            return candidate  # None when the key itself could not be read
        except Error:
            return None
        return None  # readable now: rewritten meanwhile, so not the row that failed

    def pop(self, key: Key, default: Any = _MISSING) -> Any:
        """Remove key and return its value (atomically); default, or KeyError, when absent."""
        if self._readonly:
            # Nothing is removed: pd_pop answers an absent key, and refuses a present one.
            try:
                return self._retry_key(_pop, key)
            except NotFoundError:
                value = _MISSING
        else:
            with self._lock, self._atomic():
                value = self._take(key)
        if value is _MISSING:
            if default is _MISSING:
                raise KeyError(key)
            return default
        return value

    def popitem(self) -> Tuple[Key, Any]:
        """Remove and return the first (key, value) in key order, atomically.

        KeyError when empty. (A dict pops the last inserted item instead.)
        """
        if self._readonly and len(self) == 0:
            # Popping from an empty dict writes nothing: answer as a dict would.
            raise KeyError("popitem(): dictionary is empty")
        with self._lock, self._atomic():
            c = self._open_cursor(False)
            try:
                r = _iter_next(c.it)
            finally:
                self._free_cursor(c)
            if r is None:
                raise KeyError("popitem(): dictionary is empty")
            return r[0], self._take(r[0])

    def _take(self, key: Key) -> Any:
        """Remove key and return its value, or _MISSING when absent. Lock held, in a
        transaction.

        The value is read (and converted) before the key is deleted, not popped:
        one that cannot be read (a pickle whose class is gone) would be removed
        by the time its conversion fails, lost for good inside a transaction()
        that goes on after the DecodeError."""
        value = _base_get(self, key, _MISSING)
        if value is not _MISSING:
            self._retry(_core.delete, key)
        return value

    def setdefault(self, key: Key, default: Any = None) -> Any:
        """The value for key; if absent, store default and return it (atomically)."""
        while True:
            # Read first: a present key needs no write (a read-only Permadict can
            # answer) and default is not converted (it need not be storable).
            value = _base_get(self, key, _MISSING)
            if value is not _MISSING:
                return value
            # set_if_absent, not a set: another process may store key in between.
            if self._retry(_set_if_absent, key, default):
                return default
            # Stored by someone else in between: read theirs (or, deleted again, retry).

    def update(self, other: Any = (), /, **kwds: Any) -> None:
        """Store the items of a mapping, an iterable of pairs and keywords, atomically.

        Either every item is stored or, on any error, none is, also inside a
        :meth:`transaction` (every item is converted before the first is
        written). Only a failure of the file itself (disk full, I/O error)
        while writing can leave some items in an enclosing transaction: let
        its exception roll that back.
        """
        items = (*_pairs(other), *kwds.items())  # a tuple: _set_many takes it as it is
        if not items:
            return  # nothing to write: no transaction (a read-only Permadict allows it)
        with self._lock, self._atomic():
            _set_many(self._h, items)

    def clear(self) -> None:
        """Remove every item of this namespace, atomically."""
        self._retry(_core.clear)

    def copy(self) -> Dict[Key, Any]:
        """A plain dict snapshot of the items, in key order."""
        return dict(self._walk(2))

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if isinstance(other, Permadict):
            return self.copy() == other.copy()
        if isinstance(other, dict):
            return len(self) == len(other) and self.copy() == other
        if isinstance(other, collections.abc.Mapping):
            return self.copy() == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __or__(self, other: Any) -> Dict[Key, Any]:
        """A new plain dict: this one's items updated with other's."""
        if not isinstance(other, collections.abc.Mapping):
            return NotImplemented
        r = self.copy()
        r.update(other)
        return r

    def __ror__(self, other: Any) -> Dict[Key, Any]:
        if not isinstance(other, collections.abc.Mapping):
            return NotImplemented
        r = dict(other)
        r.update(self._walk(2))
        return r

    def __ior__(self, other: Any) -> "Permadict":
        self.update(other)
        return self

    def __repr__(self) -> str:
        head = f"Permadict({self._path!r}, name={self._name!r}"
        if self._h is None:
            return head + ", closed)"
        items = []
        for i, (k, v) in enumerate(self._walk(2)):
            if i == 100:
                items.append("...")
                break
            items.append(f"{k!r}: {v!r}")
        return head + ", {" + ", ".join(items) + "})"

    # ------------------------------------------------------- atomic helpers

    def incr(self, key: Key, by: Union[int, float] = 1) -> Union[int, float]:
        """Add ``by`` to the number at key (absent counts as 0), atomically; return the result.

        int + int stays an int (overflowing 64 bits is an :class:`InvalidError`);
        with a float the result is a float. A non-number stored at key gives
        :class:`ValueKindError` (also a TypeError) and is left unchanged.
        """
        if isinstance(by, bool) or not isinstance(by, (int, float)):
            raise TypeError(f"incr() by must be an int or float, not {type(by).__name__}")
        return self._retry_key(_core.incr, key, by)

    def compare_and_set(self, key: Key, old: Any, new: Any) -> bool:
        """If key holds ``old``, store ``new``, atomically; return whether it did.

        ``old=ABSENT`` means "only if key is absent"; ``new=ABSENT`` deletes the key.
        Values compare by stored form: ``1``, ``1.0`` and ``True`` are all different.
        """
        return bool(self._retry_key(_core.compare_and_swap, key, old, new))

    def transaction(self) -> "Transaction":
        """A context manager: everything inside commits at once, or not at all.

        An exception inside rolls everything back (and propagates). Reads inside
        see the transaction's own writes; other processes see nothing until the
        end. Other threads using this same Permadict wait until it ends.
        Transactions do not nest (:class:`MisuseError`).
        """
        return Transaction(self)

    def _atomic(self) -> "Transaction":
        """A transaction, or nothing if one is already open on this handle."""
        return Transaction(self, join=True)

    # ---------------------------------------------------------- namespaces

    def namespaces(self) -> List[str]:
        """The names of all namespaces in this file, sorted."""
        return self._retry(_core.namespaces)

    def drop_namespace(self, name: str) -> None:
        """Delete namespace ``name`` of this file and everything in it.

        Handles open on it then see it empty and their writes fail with :class:`GoneError`.
        """
        _check_namespace_name(name)
        self._retry(_core.drop_namespace, name)

    # ------------------------------------------------------------- changes

    @property
    def version(self) -> int:
        """The namespace's change counter: it grows with every committed change."""
        return self._retry(_core.version)

    def changes(self, since: int) -> List[Change]:
        """The changes committed after version ``since``, oldest first.

        Each is a :class:`Change` ``(version, op, key)`` with op ``"set"``,
        ``"delete"`` or ``"clear"`` (key None). A transaction of many changes
        gives one Change per key, with consecutive versions. :class:`ResyncNeeded`
        when the bounded log (the last 10,000 changes) no longer reaches back
        that far: re-read everything and carry on from :attr:`version`.
        """
        since = _version_arg(since)
        with self._lock:
            c = self._retry(_core.changes_open, since)
            try:
                out = []
                while True:
                    r = _core.changes_next(c)
                    if r is None:
                        return out
                    out.append(Change(r[0], _CHANGE_OPS.get(r[1], str(r[1])), r[2]))
            finally:
                _core.changes_free(c)

    def wait(self, since: int, timeout: Optional[float] = None) -> Optional[int]:
        """Block until the version exceeds ``since``; return the new version.

        Returns None when ``timeout`` seconds pass without a change (``None``
        waits forever, 0 just looks). Sees commits of every process and thread,
        in any language. It sleeps in the kernel (inotify on the file) without
        holding this Permadict's lock or the GIL, so other threads keep using
        it; :meth:`close` from another thread makes it raise :class:`ClosedError`.
        Inside a :meth:`transaction` it raises :class:`MisuseError`: the
        transaction's lock would keep every writer out.
        """
        since = _version_arg(since)
        deadline = _deadline(timeout)
        if self._in_memory():
            return self._wait_memory(since, deadline)
        poller = select.poll()
        waker_registered = False
        while True:
            if not self._lock_until(deadline):
                return None  # another thread's transaction outlasted the timeout
            try:
                v = self._version_after(since)
                if v is not None:
                    return v
                left = _remaining(deadline)
                if left == 0.0:
                    return None
                if self._waker is None:
                    self._waker = _Waker()
                waker = self._waker
                # A descriptor of our own on the same watch: close() may close the
                # handle's while this thread sleeps on it, and its number be reused.
                fd = os.dup(self._retry(_core.watch_fd))
            finally:
                self._lock.release()
            try:
                if not waker_registered:
                    poller.register(waker.fileno(), select.POLLIN)
                    waker_registered = True
                poller.register(fd, select.POLLIN)
                # poll() takes at most 2^31 - 1 ms; the loop goes on waiting after it.
                poller.poll(None if left is None
                            else max(1, math.ceil(min(left * 1000, _FOREVER_MS))))
            finally:
                poller.unregister(fd)
                os.close(fd)

    def _lock_until(self, deadline: Optional[float]) -> bool:
        """Take the lock, waiting no later than deadline; False if that passed."""
        left = _remaining(deadline)
        return self._lock.acquire(timeout=-1 if left is None else min(left, threading.TIMEOUT_MAX))

    def _version_after(self, since: int) -> Optional[int]:
        """The version if above since, else None; drains the watch descriptor. Lock held."""
        try:
            return _core.wait(self._h, since, 0)
        except ForkedError:
            self._reopen()
            return _core.wait(self._h, since, 0)

    def _wait_memory(self, since: int, deadline: Optional[float]) -> Optional[int]:
        """wait() on an in-memory dict: only other threads can change it, and no
        file tells when they do, so the version is re-read with a growing pause."""
        pauses = _memory_pauses()
        while True:
            if not self._lock_until(deadline):
                return None
            try:
                v = self._version_after(since)
            finally:
                self._lock.release()
            if v is not None:
                return v
            left = _remaining(deadline)
            if left == 0.0:
                return None
            pause = next(pauses)
            time.sleep(pause if left is None else min(pause, left))

    def watch(self, since: Optional[int] = None,
              timeout: Optional[float] = None) -> Iterator[Change]:
        """Every change after ``since`` (default: the current version), as it happens.

        ``for change in d.watch(): ...`` runs forever; with ``timeout`` the
        iteration ends once that many seconds pass without a change. When the
        log no longer reaches back (changes were missed), it yields
        ``Change(version, "resync", None)``: re-read what you need, then it
        goes on from that version.
        """
        current = self.version if since is None else _version_arg(since)
        woke: Optional[int] = None
        while True:
            try:
                batch = self.changes(current)
            except ResyncNeeded:
                current, woke = self.version, None
                yield Change(current, "resync", None)
                continue
            for change in batch:
                current = change.version
                yield change
            if batch:
                woke = None
                continue
            if woke is not None and woke > current:
                current = woke  # a version with nothing logged: do not wake for it again
            woke = self.wait(current, timeout)
            if woke is None:
                return

    def watch_fd(self) -> int:
        """A file descriptor that becomes readable when the file may have changed.

        For event loops (``loop.add_reader``, ``select``): when it is readable,
        call ``d.wait(since, 0)``, which reads the version and drains it. It
        belongs to this Permadict: do not close it; it is valid until
        :meth:`close` (a Permadict reopened after fork gets a new one).
        """
        return self._retry(_core.watch_fd)

    async def wait_async(self, since: int, timeout: Optional[float] = None) -> Optional[int]:
        """:meth:`wait` for asyncio: the new version, or None after ``timeout`` seconds.

        Never blocks the event loop: it waits on :meth:`watch_fd` with
        ``loop.add_reader``. Many coroutines may wait at once. On an in-memory
        Permadict, which has no file to watch, it re-reads the version with a
        short back-off instead, as :meth:`wait` does.
        """
        since = _version_arg(since)
        deadline = _deadline(timeout)
        loop = asyncio.get_running_loop()
        pauses = _memory_pauses() if self._in_memory() else None
        while True:
            # Never block the loop on the lock: another thread may be in a transaction.
            while not self._lock.acquire(blocking=False):
                if _remaining(deadline) == 0.0:
                    return None
                await asyncio.sleep(0.001)
            try:
                v = self._version_after(since)
                if v is not None:
                    return v
                left = _remaining(deadline)
                if left == 0.0:
                    return None
                if pauses is None:
                    fd = os.dup(self._retry(_core.watch_fd))  # see wait()
                    fut = loop.create_future()
                    self._async_waiters.add((loop, fut))
            finally:
                self._lock.release()
            if pauses is not None:
                # Nothing makes the watch descriptor of an in-memory dict readable
                # (see _wait_memory): re-read the version after a growing pause.
                pause = next(pauses)
                await asyncio.sleep(pause if left is None else min(pause, left))
                continue
            try:
                loop.add_reader(fd, _wake, fut)
                await asyncio.wait([fut], timeout=left)
            finally:
                loop.remove_reader(fd)
                os.close(fd)
                self._async_waiters.discard((loop, fut))
                fut.cancel()

    # --------------------------------------------------------- maintenance

    def stats(self) -> Dict[str, int]:
        """Counts and sizes: items, version, namespaces, pages, file and WAL bytes."""
        return self._retry(_core.stats_get)

    def check(self) -> None:
        """Verify the file and the library's invariants; :class:`CorruptError` if broken."""
        self._retry(_core.check)


def _in_own_transaction(d: Permadict, pid: int) -> bool:
    """Whether d's handle is process pid's own connection and inside a transaction."""
    return d._h is not None and d._pid == pid and _core.in_transaction(d._h)


class Transaction(_core.ExitShield):
    """What :meth:`Permadict.transaction` returns; use it in a ``with`` statement."""

    __slots__ = ("_d", "_join", "_own", "_pid")

    def __init__(self, d: Permadict, join: bool = False) -> None:
        self._d = d
        self._join = join
        self._own = False
        self._pid = 0  # the process that entered it: one made before fork() may be entered after

    def __enter__(self) -> Permadict:
        d = self._d
        self._pid = pid = os.getpid()
        open_before = True  # until known: roll back nothing on an early exception
        d._lock.acquire()
        try:
            # Joined only if the transaction is this process's: in a child forked
            # inside one, the inherited handle still says it is open, but it is the
            # parent's. Beginning instead reopens the handle, and the core then
            # refuses the child's writes with a message that says why.
            open_before = _in_own_transaction(d, pid)
            if self._join and open_before:
                self._own = False
            else:
                d._retry(_core.begin)
                self._own = True
        except BaseException:
            try:
                # Ctrl-C while begin waited for another process's lock is raised
                # only once begin has returned: the transaction it opened must not
                # stay open for later writes to join, uncommitted, with the lock held.
                if not open_before and _in_own_transaction(d, pid):
                    _core.rollback(d._h)
            finally:
                d._lock.release()
            raise
        return d

    # __exit__ is ExitShield's, in C: it calls _exit even when Ctrl-C comes as
    # the block ends (see swig/python/exit_shield.swg).
    def _exit(self, exc_type: Any, exc: Any, tb: Any) -> None:
        d = self._d
        if os.getpid() != self._pid:
            # A child forked inside the parent's transaction: the transaction and
            # its lock belong to the parent (the child's lock was replaced at fork),
            # so the child leaves both alone and lets its exception, if any, go on.
            return
        try:
            if self._own and d._h is None and exc_type is None:
                raise ClosedError(
                    f"Permadict({d._path!r}, name={d._name!r}) was closed inside its "
                    "transaction, so the transaction was rolled back: nothing of it was "
                    "committed")
            if self._own and d._h is not None:
                if exc_type is None:
                    try:
                        _core.commit(d._h)
                    except BaseException:
                        if _core.in_transaction(d._h):
                            _core.rollback(d._h)
                        raise
                elif _core.in_transaction(d._h):
                    _core.rollback(d._h)
        finally:
            d._lock.release()


def _blame(e: DecodeError, key: Any) -> None:
    """Name key in a DecodeError that does not name one yet (the core's does not)."""
    if e.key is None:
        e.key = key


def _check_namespace_name(name: Any) -> None:
    """A name is a str, and C sees it up to its first NUL: refuse one rather than
    use another namespace."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, not {type(name).__name__}")
    if "\0" in name:
        raise ValueError(f"namespace name {name!r} contains a NUL character")


# SQLite's journal modes: the original permadict's journal_mode= took one.
_JOURNAL_MODES = ("DELETE", "TRUNCATE", "PERSIST", "MEMORY", "WAL", "OFF")


def _check_journal_mode(mode: Any) -> None:
    """Refuse what is not a journal mode, as code written for the original permadict
    passes one. Any is accepted and ignored: a permadict file is always in WAL mode,
    which lets readers and writers of many processes share it (and commits atomically,
    which the original's default "OFF" did not)."""
    if not isinstance(mode, str):
        raise TypeError(f"journal_mode must be a str, not {type(mode).__name__}")
    if mode.upper() not in _JOURNAL_MODES:
        raise ValueError(f"journal_mode {mode!r} is not an SQLite journal mode (one of "
                         f"{', '.join(_JOURNAL_MODES)}); permadict always uses WAL")


def _is_original_permadict_file(path: str) -> bool:
    """Whether path holds the table of the original pure-Python permadict,
    dict(name, object). Read with immutable=1: no lock, no journal, no write,
    since a file that is refused is left untouched."""
    try:
        import sqlite3
        uri = pathlib.Path(os.path.abspath(path)).as_uri() + "?immutable=1"
        conn = sqlite3.connect(uri, uri=True)
        try:
            columns = [row[1] for row in conn.execute("PRAGMA table_info(dict)")]
        finally:
            conn.close()
    except Exception:  # no sqlite3 module, or a file it cannot read: just no hint
        return False
    return columns == ["name", "object"]


def _pairs(other: Any) -> Iterable[Tuple[Any, Any]]:
    """The (key, value) pairs of update()'s argument, with dict.update's errors."""
    if isinstance(other, Permadict):
        return other.copy().items()
    if isinstance(other, collections.abc.Mapping):
        return ((k, other[k]) for k in other)
    if hasattr(other, "keys"):
        return ((k, other[k]) for k in other.keys())
    return _checked_pairs(other)


def _checked_pairs(seq: Iterable[Any]) -> Iterator[Tuple[Any, Any]]:
    for i, item in enumerate(seq):
        try:
            pair = tuple(item)
        except TypeError:
            raise TypeError(f"cannot convert dictionary update sequence element #{i} "
                            "to a sequence") from None
        if len(pair) != 2:
            raise ValueError(f"dictionary update sequence element #{i} has length "
                             f"{len(pair)}; 2 is required")
        yield pair


def namespaces(path: PathArg) -> List[str]:
    """The names of the namespaces in the permadict file at path, sorted.

    Opens none of them, so a file without a ``default`` namespace lists too;
    never creates or writes the file.
    """
    return _core.file_namespaces(path)


def drop_namespace(path: PathArg, name: str) -> None:
    """Delete namespace ``name`` of the file at path, and everything in it.

    Creates nothing: a missing file or namespace is a :class:`NotFoundError`.
    """
    _check_namespace_name(name)
    # The namespace being dropped is the one opened, with create off: opening
    # "default" would create it (and the file) where it is missing. Timeout -1
    # is the core's default, 5 s, as Permadict's.
    h = _core.open(path, (name, False, False, -1, False))
    try:
        _core.drop_namespace(h, name)
    finally:
        _core.close(h)
