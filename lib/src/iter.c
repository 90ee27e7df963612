/*
 * iter.c - key-ordered iteration, one page at a time.
 *
 * Each page is one SELECT ... ORDER BY key LIMIT n whose rows are copied into
 * iterator-owned memory; the statement is finalized before the page is
 * handed out, so no read transaction is held between pages (writers are
 * never blocked and a WAL checkpoint is never pinned) and memory stays
 * bounded by one page. The next page starts strictly after the last key
 * seen, so keys deleted meanwhile are simply skipped, never an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "codec.h"

#define DEFAULT_PAGE_SIZE 256

typedef struct iter_row {
  pd_val key;
  pd_val value;
  int rc;          /* PD_OK or PD_EDECODE */
  size_t msg_at;   /* offset of the decode message in the page buffer */
} iter_row;

struct pd_iter {
  pd_dict *d;
  int values;
  size_t page_size;
  /* Bounds, copied: lo inclusive, hi exclusive. */
  pd__buf bounds;
  pd_val lo, hi;
  int has_lo, has_hi, empty;
  /* The last key read (any storage class), the exclusive start of the next
   * page. A duplicate sqlite3_value, so it owns its memory. */
  sqlite3_value *cursor;
  int exhausted;   /* the last page was short: nothing follows */
  pd__buf page;
  iter_row *rows;
  size_t nrows, rows_cap, pos;
};

/* Copies v's bytes into the bounds buffer (offset form, fixed later). */
static int keep_key(pd__buf *b, const pd_val *v, pd_val *out) {
  *out = *v;
  if (v->kind == PD_TEXT || v->kind == PD_BYTES) {
    size_t at = pd__buf_append(b, v->u.s.ptr, v->u.s.len);
    if (at == (size_t)-1) return PD_ENOMEM;
    out->u.s.ptr = (const void *)(uintptr_t)at;
  }
  return PD_OK;
}

/* The smallest key above every key of prefix's kind starting with prefix:
 * drop trailing 0xff bytes and add one to the last. With nothing left, text
 * ends where bytes begin (an empty blob), and bytes never end. */
static int prefix_upper(pd__buf *b, const pd_val *prefix, pd_val *out, int *has) {
  const unsigned char *p = prefix->u.s.ptr;
  size_t n = prefix->u.s.len;
  while (n > 0 && p[n - 1] == 0xff) n--;
  *has = 1;
  if (n == 0) {
    if (prefix->kind == PD_BYTES) {
      *has = 0;
      return PD_OK;
    }
    pd_val e = pd_bytes("", 0);
    return keep_key(b, &e, out);
  }
  pd_val up = *prefix;
  up.u.s.len = n;
  int rc = keep_key(b, &up, out);
  if (rc) return rc;
  b->data[(uintptr_t)out->u.s.ptr + n - 1]++;
  return PD_OK;
}

static int bounds_set(pd_iter *it, const pd_iter_options *o) {
  pd_dict *d = it->d;
  pd_val lo, hi;
  int rc = PD_OK;
  if (o->prefix) {
    if (o->prefix->kind != PD_TEXT && o->prefix->kind != PD_BYTES)
      return pd__err(d, PD_EINVALID, "pd_iter_open: prefix must be text or bytes");
    if ((rc = pd__key_ok(d, o->prefix))) return rc;
    if ((rc = keep_key(&it->bounds, o->prefix, &it->lo))) return rc;
    it->has_lo = 1;
    if ((rc = prefix_upper(&it->bounds, o->prefix, &it->hi, &it->has_hi))) return rc;
  }
  /* Bounds are offsets until the buffer stops growing; compare fixed copies. */
  if (o->start) {
    if ((rc = pd__key_ok(d, o->start))) return rc;
    lo = it->lo;
    pd__val_fix(&lo, &it->bounds);
    if (!it->has_lo || pd__key_compare(o->start, &lo) > 0) {
      if ((rc = keep_key(&it->bounds, o->start, &it->lo))) return rc;
      it->has_lo = 1;
    }
  }
  if (o->end) {
    if ((rc = pd__key_ok(d, o->end))) return rc;
    hi = it->hi;
    pd__val_fix(&hi, &it->bounds);
    if (!it->has_hi || pd__key_compare(o->end, &hi) < 0) {
      if ((rc = keep_key(&it->bounds, o->end, &it->hi))) return rc;
      it->has_hi = 1;
    }
  }
  if (it->has_lo) pd__val_fix(&it->lo, &it->bounds);
  if (it->has_hi) pd__val_fix(&it->hi, &it->bounds);
  if (it->has_lo && it->has_hi && pd__key_compare(&it->lo, &it->hi) >= 0) it->empty = 1;
  return PD_OK;
}

void pd_iter_free(pd_iter *it) {
  if (!it) return;
  pd__buf_free(&it->bounds);
  pd__buf_free(&it->page);
  sqlite3_value_free(it->cursor);
  free(it->rows);
  free(it);
}

int pd_iter_open(pd_iter **out, pd_dict *d, const pd_iter_options *opts) {
  static const pd_iter_options defaults = PD_ITER_OPTIONS_INIT;
  if (!out) return PD_EINVALID;
  *out = NULL;
  int rc = pd__enter(d);
  if (rc) return rc;
  if (!opts) opts = &defaults;
  if (opts->version != PD_ITER_OPTIONS_VERSION)
    return pd__leave(d, pd__err(d, PD_EINVALID, "pd_iter_open: unknown options version %u",
                                opts->version));
  pd_iter *it = calloc(1, sizeof *it);
  if (!it) return pd__leave(d, pd__err(d, PD_ENOMEM, "out of memory"));
  it->d = d;
  it->values = opts->values;
  it->page_size = opts->page_size ? opts->page_size : DEFAULT_PAGE_SIZE;
  if (it->page_size > 1u << 20) it->page_size = 1u << 20;
  rc = bounds_set(it, opts);
  if (rc == PD_ENOMEM) pd__err(d, rc, "out of memory");
  if (rc) {
    pd_iter_free(it);
    return pd__leave(d, rc);
  }
  *out = it;
  return pd__leave(d, PD_OK);
}

static int rows_reserve(pd_iter *it) {
  if (it->nrows < it->rows_cap) return PD_OK;
  size_t cap = it->rows_cap ? it->rows_cap * 2 : 16;
  iter_row *r = realloc(it->rows, cap * sizeof *r);
  if (!r) return PD_ENOMEM;
  it->rows = r;
  it->rows_cap = cap;
  return PD_OK;
}

/* Reads one row into the page; decode problems are kept for pd_iter_next. */
static int read_row(pd_iter *it, sqlite3_stmt *st) {
  int rc = rows_reserve(it);
  if (rc) return rc;
  iter_row *r = &it->rows[it->nrows];
  char why[256];
  memset(r, 0, sizeof *r);
  r->value = pd_null();
  rc = pd__column_key(st, 0, &it->page, &r->key, why, sizeof why);
  if (rc == PD_OK && it->values)
    rc = pd__column_value(st, 1, &it->page, &r->value, why, sizeof why);
  if (rc == PD_ENOMEM) return rc;
  if (rc == PD_EDECODE) {
    r->rc = rc;
    r->msg_at = pd__buf_append(&it->page, why, strlen(why));
    if (r->msg_at == (size_t)-1) return PD_ENOMEM;
  }
  it->nrows++;
  return PD_OK;
}

static int fetch_page(pd_iter *it) {
  pd_dict *d = it->d;
  char sql[256];
  int lower = it->cursor ? 2 : it->has_lo ? 1 : 0; /* 2: after cursor */
  snprintf(sql, sizeof sql,
           "SELECT key%s FROM permadict_items WHERE ns = ?1%s%s ORDER BY key LIMIT ?4",
           it->values ? ", type, value" : "",
           lower == 2 ? " AND key > ?2" : lower == 1 ? " AND key >= ?2" : "",
           it->has_hi ? " AND key < ?3" : "");
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(d->db, sql, -1, &st, NULL);
  if (src != SQLITE_OK) return pd__sqlite_err(d, src, "iterating");
  sqlite3_bind_int64(st, 1, d->ns_id);
  if (lower == 2) sqlite3_bind_value(st, 2, it->cursor);
  else if (lower == 1) pd__bind_key(st, 2, &it->lo);
  if (it->has_hi) pd__bind_key(st, 3, &it->hi);
  sqlite3_bind_int64(st, 4, (sqlite3_int64)it->page_size);

  it->page.len = 0;
  it->nrows = it->pos = 0;
  int rc = PD_OK;
  for (int attempt = 0;; attempt++) {
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
      if ((rc = read_row(it, st))) break;
      sqlite3_value *last = sqlite3_value_dup(sqlite3_column_value(st, 0));
      if (!last) {
        rc = PD_ENOMEM;
        break;
      }
      sqlite3_value_free(it->cursor);
      it->cursor = last;
      continue;
    }
    if (src == SQLITE_DONE) break;
    if (((src & 0xff) == SQLITE_BUSY) && it->nrows == 0 && !d->timed_out &&
        pd__busy_retry(d, attempt)) {
      sqlite3_reset(st);
      continue;
    }
    rc = pd__sqlite_err(d, src, "iterating");
    break;
  }
  sqlite3_finalize(st); /* ends the page's read transaction */
  if (rc == PD_ENOMEM) return pd__err(d, rc, "out of memory while iterating");
  if (rc) return rc;
  if (it->nrows < it->page_size) it->exhausted = 1;
  for (size_t i = 0; i < it->nrows; i++) {
    pd__val_fix(&it->rows[i].key, &it->page);
    pd__val_fix(&it->rows[i].value, &it->page);
  }
  return PD_OK;
}

int pd_iter_next(pd_iter *it, pd_val *key, pd_val *value) {
  if (!it) return PD_EINVALID;
  pd_dict *d = it->d;
  int rc = pd__enter(d);
  if (rc) return rc;
  if (it->pos >= it->nrows) {
    if (it->empty || it->exhausted) return pd__leave(d, PD_ITEROVER);
    rc = fetch_page(it);
    if (rc) return pd__leave(d, rc);
    if (it->nrows == 0) return pd__leave(d, PD_ITEROVER);
  }
  iter_row *r = &it->rows[it->pos++];
  if (r->rc) {
    char kb[128];
    return pd__leave(d, pd__err(d, r->rc, "entry %s in '%s' cannot be decoded: %s",
                                r->key.kind == PD_NULL ? "(unreadable key)"
                                    : pd__key_describe(&r->key, kb, sizeof kb),
                                d->path, (const char *)it->page.data + r->msg_at));
  }
  if (key) *key = r->key;
  if (value) *value = it->values ? r->value : pd_null();
  return pd__leave(d, PD_OK);
}
