/*
 * engine_sqlite_items.c - the SQLite engine's item operations: get, count,
 * version, put, remove, clear, with the change log kept in step (FORMAT.md
 * sections 2, 4 and 5).
 *
 * Speed: a write transaction reads the namespace's version and count once
 * (which also tells a dropped namespace, PD_EGONE, before anything is
 * written), or takes them from the handle's own last commit when nothing
 * was committed since (engine_sqlite_txn.c), and then keeps them in the
 * handle. Each change's change log row,
 * which carries the count after it, is queued in the handle and written in
 * batches at COMMIT (engine_sqlite_log.c). So a set, of a new key or an old
 * one, costs one statement (an upsert of the item; inside pd_begin, 1/64 of
 * a 64-row upsert and of the SELECT that tells which keys were new, or one
 * statement each while most keys of the last batch were old:
 * engine_sqlite_sets.c) plus at most 1/64 of a batch INSERT. The count and
 * version live in the newest log row, not in a namespace row, because
 * every page a commit touches is one more WAL frame to write and
 * checkpoint: an autocommit overwrite went from 3 pages
 * to 2 (measured with raw SQLite in the same layout: 44 -> 31 us a commit).
 * For the same reason a new entry takes the rowid next to its log row's
 * (FORMAT.md 2), so both land on one page: an autocommit set of a new key
 * went from 3 pages to 2 (bench/run.sh, C, 100,000 keys: 58.9 -> 40.7 us,
 * raw SQLite 37.1), at the price of a rowid seek per new key in a
 * transaction (about 900 instructions of a set's 13,500: callgrind, raw
 * SQLite on this table with the rowid chosen or left to SQLite).
 */
#include <stdio.h>

#include "backend.h"

static int gone(pd_dict *d) {
  return pd__err(d, PD_EGONE, "namespace '%s' of '%s' was dropped", d->name, d->path);
}

void pd__sq_ns_forget(pd_dict *d) {
  d->ns_known = 0;
  pd__sq_sets_discard(d);
  pd__sq_log_discard(d);
}

/* Reads the stored (count, version); *exists 0 when the namespace is gone.
 * Does not write pending log rows: callers that need them do it first. */
int pd__sq_ns_stored(pd_dict *d, int64_t *count, int64_t *version, int *exists) {
  int rc = PD_OK;
  sqlite3_stmt *st = pd__stmt(d, PD__ST_NAMESPACE_ROW, &rc);
  if (!st) return rc;
  sqlite3_bind_int64(st, 1, d->ns_id);
  sqlite3_bind_int64(st, 2, d->ns_base);
  int src = pd__step(d, st);
  *exists = src == SQLITE_ROW;
  int64_t n = 0, v = 0;
  int logged = 0, integer = 0, log_row = 1;
  if (src == SQLITE_ROW) { /* NULLs (no change yet) read as 0 */
    n = sqlite3_column_int64(st, 0);
    v = sqlite3_column_int64(st, 1);
    logged = sqlite3_column_type(st, 1) != SQLITE_NULL;
    integer = sqlite3_column_type(st, 0) == SQLITE_INTEGER;
    log_row = !logged || sqlite3_column_int(st, 2);
  }
  pd__stmt_done(st);
  if (src != SQLITE_ROW && src != SQLITE_DONE)
    return pd__sqlite_err(d, src, "reading the namespace");
  /* Rows above the last change (an entry written without its log row, or
   * a row of another op or namespace) leave the version and count unknown:
   * reading them as "no change yet" gave a count of 0, and writes collided
   * with the rowids of the first versions. */
  if (!log_row)
    return pd__err(d, PD_ECORRUPT,
                   "namespace '%s' of '%s' is damaged: the newest row of its slot "
                   "(at version %lld) is not one of its change log rows",
                   d->name, d->path, (long long)v);
  /* A change adds at most one entry, so a count is 0 .. its version: any
   * other is damage, and a write carrying on from it would overflow. */
  if (count && logged && (!integer || n < 0 || n > v)) {
    char what[64] = "a count that is not an integer";
    if (integer) snprintf(what, sizeof what, "%lld entries", (long long)n);
    return pd__err(d, PD_ECORRUPT,
                   "namespace '%s' of '%s' is damaged: its change log row of version %lld "
                   "records %s",
                   d->name, d->path, (long long)v, what);
  }
  if (count) *count = n;
  if (version) *version = v;
  return PD_OK;
}

/* Reads the namespace's version and count once per write transaction. */
static int ns_load(pd_dict *d) {
  if (d->ns_known) return PD_OK;
  int exists = 0;
  int rc = pd__sq_ns_stored(d, &d->count, &d->version, &exists);
  if (rc) return rc;
  if (!exists) return gone(d);
  d->ns_known = 1;
  d->log_since = d->version;
  return PD_OK;
}

/* What every change checks before it writes anything: the namespace still
 * exists (PD_EGONE) and has a version left, so the last one fails whole. A
 * namespace has PD__VERSION_MAX versions (FORMAT.md 2): at a million changes
 * a second, 100 days' worth. */
static int change_ready(pd_dict *d) {
  int rc = ns_load(d);
  if (rc || d->version < PD__VERSION_MAX) return rc;
  return pd__err(d, PD_EFULL, "namespace '%s' of '%s' has used all its %lld versions",
                 d->name, d->path, (long long)PD__VERSION_MAX);
}

int pd__sq_ns_flush(pd_dict *d) { return d->log_n ? pd__sq_log_flush(d) : PD_OK; }

/* Logs one change (FORMAT.md 5) after ns_load: the next version and the new
 * count (both kept in the handle) in a queued log row. key NULL: clear. */
static int log_change(pd_dict *d, int op, const pd_val *key, int64_t count_delta) {
  int64_t version = d->version + 1, count = d->count + count_delta;
  /* Queued (engine_sqlite_log.c); written by COMMIT at the latest. */
  int rc = pd__sq_log_add(d, version, count, op, key);
  if (rc) return rc;
  d->version = version;
  d->count = count;
  /* Rows wait for COMMIT unless their keys take too much memory; should a
   * flush fail, the row stays queued with its version taken, as consistent
   * as a written row. The flush also prunes. */
  if (pd__sq_log_must_flush(d)) rc = pd__sq_log_flush(d);
  return rc;
}

int pd__sq_get(pd_dict *d, const pd_val *key, pd_val *out, int *found) {
  *found = 0;
  d->found_rowid = 0;
  int rc = pd__sq_sets_flush(d);
  if (rc) return rc;
  /* contains needs no value: a narrower statement, nothing copied. */
  sqlite3_stmt *st = pd__stmt(d, out ? PD__ST_GET : PD__ST_CONTAINS, &rc);
  if (!st) return rc;
  sqlite3_bind_int64(st, 1, d->ns_id);
  pd__bind_key(st, 2, key);
  int src = pd__step(d, st);
  if (src == SQLITE_ROW) {
    *found = 1;
    d->found_rowid = sqlite3_column_int64(st, out ? 2 : 0);
    if (!out) {
      pd__stmt_done(st);
      return PD_OK;
    }
    char why[256];
    pd_val v;
    d->out.len = 0;
    rc = pd__column_value(st, 0, &d->out, &v, why, sizeof why);
    pd__stmt_done(st);
    if (rc == PD_EDECODE) {
      char kb[128];
      *found = 0;
      return pd__err(d, rc, "value of key %s in '%s' cannot be decoded: %s",
                     pd__key_describe(key, kb, sizeof kb), d->path, why);
    }
    if (rc) {
      *found = 0;
      return pd__err(d, rc, "out of memory reading a value");
    }
    pd__val_fix(&v, &d->out);
    *out = v;
    return PD_OK;
  }
  pd__stmt_done(st);
  if (src == SQLITE_DONE) return PD_OK;
  return pd__sqlite_err(d, src, "reading a key");
}

/* ns_stored with this transaction's pending log rows written first. */
static int ns_row(pd_dict *d, int64_t *count, int64_t *version, int *exists) {
  int rc = pd__sq_ns_flush(d);
  return rc ? rc : pd__sq_ns_stored(d, count, version, exists);
}

int pd__sq_count(pd_dict *d, int64_t *out) {
  /* O(log n): the count carried by the newest log row, never COUNT(*). */
  int exists = 0;
  int rc = ns_row(d, out, NULL, &exists);
  if (!rc && !exists) *out = 0; /* dropped: reads as empty */
  return rc;
}

int pd__sq_version(pd_dict *d, int64_t *out) {
  if (d->ns_known) { /* inside our write transaction: pending included */
    *out = d->version;
    return PD_OK;
  }
  int exists = 0;
  int rc = ns_row(d, NULL, out, &exists);
  if (!rc && !exists) return gone(d);
  return rc;
}

/* Deletes key's entry; returns the number of rows deleted (0 or 1) or a
 * negative PD code. */
static int delete_item(pd_dict *d, const pd_val *key) {
  int rc = PD_OK;
  sqlite3_stmt *st = pd__stmt(d, PD__ST_DELETE_ITEM, &rc);
  if (!st) return rc;
  sqlite3_bind_int64(st, 1, d->ns_id);
  pd__bind_key(st, 2, key);
  int src = pd__step(d, st);
  pd__stmt_done(st);
  if (src != SQLITE_DONE) return pd__sqlite_err(d, src, "deleting a key");
  return sqlite3_changes(d->db);
}

int pd__sq_put(pd_dict *d, const pd_val *key, const pd_val *store, int *partial) {
  int rc = change_ready(d);
  if (rc) return rc;
  if (pd__sq_set_holdable(d, key, store)) {
    /* Held (engine_sqlite_sets.c): its entry joins the count when written. */
    rc = pd__sq_set_hold(d, store);
    if (rc) return rc;
    *partial = 1;
    rc = log_change(d, PD_CHANGE_SET, key, 0);
    if (!rc && d->set_n == PD__SET_BATCH) rc = pd__sq_sets_flush(d);
    return rc;
  }
  /* One statement whether the key is new or not, after the held ones. */
  int added = 0;
  rc = pd__sq_sets_flush(d);
  if (!rc) rc = pd__sq_upsert_one(d, d->version + 1, key, store, &added);
  if (rc) return rc;
  *partial = 1;
  return log_change(d, PD_CHANGE_SET, key, added);
}

int pd__sq_replace_found(pd_dict *d, const pd_val *key, const pd_val *store, int *partial) {
  /* No held set to write first: the get that found the entry (engine.h:
   * nothing written in between) wrote them. */
  int rc = change_ready(d);
  if (rc) return rc;
  if (!d->found_rowid) return pd__err(d, PD_ERROR, "replacing a value: no entry was found");
  sqlite3_stmt *st = pd__stmt(d, PD__ST_REPLACE_FOUND, &rc);
  if (!st) return rc;
  pd__bind_value(st, 3, store);
  sqlite3_bind_int64(st, 5, d->found_rowid);
  int src = pd__step(d, st);
  pd__stmt_done(st);
  if (src != SQLITE_DONE) return pd__sqlite_err(d, src, "storing a value");
  if (sqlite3_changes(d->db) != 1)
    return pd__err(d, PD_ERROR, "replacing a value: its entry was not where it was found");
  *partial = 1;
  return log_change(d, PD_CHANGE_SET, key, 0);
}

int pd__sq_remove(pd_dict *d, const pd_val *key, int *partial) {
  int rc = change_ready(d);
  if (!rc) rc = pd__sq_sets_flush(d);
  if (rc) return rc;
  int n = delete_item(d, key);
  if (n < 0) return n;
  if (n == 0) {
    char kb[128];
    return pd__err(d, PD_ENOTFOUND, "key %s not found", pd__key_describe(key, kb, sizeof kb));
  }
  *partial = 1;
  return log_change(d, PD_CHANGE_DELETE, key, -1);
}

int pd__sq_clear(pd_dict *d, int *partial) {
  int rc = change_ready(d);
  if (!rc) rc = pd__sq_sets_flush(d);
  if (rc) return rc;
  sqlite3_stmt *st = pd__stmt(d, PD__ST_CLEAR_ITEMS, &rc);
  if (!st) return rc;
  sqlite3_bind_int64(st, 1, d->ns_id);
  int src = pd__step(d, st);
  pd__stmt_done(st);
  if (src != SQLITE_DONE) return pd__sqlite_err(d, src, "clearing");
  int64_t removed = sqlite3_changes64(d->db);
  /* Even with nothing removed the change is queued once log_change starts:
   * a failure from here on must undo the transaction. */
  *partial = 1;
  return log_change(d, PD_CHANGE_CLEAR, NULL, -removed);
}
