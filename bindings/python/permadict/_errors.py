"""The permadict exception hierarchy.

Every error the C core reports becomes a subclass of :class:`Error` whose
message is the core's own (naming the key, file or value concerned). Where a
built-in exception means the same thing, the class derives from it too, so
``except TimeoutError`` or ``except PermissionError`` work as expected.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Type


class Error(Exception):
    """Base class of every error raised by permadict."""

    code: int = -1
    """The core's return code (``PD_E...``), negative."""


class NotFoundError(Error, KeyError):
    """A key or namespace is absent (``PD_ENOTFOUND``).

    The mapping methods raise a plain ``KeyError(key)`` instead, as ``dict`` does.
    """

    code = -2

    def __str__(self) -> str:  # KeyError quotes its argument; a message reads better bare
        return str(self.args[0]) if self.args else ""


class BusyError(Error, TimeoutError):
    """The file stayed locked by another writer for the whole timeout (``PD_EBUSY``)."""

    code = -4


class WaitTimeoutError(Error, TimeoutError):
    """A wait for a change ended without one (``PD_ETIMEOUT``)."""

    code = -5


class ReadOnlyError(Error, PermissionError):
    """A write on a read-only Permadict, file or directory (``PD_EREADONLY``)."""

    code = -6


class FormatError(Error):
    """The file is an SQLite database of another application or a newer format (``PD_EFORMAT``)."""

    code = -7


class NotADatabaseError(Error):
    """The file is not an SQLite database, or is empty (``PD_ENOTADB``)."""

    code = -8


class CorruptError(Error):
    """The database file is damaged (``PD_ECORRUPT``)."""

    code = -9


class DecodeError(Error, ValueError):
    """A stored value cannot be decoded (``PD_EDECODE``).

    ``key`` is the key whose value failed, when known. Other keys stay readable.
    """

    code = -10
    key: Any = None


class TooBigError(Error, ValueError):
    """A key, value, name or nesting depth is over the limits (``PD_ETOOBIG``)."""

    code = -11


class InvalidError(Error, ValueError):
    """A bad argument or value (``PD_EINVALID``); the message names it."""

    code = -12


class ValueKindError(Error, TypeError):
    """The stored value has the wrong kind for the operation, e.g. incr on text (``PD_ETYPE``)."""

    code = -13


class ForkedError(Error):
    """A handle inherited across fork() was used (``PD_EFORKED``).

    Permadict handles this itself by reopening. It is raised for writes in a child
    forked inside a :meth:`Permadict.transaction`: the parent's write lock cannot be
    released there (fork outside transactions).
    """

    code = -14


class NoMemoryError(Error, MemoryError):
    """Out of memory (``PD_ENOMEM``)."""

    code = -15


class DiskIOError(Error, OSError):
    """An operating-system I/O error (``PD_EIO``)."""

    code = -16


class FullError(Error, OSError):
    """The disk or a file-size limit is full, or a namespace used all its
    versions (2**43 - 1) or a file all its namespaces (2**19) (``PD_EFULL``)."""

    code = -17


class MisuseError(Error):
    """API misuse, e.g. a nested transaction or commit without begin (``PD_EMISUSE``)."""

    code = -18


class ResyncNeeded(Error):
    """The change log no longer reaches back that far: re-read everything (``PD_ERESYNC``).

    Raised by :meth:`Permadict.changes`; carry on from :attr:`Permadict.version`.
    """

    code = -19


ResyncError = ResyncNeeded
"""The same class under the name the other errors' pattern suggests."""


class GoneError(Error):
    """The file was deleted or replaced while open, or the namespace dropped (``PD_EGONE``)."""

    code = -20


class ClosedError(Error, ValueError):
    """An operation on a closed Permadict (like I/O on a closed file, also a ValueError)."""

    code = -1


ERROR_CLASSES: Dict[int, Type[Error]] = {
    cls.code: cls
    for cls in (
        Error, NotFoundError, BusyError, WaitTimeoutError, ReadOnlyError, FormatError,
        NotADatabaseError, CorruptError, DecodeError, TooBigError, InvalidError,
        ValueKindError, ForkedError, NoMemoryError, DiskIOError, FullError, MisuseError,
        ResyncNeeded, GoneError,
    )
}
"""The class raised for each core return code."""


def error_for(code: int, message: str) -> Error:
    """An exception instance of the right class for a core return code."""
    cls: Optional[Type[Error]] = ERROR_CLASSES.get(code)
    return (cls or Error)(message)
