/*
 * item_store.c - reading, storing and deleting one item, with the namespace
 * count and change log kept in step (FORMAT.md sections 2, 4 and 5).
 * Callers open the write scope; these never commit.
 */
#include <stdio.h>

#include "backend.h"
#include "codec.h"

int pd__key_ok(pd_dict *d, const pd_val *key) {
  char why[200];
  if (!key) return pd__err(d, PD_EINVALID, "key is NULL");
  why[0] = 0;
  int rc = pd__key_check(key, why, sizeof why);
  if (rc != PD_OK) return pd__err(d, rc, "bad key: %s", why);
  return PD_OK;
}

int pd__value_prepare(pd_dict *d, const pd_val *key, const pd_val *value,
                      pd_val *store) {
  char kb[128], why[200];
  if (!value)
    return pd__err(d, PD_EINVALID, "value for key %s is NULL",
                   pd__key_describe(key, kb, sizeof kb));
  why[0] = 0;
  int rc = pd__value_check(value, why, sizeof why);
  if (rc != PD_OK)
    return pd__err(d, rc, "bad value for key %s: %s",
                   pd__key_describe(key, kb, sizeof kb), why);
  /* Lists, maps and private values arrive as PD_PACKED documents built by a
   * pd_enc (pd__value_check refuses them bare), so the stored form is the
   * value itself. */
  *store = *value;
  if ((store->kind == PD_TEXT || store->kind == PD_BYTES || store->kind == PD_PACKED) &&
      store->u.s.len > PD_MAX_VALUE_BYTES)
    return pd__err(d, PD_ETOOBIG, "value for key %s is larger than %d bytes",
                   pd__key_describe(key, kb, sizeof kb), PD_MAX_VALUE_BYTES);
  return PD_OK;
}

int pd__item_read(pd_dict *d, const pd_val *key, pd_val *out, int *found) {
  int rc = PD_OK;
  *found = 0;
  sqlite3_stmt *st = pd__stmt(d, PD__ST_GET, &rc);
  if (!st) return rc;
  sqlite3_bind_int64(st, 1, d->ns_id);
  pd__bind_key(st, 2, key);
  int src = pd__step(d, st);
  if (src == SQLITE_ROW) {
    char why[256];
    pd_val v;
    d->out.len = 0;
    rc = pd__column_value(st, 0, &d->out, &v, why, sizeof why);
    pd__stmt_done(st);
    if (rc == PD_EDECODE) {
      char kb[128];
      return pd__err(d, rc, "value of key %s in '%s' cannot be decoded: %s",
                     pd__key_describe(key, kb, sizeof kb), d->path, why);
    }
    if (rc) return pd__err(d, rc, "out of memory reading a value");
    pd__val_fix(&v, &d->out);
    if (out) *out = v;
    *found = 1;
    return PD_OK;
  }
  pd__stmt_done(st);
  if (src == SQLITE_DONE) return PD_OK;
  return pd__sqlite_err(d, src, "reading a key");
}

/* Runs an item statement bound as (ns, key[, type, value]); returns the
 * number of rows it changed or a negative PD code. */
static int run_item(pd_dict *d, pd__stmt_id id, const pd_val *key, const pd_val *store,
                    const char *what) {
  int rc = PD_OK;
  sqlite3_stmt *st = pd__stmt(d, id, &rc);
  if (!st) return rc;
  sqlite3_bind_int64(st, 1, d->ns_id);
  pd__bind_key(st, 2, key);
  if (store) pd__bind_value(st, 3, store);
  int src = pd__step(d, st);
  pd__stmt_done(st);
  if (src != SQLITE_DONE) return pd__sqlite_err(d, src, what);
  return sqlite3_changes(d->db);
}

int pd__item_write(pd_dict *d, const pd_val *key, const pd_val *store, int *partial) {
  int n = run_item(d, PD__ST_UPDATE_ITEM, key, store, "storing a value");
  if (n < 0) return n;
  if (n > 0) {
    *partial = 1;
    return pd__log_change(d, PD_CHANGE_SET, key, 0);
  }
  /* A new key: bump the namespace first, so a dropped namespace (PD_EGONE)
   * is found before an orphan item could be written. */
  int rc = pd__log_change(d, PD_CHANGE_SET, key, 1);
  if (rc) return rc;
  *partial = 1;
  n = run_item(d, PD__ST_INSERT_ITEM, key, store, "storing a value");
  return n < 0 ? n : PD_OK;
}

static int namespace_exists(pd_dict *d, int *exists) {
  int rc = PD_OK;
  sqlite3_stmt *st = pd__stmt(d, PD__ST_NAMESPACE_ROW, &rc);
  if (!st) return rc;
  sqlite3_bind_int64(st, 1, d->ns_id);
  int src = pd__step(d, st);
  pd__stmt_done(st);
  if (src != SQLITE_ROW && src != SQLITE_DONE)
    return pd__sqlite_err(d, src, "reading the namespace");
  *exists = src == SQLITE_ROW;
  return PD_OK;
}

int pd__item_remove(pd_dict *d, const pd_val *key, int *partial) {
  int n = run_item(d, PD__ST_DELETE_ITEM, key, NULL, "deleting a key");
  if (n < 0) return n;
  if (n == 0) {
    int exists = 0, rc = namespace_exists(d, &exists);
    if (rc) return rc;
    char kb[128];
    if (!exists)
      return pd__err(d, PD_EGONE, "namespace '%s' of '%s' was dropped", d->name, d->path);
    return pd__err(d, PD_ENOTFOUND, "key %s not found",
                   pd__key_describe(key, kb, sizeof kb));
  }
  *partial = 1;
  return pd__log_change(d, PD_CHANGE_DELETE, key, -1);
}
