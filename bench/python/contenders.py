"""The Python stores compared by bench_kv.py, each behind one small adapter.

Every adapter works on whole chunks of keys (get_hits(keys), put(keys, values)...)
so that the timed loop is the store's own API in a plain ``for`` loop: a method
call per operation would add the adapter's cost to every store and swamp the
fast ones (dict, lmdb). Each adapter lists the operations it takes part in:
a store without transactions has no "inside one transaction" figures, and
sqlitedict's batched mode differs from its autocommit mode only in writes.
"""
import contextlib
import os
import shutil

import msgpack

READS = {"open", "len", "get_first", "get_hit", "get_miss", "contains", "iterate"}
TXN_WRITES = {"set_txn", "overwrite_txn", "delete_txn"}
ALL_OPS = READS | TXN_WRITES | {"set_autocommit"}


def _remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    for suffix in ("", "-wal", "-shm", "-journal", "-lock", ".db", ".dir", ".pag", ".dat", ".bak"):
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            os.remove(path + suffix)


class Store:
    """Defaults shared by the adapters; each overrides what differs."""
    name = "?"
    ops = ALL_OPS

    def __init__(self, path, kind):
        self.path = path
        self.kind = kind

    def remove(self):
        _remove(self.path)

    def transaction(self):
        return contextlib.nullcontext()

    def flush(self):
        """Make autocommit writes durable before the clock stops (async stores)."""

    def fill(self, keys, values):
        with self.transaction():
            self.put(keys, values)

    def close(self):
        pass

    # The operations, each over a chunk of keys; d is the store's own object.
    def get_hits(self, keys):
        d = self.d
        for k in keys:
            d[k]

    def get_misses(self, keys):
        d = self.d
        for k in keys:
            try:
                d[k]
            except KeyError:
                continue
            raise AssertionError(f"{self.name}: absent key {k!r} found")

    def contains(self, keys):
        d = self.d
        for k in keys:
            if k not in d:
                raise AssertionError(f"{self.name}: present key {k!r} missing")

    def put(self, keys, values):
        d = self.d
        for k, v in zip(keys, values):
            d[k] = v

    def delete(self, keys):
        d = self.d
        for k in keys:
            del d[k]

    def count(self):
        return self.counts(1)

    def counts(self, times):
        """Counts the entries times times in the store's own loop (the last count): an
        adapter call and a clock read per len would cost more than dict's or permadict's len."""
        d = self.d
        for _ in range(times):
            n = len(d)
        return n

    def iterate(self):
        n = 0
        for _k, _v in self.d.items():
            n += 1
        return n


class DictStore(Store):
    name = "dict"
    ops = ALL_OPS - {"open"}

    def open(self):
        if not hasattr(self, "d"):
            self.d = {}

    def remove(self):
        self.__dict__.pop("d", None)


class Sqlite3Store(Store):
    name = "sqlite3"

    def open(self):
        import sqlite3
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY NOT NULL, value)")
        self.encode = msgpack.packb if self.kind == "map" else None
        self.decode = msgpack.unpackb if self.kind == "map" else None

    def close(self):
        self.db.close()

    @contextlib.contextmanager
    def transaction(self):
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def get_hits(self, keys):
        ex, dec = self.db.execute, self.decode
        for k in keys:
            row = ex("SELECT value FROM kv WHERE key = ?", (k,)).fetchone()
            if row is None:
                raise KeyError(k)
            if dec:
                dec(row[0])

    def get_misses(self, keys):
        ex = self.db.execute
        for k in keys:
            if ex("SELECT value FROM kv WHERE key = ?", (k,)).fetchone() is not None:
                raise AssertionError(k)

    def contains(self, keys):
        ex = self.db.execute
        for k in keys:
            if ex("SELECT 1 FROM kv WHERE key = ?", (k,)).fetchone() is None:
                raise AssertionError(k)

    def put(self, keys, values):
        ex, enc = self.db.execute, self.encode
        for k, v in zip(keys, values):
            ex("INSERT OR REPLACE INTO kv(key, value) VALUES (?, ?)", (k, enc(v) if enc else v))

    def delete(self, keys):
        ex = self.db.execute
        for k in keys:
            if ex("DELETE FROM kv WHERE key = ?", (k,)).rowcount != 1:
                raise KeyError(k)

    def counts(self, times):
        ex = self.db.execute
        for _ in range(times):
            n = ex("SELECT count(*) FROM kv").fetchone()[0]
        return n

    def iterate(self):
        n, dec = 0, self.decode
        for _k, v in self.db.execute("SELECT key, value FROM kv ORDER BY key"):
            if dec:
                dec(v)
            n += 1
        return n


class SqliteDictStore(Store):
    name = "sqlitedict"
    ops = READS | {"set_autocommit"}
    autocommit = True

    def open(self):
        from sqlitedict import SqliteDict
        self.d = SqliteDict(self.path, autocommit=self.autocommit)

    def close(self):
        self.d.close()

    def flush(self):
        self.d.commit(blocking=True)

    def fill(self, keys, values):
        from sqlitedict import SqliteDict
        self.d.close()
        with SqliteDict(self.path, autocommit=False) as batch:
            batch.update(zip(keys, values))
            batch.commit()
        self.open()

    def iterate(self):
        n = 0
        for _k, _v in self.d.items():
            n += 1
        return n


class SqliteDictBatchedStore(SqliteDictStore):
    name = "sqlitedict-batched"
    ops = TXN_WRITES
    autocommit = False

    @contextlib.contextmanager
    def transaction(self):
        yield
        self.d.commit(blocking=True)

    def fill(self, keys, values):
        with self.transaction():
            self.put(keys, values)


class DiskcacheCacheStore(Store):
    name = "diskcache-Cache"

    def open(self):
        import diskcache
        self.d = diskcache.Cache(self.path)

    def close(self):
        self.d.close()

    def transaction(self):
        return self.d.transact()

    def iterate(self):
        # Cache has no items(): walk the keys and read each value, as users do.
        n, d = 0, self.d
        for k in d.iterkeys():
            d[k]
            n += 1
        return n


class DiskcacheIndexStore(DiskcacheCacheStore):
    name = "diskcache-Index"

    def open(self):
        import diskcache
        self.d = diskcache.Index(self.path)

    def close(self):
        self.d.cache.close()

    def iterate(self):
        n = 0
        for _k, _v in self.d.items():
            n += 1
        return n


class ShelveStore(Store):
    name = "shelve"
    ops = ALL_OPS - TXN_WRITES

    def open(self):
        import shelve
        self.d = shelve.open(self.path)

    def close(self):
        self.d.close()

    def fill(self, keys, values):
        self.put(keys, values)
        self.d.sync()


class LmdbStore(Store):
    name = "lmdb"

    def open(self):
        import lmdb
        self.env = lmdb.open(self.path, map_size=8 << 30, subdir=False, sync=False,
                             lock=True, max_dbs=0)
        self.wtxn = None
        kind = self.kind
        if kind == "text100":
            self.enc, self.dec = str.encode, bytes.decode
        elif kind == "bytes1k":
            self.enc = self.dec = None
        else:
            self.enc, self.dec = msgpack.packb, msgpack.unpackb

    def close(self):
        self.env.close()

    def remove(self):
        _remove(self.path)

    @contextlib.contextmanager
    def transaction(self):
        with self.env.begin(write=True) as txn:
            self.wtxn = txn
            try:
                yield
            finally:
                self.wtxn = None

    def get_hits(self, keys):
        begin, dec = self.env.begin, self.dec
        for k in keys:
            with begin() as txn:
                v = txn.get(k.encode())
            if v is None:
                raise KeyError(k)
            if dec:
                dec(v)

    def get_misses(self, keys):
        begin = self.env.begin
        for k in keys:
            with begin() as txn:
                if txn.get(k.encode()) is not None:
                    raise AssertionError(k)

    def contains(self, keys):
        begin = self.env.begin
        for k in keys:
            with begin() as txn:
                if txn.get(k.encode()) is None:
                    raise AssertionError(k)

    def put(self, keys, values):
        enc = self.enc
        if self.wtxn is not None:
            put = self.wtxn.put
            for k, v in zip(keys, values):
                put(k.encode(), enc(v) if enc else v)
            return
        begin = self.env.begin
        for k, v in zip(keys, values):
            with begin(write=True) as txn:
                txn.put(k.encode(), enc(v) if enc else v)

    def delete(self, keys):
        txn = self.wtxn
        for k in keys:
            if not txn.delete(k.encode()):
                raise KeyError(k)

    def counts(self, times):
        stat = self.env.stat
        for _ in range(times):
            n = stat()["entries"]
        return n

    def iterate(self):
        n, dec = 0, self.dec
        with self.env.begin() as txn:
            for k, v in txn.cursor():
                k.decode()
                if dec:
                    dec(v)
                n += 1
        return n


class PermadictStore(Store):
    name = "permadict"

    def open(self):
        from permadict import Permadict
        self.d = Permadict(self.path)

    def close(self):
        self.d.close()

    def transaction(self):
        return self.d.transaction()

    def iterate(self):
        n = 0
        items = getattr(self.d, "items", None)
        if items is None:
            d = self.d
            for k in d:
                d[k]
                n += 1
            return n
        for _k, _v in items():
            n += 1
        return n


STORES = [DictStore, Sqlite3Store, SqliteDictStore, SqliteDictBatchedStore,
          DiskcacheCacheStore, DiskcacheIndexStore, ShelveStore, LmdbStore, PermadictStore]


def store_named(name):
    for cls in STORES:
        if cls.name == name:
            return cls
    raise SystemExit(f"bench_kv.py: unknown store {name!r} "
                     f"(known: {', '.join(c.name for c in STORES)})")
