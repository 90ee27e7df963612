/*
 * pd_vectors - the C side of the cross-language vector exchange.
 *
 *   pd_vectors write  FILE NS VECTORS         store every vector
 *   pd_vectors check  FILE NS VECTORS         read and compare every vector
 *   pd_vectors copy   FILE IN OUT VECTORS     check IN, then write what was read
 *                                             (decoded, re-encoded) into OUT
 *   pd_vectors reject FILE NS VECTORS         the "rejected" vectors fail with
 *                                             their error and store nothing
 *
 * Values go under the text key of their name in NS; key vectors go in the
 * namespace "NS.keys" with their name as a text value. The Python and Lua
 * programs (vectors.py, vectors.lua) take the same arguments, so the harness
 * (run_vectors.py) can pair any two languages. Exit 0 when all is well, 1 on a
 * mismatch (each printed), 2 on a usage or setup error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "typed_json.h"

static int failures;

static void fail(const char *name, const char *what, const json_t *want, const json_t *got) {
  char *w = want ? json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  char *g = got ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  printf("MISMATCH %s: %s\n  expected %s\n  got      %s\n", name, what, w ? w : "-", g ? g : "-");
  free(w);
  free(g);
  failures++;
}

static pd_dict *open_ns(const char *file, const char *ns) {
  pd_options o = PD_OPTIONS_INIT;
  o.name = ns;
  pd_dict *d;
  int rc = pd_open(&d, file, &o);
  if (rc != PD_OK) {
    fprintf(stderr, "pd_open %s [%s]: %s: %s\n", file, ns, tj_code_name(rc), pd_errmsg(NULL));
    exit(2);
  }
  return d;
}

static char *keys_ns(const char *ns) {
  size_t n = strlen(ns);
  char *s = malloc(n + 6);
  memcpy(s, ns, n);
  memcpy(s + n, ".keys", 6);
  return s;
}

static int set_typed(pd_dict *d, pd_enc *enc, const pd_val *key, const json_t *typed,
                     int canonical) {
  pd_val v;
  pd_enc_reset(enc);
  int rc = canonical ? tj_encode_canonical(enc, typed) : tj_encode(enc, typed);
  if (rc == PD_OK) rc = pd_enc_finish(enc, &v);
  if (rc == PD_OK) rc = pd_set(d, key, &v);
  return rc;
}

static void write_all(const char *file, const char *ns, json_t *vec) {
  pd_dict *d = open_ns(file, ns);
  pd_enc *enc;
  pd_enc_new(&enc);
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(vec, "values"), i, e) {
    const char *name = json_string_value(json_object_get(e, "name"));
    pd_val key = pd_text(name, strlen(name));
    int rc = set_typed(d, enc, &key, json_object_get(e, "value"), 0);
    if (rc != PD_OK) {
      printf("WRITE %s failed: %s: %s / %s\n", name, tj_code_name(rc), pd_errmsg(d),
             pd_enc_errmsg(enc));
      failures++;
    }
  }
  pd_close(d);
  char *kns = keys_ns(ns);
  d = open_ns(file, kns);
  json_array_foreach(json_object_get(vec, "keys"), i, e) {
    const char *name = json_string_value(json_object_get(e, "name"));
    pd_val key, val = pd_text(name, strlen(name));
    void *buf;
    int rc = tj_key(json_object_get(e, "key"), &key, &buf);
    if (rc == PD_OK) rc = pd_set(d, &key, &val);
    if (rc != PD_OK) {
      printf("WRITE key %s failed: %s: %s\n", name, tj_code_name(rc), pd_errmsg(d));
      failures++;
    }
    free(buf);
  }
  pd_close(d);
  free(kns);
  pd_enc_free(enc);
}

/* Checks NS against the vectors; with out_ns, writes back what it read. */
static void check_all(const char *file, const char *ns, const char *out_ns, json_t *vec) {
  pd_dict *d = open_ns(file, ns);
  pd_dict *o = out_ns ? open_ns(file, out_ns) : NULL;
  pd_enc *enc;
  pd_dec *dec;
  pd_enc_new(&enc);
  pd_dec_new(&dec);
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(vec, "values"), i, e) {
    const char *name = json_string_value(json_object_get(e, "name"));
    pd_val key = pd_text(name, strlen(name)), got;
    json_t *want = tj_canonical(json_object_get(e, "value"));
    int rc = pd_get(d, &key, &got), err = PD_OK;
    json_t *have = rc == PD_OK ? tj_from_val(dec, &got, &err) : NULL;
    if (rc != PD_OK || !have) {
      printf("READ %s failed: %s: %s / %s\n", name, tj_code_name(rc ? rc : err), pd_errmsg(d),
             pd_dec_errmsg(dec));
      failures++;
    } else if (!json_equal(want, have)) {
      fail(name, "value differs", want, have);
    } else if (o) {
      rc = set_typed(o, enc, &key, have, 1);
      if (rc != PD_OK) {
        printf("WRITE BACK %s failed: %s: %s\n", name, tj_code_name(rc), pd_errmsg(o));
        failures++;
      }
    }
    json_decref(want);
    json_decref(have);
  }
  pd_close(d);
  pd_close(o);

  /* Keys: iterate, so that the keys come from the library, not from us. */
  char *kns = keys_ns(ns), *kout = out_ns ? keys_ns(out_ns) : NULL;
  d = open_ns(file, kns);
  o = kout ? open_ns(file, kout) : NULL;
  json_t *seen = json_object();
  pd_iter_options io = PD_ITER_OPTIONS_INIT;
  io.values = 1;
  pd_iter *it;
  int rc = pd_iter_open(&it, d, &io);
  pd_val k, v;
  while (rc == PD_OK && (rc = pd_iter_next(it, &k, &v)) == PD_OK) {
    int err;
    json_t *have = tj_from_val(dec, &k, &err);
    if (v.kind != PD_TEXT || !have) {
      printf("READ key: value is not a vector name, or key unreadable\n");
      failures++;
      json_decref(have);
      continue;
    }
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)v.u.s.len, (const char *)v.u.s.ptr);
    json_t *want = NULL;
    size_t j;
    json_t *kv;
    json_array_foreach(json_object_get(vec, "keys"), j, kv) {
      if (strcmp(json_string_value(json_object_get(kv, "name")), name) == 0)
        want = tj_canonical(json_object_get(kv, "key"));
    }
    if (!want) {
      printf("READ key: unexpected name %s\n", name);
      failures++;
    } else if (!json_equal(want, have)) {
      fail(name, "key differs", want, have);
    } else {
      json_object_set_new(seen, name, json_true());
      if (o && (rc = pd_set(o, &k, &v)) != PD_OK) {
        printf("WRITE BACK key %s failed: %s: %s\n", name, tj_code_name(rc), pd_errmsg(o));
        failures++;
        rc = PD_OK;
      }
    }
    json_decref(want);
    json_decref(have);
  }
  if (rc != PD_ITEROVER) {
    printf("ITERATE %s failed: %s: %s\n", kns, tj_code_name(rc), pd_errmsg(d));
    failures++;
  }
  json_array_foreach(json_object_get(vec, "keys"), i, e) {
    const char *name = json_string_value(json_object_get(e, "name"));
    if (!json_object_get(seen, name)) {
      printf("MISSING key %s\n", name);
      failures++;
    }
  }
  pd_iter_free(it);
  json_decref(seen);
  pd_close(d);
  pd_close(o);
  free(kns);
  free(kout);
  pd_enc_free(enc);
  pd_dec_free(dec);
}

static int code_named(const char *s) {
  for (int c = 0; c >= -20; c--)
    if (strcmp(tj_code_name(c), s) == 0) return c;
  return 1;
}

static void reject_all(const char *file, const char *ns, json_t *vec) {
  /* Always a fresh file: "nothing stored" must not see an earlier run. */
  char side[4200];
  unlink(file);
  snprintf(side, sizeof side, "%s-wal", file);
  unlink(side);
  snprintf(side, sizeof side, "%s-shm", file);
  unlink(side);
  pd_dict *d = open_ns(file, ns);
  pd_enc *enc;
  pd_enc_new(&enc);
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(vec, "rejected"), i, e) {
    const char *name = json_string_value(json_object_get(e, "name"));
    int want = code_named(json_string_value(json_object_get(e, "error")));
    pd_val key = pd_text(name, strlen(name)), got;
    int rc = set_typed(d, enc, &key, json_object_get(e, "value"), 0);
    if (rc != want) {
      printf("REJECT %s: expected %s, got %s (%s)\n", name, tj_code_name(want),
             tj_code_name(rc), pd_enc_errmsg(enc));
      failures++;
    } else if (strlen(pd_enc_errmsg(enc)) == 0) {
      printf("REJECT %s: no message says what was wrong\n", name);
      failures++;
    }
    if (pd_get(d, &key, &got) != PD_ENOTFOUND) {
      printf("REJECT %s: something was stored\n", name);
      failures++;
    }
  }
  pd_enc_free(enc);
  pd_close(d);
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s write|check|reject FILE NS VECTORS | copy FILE IN OUT VECTORS\n",
            argv[0]);
    return 2;
  }
  const char *cmd = argv[1], *file = argv[2];
  if (strcmp(cmd, "copy") == 0 && argc == 6) {
    json_t *vec = tj_load_vectors(argv[5]);
    check_all(file, argv[3], argv[4], vec);
    json_decref(vec);
  } else {
    json_t *vec = tj_load_vectors(argv[4]);
    if (strcmp(cmd, "write") == 0) write_all(file, argv[3], vec);
    else if (strcmp(cmd, "check") == 0) check_all(file, argv[3], NULL, vec);
    else if (strcmp(cmd, "reject") == 0) reject_all(file, argv[3], vec);
    else { fprintf(stderr, "unknown command %s\n", cmd); return 2; }
    json_decref(vec);
  }
  if (failures) printf("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
