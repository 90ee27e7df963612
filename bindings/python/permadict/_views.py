"""Live views of a Permadict: keys(), values(), items().

They are the ``collections.abc`` views (so ``len``, ``in`` and the set
operations on keys and items behave as for a dict), but walk the file with
one paged core iterator that also returns values, instead of one lookup per key.
"""

from __future__ import annotations

import collections.abc
import types
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Tuple

if TYPE_CHECKING:
    from ._dict import Key, Permadict


class _DictViewExtras:
    """What a dict's views have beyond the collections.abc ones."""

    __slots__ = ()
    _mapping: "Permadict"

    def __reversed__(self) -> Iterator[Any]:
        """In reverse key order (from a snapshot)."""
        return reversed(list(self))  # type: ignore[call-overload]

    @property
    def mapping(self) -> Mapping["Key", Any]:
        """A read-only proxy of the Permadict, as a dict view's ``mapping``."""
        return types.MappingProxyType(self._mapping)


class KeysView(_DictViewExtras, collections.abc.KeysView):
    """The keys of a Permadict, in key order; reflects later changes."""

    __slots__ = ()
    _mapping: "Permadict"

    def __iter__(self) -> Iterator["Key"]:
        return self._mapping._walk(0)

    def __repr__(self) -> str:
        return f"permadict_keys({list(self)!r})"


class ValuesView(_DictViewExtras, collections.abc.ValuesView):
    """The values of a Permadict, in key order; reflects later changes."""

    __slots__ = ()
    _mapping: "Permadict"

    def __iter__(self) -> Iterator[Any]:
        return self._mapping._walk(1)

    def __contains__(self, value: object) -> bool:
        # One walk of the values. collections.abc's walks the keys and looks each
        # one up, which raises KeyError for a key deleted in between (by another
        # process, say).
        return any(v is value or v == value for v in self)

    def __repr__(self) -> str:
        return f"permadict_values({list(self)!r})"


class ItemsView(_DictViewExtras, collections.abc.ItemsView):
    """The (key, value) pairs of a Permadict, in key order; reflects later changes."""

    __slots__ = ()
    _mapping: "Permadict"

    def __iter__(self) -> Iterator[Tuple["Key", Any]]:
        return self._mapping._walk(2)

    def __repr__(self) -> str:
        return f"permadict_items({list(self)!r})"
