"""Python code that runs in the middle of a call (pickling hooks, a list subclass's
__iter__, a Private subclass's properties) and calls a Permadict itself: closing the
one being called, storing into another, reading a third."""

import os
import subprocess
import sys
import textwrap

import pytest

from permadict import Permadict


def run_child(code):
    """Runs code in a fresh interpreter: a crash there fails the test, not the run."""
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                       text=True, timeout=60, env=dict(os.environ))
    assert p.returncode == 0, f"child exited with {p.returncode}: {p.stderr}"
    return p.stdout.split()


CLOSE_DURING_CALL = """
    import permadict
    from permadict import Permadict, Private
    d = Permadict({path!r}, pickle=True)
    d["k"] = "before"

    class Closer:
        def __reduce__(self):
            d.close()
            return (int, (7,))

    class ClosingList(list):
        def __iter__(self):
            d.close()
            return super().__iter__()

    class ClosingPrivate(Private):
        @property
        def tag(self):
            d.close()
            return 5

        @tag.setter
        def tag(self, value):
            pass

    def update_in_transaction():
        with d.transaction():
            d.update(k=ClosingList([1]))

    calls = {{
        "setitem": lambda: d.__setitem__("k", [Closer()]),
        "setitem_list": lambda: d.__setitem__("k", ClosingList([1])),
        "private": lambda: d.__setitem__("k", ClosingPrivate(5, b"x")),
        "update": lambda: d.update(k=[Closer()]),
        "update_in_transaction": update_in_transaction,
        "compare_and_set": lambda: d.compare_and_set("k", "before", [Closer()]),
        "setdefault": lambda: d.setdefault("new", ClosingList([1])),
        "get_and_set": lambda: permadict._core.get_and_set(d._h, "k", ClosingList([1])),
    }}
    call = calls[{name!r}]
    try:
        call()
    except permadict.MisuseError as e:
        assert "in progress" in str(e), e
        print("misuse")
    print("closed" if d.closed else "open", d["k"] if not d.closed else "")
    d.close()
    print("closed" if d.closed else "open")
"""


@pytest.mark.parametrize("name", ["setitem", "setitem_list", "private", "update",
                                  "update_in_transaction", "compare_and_set", "setdefault",
                                  "get_and_set"])
def test_close__during_a_call_on_the_same_permadict_is_refused_not_a_crash(db_path, name):
    out = run_child(CLOSE_DURING_CALL.format(path=db_path, name=name))
    # close() raised inside the hook, the call failed with that error, nothing was
    # stored, and the Permadict still works and closes afterwards.
    assert out == ["misuse", "open", "before", "closed"]


def test_close__during_an_iteration_hook_ends_the_iteration_with_closed_error(db_path):
    out = run_child(f"""
        import permadict
        from permadict import Permadict
        d = Permadict({db_path!r}, pickle=True)

        def close_and_mark():
            d.close()
            return "unpickled"

        class Marker:
            def __reduce__(self):
                return (close_and_mark, ())

        d["a"] = [Marker(), [1, 2]]
        d["b"] = 2
        it = iter(d.values())
        print(next(it) == ["unpickled", [1, 2]])
        try:
            next(it)
        except permadict.ClosedError:
            print("closed-error")
    """)
    assert out == ["True", "closed-error"]


def test_compare_and_set__old_is_not_overwritten_by_a_store_while_new_converts(db_path):
    d = Permadict(db_path)
    other = Permadict()
    d["k"] = [9]

    class New(list):
        def __iter__(self):
            other["x"] = [9]  # encodes on this thread while old=[1] is held
            return super().__iter__()

    assert d.compare_and_set("k", [1], New([2])) is False
    assert d["k"] == [9]

    d["k2"] = [0]

    class Big(list):
        def __iter__(self):
            other["y"] = ["z" * 1_000_000]  # grows (moves) the encoder's buffer
            return super().__iter__()

    assert d.compare_and_set("k2", [0], Big([1])) is True
    assert d["k2"] == [1]
    d.close()
    other.close()


class Plain:
    def __init__(self, x):
        self.x = x

    def __eq__(self, other):
        return isinstance(other, Plain) and other.x == self.x


# The pickle=False Permadict the hooks below consult (pickled classes and the
# functions they name must be module-level).
registry = []


class Hook:
    """Its pickling calls another Permadict, then pickles as Plain(1)."""

    def __reduce__(self):
        registry[0].get("anything")
        return (Plain, (1,))


def make_plain():
    registry[0].get("anything")
    return Plain(0)


class Looks:
    """Its unpickling calls another Permadict, then gives Plain(0)."""

    def __reduce__(self):
        return (make_plain, ())


def test_pickle__a_hook_calling_a_non_pickling_permadict_does_not_switch_pickling_off(
        db_path, tmp_path):
    registry[:] = [Permadict(str(tmp_path / "registry.db"))]  # pickle=False
    with Permadict(db_path, pickle=True) as d:
        d["enc"] = [Hook(), Plain(2)]  # the second item is pickled after the hook ran
        assert d["enc"] == [Plain(1), Plain(2)]
        d["dec"] = [Looks(), Plain(3)]  # the second item is unpickled after it
        assert d["dec"] == [Plain(0), Plain(3)]
        assert dict(d.items())["dec"] == [Plain(0), Plain(3)]
        assert d.pop("dec") == [Plain(0), Plain(3)]
    registry.pop().close()


class Nested:
    """Its pickling stores [Plain(1)] into the pickle=False Permadict in registry."""

    def __reduce__(self):
        with pytest.raises(TypeError, match="pickle=True"):
            registry[0]["x"] = [Plain(1)]
        return (Plain, (1,))


def test_pickle__a_non_pickling_call_nested_in_a_pickling_one_does_not_pickle(db_path, tmp_path):
    registry[:] = [Permadict(str(tmp_path / "plain.db"))]  # pickle=False
    with Permadict(db_path, pickle=True) as d:
        d["k"] = [Nested()]
        assert d["k"] == [Plain(1)]
    assert "x" not in registry[0]
    registry.pop().close()
