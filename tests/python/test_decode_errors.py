"""Rows whose stored value cannot be decoded (damaged with raw SQL, or a pickle whose
class is gone): the error names the key, and iteration goes on past the bad row on the
next next()."""

import sqlite3
import sys

import pytest

from permadict import DecodeError, Permadict


@pytest.fixture
def damaged(db_path):
    """A file with a, b, c, d, e where b (not MessagePack) and c (unknown type) are unreadable."""
    with Permadict(db_path) as d:
        d.update(a=1, b=[1, 2], c=3, d="x", e=5)
    con = sqlite3.connect(db_path)
    with con:
        con.execute("UPDATE permadict_rows SET value = x'c1' WHERE type >= 0 AND key = 'b'")
        con.execute("UPDATE permadict_rows SET type = 99 WHERE type >= 0 AND key = 'c'")
    con.close()
    with Permadict(db_path) as d:
        yield d


def _next_or_error(it):
    try:
        return next(it)
    except DecodeError as e:
        assert f"'{e.key}'" in str(e), "the message names the key"
        return ("error", e.key)


def test_items__bad_rows_raise_naming_the_key_and_iteration_goes_on(damaged):
    it = iter(damaged.items())
    got = [_next_or_error(it) for _ in range(5)]
    assert got == [("a", 1), ("error", "b"), ("error", "c"), ("d", "x"), ("e", 5)]
    with pytest.raises(StopIteration):
        next(it)


def test_values__bad_rows_raise_naming_the_key_and_iteration_goes_on(damaged):
    it = iter(damaged.values())
    got = [_next_or_error(it) for _ in range(5)]
    assert got == [1, ("error", "b"), ("error", "c"), "x", 5]
    assert list(it) == []


def test_keys__need_no_value_decoding(damaged):
    assert list(damaged) == ["a", "b", "c", "d", "e"]


def test_reads_of_a_bad_row_raise_naming_the_key(damaged):
    with pytest.raises(DecodeError) as e:
        damaged["b"]
    assert e.value.key == "b" and "'b'" in str(e.value)
    with pytest.raises(DecodeError) as e:
        damaged.copy()
    assert e.value.key == "b"
    assert damaged["d"] == "x"  # the rest stays readable


@pytest.mark.parametrize("call", [lambda d: d.pop("b"), lambda d: d.pop("b", None),
                                  lambda d: d.setdefault("b"), lambda d: d.get("b")],
                         ids=["pop", "pop_default", "setdefault", "get"])
def test_removing_or_defaulting_a_bad_row_names_the_key(damaged, call):
    with pytest.raises(DecodeError) as e:
        call(damaged)
    assert e.value.key == "b"


@pytest.mark.parametrize("call", [lambda d: d.incr("c"), lambda d: d.compare_and_set("c", 3, 4)],
                         ids=["incr", "compare_and_set"])
def test_atomic_update_of_a_bad_row_names_the_key_and_changes_nothing(damaged, call):
    def raw_row():
        con = sqlite3.connect(damaged._path)
        try:
            return con.execute("SELECT id, type, value FROM permadict_rows "
                               "WHERE type >= 0 AND key = 'c'").fetchone()
        finally:
            con.close()

    before, version = raw_row(), damaged.version
    with pytest.raises(DecodeError) as e:
        call(damaged)
    assert e.value.key == "c"
    assert raw_row() == before and damaged.version == version  # nothing written


def test_popitem_of_a_bad_first_row_names_the_key(damaged):
    del damaged["a"]
    with pytest.raises(DecodeError) as e:
        damaged.popitem()
    assert e.value.key == "b"


class Renamed:
    """Stored pickled; the fixture below then deletes it, as a later version of a program might."""


@pytest.fixture
def orphaned(db_path, monkeypatch):
    """A pickle=True file with a, gone, z where gone holds an object of a class that is gone."""
    with Permadict(db_path, pickle=True) as d:
        d.update(a=1, gone=[Renamed()], z=2)
    monkeypatch.delattr(sys.modules[__name__], "Renamed")
    with Permadict(db_path, pickle=True) as d:
        yield d


def _assert_unpickling_error_of_gone(e):
    assert e.key == "gone" and "'gone'" in str(e)
    assert isinstance(e.__cause__, AttributeError) and "Renamed" in str(e.__cause__)


@pytest.mark.parametrize("call", [lambda d: d["gone"], lambda d: d.get("gone"),
                                  lambda d: d.setdefault("gone"), lambda d: d.pop("gone"),
                                  lambda d: d.pop("gone", None), lambda d: d.copy()],
                         ids=["getitem", "get", "setdefault", "pop", "pop_default", "copy"])
def test_pickle_of_a_class_gone_is_a_decode_error_naming_the_key_and_nothing_is_lost(orphaned,
                                                                                     call):
    with pytest.raises(DecodeError) as e:
        call(orphaned)
    _assert_unpickling_error_of_gone(e.value)
    assert list(orphaned) == ["a", "gone", "z"]


def test_pickle_of_a_class_gone__items_go_on_past_it(orphaned):
    it = iter(orphaned.items())
    assert _next_or_error(it) == ("a", 1)
    with pytest.raises(DecodeError) as e:
        next(it)
    _assert_unpickling_error_of_gone(e.value)
    assert list(it) == [("z", 2)]


def test_pickle_of_a_class_gone__popitem_and_pop_in_a_transaction_that_goes_on_remove_nothing(
        orphaned):
    del orphaned["a"]
    with orphaned.transaction():
        for pop in (orphaned.popitem, lambda: orphaned.pop("gone")):
            with pytest.raises(DecodeError) as e:
                pop()
            _assert_unpickling_error_of_gone(e.value)
        orphaned["b"] = 3
    assert list(orphaned) == ["b", "gone", "z"]
