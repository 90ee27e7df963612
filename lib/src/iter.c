/*
 * iter.c - key-ordered iteration, one page at a time.
 *
 * Each page is one engine scan (engine.h, scan_page) whose rows are copied
 * into iterator-owned memory, so nothing is held open between pages and
 * memory stays bounded by one page. The next page starts strictly after the
 * last key seen, so keys deleted meanwhile are simply skipped, never an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "codec.h"

#define DEFAULT_PAGE_SIZE 256
/* Without a page_size the first page holds this many rows and each next one
 * twice as many, up to DEFAULT_PAGE_SIZE: a walk left after a few keys (a
 * Lua loop that breaks, whose iterator only its garbage collector frees, and
 * that collector does not see this memory) then holds 16 rows, not 256
 * (1 MiB of 4 KiB values), and a full walk makes 4 more queries in all. */
#define FIRST_PAGE_SIZE 16

struct pd_iter {
  pd_dict *d;
  int values;
  size_t page_size;
  size_t next_page_size; /* rows the next page asks for (growing to page_size) */
  /* Bounds, copied: lo inclusive, hi exclusive. */
  pd__buf bounds;
  pd_val lo, hi;
  int has_lo, has_hi, empty;
  /* The engine's position after the last key read: the exclusive start of
   * the next page. */
  void *cursor;
  int exhausted;   /* the last page was short: nothing follows */
  pd__page page;
  size_t pos;
};

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
    return pd__val_keep(b, &e, out);
  }
  pd_val up = *prefix;
  up.u.s.len = n;
  int rc = pd__val_keep(b, &up, out);
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
    if ((rc = pd__val_keep(&it->bounds, o->prefix, &it->lo))) return rc;
    it->has_lo = 1;
    if ((rc = prefix_upper(&it->bounds, o->prefix, &it->hi, &it->has_hi))) return rc;
  }
  /* Bounds are offsets until the buffer stops growing; compare fixed copies. */
  if (o->start) {
    if ((rc = pd__key_ok(d, o->start))) return rc;
    lo = it->lo;
    pd__val_fix(&lo, &it->bounds);
    if (!it->has_lo || pd__key_compare(o->start, &lo) > 0) {
      if ((rc = pd__val_keep(&it->bounds, o->start, &it->lo))) return rc;
      it->has_lo = 1;
    }
  }
  if (o->end) {
    if ((rc = pd__key_ok(d, o->end))) return rc;
    hi = it->hi;
    pd__val_fix(&hi, &it->bounds);
    if (!it->has_hi || pd__key_compare(o->end, &hi) < 0) {
      if ((rc = pd__val_keep(&it->bounds, o->end, &it->hi))) return rc;
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
  pd__buf_free(&it->page.buf);
  if (it->cursor) {
    /* The cursor is SQLite's memory, freed under its allocator's
     * process-wide mutex: fork() must wait (fork_gate.c). */
    pd__gate_enter();
    it->d->engine->scan_cursor_free(it->cursor);
    pd__gate_leave();
  }
  free(it->page.rows);
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
  it->next_page_size = opts->page_size ? it->page_size : FIRST_PAGE_SIZE;
  rc = bounds_set(it, opts);
  if (rc == PD_ENOMEM) pd__err(d, rc, "out of memory");
  if (rc) {
    pd_iter_free(it);
    return pd__leave(d, rc);
  }
  *out = it;
  return pd__leave(d, PD_OK);
}

int pd__page_reserve(pd__page *p) {
  if (p->n < p->cap) return PD_OK;
  size_t cap = p->cap ? p->cap * 2 : 16;
  pd__row *r = realloc(p->rows, cap * sizeof *r);
  if (!r) return PD_ENOMEM;
  p->rows = r;
  p->cap = cap;
  return PD_OK;
}

static int fetch_page(pd_iter *it) {
  pd__scan req = {it->has_lo ? &it->lo : NULL, it->has_hi ? &it->hi : NULL,
                  it->next_page_size, it->values};
  it->pos = 0;
  int rc = it->d->engine->scan_page(it->d, &req, &it->cursor, &it->page);
  if (rc) {
    it->page.n = 0;
    return rc;
  }
  if (it->page.n < req.limit) it->exhausted = 1;
  if (it->next_page_size < it->page_size)
    it->next_page_size = it->next_page_size * 2 < it->page_size ? it->next_page_size * 2
                                                                : it->page_size;
  return PD_OK;
}

int pd_iter_next(pd_iter *it, pd_val *key, pd_val *value) {
  if (!it) return PD_EINVALID;
  pd_dict *d = it->d;
  int rc = pd__enter(d);
  if (rc) return rc;
  if (it->pos >= it->page.n) {
    if (it->empty || it->exhausted) return pd__leave(d, PD_ITEROVER);
    rc = fetch_page(it);
    if (rc) return pd__leave(d, rc);
    if (it->page.n == 0) return pd__leave(d, PD_ITEROVER);
  }
  pd__row *r = &it->page.rows[it->pos++];
  if (r->rc) {
    char kb[128];
    return pd__leave(d, pd__err(d, r->rc, "entry %s in '%s' cannot be decoded: %s",
                                r->key.kind == PD_NULL ? "(unreadable key)"
                                    : pd__key_describe(&r->key, kb, sizeof kb),
                                d->path, (const char *)it->page.buf.data + r->msg_at));
  }
  if (key) *key = r->key;
  if (value) *value = it->values ? r->value : pd_null();
  return pd__leave(d, PD_OK);
}
