"""Turns the JSON lines of one bench/run.sh run into docs/BENCHMARKS.md and docs/bench.svg.

usage: report.py RESULTS_DIR OUT_MD OUT_SVG
RESULTS_DIR holds *.jsonl (from bench_kv, bench_kv.py, bench_kv.lua, incr.py,
bench_memory, memory_iter.py, bench_watch) and meta.json (from run.sh).
Every number in the report is a median of what the runs measured; a figure
that was not measured, or whose run failed, says so instead of a number.
"""
import glob
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targets import INCR_TARGETS, KV_TARGETS, MEMORY_TARGETS, WATCH_TARGETS  # noqa: E402

OPS = [("get_first", "get (first read of a key)"), ("get_hit", "get (hit)"), ("get_miss", "get (miss)"), ("contains", "contains"),
       ("set_autocommit", "set, autocommit (new key)"), ("set_txn", "set inside one transaction"),
       ("overwrite_txn", "overwrite inside one transaction"), ("delete_txn", "delete inside one transaction"),
       ("iterate", "full iteration, per item"), ("len", "len / count"), ("open", "open + close")]
KINDS = [("text100", "100-byte text"), ("int", "int"), ("bytes1k", "1 KiB bytes"), ("map", "small nested map")]
LANGS = [("c", "C"), ("python", "Python"), ("lua", "Lua")]
STORE_ORDER = {
    "c": ["permadict", "sqlite", "sqlite-mmap-readtxn", "sqlite-permadict-layout", "lmdb"],
    "python": ["permadict", "dict", "sqlite3", "sqlitedict", "sqlitedict-batched", "diskcache-Cache",
               "diskcache-Index", "shelve", "lmdb"],
    "lua": ["permadict", "table", "luasql"],
}
# Shown in the tables, left out of the chart: a measuring aid, not an alternative.
NOT_CHARTED = {"sqlite-permadict-layout"}
STORE_NOTES = {
    ("c", "permadict"): "libpermadict, public C API, default options",
    ("c", "sqlite"): "raw SQLite: rowid table with a unique key, WAL, synchronous=NORMAL, "
                     "prepared statements reused, one implicit transaction per statement",
    ("c", "sqlite-mmap-readtxn"): "as sqlite, plus mmap_size=1 GiB, and each run of reads inside one "
                                  "long read transaction (the practical limit; such a reader does not "
                                  "see other processes' commits meanwhile)",
    ("c", "sqlite-permadict-layout"): "as sqlite, but in permadict's table and partial (namespace, key) "
                                      "index (docs/FORMAT.md), with its upsert and chosen rowid, and "
                                      "without its change log, read cache or checks: what SQLite itself "
                                      "costs in that layout (not an alternative; len is SQL COUNT(*))",
    ("c", "lmdb"): "LMDB (liblmdb), MDB_NOSYNC, one reusable read transaction renewed per get",
    ("python", "permadict"): "`from permadict import Permadict`, defaults",
    ("python", "dict"): "Python's dict: the in-memory floor, stores nothing",
    ("python", "sqlite3"): "sqlite3 module, WAL, synchronous=NORMAL, INSERT OR REPLACE / SELECT "
                           "(the module caches prepared statements); maps as MessagePack",
    ("python", "sqlitedict"): "sqlitedict, autocommit=True, its defaults otherwise (journal DELETE, pickle, "
                              "and synchronous=OFF, which it sets itself: it never syncs)",
    ("python", "sqlitedict-batched"): "sqlitedict, autocommit=False, commit() per batch (writes only: "
                                      "its reads are sqlitedict's)",
    ("python", "diskcache-Cache"): "diskcache.Cache defaults; transactions with cache.transact()",
    ("python", "diskcache-Index"): "diskcache.Index; transactions with index.transact()",
    ("python", "shelve"): "shelve over dbm.ndbm; no transactions (and no durability before close)",
    ("python", "lmdb"): "py-lmdb, sync=False, one read transaction per get; values encoded/decoded "
                        "(UTF-8, MessagePack)",
    ("lua", "permadict"): "the permadict Lua binding (d[k], d[k] = v, permadict.begin/commit, "
                          "permadict.pairs)",
    ("lua", "table"): "a plain Lua table: the floor (it has no count: len walks it)",
    ("lua", "luasql"): "LuaSQL's sqlite3 driver (Debian lua-sql-sqlite3): SQL text per call, "
                       "no prepared statements; WAL, synchronous=NORMAL; no maps",
}


def load(results_dir):
    rows = []
    for path in sorted(glob.glob(os.path.join(results_dir, "*.jsonl"))):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    rows.append(json.loads(line))
    with open(os.path.join(results_dir, "meta.json")) as f:
        meta = json.load(f)
    return rows, meta


class Figures:
    """Medians, spreads and failures of the kv suite, keyed (lang, store, kind, op)."""

    def __init__(self, rows):
        self.values, self.errors, self.failed_runs = {}, {}, {}
        for r in rows:
            if r.get("suite") != "kv":
                continue
            key = (r["lang"], r["store"], r["kind"], r["op"])
            if "error" in r:
                self.errors.setdefault(key, r["error"])
                self.failed_runs[key] = self.failed_runs.get(key, 0) + 1
            else:
                self.values.setdefault(key, []).append(r["us"])

    def median(self, key):
        v = self.values.get(key)
        return statistics.median(v) if v else None

    def cell(self, key, versus=None):
        """'1.23 µs (1.20–1.31)' plus, against permadict, how many times slower this one is."""
        v = self.values.get(key)
        if not v:
            return "failed" if key in self.errors else "—"
        text = fmt_us(statistics.median(v))
        if len(v) > 1:
            text += f" <sub>{fmt_num(min(v))}–{fmt_num(max(v))}</sub>"
        failed = self.failed_runs.get(key, 0)
        if failed:  # the median is of the runs that completed: say so
            text += f" <sub>({failed} of {failed + len(v)} runs failed)</sub>"
        if versus is not None:
            pd = self.median(versus)
            if pd:
                text += f" · **{fmt_ratio(statistics.median(v) / pd)}**"
        return text


def fmt_num(x):
    if isinstance(x, int):  # a count (lost updates): no decimals to suggest a fraction
        return f"{x:,}"
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def fmt_us(x):
    return fmt_num(x) + " µs"


def fmt_ratio(r):
    return f"{r:.2g}×" if r < 10 else f"{r:,.0f}×"


def stores_present(fig, lang):
    seen = {k[1] for k in list(fig.values) + list(fig.errors) if k[0] == lang}
    return [s for s in STORE_ORDER[lang] if s in seen] + sorted(seen - set(STORE_ORDER[lang]))


def kv_table(fig, lang, kind, ops):
    stores = stores_present(fig, lang)
    if not stores:
        return []
    has_pd = "permadict" in stores
    out = ["| operation | " + " | ".join(f"`{s}`" for s in stores) + " |",
           "|---|" + "---|" * len(stores)]
    for op, label in ops:
        cells = []
        if not any((lang, s, kind, op) in fig.values or (lang, s, kind, op) in fig.errors for s in stores):
            continue
        for s in stores:
            versus = (lang, "permadict", kind, op) if has_pd and s != "permadict" else None
            cells.append(fig.cell((lang, s, kind, op), versus))
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return out


def judge(value, bound, limit):
    return value <= limit if bound == "max" else value >= limit


def miss_text(value, bound, limit, unit):
    if judge(value, bound, limit):
        return "met"
    if bound == "max":
        if limit == 0:
            return f"**missed** ({fmt_num(value)} instead of 0)"
        return f"**missed** by {100 * (value / limit - 1):.0f}% ({fmt_num(value - limit)} {unit} over)"
    return (f"**missed**: {fmt_num(value)} {unit} is {100 * (1 - value / limit):.0f}% short"
            if value else "**missed**")


def kv_target_value(fig, figure):
    if figure[0] == "kv":
        key = figure[1:]
        return fig.median(key), fig.errors.get(key)
    num, den = fig.median(figure[1]), fig.median(figure[2])
    err = fig.errors.get(figure[1]) or fig.errors.get(figure[2])
    if num is None or den is None:
        return None, err
    return num / den, None


def targets_table(fig, incr, memory, watch):
    out = ["| target | issue | required | measured (median) | verdict |", "|---|---|---|---|---|"]

    def row(label, issue, bound, limit, unit, value, err, missing="not measured"):
        # A target without a limit is informational: a figure shown next to the targets.
        req = "—" if bound is None else (
            ("≤ " if bound == "max" else "≥ ") + f"{fmt_num(limit) if limit else 0} {unit}".strip())
        if value is None:
            verdict = f"**failed**: {err}" if err else f"**{missing}**"
            out.append(f"| {label} | {issue} | {req} | — | {verdict} |")
        elif bound is None:
            out.append(f"| {label} | {issue} | {req} | {fmt_num(value)} {unit} | informational |")
        else:
            out.append(f"| {label} | {issue} | {req} | {fmt_num(value)} {unit} | "
                       f"{miss_text(value, bound, limit, unit)} |")

    for label, issue, figure, bound, limit, unit in KV_TARGETS:
        value, err = kv_target_value(fig, figure)
        row(label, issue, bound, limit, unit, value, err)
    for label, issue, scenario, field, bound, limit, unit in INCR_TARGETS:
        runs = [r for r in incr if r["scenario"] == scenario]
        good = [r[field] for r in runs if "error" not in r]
        err = next((r["error"] for r in runs if "error" in r), None)
        value = (max(good) if field == "lost" else statistics.median(good)) if good else None
        row(label, issue, bound, limit, unit, value, err)
    for label, issue, lang, field, bound, limit, unit in MEMORY_TARGETS:
        runs = [r for r in memory if r["lang"] == lang and r["store"] == "permadict"]
        good = [r[field] for r in runs if "error" not in r]
        err = next((r["error"] for r in runs if "error" in r), None)
        row(label, issue, bound, limit, unit, max(good) if good else None, err)
    for label, issue, field, bound, limit, unit in WATCH_TARGETS:
        good = [r[field] for r in watch if "error" not in r]
        err = next((r["error"] for r in watch if "error" in r), None)
        row(label, issue, bound, limit, unit, statistics.median(good) if good else None, err,
            missing="not yet measured (TODO)")
    return out


def incr_table(incr):
    out = ["| scenario | processes | increments/s | lost | p50 | p99 | max |", "|---|---|---|---|---|---|---|"]
    names = {"permadict-mixed": "`permadict` (mixed languages)", "permadict-c": "`permadict` (C only)",
             "sqlite": "raw SQLite: UPDATE in BEGIN IMMEDIATE, default busy handler",
             "diskcache": "`diskcache` Cache.incr"}
    for scenario in ["permadict-mixed", "permadict-c", "sqlite", "diskcache"]:
        runs = [r for r in incr if r["scenario"] == scenario]
        if not runs:
            continue
        good = [r for r in runs if "error" not in r]
        if not good:
            out.append(f"| {names[scenario]} | — | failed: {runs[0]['error']} | | | | |")
            continue
        med = lambda f: statistics.median(r[f] for r in good)  # noqa: E731
        out.append(f"| {names[scenario]} | {good[0]['processes']} | {med('throughput'):,.0f} | "
                   f"{max(r['lost'] for r in good)} | {fmt_us(med('p50_us'))} | {fmt_us(med('p99_us'))} | "
                   f"{fmt_us(med('max_us'))} |")
    return out


def memory_table(memory):
    out = ["| language | store | entries | peak RSS growth | RSS after open | time per item |",
           "|---|---|---|---|---|---|"]
    for r in memory:
        if "error" in r:
            out.append(f"| {r['lang']} | `{r['store']}` | {r['entries']:,} | failed: {r['error']} | | |")
        else:
            out.append(f"| {r['lang']} | `{r['store']}` | {r['entries']:,} | {r['rss_growth_mib']:.1f} MiB | "
                       f"{r['rss_before_mib']:.1f} MiB | {fmt_us(r['us_per_item'])} |")
    return out


def chart(fig, results_dir, out_svg):
    """A clustered bar chart (log scale) of the main operations, text values."""
    ops = [("get_hit", "get (hit)"), ("set_txn", "set in a transaction"),
           ("set_autocommit", "set, autocommit"), ("iterate", "iteration per item")]
    data = os.path.join(results_dir, "chart.dat")
    with open(data, "w") as f:
        f.write("store " + " ".join(f'"{label}"' for _, label in ops) + "\n")
        for lang, lname in LANGS:
            for s in stores_present(fig, lang):
                if s in NOT_CHARTED:
                    continue
                vals = [fig.median((lang, s, "text100", op)) for op, _ in ops]
                if all(v is None for v in vals):
                    continue
                f.write(f'"{lname}: {s}" ' + " ".join("?" if v is None else f"{v:.4f}" for v in vals) + "\n")
    script = f"""
set terminal svg size 1100,600 dynamic font "sans,11" background rgb "white"
set output "{out_svg}"
set title "permadict and the alternatives: microseconds per operation (log scale, lower is better; 100-byte text values)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set format y "%g"
set ylabel "µs per operation"
set datafile missing "?"
set xtics rotate by -35 scale 0 font ",10"
set grid ytics
set key outside top center horizontal
set boxwidth 0.9
plot "{data}" using 2:xtic(1) title columnheader(2), '' using 3 title columnheader(3), \\
     '' using 4 title columnheader(4), '' using 5 title columnheader(5)
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main():
    results_dir, out_md, out_svg = sys.argv[1:4]
    rows, meta = load(results_dir)
    fig = Figures(rows)
    incr = [r for r in rows if r.get("suite") == "incr"]
    memory = [r for r in rows if r.get("suite") == "memory"]
    watch = [r for r in rows if r.get("suite") == "watch"]
    md = ["# Benchmarks: permadict side by side with the alternatives", "",
          "<!-- Generated by bench/run.sh (bench/report.py): do not edit by hand. -->", "",
          f"Produced by `{meta['command']}` on {meta['date']}.",
          "**Absolute times vary by machine** (and with whatever else it is doing): compare the "
          "stores with each other within one run, and run the command on your own machine. "
          "Ratios and the ranking are what carry over.", "",
          "| | |", "|---|---|"]
    for k, v in meta["machine"].items():
        md.append(f"| {k} | {v} |")
    md += ["", f"Workload: {meta['keys']:,} keys (16-byte text), values of 100-byte text, int, 1 KiB bytes and "
           "a small nested map; every figure is the **median of "
           f"{meta['runs']} run(s)**, with the range over the runs in small print; the runs are "
           "rounds in which every store of a language takes its turn, each round starting at the "
           "next store, so a slow minute of the machine falls on all of them. \"Set inside one "
           "transaction\" is the filling of the store: every key, in key order, with no time limit. "
           "The other timed loops run over the "
           "keys in a shuffled order (autocommit sets of new keys: in key order, in every language) "
           f"and stop after {meta['budget_ms']} ms (autocommit sets: 5 times "
           "that, to hold several WAL checkpoints of every store) or at the last key, whichever "
           "comes first (slow operations are sampled). Reads are measured warm: one untimed pass over "
           "every key first, as a long-running process re-reading its data would; get_first is the first "
           "read of each key on a fresh handle. Operations inside one transaction include the "
           "commit. A cell `x · **N×**` means that store takes N times as long as permadict for the "
           "same operation (above 1: permadict is faster). `—`: not applicable or not measured; "
           "`failed`: the run reported an error (listed below).", "",
           "![chart](bench.svg)", "", "## Targets", "",
           "Speed targets from the issues, each against the figure measured in this run.", ""]
    md += targets_table(fig, incr, memory, watch)
    for lang, lname in LANGS:
        if not stores_present(fig, lang):
            continue
        md += ["", f"## {lname}: every operation, 100-byte text values", ""]
        md += kv_table(fig, lang, "text100", OPS)
        md += ["", f"### {lname}: value kinds", ""]
        for kind, klabel in KINDS[1:]:
            table = kv_table(fig, lang, kind, [("set_txn", "set inside one transaction"),
                                                ("get_hit", "get (hit)"), ("iterate", "iteration, per item")])
            if table:
                md += [f"**{klabel}**", ""] + table + [""]
        md += ["", "Stores:", ""]
        for s in stores_present(fig, lang):
            md.append(f"- `{s}`: {STORE_NOTES.get((lang, s), '')}")
    md += ["", "## Contended increments", "",
           f"4 processes each add 1 to one key {meta['incr_n']:,} times, all starting together; "
           "latency is per increment, throughput is the increments whose call succeeded over the wall "
           "time from the first start to the last finish, lost = expected total minus the final value "
           "(failed calls included).", ""]
    md += incr_table(incr) if incr else ["Not measured in this run."]
    md += ["", "## Memory: iterating over many entries", "",
           "Peak RSS (getrusage) growth of a process that opens a store of that many entries "
           "(16-byte keys, 100-byte values) and walks all of them. Pages of a memory-mapped file "
           "count in RSS (LMDB).", ""]
    md += memory_table(memory) if memory else ["Not measured in this run (quick mode measures it only in full mode)."]
    md += ["", "## Watching", ""]
    if watch:
        md += ["| commit to wake-up p50 | p99 | max | idle watcher CPU |", "|---|---|---|---|"]
        for r in watch:
            if "error" in r:
                md.append(f"| failed: {r['error']} | | | |")
            else:
                md.append(f"| {fmt_us(r['p50_us'])} | {fmt_us(r['p99_us'])} | {fmt_us(r['max_us'])} | "
                          f"{r['idle_cpu_pct']:.3f}% of a core over {r['idle_ms'] / 1000:.0f} s |")
    else:
        md.append("**TODO: not yet measured** (pd_wait was not available to this run).")
    failures = sorted(set((k, e) for k, e in fig.errors.items()))
    failures += [((r["scenario"], "incr"), r["error"]) for r in incr if "error" in r]
    failures += [((r["lang"], r["store"], "memory"), r["error"]) for r in memory if "error" in r]
    failures += [(("watch",), r["error"]) for r in watch if "error" in r]
    # A stage runs once per round: a stage that failed in several rounds is listed once.
    failures += sorted(set(((r["name"],), r["error"]) for r in rows if r.get("suite") == "stage"))
    if failures:
        md += ["", "## Failures in this run", "",
               "These operations reported an error (or a wrong answer) instead of a time:", ""]
        for key, err in failures:
            md.append(f"- {' / '.join(key)}: {err}")
    md += ["", "## Reproduce", "", "```sh", meta["command"], "```", "",
           "Raw results of this run (JSON lines) were in " + f"`{meta['results_dir']}`."]
    with open(out_md, "w") as f:
        f.write("\n".join(md) + "\n")
    chart(fig, results_dir, out_svg)


if __name__ == "__main__":
    main()
