/* items.c - pd_get, pd_set, pd_delete, pd_contains, pd_count, pd_clear. */
#include "engine.h"

int pd_get(pd_dict *d, const pd_val *key, pd_val *out) {
  int rc = pd__enter(d);
  if (rc) return rc;
  rc = pd__key_ok(d, key);
  int found = 0;
  pd_val v;
  /* The hot path: the read cache, else one engine read. */
  if (!rc) rc = pd__read_item(d, key, &v, &found);
  if (!rc && !found) rc = pd__err_not_found(d, key);
  if (!rc && out) *out = v;
  return pd__leave(d, rc);
}

int pd_contains(pd_dict *d, const pd_val *key) {
  int rc = pd__enter(d);
  if (rc) return rc;
  rc = pd__key_ok(d, key);
  int found = 0;
  if (!rc) rc = pd__read_item(d, key, NULL, &found);
  if (!rc && !found) rc = pd__err_not_found(d, key);
  return pd__leave(d, rc);
}

int pd_count(pd_dict *d, int64_t *out) {
  int rc = pd__enter(d);
  if (rc) return rc;
  if (!out) return pd__leave(d, pd__err(d, PD_EINVALID, "pd_count: out is NULL"));
  return pd__leave(d, pd__read_count(d, out));
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
    rc = d->engine->put(d, key, &store, &partial);
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
    rc = d->engine->remove(d, key, &partial);
    rc = pd__write_end(d, opened, rc, partial);
  }
  return pd__leave(d, rc);
}

int pd_clear(pd_dict *d) {
  int rc = pd__enter(d);
  if (rc) return rc;
  int opened = 0, partial = 0;
  rc = pd__write_begin(d, &opened);
  if (!rc) {
    rc = d->engine->clear(d, &partial);
    rc = pd__write_end(d, opened, rc, partial);
  }
  return pd__leave(d, rc);
}
