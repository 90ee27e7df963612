"""Value types that only permadict has: opaque private values and the ABSENT marker."""

from __future__ import annotations

from typing import Any, Final


class Private:
    """A language-private value read from the file, kept opaque.

    The file format lets each language store values only it understands, under
    a *tag* (1..127). Tag 1 is a Python pickle: it is unpickled only by a
    Permadict opened with ``pickle=True``; everywhere else it reads back as
    ``Private(1, data)``, never unpickled. Storing a Private writes it back
    unchanged, so values survive a round trip through code that cannot read them.
    """

    __slots__ = ("tag", "data")

    tag: int
    data: bytes

    def __init__(self, tag: int, data: bytes) -> None:
        if not isinstance(tag, int) or isinstance(tag, bool) or not 1 <= tag <= 127:
            raise ValueError(f"private tag must be an int in 1..127, not {tag!r}")
        self.tag = tag
        try:
            # Through a memoryview: bytes(5) would be five zero bytes, bytes([1, 2]) a guess.
            self.data = bytes(memoryview(data))
        except TypeError:
            raise TypeError(f"private data must be bytes-like (bytes, bytearray, memoryview), "
                            f"not {type(data).__name__}") from None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Private):
            return NotImplemented
        return self.tag == other.tag and self.data == other.data

    def __hash__(self) -> int:
        return hash((Private, self.tag, self.data))

    def __repr__(self) -> str:
        return f"Private({self.tag!r}, {self.data!r})"

    def __reduce__(self) -> Any:
        return (Private, (self.tag, self.data))


class _AbsentType:
    """Type of :data:`ABSENT`."""

    __slots__ = ()
    _instance: "_AbsentType | None" = None

    def __new__(cls) -> "_AbsentType":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "permadict.ABSENT"

    def __reduce__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Final = _AbsentType()
"""In :meth:`Permadict.compare_and_set`: as ``old``, "the key must be absent";
as ``new``, "delete the key"."""
