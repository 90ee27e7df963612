/*
 * engine_sqlite_txn.c - the SQLite engine's transactions.
 *
 * Every write takes the write lock up front with BEGIN IMMEDIATE: a deferred
 * transaction that reads first and writes later can fail with
 * SQLITE_BUSY_SNAPSHOT, which no amount of waiting fixes. The busy handler
 * and pd__step retry with microsecond back-off until the handle's timeout.
 * Short read transactions (pd__sq_read_begin) group the statements of one
 * call that must agree; none is ever left open when a call returns.
 */
#include "backend.h"

/* Runs one of the cached transaction-control statements. */
static int run_control(pd_dict *d, pd__stmt_id id, const char *what) {
  int rc = PD_OK;
  sqlite3_stmt *st = pd__stmt(d, id, &rc);
  if (!st) return rc;
  int src = pd__step(d, st);
  pd__stmt_done(st);
  if (src != SQLITE_DONE) return pd__sqlite_err(d, src, what);
  return PD_OK;
}

void pd__sq_rollback(pd_dict *d) {
  pd__sq_ns_forget(d);
  if (!d->db || sqlite3_get_autocommit(d->db)) return; /* nothing open */
  int rc = PD_OK;
  sqlite3_stmt *st = pd__stmt(d, PD__ST_ROLLBACK, &rc);
  if (st) {
    sqlite3_step(st);
    pd__stmt_done(st);
  }
  if (!sqlite3_get_autocommit(d->db))
    sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
  pd__write_priority_released(d);
}

/*
 * The namespace's version and count carried from one write transaction to
 * the next. Reading them is the first statement of a write transaction and
 * cost 8,500 instructions of an autocommit set's 53,000 (callgrind, C,
 * 2,000 sets of new keys), yet when this handle was the last to commit they
 * are the values it left. The commit stamp (the WAL-index header) tells:
 * taken under the write lock at BEGIN, then again right after COMMIT, its
 * iChange (incremented by every header write) must have moved by
 * exactly one, our commit's own; another commit in between would have
 * moved it again. That stamp is kept with the values, and the next BEGIN
 * uses them only if the stamp is still byte for byte the same: nothing was
 * committed since, by anyone. (A commit that restarted the WAL writes the
 * header twice: nothing is carried, the values are read.)
 *
 * Only a transaction that changed rows has a commit of its own. One that
 * wrote nothing (an empty pd_begin/pd_commit, a compare-and-swap that did
 * not match) leaves the header alone, so a move of exactly one after it is
 * another process's commit, made between our COMMIT and the stamp read: a
 * write of ours, or a drop of our namespace. Carrying across that gave
 * stale versions (rowids that collide: "UNIQUE constraint failed") or,
 * after a drop, writes into a namespace that no longer exists. So nothing
 * is carried unless sqlite3_total_changes64 moved inside the transaction.
 */
static void carry_take(pd_dict *d) {
  d->begin_changes = sqlite3_total_changes64(d->db);
  d->begin_stamp_set = pd__sq_commit_stamp(d, &d->begin_stamp);
  if (d->carry_set && d->begin_stamp_set &&
      memcmp(d->carry_stamp.b, d->begin_stamp.b, PD__STAMP_BYTES) == 0) {
    d->version = d->log_since = d->carry_version;
    d->count = d->carry_count;
    d->ns_known = 1;
  }
  d->carry_set = 0;
}

static void carry_keep(pd_dict *d) {
  d->carry_set = 0;
  if (!d->ns_known || !d->begin_stamp_set ||
      sqlite3_total_changes64(d->db) == d->begin_changes ||
      !pd__sq_commit_stamp(d, &d->carry_stamp) ||
      pd__stamp_field(&d->carry_stamp, PD__STAMP_ICHANGE) !=
          pd__stamp_field(&d->begin_stamp, PD__STAMP_ICHANGE) + 1)
    return;
  d->carry_version = d->version;
  d->carry_count = d->count;
  d->carry_set = 1;
}

/* BEGIN IMMEDIATE, then make sure the file is still ours: once we hold the
 * write lock nobody can be halfway through replacing it under SQLite. The
 * stat this costs is paid once per write transaction, never per read. */
int pd__sq_write_begin(pd_dict *d) {
  pd__sq_ns_forget(d);
  int rc = pd__fork_write_check(d);
  if (!rc) {
    pd__write_priority_before_begin(d);
    rc = run_control(d, PD__ST_BEGIN_IMMEDIATE, "starting a write transaction");
    pd__write_priority_after_begin(d);
  }
  if (rc) return rc;
  rc = pd__file_identity_check(d);
  if (rc) pd__sq_rollback(d);
  else carry_take(d);
  return rc;
}

int pd__sq_write_commit(pd_dict *d) {
  int rc = pd__sq_ns_flush(d);
  int64_t started = pd__now_us();
  if (!rc) rc = run_control(d, PD__ST_COMMIT, "committing");
  if (rc) {
    pd__sq_rollback(d);
  } else {
    pd__write_priority_released(d);
    carry_keep(d);
    pd__watch_commit_done(d, started);
  }
  pd__sq_ns_forget(d);
  return rc;
}

int pd__sq_txn_active(pd_dict *d) { return d->db && !sqlite3_get_autocommit(d->db); }

int pd__sq_read_begin(pd_dict *d, int *opened) {
  *opened = 0;
  if (!sqlite3_get_autocommit(d->db)) return PD_OK;
  int rc = run_control(d, PD__ST_BEGIN_READ, "starting a read transaction");
  if (rc == PD_OK) *opened = 1;
  return rc;
}

void pd__sq_read_end(pd_dict *d, int opened) {
  if (!opened) return;
  if (run_control(d, PD__ST_COMMIT, "ending a read transaction") != PD_OK &&
      !sqlite3_get_autocommit(d->db))
    sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
}
