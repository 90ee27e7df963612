"""Errors, read-only mode, transactions, atomic helpers, namespaces, pickle opt-in."""

import os
import pathlib
import pickle

import pytest

import permadict
from permadict import ABSENT, Permadict, Private


def test_api__original_permadict_usage_works(db_path):
    d = Permadict(db_path)
    d["key"] = "value"
    assert d["key"] == "value"
    with Permadict(db_path) as d2:
        d2["something"] = 1.2345
    assert d["something"] == 1.2345
    d.close()
    assert d.closed


def test_api__original_filename_keyword_opens_the_file(db_path):
    # The original permadict's first parameter is filename: it names the file,
    # it is not an initial item of an in-memory dict.
    with Permadict(filename=db_path, a=1) as d:
        assert d.path == db_path and dict(d) == {"a": 1}
    with Permadict(db_path) as d:
        assert dict(d) == {"a": 1}
    with pytest.raises(TypeError, match="filename"):
        Permadict(db_path, filename=db_path)


def test_api__original_options_are_options_not_items(db_path):
    # The original permadict(filename, journal_mode="OFF", synchronous=False,
    # **kwargs) never stored these two as items; here they must not be either.
    with Permadict(db_path, journal_mode="WAL", synchronous=True, a=1) as d:
        assert dict(d) == {"a": 1}
        assert d.filename == db_path  # the original's attribute for the path
    with Permadict(db_path, journal_mode="off", synchronous=False) as d:
        assert dict(d) == {"a": 1}
    with Permadict(db_path) as d:
        assert dict(d) == {"a": 1}
    with pytest.raises(ValueError, match="journal_mode"):
        Permadict(db_path, journal_mode="fast")
    with pytest.raises(TypeError, match="synchronous"):
        Permadict(db_path, durable=True, synchronous=True)


def test_api__original_synchronous_true_is_durable(db_path):
    # synchronous=True was the original's synchronous=FULL: durable=True here
    # (the options a Permadict pickles with, for another process, say which).
    with Permadict(db_path, synchronous=True) as d:
        assert d.__getstate__()["durable"] is True
    with Permadict(db_path, synchronous=False) as d:
        assert d.__getstate__()["durable"] is False


def test_api__get_takes_default_by_name(db_path):
    # The original's get(key, default=None), as MutableMapping.get, takes it by name.
    with Permadict(db_path, a=1) as d:
        assert d.get("missing", default=0) == 0
        assert d.get("a", default=0) == 1
        assert d.get(key="a") == 1
        with pytest.raises(TypeError, match="fallback"):
            d.get("a", fallback=0)
        with pytest.raises(TypeError, match="default"):
            d.get("a", 0, default=0)
        with pytest.raises(TypeError):
            d.get()


def test_api__is_a_mutable_mapping_with_a_readable_repr(db_path):
    import collections.abc
    with Permadict(db_path, a=1) as d:
        assert isinstance(d, collections.abc.MutableMapping)
        assert repr(d) == f"Permadict({db_path!r}, name='default', {{'a': 1}})"
        assert d.copy() == {"a": 1} and type(d.copy()) is dict
    assert repr(d).endswith("closed)")


def test_closed__use_after_close_raises_closed_error(db_path):
    d = Permadict(db_path)
    d.close()
    d.close()  # twice is fine
    with pytest.raises(permadict.ClosedError):
        d["x"]
    with pytest.raises(ValueError):
        d["x"] = 1


def test_errors__missing_key_is_keyerror_with_the_key(db_path):
    with Permadict(db_path) as d:
        with pytest.raises(KeyError) as e:
            d["missing"]
        assert e.value.args == ("missing",)
        with pytest.raises(KeyError):
            del d[b"missing"]
        with pytest.raises(KeyError):
            d.pop(5)
        with pytest.raises(KeyError, match="empty"):
            d.popitem()


def test_errors__failed_update_stores_nothing(db_path):
    with Permadict(db_path) as d:
        d.update(a=1, b=2)
        with pytest.raises(TypeError):
            d.update({"a": 10, "c": 3, "bad": object()})
        with pytest.raises(ValueError):
            d.update([("a", 11), ("x", 1, 2)])
        with pytest.raises(TypeError):
            d.update([("a", 12), 5])
        with pytest.raises(OverflowError):
            d.update(a=13, big=2**64)
        assert d.copy() == {"a": 1, "b": 2}


def test_errors__failed_set_leaves_the_old_value(db_path):
    with Permadict(db_path) as d:
        d["k"] = [1, 2]
        for bad in (object(), [1, object()], {"x": {1.5: 0}}, 2**64, "\udc80"):
            with pytest.raises((TypeError, OverflowError, ValueError)):
                d["k"] = bad
        assert d["k"] == [1, 2] and len(d) == 1


def test_readonly__refuses_every_write_with_permission_error(db_path):
    with Permadict(db_path) as w:
        w["k"] = 1
    with Permadict(db_path, readonly=True) as r:
        assert r["k"] == 1
        for write in (lambda: r.__setitem__("k", 2), lambda: r.__delitem__("k"), r.clear,
                      lambda: r.update(x=1), lambda: r.incr("k"), lambda: r.pop("k"),
                      lambda: r.setdefault("new", 1)):
            with pytest.raises(PermissionError):
                write()
        with pytest.raises(permadict.ReadOnlyError):
            r["k"] = 3
        assert r.copy() == {"k": 1}


def test_readonly__never_creates_the_file(db_path):
    with pytest.raises(permadict.Error):
        Permadict(db_path, readonly=True)
    assert not os.path.exists(db_path)


def test_open__refuses_a_file_that_is_not_permadict(db_path):
    with open(db_path, "wb") as f:
        f.write(b"just some text, not a database at all" * 10)
    with pytest.raises(permadict.Error):
        Permadict(db_path)
    with open(db_path, "rb") as f:
        assert f.read(9) == b"just some"


def test_open__file_of_the_original_permadict_is_named_as_such(db_path):
    # The original pure-Python permadict kept a table dict(name, object) of
    # pickles: "not a permadict file" alone would mislead its users.
    import sqlite3
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("CREATE TABLE dict (name BLOB PRIMARY KEY, object BLOB)")
        conn.execute("INSERT INTO dict VALUES (?, ?)", ("k", pickle.dumps({1, 2})))
    conn.close()
    with open(db_path, "rb") as f:
        before = f.read()
    with pytest.raises(permadict.FormatError, match="original pure-Python permadict"):
        Permadict(db_path)
    with open(db_path, "rb") as f:
        assert f.read() == before
    assert sorted(os.listdir(os.path.dirname(db_path))) == [os.path.basename(db_path)]


def test_transaction__commits_everything_at_once(db_path):
    with Permadict(db_path) as d, Permadict(db_path) as other:
        with d.transaction():
            d["a"] = 1
            d["b"] = 2
            assert d["a"] == 1 and len(d) == 2  # own writes visible inside
            assert "a" not in other  # nothing visible outside yet
        assert other.copy() == {"a": 1, "b": 2}


def test_transaction__rolled_back_on_exception(db_path):
    with Permadict(db_path) as d:
        d["keep"] = "old"
        with pytest.raises(RuntimeError):
            with d.transaction():
                d["keep"] = "new"
                d["added"] = 1
                del d["keep"]
                raise RuntimeError("boom")
        assert d.copy() == {"keep": "old"}


def test_views__reverse_and_mapping_as_a_dicts_do(db_path):
    with Permadict(db_path) as d:
        d.update({"b": 2, "a": 1, 3: "c"})
        assert list(reversed(d.keys())) == ["b", "a", 3]
        assert list(reversed(d.values())) == [2, 1, "c"]
        assert list(reversed(d.items())) == [("b", 2), ("a", 1), (3, "c")]
        m = d.items().mapping
        assert m["a"] == 1 and len(m) == 3
        d["z"] = 26
        assert m["z"] == 26  # a live proxy of the Permadict itself
        with pytest.raises(TypeError):
            m["a"] = 5  # read-only, as a dict view's mapping is


def test_views__value_in_values_while_keys_are_deleted(db_path):
    with Permadict(db_path) as d:
        d.update({0: 0, 1: 1, 2: 2})

        class DeletesTheNextKey:
            """Compared with each value; stands for another process deleting keys meanwhile."""

            def __eq__(self, other):
                d.pop(other + 1, None)
                return False

        assert DeletesTheNextKey() not in d.values()
        assert 0 in d.values() and 2 not in d.values()


def test_transaction__closed_inside_raises_instead_of_losing_it_silently(db_path):
    with Permadict(db_path) as d:
        d["base"] = 0
    d = Permadict(db_path)
    with pytest.raises(permadict.ClosedError, match="closed inside its transaction"):
        with d.transaction():
            d["a"] = 1
            d.close()
    with Permadict(db_path) as again:
        assert again.copy() == {"base": 0}  # the rollback, now said out loud


def test_transaction__do_not_nest(db_path):
    with Permadict(db_path) as d:
        with d.transaction():
            with pytest.raises(permadict.MisuseError):
                with d.transaction():
                    pass
        d["after"] = 1
        assert d["after"] == 1


def test_incr__counts_ints_and_floats_and_refuses_text(db_path):
    with Permadict(db_path) as d:
        assert d.incr("n") == 1
        assert d.incr("n", 41) == 42 and type(d["n"]) is int
        assert d.incr("f", 0.5) == 0.5
        d["t"] = "text"
        with pytest.raises(TypeError):
            d.incr("t")
        assert d["t"] == "text"
        with pytest.raises(TypeError):
            d.incr("n", "1")
        d["max"] = 2**63 - 1
        with pytest.raises(permadict.Error):
            d.incr("max")
        assert d["max"] == 2**63 - 1


def test_compare_and_set__swaps_only_on_match(db_path):
    with Permadict(db_path) as d:
        assert d.compare_and_set("k", ABSENT, [1]) is True
        assert d.compare_and_set("k", ABSENT, [2]) is False
        assert d.compare_and_set("k", [9], [2]) is False
        assert d.compare_and_set("k", [1], {"x": 1}) is True
        assert d["k"] == {"x": 1}
        assert d.compare_and_set("k", {"x": 1.0}, 0) is False  # 1 and 1.0 differ
        assert d.compare_and_set("k", {"x": 1}, ABSENT) is True
        assert "k" not in d


def test_setdefault__returns_the_stored_value(db_path):
    with Permadict(db_path) as d:
        assert d.setdefault("k", [1]) == [1]
        assert d.setdefault("k", [2]) == [1]
        assert d.setdefault("n") is None and d["n"] is None


def test_namespaces__are_independent_and_can_be_dropped(db_path):
    with Permadict(db_path) as a, Permadict(db_path, name="other") as b:
        a["k"] = "a"
        b["k"] = "b"
        assert (a["k"], b["k"]) == ("a", "b")
        assert permadict.namespaces(db_path) == ["default", "other"]
    permadict.drop_namespace(db_path, "other")
    assert permadict.namespaces(db_path) == ["default"]
    with Permadict(db_path) as a:
        assert a.copy() == {"k": "a"}


def test_namespaces__listed_by_path_for_a_file_without_default(db_path, tmp_path):
    with Permadict(db_path, name="zeta") as z, Permadict(db_path, name="alpha") as a:
        z["k"], a["k"] = 1, 2
    assert permadict.namespaces(db_path) == ["alpha", "zeta"]
    assert permadict.namespaces(pathlib.Path(db_path)) == ["alpha", "zeta"]
    # Listing opened no namespace and so created none.
    with pytest.raises(permadict.NotFoundError):
        Permadict(db_path, readonly=True)
    missing = str(tmp_path / "missing.db")
    with pytest.raises(permadict.NotFoundError, match="missing.db"):
        permadict.namespaces(missing)
    assert not os.path.exists(missing)


def test_changes__report_what_changed_since_a_version(db_path):
    with Permadict(db_path) as d:
        v0 = d.version
        d["a"] = 1
        del d["a"]
        d.clear()
        assert d.version == v0 + 3
        assert d.changes(v0) == [(v0 + 1, "set", "a"), (v0 + 2, "delete", "a"),
                                 (v0 + 3, "clear", None)]


def test_pickle__memory_permadict_cannot_be_pickled():
    with Permadict() as d:
        with pytest.raises(TypeError, match="in-memory"):
            pickle.dumps(d)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle__file_permadict_reopens_with_its_options(db_path, protocol):
    with Permadict(db_path, name="ns", timeout=1.0, a=1) as d:
        clone = pickle.loads(pickle.dumps(d, protocol))
        assert clone is not d and clone.name == "ns" and clone["a"] == 1
        clone["b"] = 2
        assert d["b"] == 2
        clone.close()


def test_pickle__relative_path_reopens_the_same_file_after_chdir(db_path, monkeypatch):
    # A spawned worker starts in the parent's current directory, which may no
    # longer be the one the relative path was opened from.
    folder, name = os.path.split(db_path)
    monkeypatch.chdir(folder)
    with Permadict(name, a=1) as d:
        os.mkdir("elsewhere")
        monkeypatch.chdir("elsewhere")
        with pickle.loads(pickle.dumps(d)) as clone:
            assert clone.get("a") == 1
            clone["b"] = 2
        assert d["b"] == 2
        assert not os.path.exists(name), "the clone created another file"


class Marker:
    """Unpickling this creates the file named by path (stands for any side effect)."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickle__objects_are_stored_only_with_pickle_true(db_path):
    with Permadict(db_path) as plain:
        with pytest.raises(TypeError, match="pickle=True"):
            plain["obj"] = Marker("x")
    with Permadict(db_path, pickle=True) as p:
        p["c"] = complex(1, 2)
        p["nested"] = {"s": {1, 2}, "l": [complex(0, 1)]}
        assert p["c"] == complex(1, 2)
        assert p["nested"] == {"s": {1, 2}, "l": [complex(0, 1)]}
        assert list(p.values())[0] == complex(1, 2)
    with Permadict(db_path) as plain:
        opaque = plain["c"]
        assert isinstance(opaque, Private) and opaque.tag == 1
        plain["copy"] = opaque  # written back unchanged
    with Permadict(db_path, pickle=True) as p:
        assert p["copy"] == complex(1, 2)


def test_pickle__hostile_payload_is_not_unpickled_without_opt_in(db_path, tmp_path):
    marker = tmp_path / "unpickled-marker"
    with Permadict(db_path, pickle=True) as p:
        p["evil"] = Marker(str(marker))
        p["evil_nested"] = [{"x": Marker(str(marker))}]
    assert not marker.exists()
    with Permadict(db_path) as plain:
        assert isinstance(plain["evil"], Private)
        assert isinstance(plain["evil_nested"][0]["x"], Private)
        assert all(True for _ in plain.items())
        plain.copy()
    assert not marker.exists()
    with Permadict(db_path, pickle=True) as p:  # with the option, it is unpickled
        p["evil"].close()
    assert marker.exists()


def test_errors__hierarchy_maps_to_builtin_exceptions():
    assert issubclass(permadict.BusyError, TimeoutError)
    assert issubclass(permadict.ReadOnlyError, PermissionError)
    assert issubclass(permadict.InvalidError, ValueError)
    assert issubclass(permadict.ValueKindError, TypeError)
    assert issubclass(permadict.DecodeError, permadict.Error)
    for name in permadict.__all__:
        assert getattr(permadict, name).__doc__ or name == "Key", name


def test_decode__damaged_value_raises_decodeerror_naming_the_key(db_path):
    import sqlite3
    with Permadict(db_path) as d:
        d["good"] = [1]
        d["bad"] = [2]
    con = sqlite3.connect(db_path)
    with con:  # 0xc1 is never valid MessagePack
        con.execute("UPDATE permadict_rows SET value = x'c1' WHERE type >= 0 AND key = 'bad'")
    con.close()
    with Permadict(db_path) as d:
        with pytest.raises(permadict.DecodeError) as e:
            d["bad"]
        assert e.value.key == "bad"
        assert d["good"] == [1]
        with pytest.raises(permadict.DecodeError):
            d.copy()
        assert list(d) == ["bad", "good"]  # keys alone still iterate


def test_open__path_with_a_nul_is_refused_like_open(tmp_path):
    target = tmp_path / "target.db"
    with pytest.raises(ValueError, match="null"):
        Permadict(str(target) + "\0.ignored")
    with pytest.raises(ValueError, match="null"):
        Permadict(bytes(target) + b"\0.ignored")
    with pytest.raises(ValueError, match="null"):
        permadict.namespaces(str(target) + "\0.ignored")
    assert not target.exists()  # C never saw the shorter path


def test_open__bytes_path_that_is_not_utf8_works(tmp_path):
    raw = os.fsencode(tmp_path) + b"/caf\xe9.db"
    with Permadict(raw) as d:
        d["k"] = 1
        assert os.fsencode(d.path) == raw
    assert os.path.exists(raw)
    with Permadict(os.fsdecode(raw)) as d:  # the same file through surrogate escapes
        assert d["k"] == 1
    assert permadict.namespaces(raw) == ["default"]
    permadict.drop_namespace(raw, "default")
    assert permadict.namespaces(raw) == []


def test_drop_namespace__by_path_creates_nothing(db_path, tmp_path):
    with Permadict(db_path, name="a") as d:
        d["k"] = 1
    assert permadict.namespaces(db_path) == ["a"]
    permadict.drop_namespace(db_path, "a")
    assert permadict.namespaces(db_path) == []  # and no "default" was made to do it
    with pytest.raises(permadict.NotFoundError):
        permadict.drop_namespace(db_path, "a")
    assert permadict.namespaces(db_path) == []
    missing = str(tmp_path / "missing.db")
    with pytest.raises(permadict.NotFoundError):
        permadict.drop_namespace(missing, "x")
    assert not os.path.exists(missing)


def test_update__failing_inside_a_transaction_stores_nothing(db_path):
    with Permadict(db_path) as d:
        d["a"] = 0
        with d.transaction():
            with pytest.raises(TypeError):
                d.update([("a", 1), ("b", {1, 2})])
            with pytest.raises(OverflowError):
                d.update({"a": 2, "c": 2**64})
            with pytest.raises(permadict.TooBigError):
                d.update({"a": 3, b"x" * 5000: 1})
            d["other"] = "x"
        assert d.copy() == {"a": 0, "other": "x"}


def test_readonly__answers_what_needs_no_write(db_path):
    with Permadict(db_path) as w:
        w["a"] = 1
    with Permadict(db_path, readonly=True) as r:
        assert r.setdefault("a", 0) == 1
        assert r.setdefault("a", {1, 2}) == 1
        assert r.pop("absent", None) is None
        with pytest.raises(KeyError):
            r.pop("absent")
        r.update()
        r.update({}, **{})
        with pytest.raises(PermissionError):
            r.pop("a", None)  # present: popping it would write
        with pytest.raises(PermissionError):
            r.setdefault("new", 0)
        with pytest.raises(PermissionError):
            r.popitem()  # not empty: popping would write
    with Permadict(db_path) as w:
        w.clear()
    with Permadict(db_path, readonly=True) as r:
        with pytest.raises(KeyError) as e:
            r.popitem()  # empty: nothing to write, a dict's answer
        assert not isinstance(e.value, PermissionError)


def test_setdefault__present_key_does_not_convert_the_default(db_path):
    with Permadict(db_path) as d:
        d["a"] = 1
        assert d.setdefault("a", {1, 2}) == 1  # a set could not be stored
        with pytest.raises(TypeError):
            d.setdefault("b", {1, 2})
        assert "b" not in d
