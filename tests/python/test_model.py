"""A Permadict and a dict receive the same random operations; after every step
they must agree (content, and the result or exception of the operation)."""

import random

import pytest

from permadict import Permadict

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
