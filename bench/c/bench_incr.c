/* bench_incr.c - one process of the contended-increment benchmark.
 *
 * usage: bench_incr STORE PATH setup
 *        bench_incr STORE PATH read
 *        bench_incr STORE PATH run N START_AT_NS OUTFILE
 * STORE is "sqlite" (UPDATE inside BEGIN IMMEDIATE, SQLite's default busy
 * handler via sqlite3_busy_timeout(5000)) or "permadict" (pd_incr).
 * "run" waits until the realtime clock reaches START_AT_NS so that all
 * workers start together, increments the key "counter" N times and writes
 * to OUTFILE: "start_ns end_ns failures" (realtime) then one latency in ns
 * per line. A failed increment is counted, never retried silently: the
 * coordinator reports it as lost. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef BENCH_HAVE_PERMADICT
#include <permadict.h>
#endif

#include "bench_clock.h"

typedef struct worker {
  sqlite3 *db;
  sqlite3_stmt *begin, *update, *commit, *rollback;
#ifdef BENCH_HAVE_PERMADICT
  pd_dict *d;
#endif
  int is_sqlite;
} worker;

static void fail(const char *what, const char *why) {
  fprintf(stderr, "bench_incr: %s: %s\n", what, why);
  exit(1);
}

static void open_sqlite(worker *w, const char *path) {
  if (sqlite3_open(path, &w->db) != SQLITE_OK) fail(path, sqlite3_errmsg(w->db));
  sqlite3_busy_timeout(w->db, 5000);
  if (sqlite3_exec(w->db,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                   "CREATE TABLE IF NOT EXISTS counters(k TEXT PRIMARY KEY, v INTEGER);"
                   "INSERT OR IGNORE INTO counters VALUES ('counter', 0);",
                   NULL, NULL, NULL) != SQLITE_OK)
    fail(path, sqlite3_errmsg(w->db));
  if (sqlite3_prepare_v2(w->db, "BEGIN IMMEDIATE", -1, &w->begin, NULL) ||
      sqlite3_prepare_v2(w->db, "UPDATE counters SET v = v + 1 WHERE k = 'counter'", -1,
                         &w->update, NULL) ||
      sqlite3_prepare_v2(w->db, "COMMIT", -1, &w->commit, NULL) ||
      sqlite3_prepare_v2(w->db, "ROLLBACK", -1, &w->rollback, NULL))
    fail(path, sqlite3_errmsg(w->db));
}

static int step_reset(sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : -1;
}

static int incr_sqlite(worker *w) {
  if (step_reset(w->begin) != 0) return -1;
  if (step_reset(w->update) != 0 || step_reset(w->commit) != 0) {
    step_reset(w->rollback);
    return -1;
  }
  return 0;
}

static int64_t read_sqlite(worker *w) {
  sqlite3_stmt *st;
  int64_t v = -1;
  sqlite3_prepare_v2(w->db, "SELECT v FROM counters WHERE k = 'counter'", -1, &st, NULL);
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

#ifdef BENCH_HAVE_PERMADICT
static const char counter_key[] = "counter";

static void open_permadict(worker *w, const char *path) {
  int rc = pd_open(&w->d, path, NULL);
  if (rc != PD_OK) fail(path, pd_errmsg(NULL));
}

static int incr_permadict(worker *w) {
  pd_val k = pd_text(counter_key, strlen(counter_key)), by = pd_int(1);
  return pd_incr(w->d, &k, &by, NULL) == PD_OK ? 0 : -1;
}

static int64_t read_permadict(worker *w) {
  pd_val k = pd_text(counter_key, strlen(counter_key)), v;
  int rc = pd_get(w->d, &k, &v);
  if (rc == PD_ENOTFOUND) return 0;
  if (rc != PD_OK || v.kind != PD_INT) fail("read", pd_errmsg(w->d));
  return v.u.i;
}
#endif

static void open_worker(worker *w, const char *store, const char *path) {
  memset(w, 0, sizeof *w);
  if (strcmp(store, "sqlite") == 0) {
    w->is_sqlite = 1;
    open_sqlite(w, path);
    return;
  }
#ifdef BENCH_HAVE_PERMADICT
  if (strcmp(store, "permadict") == 0) {
    open_permadict(w, path);
    return;
  }
#endif
  fail(store, "unknown store");
}

static int incr(worker *w) {
#ifdef BENCH_HAVE_PERMADICT
  if (!w->is_sqlite) return incr_permadict(w);
#endif
  return incr_sqlite(w);
}

static int64_t read_value(worker *w) {
#ifdef BENCH_HAVE_PERMADICT
  if (!w->is_sqlite) return read_permadict(w);
#endif
  return read_sqlite(w);
}

int main(int argc, char **argv) {
  worker w;
  if (argc < 4) {
    fprintf(stderr, "usage: %s STORE PATH setup|read|run N START_AT_NS OUTFILE\n", argv[0]);
    return 2;
  }
  open_worker(&w, argv[1], argv[2]);
  if (strcmp(argv[3], "setup") == 0) return 0;
  if (strcmp(argv[3], "read") == 0) {
    printf("%lld\n", (long long)read_value(&w));
    return 0;
  }
  if (strcmp(argv[3], "run") != 0 || argc != 7) fail(argv[3], "unknown mode or missing arguments");
  long n = atol(argv[4]);
  int64_t start_at = atoll(argv[5]);
  int64_t *lat = malloc((size_t)n * sizeof *lat);
  long failures = 0;
  if (!lat) fail("latencies", "out of memory");
  bench_sleep_until_realtime(start_at);
  int64_t start = bench_realtime_ns();
  for (long i = 0; i < n; i++) {
    int64_t t0 = bench_now_ns();
    if (incr(&w) != 0) failures++;
    lat[i] = bench_now_ns() - t0;
  }
  int64_t end = bench_realtime_ns();
  FILE *f = fopen(argv[6], "w");
  if (!f) fail(argv[6], "cannot write");
  fprintf(f, "%lld %lld %ld\n", (long long)start, (long long)end, failures);
  for (long i = 0; i < n; i++) fprintf(f, "%lld\n", (long long)lat[i]);
  fclose(f);
  free(lat);
  return 0;
}
