/*
 * transactions.c - explicit transactions (pd_begin/commit/rollback) and the
 * write scopes every write runs in, over the engine's write transaction.
 *
 * Outside an explicit transaction each write call is its own engine
 * transaction (BEGIN IMMEDIATE ... COMMIT for SQLite), so a read-modify-write
 * (pd_incr, pd_compare_and_swap...) is atomic across processes. Every begin,
 * commit and rollback also forgets the handle's read cache.
 */
#include <stdio.h>
#include <string.h>

#include "engine.h"

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
  pd__cache_invalidate(d);
  if (d->in_txn) return PD_OK;
  rc = d->engine->write_begin(d);
  if (rc == PD_OK) *opened = 1;
  return rc;
}

int pd__write_end(pd_dict *d, int opened, int rc, int partial) {
  pd__cache_invalidate(d);
  if (opened) {
    if (rc == PD_OK) return d->engine->write_commit(d);
    d->engine->write_rollback(d);
    return rc;
  }
  /* Half an operation must not be committed later (counts and the change
   * log would lie): give up the whole transaction. */
  if (rc != PD_OK && d->in_txn && (partial || !d->engine->txn_active(d)))
    return pd__txn_abandon(d, rc);
  return rc;
}

int pd__txn_abandon(pd_dict *d, int rc) {
  if (!d->in_txn || d->txn_failed_rc) return rc; /* already given up */
  d->engine->write_rollback(d);
  d->txn_failed_rc = rc;
  pd__errmsg_settle(d);
  size_t n = strlen(d->errmsg);
  snprintf(d->errmsg + n, sizeof d->errmsg - n, "; the transaction was rolled back");
  return rc;
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
  pd__cache_invalidate(d);
  rc = d->engine->write_begin(d);
  if (rc == PD_OK) d->in_txn = 1;
  return pd__leave(d, rc);
}

int pd_commit(pd_dict *d) {
  int rc = pd__enter(d);
  if (rc) return rc;
  if (!d->in_txn)
    return pd__leave(d, pd__err(d, PD_EMISUSE, "pd_commit: no transaction is open on '%s'",
                                d->path));
  pd__cache_invalidate(d);
  if (d->txn_failed_rc) {
    rc = pd__err(d, d->txn_failed_rc,
                 "pd_commit: nothing committed on '%s': the transaction was rolled "
                 "back after an earlier error",
                 d->path);
  } else {
    rc = d->engine->write_commit(d);
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
  pd__cache_invalidate(d);
  d->engine->write_rollback(d);
  d->in_txn = 0;
  d->txn_failed_rc = 0;
  return pd__leave(d, PD_OK);
}

int pd_in_transaction(const pd_dict *d) { return d && d->in_txn; }
