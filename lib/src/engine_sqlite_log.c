/*
 * engine_sqlite_log.c - the change log rows of a write transaction: held in
 * the handle, written in batches, pruned (FORMAT.md 5).
 *
 * Every change appends one log row to permadict_rows in the same
 * transaction; the newest row of a namespace also carries its count and
 * version.
 * One INSERT per change cost about 2 us, as much as the item write itself, so
 * rows wait in the handle and go out PD__LOG_BATCH at a time through one
 * prepared multi-row INSERT. Nothing outside this transaction can see the
 * difference: pending rows are written before COMMIT and before anything in
 * the transaction reads the count, the version or the log (pd__sq_ns_flush
 * is the one door), and ROLLBACK drops them.
 * Rows wait until that door rather than going out as each batch fills: the
 * log keeps only the newest PD__CHANGES_KEEP versions, so of a transaction of
 * 100,000 sets, 90,000 rows would be written only to be pruned. Once more
 * than PD__LOG_HOLD rows wait, the oldest are dropped unwritten (and at the
 * door, all but the newest PD__CHANGES_KEEP), and the flush first prunes
 * every stored row older than the newest KEEP versions: the log stays one
 * unbroken run of versions, which is what readers rely on to tell that it
 * still reaches back far enough. (Measured, C, 100,000 sets in one
 * transaction: the log's share fell from about 3,400 instructions a set to
 * about 350.)
 * The batch says OR ROLLBACK, so that SQLite keeps no statement journal for
 * it (backend_sqlite.c): a row that fails ends the transaction, as any
 * failure to write the log does.
 */
#include <stdlib.h>
#include <string.h>

#include "backend.h"

/* Forgets the n oldest pending rows, which pruning would delete anyway, and
 * the key bytes only they used (keys are appended in row order, so the kept
 * rows' keys are one run at the end of log_keys). */
static void drop_oldest(pd_dict *d, size_t n) {
  d->log_dropped_to = d->log_rows[n - 1].version;
  d->log_n -= n;
  memmove(d->log_rows, d->log_rows + n, d->log_n * sizeof *d->log_rows);
  size_t keep_from = d->log_keys.len;
  for (size_t i = 0; i < d->log_n; i++)
    if (d->log_rows[i].key_kind != PD_NULL && d->log_rows[i].key_kind != PD_INT) {
      keep_from = d->log_rows[i].key_at;
      break;
    }
  if (keep_from == 0) return; /* nothing to drop (or only integer keys so far) */
  memmove(d->log_keys.data, d->log_keys.data + keep_from, d->log_keys.len - keep_from);
  d->log_keys.len -= keep_from;
  for (size_t i = 0; i < d->log_n; i++)
    if (d->log_rows[i].key_kind != PD_NULL && d->log_rows[i].key_kind != PD_INT)
      d->log_rows[i].key_at -= keep_from;
}

int pd__sq_log_add(pd_dict *d, int64_t version, int64_t count, int op, const pd_val *key) {
  if (d->log_n == d->log_cap) {
    size_t cap = d->log_cap ? d->log_cap * 2 : PD__LOG_BATCH;
    pd__log_row *rows = realloc(d->log_rows, cap * sizeof *rows);
    if (!rows) return pd__err(d, PD_ENOMEM, "out of memory logging a change");
    d->log_rows = rows;
    d->log_cap = cap;
  }
  pd__log_row r = {version, count, op, key ? key->kind : PD_NULL, 0, 0, 0};
  if (key && key->kind == PD_INT) {
    r.key_int = key->u.i;
  } else if (key) {
    r.key_len = key->u.s.len;
    r.key_at = pd__buf_append(&d->log_keys, key->u.s.ptr, key->u.s.len);
    if (r.key_at == (size_t)-1) return pd__err(d, PD_ENOMEM, "out of memory logging a change");
  }
  d->log_rows[d->log_n++] = r;
  if (d->log_n >= PD__LOG_HOLD) drop_oldest(d, d->log_n - PD__CHANGES_KEEP);
  return PD_OK;
}

int pd__sq_logged(pd_dict *d, int64_t v, int *found) {
  int rc = PD_OK;
  *found = 0;
  sqlite3_stmt *st = pd__stmt(d, PD__ST_LOGGED, &rc);
  if (!st) return rc;
  sqlite3_bind_int64(st, 1, d->ns_id);
  sqlite3_bind_int64(st, 2, pd__log_rowid(d, v));
  int src = pd__step(d, st);
  pd__stmt_done(st);
  *found = src == SQLITE_ROW;
  return src == SQLITE_ROW || src == SQLITE_DONE
             ? PD_OK
             : pd__sqlite_err(d, src, "reading the change log");
}

/* Deletes the log rows of versions from .. upto. */
static int prune_range(pd_dict *d, int64_t from, int64_t upto) {
  int rc = PD_OK;
  sqlite3_stmt *st = pd__stmt(d, PD__ST_PRUNE_CHANGES, &rc);
  if (!st) return rc;
  sqlite3_bind_int64(st, 1, d->ns_id);
  sqlite3_bind_int64(st, 2, pd__log_rowid(d, from));
  sqlite3_bind_int64(st, 3, pd__log_rowid(d, upto));
  int src = pd__step(d, st);
  pd__stmt_done(st);
  return src == SQLITE_DONE ? PD_OK : pd__sqlite_err(d, src, "pruning the change log");
}

/* The oldest stored log version, given that version v is stored: the log
 * is one run (FORMAT.md 5), so a binary search over "is v stored" finds it. */
static int oldest_logged(pd_dict *d, int64_t v, int64_t *oldest) {
  int64_t lo = 1, hi = v; /* hi is stored; everything below lo is not */
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    int found = 0;
    int rc = pd__sq_logged(d, mid, &found);
    if (rc) return rc;
    if (found) hi = mid;
    else lo = mid + 1;
  }
  *oldest = hi;
  return PD_OK;
}

/*
 * Keeps the log at the newest PD__CHANGES_KEEP versions (FORMAT.md 5): each
 * flush that takes the version past a multiple of PD__CHANGES_PRUNE_EVERY
 * (counted above KEEP), or that dropped rows unwritten, deletes every older
 * row. Log rows share the table with entries, and old entries sit
 * below the log, so the delete walks a rowid window: from the last such
 * multiple before this transaction, by which whoever crossed it had pruned
 * (one lookup makes sure, and a log pruned less far, another writer's way,
 * is found by a binary search), up to log_since at most, since no row after
 * it is stored yet. (Without that bound a transaction of 100,000 sets
 * walked the 90,000 entries it had made, for log rows it never wrote.)
 */
static int prune(pd_dict *d) {
  const int64_t keep = PD__CHANGES_KEEP, every = PD__CHANGES_PRUNE_EVERY;
  int64_t upto = d->version - keep, before = d->log_since - keep;
  if (before < 0) before = 0;
  if (upto <= 0 || (!d->log_dropped_to && upto / every == before / every)) return PD_OK;
  if (upto > d->log_since) upto = d->log_since;
  int64_t from = before / every * every + 1;
  int rc = from <= upto ? prune_range(d, from, upto) : PD_OK;
  int found = 0;
  if (!rc && from > 1) rc = pd__sq_logged(d, from - 1, &found);
  if (rc || !found) return rc;
  int64_t oldest = 0;
  rc = oldest_logged(d, from - 1, &oldest);
  return rc ? rc : prune_range(d, oldest, from - 1);
}

int pd__sq_log_must_flush(const pd_dict *d) { return d->log_keys.len >= PD__LOG_HOLD_KEY_BYTES; }

pd_val pd__sq_log_key(const pd_dict *d, const pd__log_row *r) {
  pd_val k = {.kind = r->key_kind};
  if (r->key_kind == PD_INT) {
    k.u.i = r->key_int;
  } else if (r->key_kind != PD_NULL) {
    k.u.s.ptr = d->log_keys.data + r->key_at;
    k.u.s.len = r->key_len;
  }
  return k;
}

/* Binds row r as (id, type, key, count) at parameters idx .. idx+3. */
static void bind_row(pd_dict *d, sqlite3_stmt *st, int idx, const pd__log_row *r) {
  sqlite3_bind_int64(st, idx, pd__log_rowid(d, r->version));
  sqlite3_bind_int(st, idx + 1, -r->op);
  sqlite3_bind_int64(st, idx + 3, r->count);
  if (r->key_kind == PD_NULL) {
    sqlite3_bind_null(st, idx + 2);
    return;
  }
  /* The key bytes do not move while the statement runs. */
  pd_val k = pd__sq_log_key(d, r);
  pd__bind_key(st, idx + 2, &k);
}

/* Writes rows [from, from + n) with statement id (n rows per statement). */
static int write_rows(pd_dict *d, pd__stmt_id id, size_t from, size_t n) {
  int rc = PD_OK;
  sqlite3_stmt *st = pd__stmt(d, id, &rc);
  if (!st) return rc;
  sqlite3_bind_int64(st, 1, d->ns_id);
  for (size_t i = 0; i < n; i++) bind_row(d, st, 2 + 4 * (int)i, &d->log_rows[from + i]);
  int src = pd__step(d, st);
  pd__stmt_done(st);
  if (src != SQLITE_DONE) return pd__sqlite_err(d, src, "appending to the change log");
  return PD_OK;
}

int pd__sq_log_flush(pd_dict *d) {
  size_t done = 0;
  /* Held sets first: their rows' counts are final only once they are. */
  int rc = pd__sq_sets_flush(d);
  if (rc) return rc;
  if (d->log_n > PD__CHANGES_KEEP) drop_oldest(d, d->log_n - PD__CHANGES_KEEP);
  /* Before the new rows: the dropped ones leave no hole (their versions
   * are at most version - KEEP), and the delete walks fewer rows. */
  rc = prune(d);
  if (rc) return rc;
  d->log_dropped_to = 0;
  while (!rc && d->log_n - done >= PD__LOG_BATCH) {
    rc = write_rows(d, PD__ST_LOG_CHANGES_BATCH, done, PD__LOG_BATCH);
    if (!rc) done += PD__LOG_BATCH;
  }
  while (!rc && done < d->log_n) {
    rc = write_rows(d, PD__ST_LOG_CHANGE, done, 1);
    if (!rc) done++;
  }
  if (rc) {
    /* SQLite ended the transaction, which gave it up and dropped every row
     * (errors.c), perhaps freeing them: nothing to keep. */
    if (d->txn_failed_rc) return rc;
    /* Each statement is atomic: keep exactly the rows not yet written, so a
     * later flush (or the rollback that usually follows) stays right. */
    memmove(d->log_rows, d->log_rows + done, (d->log_n - done) * sizeof *d->log_rows);
    d->log_n -= done;
    return rc;
  }
  pd__sq_log_discard(d);
  d->log_since = d->version;
  return PD_OK;
}

void pd__sq_log_discard(pd_dict *d) {
  d->log_n = 0;
  d->log_keys.len = 0;
  d->log_dropped_to = 0;
  /* A big transaction's up to PD__LOG_HOLD rows are not kept for later. */
  if (d->log_cap > 16 * PD__LOG_BATCH) pd__sq_log_free(d);
}

void pd__sq_log_free(pd_dict *d) {
  free(d->log_rows);
  d->log_rows = NULL;
  d->log_n = d->log_cap = 0;
  pd__buf_free(&d->log_keys);
}
