"""permadict: a dictionary in one SQLite file, shared safely by many processes.

>>> from permadict import Permadict
>>> with Permadict("db.sqlite") as d:
...     d["key"] = "value"

See :class:`Permadict` and docs/PYTHON.md.
"""

import pickle as _pickle

from . import _core
from ._dict import Change, Key, Permadict, Transaction, drop_namespace, namespaces
from ._errors import (BusyError, ClosedError, CorruptError, DecodeError, DiskIOError, Error,
                      FormatError, ForkedError, FullError, GoneError, InvalidError, MisuseError,
                      NoMemoryError, NotADatabaseError, NotFoundError, ReadOnlyError, ResyncError,
                      ResyncNeeded, TooBigError, ValueKindError, WaitTimeoutError, ERROR_CLASSES)
from ._values import ABSENT, Private

_core.register_python_objects(ERROR_CLASSES, ClosedError, Private, ABSENT, _pickle.dumps,
                              _pickle.loads)

__version__: str = _core.libversion()
"""The version of the C library this package runs on."""

__all__ = [
    "Permadict", "Transaction", "Change", "Key", "Private", "ABSENT", "namespaces",
    "drop_namespace",
    "Error", "NotFoundError", "BusyError", "WaitTimeoutError", "ReadOnlyError", "FormatError",
    "NotADatabaseError", "CorruptError", "DecodeError", "TooBigError", "InvalidError",
    "ValueKindError", "ForkedError", "NoMemoryError", "DiskIOError", "FullError",
    "MisuseError", "ResyncNeeded", "ResyncError", "GoneError", "ClosedError",
]
