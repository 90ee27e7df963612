/* items.c - pd_get, pd_set, pd_delete, pd_contains, pd_count, pd_clear. */
#include "backend.h"

int pd_get(pd_dict *d, const pd_val *key, pd_val *out) {
  int rc = pd__enter(d);
  if (rc) return rc;
  rc = pd__key_ok(d, key);
  int found = 0;
  /* The hot path: one prepared statement, one short read transaction. */
  if (!rc) rc = pd__item_read(d, key, out, &found);
  if (!rc && !found) {
    char kb[128];
    rc = pd__err(d, PD_ENOTFOUND, "key %s not found", pd__key_describe(key, kb, sizeof kb));
  }
  return pd__leave(d, rc);
}

int pd_set(pd_dict *d, const pd_val *key, const pd_val *value) {
  int rc = pd__enter(d);
  if (rc) return rc;
  pd_val store;
  int opened = 0, partial = 0;
  rc = pd__key_ok(d, key);
  if (!rc) rc = pd__value_prepare(d, key, value, &store);
  if (!rc) rc = pd__write_begin(d, &opened);
  if (!rc) {
    rc = pd__item_write(d, key, &store, &partial);
    rc = pd__write_end(d, opened, rc, partial);
  }
  return pd__leave(d, rc);
}

int pd_delete(pd_dict *d, const pd_val *key) {
  int rc = pd__enter(d);
  if (rc) return rc;
  int opened = 0, partial = 0;
  rc = pd__key_ok(d, key);
  if (!rc) rc = pd__write_begin(d, &opened);
  if (!rc) {
    rc = pd__item_remove(d, key, &partial);
    rc = pd__write_end(d, opened, rc, partial);
  }
  return pd__leave(d, rc);
}

int pd_contains(pd_dict *d, const pd_val *key) {
  int rc = pd__enter(d);
  if (rc) return rc;
  rc = pd__key_ok(d, key);
  sqlite3_stmt *st = rc ? NULL : pd__stmt(d, PD__ST_CONTAINS, &rc);
  if (st) {
    sqlite3_bind_int64(st, 1, d->ns_id);
    pd__bind_key(st, 2, key);
    int src = pd__step(d, st);
    pd__stmt_done(st);
    if (src == SQLITE_ROW) rc = PD_OK;
    else if (src == SQLITE_DONE) {
      char kb[128];
      rc = pd__err(d, PD_ENOTFOUND, "key %s not found",
                   pd__key_describe(key, kb, sizeof kb));
    } else
      rc = pd__sqlite_err(d, src, "looking up a key");
  }
  return pd__leave(d, rc);
}

int pd_count(pd_dict *d, int64_t *out) {
  int rc = pd__enter(d);
  if (rc) return rc;
  if (!out) return pd__leave(d, pd__err(d, PD_EINVALID, "pd_count: out is NULL"));
  /* O(1): the count kept in permadict_namespaces, never COUNT(*). */
  sqlite3_stmt *st = pd__stmt(d, PD__ST_NAMESPACE_ROW, &rc);
  if (st) {
    sqlite3_bind_int64(st, 1, d->ns_id);
    int src = pd__step(d, st);
    if (src == SQLITE_ROW) *out = sqlite3_column_int64(st, 0);
    else if (src == SQLITE_DONE) *out = 0; /* dropped: reads as empty */
    else rc = pd__sqlite_err(d, src, "counting");
    pd__stmt_done(st);
  }
  return pd__leave(d, rc);
}

int pd_clear(pd_dict *d) {
  int rc = pd__enter(d);
  if (rc) return rc;
  int opened = 0, partial = 0;
  rc = pd__write_begin(d, &opened);
  if (!rc) {
    sqlite3_stmt *st = pd__stmt(d, PD__ST_CLEAR_ITEMS, &rc);
    if (st) {
      sqlite3_bind_int64(st, 1, d->ns_id);
      int src = pd__step(d, st);
      pd__stmt_done(st);
      if (src != SQLITE_DONE) rc = pd__sqlite_err(d, src, "clearing");
    }
    if (!rc) {
      int64_t removed = sqlite3_changes64(d->db);
      partial = removed > 0;
      rc = pd__log_change(d, PD_CHANGE_CLEAR, NULL, -removed);
    }
    rc = pd__write_end(d, opened, rc, partial);
  }
  return pd__leave(d, rc);
}
