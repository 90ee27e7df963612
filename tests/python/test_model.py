"""A Permadict and a dict receive the same random operations; after every step
they must agree (content, and the result or exception of the operation). With a
version counter and a change log added to the model, so must versions and changes()."""

import contextlib
import random

import pytest

import permadict
from permadict import ABSENT, GoneError, Permadict, ResyncNeeded

KEYS = [0, 1, -1, 2**63 - 1, -2**63, "a", "b", "", "1", "ключ", b"", b"1", b"\xff\x00"]
SCALARS = [None, True, False, 0, 7, -2**63, 2**63 - 1, 1.5, -0.0, "", "x", "y\x00z", b"",
           b"\x00\xff"]


def random_value(rng, depth=0):
    r = rng.random()
    if depth < 3 and r < 0.15:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if depth < 3 and r < 0.3:
        return {rng.choice(KEYS): random_value(rng, depth + 1) for _ in range(rng.randrange(4))}
    return rng.choice(SCALARS)


def key_order(k):
    """The core's key order: ints, then str (by UTF-8), then bytes."""
    if isinstance(k, int):
        return (0, k, b"")
    if isinstance(k, str):
        return (1, 0, k.encode())
    return (2, 0, k)


def outcome(fn):
    """The result of fn(), or the type of exception it raised."""
    try:
        return ("ok", fn())
    except Exception as e:  # noqa: BLE001 - the exception type is what is compared
        return ("raised", type(e))


def check_same(d, model):
    assert len(d) == len(model)
    assert list(d) == sorted(model, key=key_order)
    assert list(d.keys()) == sorted(model, key=key_order)
    assert list(d.items()) == sorted(model.items(), key=lambda kv: key_order(kv[0]))
    assert list(d.values()) == [model[k] for k in sorted(model, key=key_order)]
    assert d.copy() == model
    assert d == model and model == d and not (d != model)
    for k in KEYS:
        assert (k in d) == (k in model)
        assert d.get(k, "<none>") == model.get(k, "<none>")


def step(rng, d, model):
    op = rng.choice(["set", "set", "set", "del", "pop", "pop_default", "popitem", "setdefault",
                     "update_map", "update_pairs", "update_kw", "clear", "get", "getitem",
                     "contains", "len", "iter", "views", "eq", "or", "ior", "keys_setops",
                     "items_contains"])
    k = rng.choice(KEYS)
    v = random_value(rng)
    if op == "set":
        d[k] = v
        model[k] = v
    elif op == "del":
        def delete(m):
            del m[k]
        assert outcome(lambda: delete(d)) == outcome(lambda: delete(model))
    elif op == "pop":
        assert outcome(lambda: d.pop(k)) == outcome(lambda: model.pop(k))
    elif op == "pop_default":
        assert d.pop(k, "dflt") == model.pop(k, "dflt")
    elif op == "popitem":
        if model:
            pk, pv = d.popitem()
            assert model.pop(pk) == pv
        else:
            with pytest.raises(KeyError):
                d.popitem()
    elif op == "setdefault":
        assert d.setdefault(k, v) == model.setdefault(k, v)
    elif op == "update_map":
        other = {rng.choice(KEYS): random_value(rng) for _ in range(3)}
        d.update(other)
        model.update(other)
    elif op == "update_pairs":
        pairs = [(rng.choice(KEYS), random_value(rng)) for _ in range(3)]
        d.update(pairs)
        model.update(pairs)
    elif op == "update_kw":
        d.update(kw1=v, kw2=1)
        model.update(kw1=v, kw2=1)
    elif op == "clear":
        if rng.random() < 0.3:
            d.clear()
            model.clear()
    elif op == "get":
        assert d.get(k) == model.get(k)
    elif op == "getitem":
        assert outcome(lambda: d[k]) == outcome(lambda: model[k])
    elif op == "contains":
        assert (k in d) == (k in model)
    elif op == "len":
        assert len(d) == len(model)
    elif op == "iter":
        assert sorted(d, key=key_order) == sorted(model, key=key_order)
    elif op == "views":
        keys, items, values = d.keys(), d.items(), d.values()
        d[k] = v  # views are live: they see this change
        model[k] = v
        assert len(keys) == len(model) and k in keys and (k, v) in items
        assert v in values
    elif op == "eq":
        other = dict(model)
        assert (d == other) is True
        other["__extra__"] = 1
        assert (d == other) is False and (d != other) is True
    elif op == "or":
        other = {rng.choice(KEYS): random_value(rng)}
        assert (d | other) == (model | other)
        assert (other | d) == (other | model)
        assert type(d | other) is dict
    elif op == "ior":
        other = {rng.choice(KEYS): random_value(rng)}
        d |= other
        model |= other
    elif op == "keys_setops":
        other = set(rng.sample(KEYS, 4))
        assert d.keys() & other == model.keys() & other
        assert d.keys() | other == model.keys() | other
        assert d.keys() - other == model.keys() - other
        assert d.keys() ^ other == model.keys() ^ other
        assert d.keys().isdisjoint(other) == model.keys().isdisjoint(other)
    elif op == "items_contains":
        if model:
            mk = rng.choice(list(model))
            assert (mk, model[mk]) in d.items()
        assert ((k, "never stored") in d.items()) is False


@pytest.mark.parametrize("seed", range(6))
def test_model__random_operations_match_a_dict(db_path, seed):
    rng = random.Random(seed)
    model = {}
    with Permadict(db_path) as d:
        for _ in range(250):
            step(rng, d, model)
            check_same(d, model)
    with Permadict(db_path) as reopened:  # and it all was really in the file
        check_same(reopened, model)


def test_model__in_memory_dict_behaves_the_same():
    rng = random.Random(99)
    model = {}
    with Permadict() as d:
        for _ in range(200):
            step(rng, d, model)
            check_same(d, model)


# ------------------------------------------------- versions, changes, namespaces

class LoggedModel:
    """A namespace as a dict, its version and its change log: (version, op, key)."""

    def __init__(self):
        self.data, self.version, self.log = {}, 0, []

    def record(self, op, key):
        self.version += 1
        self.log.append((self.version, op, key))

    def state(self):
        return dict(self.data), self.version, list(self.log)

    def restore(self, state):
        self.data, self.version, self.log = dict(state[0]), state[1], list(state[2])


def logged_step(rng, d, model):
    """One write on d, recorded in model as the change log should list it."""
    op = rng.choice(["set", "del", "pop", "popitem", "setdefault", "update", "clear", "incr",
                     "cas_swap", "cas_insert", "cas_delete", "cas_miss"])
    k = rng.choice(KEYS)
    v = random_value(rng)
    if op == "set":
        d[k] = v
        model.data[k] = v
        model.record("set", k)
    elif op in ("del", "pop", "cas_delete"):
        present = k in model.data
        if op == "del":
            with contextlib.nullcontext() if present else pytest.raises(KeyError):
                del d[k]
        elif op == "pop":
            assert d.pop(k, "absent") == model.data.get(k, "absent")
        elif op == "cas_delete":
            # Swaps also when absent (ABSENT for ABSENT), but then logs nothing.
            assert d.compare_and_set(k, model.data.get(k, ABSENT), ABSENT) is True
        if present:
            del model.data[k]
            model.record("delete", k)
    elif op == "popitem" and model.data:
        first = min(model.data, key=key_order)
        assert d.popitem() == (first, model.data.pop(first))
        model.record("delete", first)
    elif op == "setdefault":
        absent = k not in model.data
        assert d.setdefault(k, v) == model.data.setdefault(k, v)
        if absent:
            model.record("set", k)
    elif op == "update":
        pairs = [(rng.choice(KEYS), random_value(rng)) for _ in range(rng.randrange(4))]
        d.update(pairs)
        for pk, pv in pairs:  # one change per item, repeated keys included
            model.data[pk] = pv
            model.record("set", pk)
    elif op == "clear" and rng.random() < 0.3:
        d.clear()
        model.data.clear()
        model.record("clear", None)
    elif op == "incr":
        k = rng.choice(["n1", "n2"])
        model.data[k] = model.data.get(k, 0) + 7
        assert d.incr(k, 7) == model.data[k]
        model.record("set", k)
    elif op in ("cas_swap", "cas_insert", "cas_miss"):
        old = {"cas_swap": model.data.get(k, ABSENT), "cas_insert": ABSENT,
               "cas_miss": "never stored"}[op]
        swaps = {"cas_swap": True, "cas_insert": k not in model.data, "cas_miss": False}[op]
        assert d.compare_and_set(k, old, v) is swaps
        if swaps:
            model.data[k] = v
            model.record("set", k)


def check_log(d, model, rng, in_transaction=False):
    assert d.version == model.version
    for since in {0, model.version, rng.randrange(model.version + 1)}:
        assert [tuple(c) for c in d.changes(since)] == [c for c in model.log if c[0] > since]
    with pytest.raises(ResyncNeeded):
        d.changes(model.version + 1)
    if in_transaction:
        return  # wait() there is a MisuseError
    assert d.wait(model.version, 0) is None
    if model.version:
        assert d.wait(model.version - 1, 0) == model.version


@pytest.mark.parametrize("seed", range(4))
def test_model__versions_changes_transactions_and_namespaces_match_a_model(db_path, seed):
    """Writes (alone or in transactions that commit or roll back) on two namespaces of
    one file, read through a second handle each, reopened and dropped at random: the
    contents, versions and change logs always match the model's."""
    rng = random.Random(seed)
    names = ["default", "other"]
    models = {name: LoggedModel() for name in names}
    writers = {name: Permadict(db_path, name) for name in names}
    readers = {name: Permadict(db_path, name, readonly=True) for name in names}
    for _ in range(150):
        name = rng.choice(names)
        d, model = writers[name], models[name]
        r = rng.random()
        if r < 0.6:
            logged_step(rng, d, model)
        elif r < 0.85:
            before = model.state()
            with pytest.raises(ZeroDivisionError) if r < 0.7 else contextlib.nullcontext():
                with d.transaction():
                    for _ in range(rng.randrange(1, 6)):
                        logged_step(rng, d, model)
                    check_same(d, model.data)  # its own writes, versions included
                    check_log(d, model, rng, in_transaction=True)
                    assert readers[name].version == before[1]  # nothing of it yet
                    if r < 0.7:
                        1 / 0
            if r < 0.7:
                model.restore(before)
        elif r < 0.95:
            for handles in (writers, readers):
                handles[name].close()
            writers[name] = Permadict(db_path, name)
            readers[name] = Permadict(db_path, name, readonly=True)
        else:
            writers[name].drop_namespace(name)
            with pytest.raises(GoneError):
                writers[name]["k"] = 1
            assert len(writers[name]) == len(readers[name]) == 0  # read as empty
            for handles in (writers, readers):
                handles[name].close()
            models[name] = LoggedModel()  # recreated empty, versions from 0
            writers[name] = Permadict(db_path, name)
            readers[name] = Permadict(db_path, name, readonly=True)
        for each in names:
            for h in (writers[each], readers[each]):
                check_same(h, models[each].data)
                check_log(h, models[each], rng)
        assert permadict.namespaces(db_path) == sorted(names)
    for d in (*writers.values(), *readers.values()):
        d.close()
