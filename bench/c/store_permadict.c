/* store_permadict.c - libpermadict through its public C API only. */
#include <permadict.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_store.h"

typedef struct permadict_store {
  pd_dict *d;
  pd_iter_options iter_opts;
} permadict_store;

static void *permadict_open(const char *path, char *err, size_t errlen) {
  permadict_store *s = calloc(1, sizeof *s);
  pd_iter_options io = PD_ITER_OPTIONS_INIT;
  int rc;
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  if ((rc = pd_open(&s->d, path, NULL)) != PD_OK) {
    snprintf(err, errlen, "%s: %s (%s)", path, pd_errmsg(NULL), pd_errstr(rc));
    free(s);
    return NULL;
  }
  io.values = 1;
  s->iter_opts = io;
  return s;
}

static void permadict_close(void *h) {
  permadict_store *s = h;
  if (!s) return;
  pd_close(s->d);
  free(s);
}

static pd_val key_val(const char *key) { return pd_text(key, BENCH_KEY_LEN); }

static int result_of(int rc) {
  return rc == PD_OK ? 0 : rc == PD_ENOTFOUND ? 1 : -1;
}

static uint64_t touch(const pd_val *v) {
  switch (v->kind) {
  case PD_INT:
    return (uint64_t)v->u.i;
  case PD_TEXT:
  case PD_BYTES:
  case PD_PACKED:
    return v->u.s.len + (v->u.s.len ? ((const unsigned char *)v->u.s.ptr)[0] : 0);
  default:
    return (uint64_t)v->kind;
  }
}

static int permadict_get(void *h, const char *key, uint64_t *sink) {
  pd_val k = key_val(key), out;
  int rc = pd_get(((permadict_store *)h)->d, &k, &out);
  if (rc == PD_OK) *sink += touch(&out);
  return result_of(rc);
}

static int permadict_contains(void *h, const char *key) {
  pd_val k = key_val(key);
  return result_of(pd_contains(((permadict_store *)h)->d, &k));
}

static int permadict_set(void *h, const char *key, const bench_value *v) {
  pd_val k = key_val(key), val;
  switch (v->kind) {
  case BENCH_TEXT100:
    val = pd_text(v->ptr, v->len);
    break;
  case BENCH_INT:
    val = pd_int(v->i);
    break;
  case BENCH_BYTES1K:
    val = pd_bytes(v->ptr, v->len);
    break;
  default: /* the map is already canonical MessagePack */
    val = pd_bytes(v->ptr, v->len);
    val.kind = PD_PACKED;
  }
  return result_of(pd_set(((permadict_store *)h)->d, &k, &val));
}

static int permadict_del(void *h, const char *key) {
  pd_val k = key_val(key);
  return result_of(pd_delete(((permadict_store *)h)->d, &k));
}

static int permadict_begin(void *h) { return result_of(pd_begin(((permadict_store *)h)->d)); }
static int permadict_commit(void *h) { return result_of(pd_commit(((permadict_store *)h)->d)); }

static int permadict_count(void *h, int64_t *out) {
  return result_of(pd_count(((permadict_store *)h)->d, out));
}

static int permadict_iterate(void *h, uint64_t *items, uint64_t *sink) {
  permadict_store *s = h;
  pd_iter *it;
  pd_val k, v;
  int rc = pd_iter_open(&it, s->d, &s->iter_opts);
  if (rc != PD_OK) return -1;
  while ((rc = pd_iter_next(it, &k, &v)) == PD_OK) {
    *sink += touch(&k) + touch(&v);
    (*items)++;
  }
  pd_iter_free(it);
  return rc == PD_ITEROVER ? 0 : -1;
}

static const char *permadict_errmsg(void *h) {
  return pd_errmsg(((permadict_store *)h)->d);
}

const bench_store bench_store_permadict = {
    "permadict", "libpermadict defaults (public C API)",
    permadict_open, permadict_close, permadict_get, permadict_contains, permadict_set,
    permadict_del, permadict_begin, permadict_commit, permadict_count, permadict_iterate,
    permadict_errmsg, NULL, NULL, bench_remove_sqlite_files};
