/*
 * transactions.c - explicit transactions (pd_begin/commit/rollback) and the
 * write scopes every write runs in.
 *
 * Every write takes the write lock up front with BEGIN IMMEDIATE: a deferred
 * transaction that reads first and writes later can fail with
 * SQLITE_BUSY_SNAPSHOT, which no amount of waiting fixes. Outside an explicit
 * transaction each write call is its own BEGIN IMMEDIATE ... COMMIT, so a
 * read-modify-write (pd_incr, pd_compare_and_swap...) is atomic across
 * processes. No read transaction is ever left open when a call returns.
 */
#include <stdio.h>
#include <string.h>

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

static void rollback_quietly(pd_dict *d) {
  if (sqlite3_get_autocommit(d->db)) return; /* SQLite already rolled back */
  int rc = PD_OK;
  sqlite3_stmt *st = pd__stmt(d, PD__ST_ROLLBACK, &rc);
  if (st) {
    sqlite3_step(st);
    pd__stmt_done(st);
  }
  if (!sqlite3_get_autocommit(d->db))
    sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
}

/* BEGIN IMMEDIATE, then make sure the file is still ours: once we hold the
 * write lock nobody can be halfway through replacing it under SQLite. */
static int begin_immediate(pd_dict *d) {
  d->version_known = 0;
  int rc = run_control(d, PD__ST_BEGIN_IMMEDIATE, "starting a write transaction");
  if (rc) return rc;
  rc = pd__file_identity_check(d);
  if (rc) rollback_quietly(d);
  return rc;
}

static int commit(pd_dict *d) {
  int rc = run_control(d, PD__ST_COMMIT, "committing");
  if (rc) rollback_quietly(d);
  return rc;
}

int pd__write_allowed(pd_dict *d) {
  if (d->opts.readonly)
    return pd__err(d, PD_EREADONLY, "handle on '%s' is read-only", d->path);
  if (d->txn_failed_rc)
    return pd__err(d, PD_EMISUSE,
                   "the transaction on '%s' was rolled back after an earlier error; "
                   "call pd_rollback()",
                   d->path);
  return PD_OK;
}

int pd__write_begin(pd_dict *d, int *opened) {
  *opened = 0;
  int rc = pd__write_allowed(d);
  if (rc) return rc;
  if (d->in_txn) return PD_OK;
  rc = begin_immediate(d);
  if (rc == PD_OK) *opened = 1;
  return rc;
}

int pd__write_end(pd_dict *d, int opened, int rc, int partial) {
  if (opened) {
    if (rc == PD_OK) return commit(d);
    rollback_quietly(d);
    return rc;
  }
  if (rc != PD_OK && d->in_txn && (partial || sqlite3_get_autocommit(d->db))) {
    /* Half an operation must not be committed later (counts and the change
     * log would lie): give up the whole transaction, and say so. */
    rollback_quietly(d);
    d->txn_failed_rc = rc;
    size_t n = strlen(d->errmsg);
    snprintf(d->errmsg + n, sizeof d->errmsg - n,
             "; the transaction was rolled back");
  }
  return rc;
}

int pd__read_begin(pd_dict *d, int *opened) {
  *opened = 0;
  if (!sqlite3_get_autocommit(d->db)) return PD_OK;
  int rc = run_control(d, PD__ST_BEGIN_READ, "starting a read transaction");
  if (rc == PD_OK) *opened = 1;
  return rc;
}

void pd__read_end(pd_dict *d, int opened) {
  if (!opened) return;
  if (run_control(d, PD__ST_COMMIT, "ending a read transaction") != PD_OK)
    rollback_quietly(d);
}

int pd_begin(pd_dict *d) {
  int rc = pd__enter(d);
  if (rc) return rc;
  if (d->in_txn)
    return pd__leave(d, pd__err(d, PD_EMISUSE,
                                "pd_begin: a transaction is already open on '%s' "
                                "(transactions do not nest)",
                                d->path));
  if (d->opts.readonly)
    return pd__leave(d, pd__err(d, PD_EREADONLY,
                                "pd_begin: handle on '%s' is read-only", d->path));
  rc = begin_immediate(d);
  if (rc == PD_OK) d->in_txn = 1;
  return pd__leave(d, rc);
}

int pd_commit(pd_dict *d) {
  int rc = pd__enter(d);
  if (rc) return rc;
  if (!d->in_txn)
    return pd__leave(d, pd__err(d, PD_EMISUSE, "pd_commit: no transaction is open on '%s'",
                                d->path));
  if (d->txn_failed_rc) {
    rc = pd__err(d, d->txn_failed_rc,
                 "pd_commit: nothing committed on '%s': the transaction was rolled "
                 "back after an earlier error",
                 d->path);
  } else {
    rc = commit(d);
  }
  d->in_txn = 0;
  d->txn_failed_rc = 0;
  return pd__leave(d, rc);
}

int pd_rollback(pd_dict *d) {
  int rc = pd__enter(d);
  if (rc) return rc;
  if (!d->in_txn)
    return pd__leave(d, pd__err(d, PD_EMISUSE,
                                "pd_rollback: no transaction is open on '%s'", d->path));
  rollback_quietly(d);
  d->in_txn = 0;
  d->txn_failed_rc = 0;
  return pd__leave(d, PD_OK);
}

int pd_in_transaction(const pd_dict *d) { return d && d->in_txn; }
