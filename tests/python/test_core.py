"""The extension's functions (permadict._core) called directly: the shape of their
results and the references they leave behind."""

import sys

import pytest

from permadict import Permadict, _core


def test_get_and_set__returns_the_old_value_and_whether_there_was_one():
    with Permadict() as d:
        h = d._h
        assert _core.get_and_set(h, "k", 1) == (None, False)
        assert _core.get_and_set(h, "k", None) == (1, True)
        assert _core.get_and_set(h, "k", [1, 2]) == (None, True)
        assert _core.get_and_set(h, "k", 0) == ([1, 2], True)
        assert _core.get_and_set(h, "k", "x") == (0, True)
        assert d["k"] == "x"


def fail():
    raise ValueError("cannot unpickle")


class Unpicklable:
    """Pickles fine; unpickling it raises ValueError."""

    def __reduce__(self):
        return (fail, ())


def none_refs_gained(call, n=2000):
    """How many references to None n failing calls leave behind."""
    # The count must see references come and go (None is immortal from
    # Python 3.12 on: there it never moves, and this check would be void).
    probe = sys.getrefcount(None)
    held = [None] * 10
    assert sys.getrefcount(None) - probe >= 10, "sys.getrefcount(None) cannot see a leak here"
    del held
    before = sys.getrefcount(None)
    for _ in range(n):
        with pytest.raises(ValueError, match="cannot unpickle"):
            call()
    return sys.getrefcount(None) - before


def test_failed_result_conversion__leaks_no_reference(db_path):
    with Permadict(db_path, pickle=True) as d:
        d["k"] = [Unpicklable()]
        h = d._h

        def iter_next_fails():
            it = _core.iter_open(h, (True, None, None, None, 0))
            _core.set_pickle(it, 1)
            try:
                _core.iter_next(it)
            finally:
                _core.set_pickle(it, 0)
                _core.iter_free(it)

        for call in (lambda: d["k"], lambda: _core.get(h, "k"), lambda: d.setdefault("k"),
                     lambda: _core.get_and_set(h, "k", [Unpicklable()]), iter_next_fails):
            assert abs(none_refs_gained(call)) < 100
