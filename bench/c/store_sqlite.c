/* store_sqlite.c - raw SQLite as a key-value store: the practical limit of
 * what a program gets from SQLite by hand.
 *
 * One rowid table with a unique key, WAL and synchronous=NORMAL (the same
 * durability as permadict's default), every statement prepared once and
 * reused. The "readtxn" variant adds a 1 GiB mmap and holds one read
 * transaction across a run of reads: faster, but such a reader does not see
 * other processes' commits until it ends the transaction.
 * The "sqlite-permadict-layout" variant is raw SQLite in permadict's table and
 * index (docs/FORMAT.md section 2) with permadict's upsert, but none of its
 * change log, read cache or checks: beside permadict in the same run it
 * tells what SQLite costs in that layout and what permadict adds to it. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_store.h"

enum { S_GET, S_CONTAINS, S_SET, S_DEL, S_BEGIN, S_COMMIT, S_COUNT, S_ITER,
       S_READ_BEGIN, S_READ_END, S_COUNT_OF };

static const char *const sql_of[S_COUNT_OF] = {
    "SELECT value FROM kv WHERE key = ?1",
    "SELECT 1 FROM kv WHERE key = ?1",
    "INSERT OR REPLACE INTO kv(key, value) VALUES (?1, ?2)",
    "DELETE FROM kv WHERE key = ?1",
    "BEGIN IMMEDIATE",
    "COMMIT",
    "SELECT count(*) FROM kv",
    "SELECT key, value FROM kv ORDER BY key",
    "BEGIN",
    "COMMIT"};

/* The same statements over permadict's layout, in namespace 1; ?3 is the
 * (even) rowid a new entry takes, as permadict chooses one. */
static const char *const layout_sql_of[S_COUNT_OF] = {
    "SELECT value FROM permadict_rows WHERE ns = 1 AND key = ?1 AND id & 1 = 0",
    "SELECT id FROM permadict_rows WHERE ns = 1 AND key = ?1 AND id & 1 = 0",
    "INSERT INTO permadict_rows (id, ns, key, type, value) VALUES (?3, 1, ?1, 1, ?2) "
    "ON CONFLICT (ns, key) WHERE id & 1 = 0 "
    "DO UPDATE SET type = excluded.type, value = excluded.value",
    "DELETE FROM permadict_rows WHERE ns = 1 AND key = ?1 AND id & 1 = 0",
    "BEGIN IMMEDIATE",
    "COMMIT",
    "SELECT count(*) FROM permadict_rows WHERE ns = 1 AND id & 1 = 0",
    "SELECT key, value FROM permadict_rows WHERE ns = 1 AND id & 1 = 0 ORDER BY key",
    "BEGIN",
    "COMMIT"};

static const char layout_schema[] =
    "CREATE TABLE IF NOT EXISTS permadict_rows (id INTEGER PRIMARY KEY, ns INTEGER NOT NULL,"
    "  key, type INTEGER NOT NULL, value);"
    "CREATE UNIQUE INDEX IF NOT EXISTS permadict_rows_key ON permadict_rows (ns, key)"
    "  WHERE id & 1 = 0;";

typedef struct sqlite_store {
  sqlite3 *db;
  sqlite3_stmt *stmt[S_COUNT_OF];
  int layout;      /* permadict's layout: sets bind next_id */
  int64_t next_id; /* the next even rowid */
} sqlite_store;

static void sqlite_close(void *h) {
  sqlite_store *s = h;
  if (!s) return;
  for (int i = 0; i < S_COUNT_OF; i++) sqlite3_finalize(s->stmt[i]);
  sqlite3_close(s->db);
  free(s);
}

/* New entries take even rowids above every stored one. */
static int next_id_after_stored(sqlite_store *s) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(s->db, "SELECT coalesce(max(id), 0) FROM permadict_rows", -1,
                              &st, NULL);
  if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    s->next_id = (sqlite3_column_int64(st, 0) | 1) + 1;
  else
    rc = SQLITE_ERROR;
  sqlite3_finalize(st);
  return rc == SQLITE_OK ? 0 : -1;
}

static void *open_with(const char *path, int mmap_bytes_on, int layout, char *err,
                       size_t errlen) {
  sqlite_store *s = calloc(1, sizeof *s);
  const char *setup = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
  const char *schema = layout ? layout_schema
                              : "CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY NOT NULL, value);";
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      NULL) != SQLITE_OK)
    goto fail;
  sqlite3_busy_timeout(s->db, 5000);
  if (sqlite3_exec(s->db, setup, NULL, NULL, NULL) != SQLITE_OK ||
      sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK)
    goto fail;
  if (mmap_bytes_on &&
      sqlite3_exec(s->db, "PRAGMA mmap_size=1073741824", NULL, NULL, NULL) != SQLITE_OK)
    goto fail;
  for (int i = 0; i < S_COUNT_OF; i++)
    if (sqlite3_prepare_v3(s->db, layout ? layout_sql_of[i] : sql_of[i], -1,
                           SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL) != SQLITE_OK)
      goto fail;
  s->layout = layout;
  if (layout && next_id_after_stored(s) != 0) goto fail;
  return s;
fail:
  snprintf(err, errlen, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "cannot open");
  sqlite_close(s);
  return NULL;
}

static void *sqlite_open(const char *path, char *err, size_t errlen) {
  return open_with(path, 0, 0, err, errlen);
}

static void *sqlite_open_mmap(const char *path, char *err, size_t errlen) {
  return open_with(path, 1, 0, err, errlen);
}

static void *sqlite_open_layout(const char *path, char *err, size_t errlen) {
  return open_with(path, 0, 1, err, errlen);
}

/* Runs a statement that returns no row of interest to the end. */
static int run(sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static uint64_t touch_column(sqlite3_stmt *st, int col) {
  if (sqlite3_column_type(st, col) == SQLITE_INTEGER)
    return (uint64_t)sqlite3_column_int64(st, col);
  const unsigned char *p = sqlite3_column_blob(st, col);
  int n = sqlite3_column_bytes(st, col);
  return (uint64_t)n + (n > 0 ? p[0] : 0);
}

static int sqlite_get(void *h, const char *key, uint64_t *sink) {
  sqlite3_stmt *st = ((sqlite_store *)h)->stmt[S_GET];
  sqlite3_bind_text(st, 1, key, BENCH_KEY_LEN, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *sink += touch_column(st, 0);
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

static int sqlite_contains(void *h, const char *key) {
  sqlite3_stmt *st = ((sqlite_store *)h)->stmt[S_CONTAINS];
  sqlite3_bind_text(st, 1, key, BENCH_KEY_LEN, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

static int sqlite_set(void *h, const char *key, const bench_value *v) {
  sqlite_store *s = h;
  sqlite3_stmt *st = s->stmt[S_SET];
  sqlite3_bind_text(st, 1, key, BENCH_KEY_LEN, SQLITE_STATIC);
  if (s->layout) {
    sqlite3_bind_int64(st, 3, s->next_id);
    s->next_id += 2;
  }
  switch (v->kind) {
  case BENCH_TEXT100:
    sqlite3_bind_text(st, 2, v->ptr, (int)v->len, SQLITE_STATIC);
    break;
  case BENCH_INT:
    sqlite3_bind_int64(st, 2, v->i);
    break;
  default:
    sqlite3_bind_blob(st, 2, v->ptr, (int)v->len, SQLITE_STATIC);
  }
  return run(st);
}

static int sqlite_del(void *h, const char *key) {
  sqlite_store *s = h;
  sqlite3_stmt *st = s->stmt[S_DEL];
  sqlite3_bind_text(st, 1, key, BENCH_KEY_LEN, SQLITE_STATIC);
  if (run(st) != 0) return -1;
  return sqlite3_changes(s->db) > 0 ? 0 : 1;
}

static int sqlite_begin(void *h) { return run(((sqlite_store *)h)->stmt[S_BEGIN]); }
static int sqlite_commit(void *h) { return run(((sqlite_store *)h)->stmt[S_COMMIT]); }

static int sqlite_count(void *h, int64_t *out) {
  sqlite3_stmt *st = ((sqlite_store *)h)->stmt[S_COUNT];
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *out = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return rc == SQLITE_ROW ? 0 : -1;
}

static int sqlite_iterate(void *h, uint64_t *items, uint64_t *sink) {
  sqlite3_stmt *st = ((sqlite_store *)h)->stmt[S_ITER];
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    *sink += touch_column(st, 0) + touch_column(st, 1);
    (*items)++;
  }
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : -1;
}

static const char *sqlite_errmsg(void *h) {
  return sqlite3_errmsg(((sqlite_store *)h)->db);
}

/* A deferred BEGIN takes no snapshot until the first read: read once so the
 * whole run of reads shares one snapshot. */
static int sqlite_reads_begin(void *h) {
  sqlite_store *s = h;
  int64_t n;
  if (run(s->stmt[S_READ_BEGIN]) != 0) return -1;
  return sqlite_count(s, &n);
}

static int sqlite_reads_end(void *h) { return run(((sqlite_store *)h)->stmt[S_READ_END]); }

const bench_store bench_store_sqlite = {
    "sqlite", "rowid table, unique key, WAL, synchronous=NORMAL, prepared statements reused",
    sqlite_open, sqlite_close, sqlite_get, sqlite_contains, sqlite_set, sqlite_del,
    sqlite_begin, sqlite_commit, sqlite_count, sqlite_iterate, sqlite_errmsg,
    NULL, NULL, bench_remove_sqlite_files};

const bench_store bench_store_sqlite_readtxn = {
    "sqlite-mmap-readtxn",
    "as sqlite, plus mmap_size=1GiB and reads inside one long read transaction "
    "(does not see other processes' commits meanwhile)",
    sqlite_open_mmap, sqlite_close, sqlite_get, sqlite_contains, sqlite_set, sqlite_del,
    sqlite_begin, sqlite_commit, sqlite_count, sqlite_iterate, sqlite_errmsg,
    sqlite_reads_begin, sqlite_reads_end, bench_remove_sqlite_files};

const bench_store bench_store_sqlite_permadict_layout = {
    "sqlite-permadict-layout",
    "raw SQLite in permadict's table and partial (namespace, key) index with its upsert; "
    "no change log, read cache or checks",
    sqlite_open_layout, sqlite_close, sqlite_get, sqlite_contains, sqlite_set, sqlite_del,
    sqlite_begin, sqlite_commit, sqlite_count, sqlite_iterate, sqlite_errmsg,
    NULL, NULL, bench_remove_sqlite_files};
