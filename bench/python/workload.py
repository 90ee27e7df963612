"""The workload's keys and values, the same for every Python store.

Keys are 16-character text like the C harness's ("key:000000000042"); values
come in four kinds. Everything is built before any clock starts.
"""
import random

KINDS = ("text100", "int", "bytes1k", "map")
CHUNK = 256


def _key_list(prefix, n):
    digits = 16 - len(prefix)
    return [f"{prefix}{i:0{digits}d}" for i in range(n)]


def value_of(kind, i, text_pool, bytes_pool):
    if kind == "text100":
        off = (i * 7919) % (len(text_pool) - 100)
        return text_pool[off:off + 100]
    if kind == "int":
        return i * 1000003
    if kind == "bytes1k":
        off = (i * 7919) % (len(bytes_pool) - 1024)
        return bytes_pool[off:off + 1024]
    return {"id": i, "name": f"user-{i}", "pos": {"x": i * 0.5, "y": -2.25},
            "tags": ["alpha", "beta"]}


class Workload:
    def __init__(self, n, seed=42):
        rng = random.Random(seed)
        self.n = n
        self.keys = _key_list("key:", n)
        self.misses = _key_list("miss:", n)
        self.fresh = _key_list("new:", n)
        order = list(range(n))
        rng.shuffle(order)
        self.order = order
        self.text_pool = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(1 << 17))
        self.bytes_pool = rng.randbytes(1 << 17)

    def values(self, kind, offset=0):
        return [value_of(kind, i + offset, self.text_pool, self.bytes_pool) for i in range(self.n)]

    def chunks(self, seq):
        """seq in the shuffled order, cut into chunks for the timed loops."""
        shuffled = [seq[i] for i in self.order]
        return [shuffled[i:i + CHUNK] for i in range(0, len(shuffled), CHUNK)]

    @staticmethod
    def chunks_in_order(seq):
        """seq as it is, cut into chunks: new keys are set in key order, as C and Lua do."""
        return [seq[i:i + CHUNK] for i in range(0, len(seq), CHUNK)]
