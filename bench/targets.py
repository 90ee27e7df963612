"""The speed targets of issues 3, 4, 6 and 7, as data for report.py.

Each target names where its figure comes from: a kv median ("kv", lang,
store, kind, op), a ratio of two kv medians, a field of the incr, memory or
watch results. "max" targets pass when the figure is at most the limit,
"min" targets when it is at least the limit; a bound of None is an
informational line (no required value, no verdict).
get_hit, get_miss and contains are warm (after an untimed pass over every
key); get_first is the first read of each key on a freshly opened handle.
"""

KV_TARGETS = [
    # (label, issue, figure, bound, limit, unit)
    ("C get hit", "#7", ("kv", "c", "permadict", "text100", "get_hit"), "max", 1.0, "µs"),
    ("C get miss", "#7", ("kv", "c", "permadict", "text100", "get_miss"), "max", 0.5, "µs"),
    ("C first read of a key ÷ raw SQLite first read", "—",
     ("ratio", ("c", "permadict", "text100", "get_first"),
      ("c", "sqlite", "text100", "get_first")), None, None, "×"),
    ("C set autocommit ÷ raw SQLite autocommit", "#7",
     ("ratio", ("c", "permadict", "text100", "set_autocommit"),
      ("c", "sqlite", "text100", "set_autocommit")), "max", 1.1, "×"),
    ("C set inside a transaction, 100-byte text", "#7",
     ("kv", "c", "permadict", "text100", "set_txn"), "max", 2.0, "µs"),
    ("C set inside a transaction ÷ raw SQLite in permadict's layout", "—",
     ("ratio", ("c", "permadict", "text100", "set_txn"),
      ("c", "sqlite-permadict-layout", "text100", "set_txn")), None, None, "×"),
    ("raw SQLite set inside a transaction: permadict's layout ÷ one-key table", "—",
     ("ratio", ("c", "sqlite-permadict-layout", "text100", "set_txn"),
      ("c", "sqlite", "text100", "set_txn")), None, None, "×"),
    ("C set inside a transaction, 1 KiB bytes", "#7",
     ("kv", "c", "permadict", "bytes1k", "set_txn"), "max", 2.0, "µs"),
    ("C count (len)", "#7", ("kv", "c", "permadict", "text100", "len"), "max", 1.0, "µs"),
    ("Python get hit", "#7", ("kv", "python", "permadict", "text100", "get_hit"), "max", 1.5, "µs"),
    ("Python get hit: diskcache Cache ÷ permadict", "#7",
     ("ratio", ("python", "diskcache-Cache", "text100", "get_hit"),
      ("python", "permadict", "text100", "get_hit")), "min", 9.0, "×"),
    ("Python get hit: diskcache Index ÷ permadict", "#3",
     ("ratio", ("python", "diskcache-Index", "text100", "get_hit"),
      ("python", "permadict", "text100", "get_hit")), "min", 5.0, "×"),
    ("Python set inside a transaction", "#7",
     ("kv", "python", "permadict", "text100", "set_txn"), "max", 3.0, "µs"),
    ("Python set autocommit", "#7",
     ("kv", "python", "permadict", "text100", "set_autocommit"), "max", 35.0, "µs"),
    ("Python set autocommit ÷ sqlite3 module autocommit", "#3",
     ("ratio", ("python", "permadict", "text100", "set_autocommit"),
      ("python", "sqlite3", "text100", "set_autocommit")), "max", 1.0, "×"),
    ("Lua get hit", "#7", ("kv", "lua", "permadict", "text100", "get_hit"), "max", 1.5, "µs"),
    ("Lua get hit ÷ C get hit", "#4",
     ("ratio", ("lua", "permadict", "text100", "get_hit"),
      ("c", "permadict", "text100", "get_hit")), "max", 2.0, "×"),
    ("Lua get hit: LuaSQL ÷ permadict", "#4",
     ("ratio", ("lua", "luasql", "text100", "get_hit"),
      ("lua", "permadict", "text100", "get_hit")), "min", 1.0, "×"),
]

INCR_TARGETS = [
    ("4-process increments (2 Python, 1 Lua, 1 C): throughput", "#7", "permadict-mixed",
     "throughput", "min", 35000, "/s"),
    ("4-process increments: p99 latency", "#7", "permadict-mixed", "p99_us", "max", 1000, "µs"),
    ("4-process increments: max latency", "#7", "permadict-mixed", "max_us", "max", 20000, "µs"),
    ("4-process increments: lost updates", "#7", "permadict-mixed", "lost", "max", 0, ""),
]

MEMORY_TARGETS = [
    ("C iteration over 1,000,000 entries: peak RSS growth", "#7", "c", "rss_growth_mib", "max", 20, "MiB"),
    ("Python iteration over 1,000,000 entries: peak RSS growth", "#7", "python", "rss_growth_mib",
     "max", 20, "MiB"),
]

WATCH_TARGETS = [
    ("Watch: commit to wake-up, median", "#6", "p50_us", "max", 1000, "µs"),
    ("Watch: commit to wake-up, p99", "#6", "p99_us", "max", 5000, "µs"),
    ("Watch: idle watcher CPU", "#6", "idle_cpu_pct", "max", 1.0, "% of a core"),
]
