/*
 * change_log.c - the writing side of FORMAT.md section 5: every change bumps
 * the namespace's version, keeps its count exact and appends to
 * permadict_changes, all inside the caller's write transaction.
 */
#include "backend.h"

/* Deletes log rows more than PD__CHANGES_KEEP versions old. Done once every
 * PD__CHANGES_PRUNE_EVERY versions so the cost is spread thin. */
static int prune(pd_dict *d, int64_t version) {
  int rc = PD_OK;
  sqlite3_stmt *st = pd__stmt(d, PD__ST_PRUNE_CHANGES, &rc);
  if (!st) return rc;
  sqlite3_bind_int64(st, 1, d->ns_id);
  sqlite3_bind_int64(st, 2, version - PD__CHANGES_KEEP);
  int src = pd__step(d, st);
  pd__stmt_done(st);
  return src == SQLITE_DONE ? PD_OK : pd__sqlite_err(d, src, "pruning the change log");
}

static int gone(pd_dict *d) {
  return pd__err(d, PD_EGONE, "namespace '%s' of '%s' was dropped", d->name, d->path);
}

int pd__log_change(pd_dict *d, int op, const pd_val *key, int64_t count_delta) {
  int rc = PD_OK, src;
  sqlite3_stmt *st;
  if (!d->version_known) {
    st = pd__stmt(d, PD__ST_NAMESPACE_VERSION, &rc);
    if (!st) return rc;
    sqlite3_bind_int64(st, 1, d->ns_id);
    src = pd__step(d, st);
    if (src == SQLITE_ROW) d->version = sqlite3_column_int64(st, 0);
    pd__stmt_done(st);
    if (src == SQLITE_DONE) return gone(d);
    if (src != SQLITE_ROW) return pd__sqlite_err(d, src, "reading the namespace");
    d->version_known = 1;
  }
  int64_t version = d->version + 1;
  st = pd__stmt(d, PD__ST_BUMP_NAMESPACE, &rc);
  if (!st) return rc;
  sqlite3_bind_int64(st, 1, d->ns_id);
  sqlite3_bind_int64(st, 2, version);
  sqlite3_bind_int64(st, 3, count_delta);
  src = pd__step(d, st);
  pd__stmt_done(st);
  if (src != SQLITE_DONE) return pd__sqlite_err(d, src, "updating the namespace");
  if (sqlite3_changes(d->db) == 0) {
    d->version_known = 0;
    return gone(d);
  }
  d->version = version;

  st = pd__stmt(d, PD__ST_LOG_CHANGE, &rc);
  if (!st) return rc;
  sqlite3_bind_int64(st, 1, d->ns_id);
  sqlite3_bind_int64(st, 2, version);
  sqlite3_bind_int(st, 3, op);
  if (key) pd__bind_key(st, 4, key);
  else sqlite3_bind_null(st, 4);
  src = pd__step(d, st);
  pd__stmt_done(st);
  if (src != SQLITE_DONE) return pd__sqlite_err(d, src, "appending to the change log");
  if (version % PD__CHANGES_PRUNE_EVERY == 0 && version > PD__CHANGES_KEEP)
    return prune(d, version);
  return PD_OK;
}
