/* store_lmdb.c - LMDB, the embedded key-value speed reference.
 *
 * One file (MDB_NOSUBDIR) with MDB_NOSYNC, which like SQLite's
 * synchronous=NORMAL keeps every commit across a process crash but not
 * necessarily across power loss. It is less work all the same: LMDB then
 * never syncs, where SQLite in WAL mode still syncs the WAL and the
 * database at every checkpoint (half of an autocommit set's time). Each read renews one reusable read
 * transaction (mdb_txn_renew/mdb_txn_reset), the cheapest way for a reader
 * to see the latest commit; writes outside begin/commit each commit alone. */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_store.h"

typedef struct lmdb_store {
  MDB_env *env;
  MDB_dbi dbi;
  MDB_txn *rtxn;  /* reset between reads */
  MDB_txn *wtxn;  /* non-NULL between begin and commit */
  int rc;
} lmdb_store;

static void lmdb_close(void *h) {
  lmdb_store *s = h;
  if (!s) return;
  if (s->wtxn) mdb_txn_abort(s->wtxn);
  if (s->rtxn) mdb_txn_abort(s->rtxn);
  if (s->env) mdb_env_close(s->env);
  free(s);
}

static void *lmdb_open(const char *path, char *err, size_t errlen) {
  lmdb_store *s = calloc(1, sizeof *s);
  MDB_txn *txn = NULL;
  int rc;
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  if ((rc = mdb_env_create(&s->env)) != 0) goto fail;
  if ((rc = mdb_env_set_mapsize(s->env, (size_t)8 << 30)) != 0) goto fail;
  if ((rc = mdb_env_open(s->env, path, MDB_NOSUBDIR | MDB_NOSYNC, 0644)) != 0) goto fail;
  if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0) goto fail;
  if ((rc = mdb_dbi_open(txn, NULL, 0, &s->dbi)) != 0) goto fail;
  if ((rc = mdb_txn_commit(txn)) != 0) {
    txn = NULL;
    goto fail;
  }
  txn = NULL;
  if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->rtxn)) != 0) goto fail;
  mdb_txn_reset(s->rtxn);
  return s;
fail:
  snprintf(err, errlen, "%s: %s", path, mdb_strerror(rc));
  if (txn) mdb_txn_abort(txn);
  lmdb_close(s);
  return NULL;
}

/* The transaction a read runs in: the open write transaction, or the
 * renewed read transaction (caller resets it with read_done). */
static MDB_txn *read_txn(lmdb_store *s) {
  if (s->wtxn) return s->wtxn;
  s->rc = mdb_txn_renew(s->rtxn);
  return s->rc == 0 ? s->rtxn : NULL;
}

static void read_done(lmdb_store *s, MDB_txn *txn) {
  if (txn == s->rtxn) mdb_txn_reset(s->rtxn);
}

static MDB_val key_val(const char *key) {
  MDB_val k = {BENCH_KEY_LEN, (void *)key};
  return k;
}

static int lmdb_get(void *h, const char *key, uint64_t *sink) {
  lmdb_store *s = h;
  MDB_txn *txn = read_txn(s);
  MDB_val k = key_val(key), v;
  if (!txn) return -1;
  s->rc = mdb_get(txn, s->dbi, &k, &v);
  if (s->rc == 0) *sink += v.mv_size + ((const unsigned char *)v.mv_data)[0];
  read_done(s, txn);
  return s->rc == 0 ? 0 : s->rc == MDB_NOTFOUND ? 1 : -1;
}

static int lmdb_contains(void *h, const char *key) {
  uint64_t sink = 0;
  return lmdb_get(h, key, &sink);
}

/* Writes join the open write transaction or run in one of their own. */
static int write_with(lmdb_store *s, const char *key, const bench_value *v) {
  MDB_txn *txn = s->wtxn;
  MDB_val k = key_val(key), val;
  if (v) {
    val.mv_data = v->kind == BENCH_INT ? (void *)&v->i : (void *)v->ptr;
    val.mv_size = v->kind == BENCH_INT ? sizeof v->i : v->len;
  }
  if (!txn && (s->rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0) return -1;
  s->rc = v ? mdb_put(txn, s->dbi, &k, &val, 0) : mdb_del(txn, s->dbi, &k, NULL);
  int result = s->rc == 0 ? 0 : s->rc == MDB_NOTFOUND ? 1 : -1;
  if (txn != s->wtxn) {
    if (result == -1) {
      mdb_txn_abort(txn);
    } else if ((s->rc = mdb_txn_commit(txn)) != 0) {
      result = -1;
    }
  }
  return result;
}

static int lmdb_set(void *h, const char *key, const bench_value *v) {
  return write_with(h, key, v);
}

static int lmdb_del(void *h, const char *key) { return write_with(h, key, NULL); }

static int lmdb_begin(void *h) {
  lmdb_store *s = h;
  s->rc = mdb_txn_begin(s->env, NULL, 0, &s->wtxn);
  return s->rc == 0 ? 0 : -1;
}

static int lmdb_commit(void *h) {
  lmdb_store *s = h;
  s->rc = mdb_txn_commit(s->wtxn);
  s->wtxn = NULL;
  return s->rc == 0 ? 0 : -1;
}

static int lmdb_count(void *h, int64_t *out) {
  lmdb_store *s = h;
  MDB_txn *txn = read_txn(s);
  MDB_stat st;
  if (!txn) return -1;
  s->rc = mdb_stat(txn, s->dbi, &st);
  read_done(s, txn);
  *out = (int64_t)st.ms_entries;
  return s->rc == 0 ? 0 : -1;
}

static int lmdb_iterate(void *h, uint64_t *items, uint64_t *sink) {
  lmdb_store *s = h;
  MDB_txn *txn = read_txn(s);
  MDB_cursor *cur;
  MDB_val k, v;
  if (!txn) return -1;
  if ((s->rc = mdb_cursor_open(txn, s->dbi, &cur)) != 0) {
    read_done(s, txn);
    return -1;
  }
  while ((s->rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
    *sink += k.mv_size + v.mv_size + ((const unsigned char *)v.mv_data)[0];
    (*items)++;
  }
  mdb_cursor_close(cur);
  read_done(s, txn);
  return s->rc == MDB_NOTFOUND ? 0 : -1;
}

static const char *lmdb_errmsg(void *h) { return mdb_strerror(((lmdb_store *)h)->rc); }

static void lmdb_remove(const char *path) {
  char buf[4096];
  unlink(path);
  snprintf(buf, sizeof buf, "%s-lock", path);
  unlink(buf);
}

const bench_store bench_store_lmdb = {
    "lmdb",
    "one file, MDB_NOSYNC (never syncs; SQLite syncs at each checkpoint), "
    "read transaction renewed per read",
    lmdb_open, lmdb_close, lmdb_get, lmdb_contains, lmdb_set, lmdb_del,
    lmdb_begin, lmdb_commit, lmdb_count, lmdb_iterate, lmdb_errmsg,
    NULL, NULL, lmdb_remove};
