"""Live views of a Permadict: keys(), values(), items().

They are the ``collections.abc`` views (so ``len``, ``in`` and the set
operations on keys and items behave as for a dict), but walk the file with
one paged core iterator that also returns values, instead of one lookup per key.
"""

from __future__ import annotations

import collections.abc
from typing import TYPE_CHECKING, Any, Iterator, Tuple

if TYPE_CHECKING:
    from ._dict import Key, Permadict


class KeysView(collections.abc.KeysView):
    """The keys of a Permadict, in key order; reflects later changes."""

    __slots__ = ()
    _mapping: "Permadict"

    def __iter__(self) -> Iterator["Key"]:
        return self._mapping._walk(0)

    def __repr__(self) -> str:
        return f"permadict_keys({list(self)!r})"


class ValuesView(collections.abc.ValuesView):
    """The values of a Permadict, in key order; reflects later changes."""

    __slots__ = ()
    _mapping: "Permadict"

    def __iter__(self) -> Iterator[Any]:
        return self._mapping._walk(1)

    def __repr__(self) -> str:
        return f"permadict_values({list(self)!r})"


class ItemsView(collections.abc.ItemsView):
    """The (key, value) pairs of a Permadict, in key order; reflects later changes."""

    __slots__ = ()
    _mapping: "Permadict"

    def __iter__(self) -> Iterator[Tuple["Key", Any]]:
        return self._mapping._walk(2)

    def __repr__(self) -> str:
        return f"permadict_items({list(self)!r})"
