/*
 * engine_sqlite_sets.c - the sets of an explicit transaction: held in the
 * handle and written PD__SET_BATCH to a statement.
 *
 * Why: a statement's start and end cost about as much as the row it
 * writes. Debian's SQLite is built without lookaside memory, so each run of
 * the upsert mallocs and frees its two cursors and two records, and
 * sqlite3VdbeHalt alone took 1,700 of a set's 13,100 instructions. One
 * statement of 64 rows pays that once: raw SQLite in permadict's layout,
 * 100,000 sets of 100-byte text in one transaction (a small C driver, 2
 * runs each), 1.68-1.73 us a set one row to a statement, 0.85-0.86 with 64.
 *
 * Nothing outside the transaction can see the difference. Inside it, every
 * operation that reads or changes items or the log writes the held sets
 * first (pd__sq_sets_flush; pd__sq_log_flush, the log's door, opens with
 * it), so a read sees every earlier set. Rollback drops them.
 *
 * The count: each set's log row carries the count after it, which depends
 * on whether its key was new, and a 64-row upsert does not tell which rows
 * inserted. So held sets leave their entries out of the count (their log
 * rows' and the handle's) and the flush adds them back: a new key's entry
 * takes the rowid of its version (FORMAT.md 2) while an old key's keeps its
 * own, so the entries found at the batch's rowids are exactly the new keys.
 *
 * Only new keys go in the 64-row statement (backend_sqlite.c, OR_ROLLBACK);
 * the keys it found already there are then written a set to a statement.
 * So while the last full batch found most of its keys already there, full
 * batches are written a set to a statement from the start, sparing the
 * batch's lookups, and the handle goes back to batches once one finds most
 * keys new. (When the batch still updated old keys itself, its statement
 * journal of the pages they were on made this the cheaper way too: bench_kv,
 * overwrite in a transaction, 2 runs: 7.0-7.1 us against 7.5-7.8.)
 *
 * Errors: a set whose batch fails later was reported as done to its caller.
 * The flush therefore gives up the whole transaction (pd__txn_abandon): the
 * call that ran it reports the error and pd_commit commits nothing.
 */
#include <stdint.h>
#include <string.h>

#include "backend.h"

int pd__sq_set_hold(pd_dict *d, const pd_val *value) {
  /* Copied into set_bytes, its offset in held_values (pd__val_fix). */
  if (pd__val_keep(&d->set_bytes, value, &d->held_values[d->set_n]))
    return pd__err(d, PD_ENOMEM, "out of memory holding a value");
  d->set_n++;
  return PD_OK;
}

int pd__sq_upsert_one(pd_dict *d, int64_t version, const pd_val *key, const pd_val *value,
                      int *added) {
  int rc = PD_OK;
  sqlite3_stmt *st = pd__stmt(d, PD__ST_UPSERT_ITEM, &rc);
  if (!st) return rc;
  sqlite3_bind_int64(st, 1, d->ns_id);
  pd__bind_key(st, 2, key);
  pd__bind_value(st, 3, value);
  sqlite3_bind_int64(st, 5, pd__entry_rowid(d, version));
  /* Only the INSERT branch of the upsert assigns a rowid, and a rowid
   * SQLite picks itself is never INT64_MIN, so the sentinel left in place
   * means the key existed. (RETURNING would tell too, but made SQLite
   * allocate 64 KiB per write.) */
  sqlite3_set_last_insert_rowid(d->db, INT64_MIN);
  int src = pd__step(d, st);
  pd__stmt_done(st);
  if (src != SQLITE_DONE) return pd__sqlite_err(d, src, "storing a value");
  *added = sqlite3_last_insert_rowid(d->db) != INT64_MIN;
  return PD_OK;
}

/* The held sets' log rows: the newest set_n (nothing else changes the
 * namespace while sets are held, since it writes them first). */
static pd__log_row *held_rows(const pd_dict *d) { return d->log_rows + d->log_n - d->set_n; }

/* Held set i: its log row, key and value with their bytes where they are now. */
static const pd__log_row *held_at(const pd_dict *d, size_t i, pd_val *key, pd_val *value) {
  const pd__log_row *row = &held_rows(d)[i];
  *key = pd__sq_log_key(d, row);
  *value = d->held_values[i];
  pd__val_fix(value, &d->set_bytes);
  return row;
}

/* The held sets not yet added, one upsert each, in order. */
static int write_each(pd_dict *d, int *added) {
  int rc = PD_OK;
  for (size_t i = 0; i < d->set_n && !rc; i++) {
    if (added[i]) continue;
    pd_val key, value;
    const pd__log_row *row = held_at(d, i, &key, &value);
    rc = pd__sq_upsert_one(d, row->version, &key, &value, &added[i]);
  }
  return rc;
}

/* Which of a full batch's keys were new: those whose entries sit at the
 * rowids of their versions. */
static int find_new_entries(pd_dict *d, int *added) {
  int rc = PD_OK;
  sqlite3_stmt *st = pd__stmt(d, PD__ST_NEW_ENTRIES, &rc);
  if (!st) return rc;
  const pd__log_row *rows = held_rows(d); /* a full batch: PD__SET_BATCH */
  sqlite3_bind_int64(st, 1, d->ns_id);
  sqlite3_bind_int64(st, 2, pd__entry_rowid(d, rows[0].version));
  sqlite3_bind_int64(st, 3, pd__entry_rowid(d, rows[PD__SET_BATCH - 1].version));
  size_t i = 0;
  int src;
  while ((src = pd__step(d, st)) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(st, 0);
    while (i < PD__SET_BATCH && pd__entry_rowid(d, rows[i].version) < id) i++;
    if (i < PD__SET_BATCH && pd__entry_rowid(d, rows[i].version) == id) added[i] = 1;
  }
  pd__stmt_done(st);
  return src == SQLITE_DONE ? PD_OK : pd__sqlite_err(d, src, "reading back stored values");
}

/* A full batch: its new keys in one statement, then the rest, whose rows
 * that statement left alone, one to a statement, in order (a key set twice
 * in the batch is new at its first set only). */
static int write_batch(pd_dict *d, int *added) {
  int rc = PD_OK;
  sqlite3_stmt *st = pd__stmt(d, PD__ST_INSERT_NEW_ITEMS_BATCH, &rc);
  if (!st) return rc;
  sqlite3_bind_int64(st, 1, d->ns_id);
  for (int i = 0; i < PD__SET_BATCH; i++) {
    pd_val key, value;
    const pd__log_row *row = held_at(d, (size_t)i, &key, &value);
    int idx = 2 + 4 * i; /* id, key, type, value (backend_sqlite.c ROW) */
    sqlite3_bind_int64(st, idx, pd__entry_rowid(d, row->version));
    pd__bind_key(st, idx + 1, &key);
    pd__bind_value(st, idx + 2, &value);
  }
  int src = pd__step(d, st);
  pd__stmt_done(st);
  if (src != SQLITE_DONE) return pd__sqlite_err(d, src, "storing values");
  /* Every row inserted (the usual batch of new keys): nothing to look up. */
  if (sqlite3_changes64(d->db) == PD__SET_BATCH) {
    for (int i = 0; i < PD__SET_BATCH; i++) added[i] = 1;
    return PD_OK;
  }
  rc = find_new_entries(d, added);
  return rc ? rc : write_each(d, added);
}

int pd__sq_sets_write(pd_dict *d) {
  size_t n = d->set_n;
  pd__log_row *rows = held_rows(d);
  int added[PD__SET_BATCH] = {0};
  int rc = n == PD__SET_BATCH && !d->sets_mostly_old ? write_batch(d, added)
                                                     : write_each(d, added);
  if (rc) return pd__txn_abandon(d, rc);
  int64_t more = 0;
  for (size_t i = 0; i < n; i++) {
    more += added[i];
    rows[i].count += more;
  }
  d->count += more;
  if (n == PD__SET_BATCH) d->sets_mostly_old = more < PD__SET_BATCH / 2;
  pd__sq_sets_discard(d);
  return PD_OK;
}

void pd__sq_sets_discard(pd_dict *d) {
  d->set_n = 0;
  d->set_bytes.len = 0;
}

void pd__sq_sets_free(pd_dict *d) { /* after pd__sq_ns_forget discarded them */
  pd__buf_free(&d->set_bytes);
}
