/*
 * encoder.c - pd_enc: building canonical packed documents (docs/FORMAT.md
 * 4.1) with msgpack-c's packer.
 *
 * Items arrive depth first. A stack of open containers counts the items each
 * still needs; when a map receives its last value, its entries (key bytes
 * followed by value bytes) are sorted by key in place in the buffer, so two
 * equal maps always give the same bytes whatever order they were built in.
 * Nested maps are sorted when they close, before their parent, and sorting
 * moves whole entries, so offsets recorded by the parent stay valid.
 *
 * Bindings keep one encoder per handle and reuse it for every value, so
 * pd_enc_reset keeps the buffers (unless one grew unusually large).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "codec.h"

/* Buffers above these sizes are released by pd_enc_reset, so one huge value
 * does not pin its memory for the life of a handle. */
#define KEEP_BUFFER_BYTES (1u << 20)
#define KEEP_ENTRIES 65536u

typedef struct enc_frame {
  int is_map;
  size_t n;          /* items, or pairs */
  size_t left;       /* objects still due: items, or keys plus values */
  size_t entry_base; /* a map: index of its first entry in enc->entries */
} enc_frame;

/* One map entry: key bytes at off, its value right after, up to end. */
typedef struct map_entry {
  size_t off;
  size_t end;     /* filled in when the map closes */
  size_t key_off; /* text/bytes key: offset of its payload */
  pd_val key;     /* u.s.ptr filled in when the map closes */
} map_entry;

enum enc_state { ENC_EMPTY, ENC_BUILDING, ENC_DONE, ENC_FAILED };

struct pd_enc {
  msgpack_sbuffer buf;
  msgpack_packer pk;
  enc_frame frames[PD_MAX_DEPTH];
  int depth;
  map_entry *entries;
  size_t nentries, capentries;
  char *scratch; /* room to reorder one map's entries */
  size_t scratchcap;
  enum enc_state state;
  int err;
  pd_val top;    /* the finished value (text/bytes: payload at offset 0) */
  pd_dec *inner; /* reads PD_PACKED values given to pd_enc_val */
  char msg[256];
};

static int enc_fail(pd_enc *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Every failure is sticky: the encoder answers the same until reset. */
static int enc_fail(pd_enc *e, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  e->state = ENC_FAILED;
  e->err = code;
  return code;
}

static int enc_nomem(pd_enc *e) {
  return enc_fail(e, PD_ENOMEM, "out of memory encoding a value");
}

int pd_enc_new(pd_enc **out) {
  if (out == NULL)
    return PD_EINVALID;
  pd_enc *e = calloc(1, sizeof *e);
  *out = e;
  if (e == NULL)
    return PD_ENOMEM;
  msgpack_sbuffer_init(&e->buf);
  msgpack_packer_init(&e->pk, &e->buf, msgpack_sbuffer_write);
  e->state = ENC_EMPTY;
  return PD_OK;
}

void pd_enc_free(pd_enc *e) {
  if (e == NULL)
    return;
  msgpack_sbuffer_destroy(&e->buf);
  free(e->entries);
  free(e->scratch);
  pd_dec_free(e->inner);
  free(e);
}

void pd_enc_reset(pd_enc *e) {
  if (e == NULL)
    return;
  if (e->buf.alloc > KEEP_BUFFER_BYTES) {
    msgpack_sbuffer_destroy(&e->buf);
    msgpack_sbuffer_init(&e->buf);
  }
  msgpack_sbuffer_clear(&e->buf);
  if (e->capentries > KEEP_ENTRIES) {
    free(e->entries);
    e->entries = NULL;
    e->capentries = 0;
  }
  if (e->scratchcap > KEEP_BUFFER_BYTES) {
    free(e->scratch);
    e->scratch = NULL;
    e->scratchcap = 0;
  }
  e->depth = 0;
  e->nentries = 0;
  e->state = ENC_EMPTY;
  e->err = PD_OK;
  e->msg[0] = '\0';
}

const char *pd_enc_errmsg(const pd_enc *e) {
  return e ? e->msg : "";
}

/* ------------------------------------------------------------ item frame */

static int is_key_kind(pd_kind kind) {
  return kind == PD_INT || kind == PD_TEXT || kind == PD_BYTES;
}

/* Whether the next object goes in a map's key position. */
static int at_key(const pd_enc *e) {
  if (e->depth == 0)
    return 0;
  const enc_frame *f = &e->frames[e->depth - 1];
  return f->is_map && f->left % 2 == 0;
}

/* Before any item: refuse it if the encoder failed or the value is
 * complete; in a key position, refuse a non-key kind and open an entry. */
static int item_begin(pd_enc *e, pd_kind kind) {
  if (e->state == ENC_FAILED)
    return e->err;
  if (e->state == ENC_DONE)
    return enc_fail(e, PD_EINVALID,
                    "too many items: the value is already complete "
                    "(pd_enc_reset starts another)");
  e->state = ENC_BUILDING;
  if (e->depth == 0) {
    /* Lists, maps and private values become a document; scalars are
     * handed back as they are (top_scalar fills in the value). */
    int doc = kind == PD_LIST || kind == PD_MAP || kind == PD_PRIVATE;
    e->top = pd_null();
    e->top.kind = doc ? PD_PACKED : kind;
    return PD_OK;
  }
  if (!at_key(e))
    return PD_OK;
  if (!is_key_kind(kind))
    return enc_fail(e, PD_EINVALID,
                    "a map key must be int, text or bytes, not %s",
                    pd__kind_name(kind));
  if (e->nentries == e->capentries) {
    size_t cap = e->capentries ? 2 * e->capentries : 16;
    map_entry *p = realloc(e->entries, cap * sizeof *p);
    if (p == NULL)
      return enc_nomem(e);
    e->entries = p;
    e->capentries = cap;
  }
  map_entry *m = &e->entries[e->nentries++];
  m->off = e->buf.size;
  m->key.kind = kind;
  m->key.tag = 0;
  return PD_OK;
}

/* After a key's bytes are written: remember what to sort it by. */
static void note_key(pd_enc *e, const pd_val *key) {
  map_entry *m = &e->entries[e->nentries - 1];
  m->key.u = key->u;
  if (key->kind != PD_INT)
    m->key_off = e->buf.size - key->u.s.len;
}

static int compare_entries(const void *a, const void *b) {
  return pd__key_compare(&((const map_entry *)a)->key,
                         &((const map_entry *)b)->key);
}

/* Maps from bindings are mostly small: insertion sort them without
 * qsort's indirect calls; large ones go to qsort. */
static void sort_entries(map_entry *ent, size_t n) {
  if (n > 16) {
    qsort(ent, n, sizeof *ent, compare_entries);
    return;
  }
  for (size_t i = 1; i < n; i++) {
    map_entry m = ent[i];
    size_t j = i;
    while (j > 0 && pd__key_compare(&ent[j - 1].key, &m.key) > 0) {
      ent[j] = ent[j - 1];
      j--;
    }
    ent[j] = m;
  }
}

static int duplicate_key(pd_enc *e, const pd_val *key) {
  char desc[96];
  pd__codec_key_describe(key, desc, sizeof desc);
  return enc_fail(e, PD_EINVALID, "duplicate map key %s", desc);
}

/* A map got its last value: put its entries in key order, refuse repeats. */
static int close_map(pd_enc *e, const enc_frame *f) {
  map_entry *ent = e->entries + f->entry_base;
  size_t n = f->n, i;
  char *data = e->buf.data;
  int sorted = 1;

  for (i = 0; i < n; i++) {
    ent[i].end = i + 1 < n ? ent[i + 1].off : e->buf.size;
    if (ent[i].key.kind != PD_INT)
      ent[i].key.u.s.ptr = data + ent[i].key_off;
  }
  for (i = 1; i < n && sorted; i++) {
    int c = pd__key_compare(&ent[i - 1].key, &ent[i].key);
    if (c == 0)
      return duplicate_key(e, &ent[i].key);
    sorted = c < 0;
  }
  if (!sorted) {
    size_t start = ent[0].off, span = e->buf.size - start, o = 0;
    sort_entries(ent, n);
    for (i = 1; i < n; i++)
      if (pd__key_compare(&ent[i - 1].key, &ent[i].key) == 0)
        return duplicate_key(e, &ent[i].key);
    if (span > e->scratchcap) {
      char *p = realloc(e->scratch, span);
      if (p == NULL)
        return enc_nomem(e);
      e->scratch = p;
      e->scratchcap = span;
    }
    for (i = 0; i < n; i++) {
      size_t len = ent[i].end - ent[i].off;
      memcpy(e->scratch + o, data + ent[i].off, len);
      o += len;
    }
    memcpy(data + start, e->scratch, span);
  }
  e->nentries = f->entry_base;
  return PD_OK;
}

/* After a complete object: count it in its container, and close every
 * container it completes. */
static int item_end(pd_enc *e) {
  if (e->buf.size > PD_MAX_VALUE_BYTES)
    return enc_fail(e, PD_ETOOBIG,
                    "the encoded value is over the limit of %d bytes",
                    PD_MAX_VALUE_BYTES);
  while (e->depth > 0) {
    enc_frame *f = &e->frames[e->depth - 1];
    if (--f->left > 0)
      return PD_OK;
    if (f->is_map) {
      int rc = close_map(e, f);
      if (rc != PD_OK)
        return rc;
    }
    e->depth--;
  }
  e->state = ENC_DONE;
  return PD_OK;
}

/* A value at the top level that is not a document: pd_enc_finish hands it
 * back as it is (text and bytes copied into the buffer). */
static int top_scalar(pd_enc *e, const pd_val *v) {
  e->top = *v;
  if (v->kind == PD_TEXT || v->kind == PD_BYTES) {
    if (v->u.s.len > PD_MAX_VALUE_BYTES)
      return enc_fail(e, PD_ETOOBIG, "%s of %zu bytes is over the limit of %d",
                      pd__kind_name(v->kind), v->u.s.len, PD_MAX_VALUE_BYTES);
    if (v->u.s.len > 0 &&
        msgpack_sbuffer_write(&e->buf, v->u.s.ptr, v->u.s.len) != 0)
      return enc_nomem(e);
  }
  return item_end(e);
}

/* Text, bytes and private payloads: NULL only with length 0, and within the
 * size limit before anything is copied. */
static int check_span(pd_enc *e, const char *what, const void *p, size_t len) {
  if (p == NULL && len > 0)
    return enc_fail(e, PD_EINVALID, "%s has a NULL pointer and length %zu",
                    what, len);
  if (len > PD_MAX_VALUE_BYTES - e->buf.size)
    return enc_fail(e, PD_ETOOBIG,
                    "%s of %zu bytes takes the value over the limit of %d "
                    "bytes",
                    what, len, PD_MAX_VALUE_BYTES);
  return PD_OK;
}

/* ------------------------------------------------------------- scalars */

int pd_enc_null(pd_enc *e) {
  if (e == NULL)
    return PD_EINVALID;
  int rc = item_begin(e, PD_NULL);
  if (rc != PD_OK)
    return rc;
  if (e->depth == 0) {
    pd_val v = pd_null();
    return top_scalar(e, &v);
  }
  if (msgpack_pack_nil(&e->pk) != 0)
    return enc_nomem(e);
  return item_end(e);
}

int pd_enc_bool(pd_enc *e, int b) {
  if (e == NULL)
    return PD_EINVALID;
  int rc = item_begin(e, PD_BOOL);
  if (rc != PD_OK)
    return rc;
  if (e->depth == 0) {
    pd_val v = pd_bool(b);
    return top_scalar(e, &v);
  }
  if ((b ? msgpack_pack_true(&e->pk) : msgpack_pack_false(&e->pk)) != 0)
    return enc_nomem(e);
  return item_end(e);
}

int pd_enc_int(pd_enc *e, int64_t i) {
  if (e == NULL)
    return PD_EINVALID;
  int rc = item_begin(e, PD_INT);
  if (rc != PD_OK)
    return rc;
  pd_val v = pd_int(i);
  if (e->depth == 0)
    return top_scalar(e, &v);
  /* msgpack-c picks the shortest form: positive values as fixint/uint,
   * negative ones as negative fixint/int. */
  if (msgpack_pack_int64(&e->pk, i) != 0)
    return enc_nomem(e);
  if (at_key(e))
    note_key(e, &v);
  return item_end(e);
}

int pd_enc_float(pd_enc *e, double f) {
  if (e == NULL)
    return PD_EINVALID;
  int rc = item_begin(e, PD_FLOAT);
  if (rc != PD_OK)
    return rc;
  if (isnan(f)) {
    /* Every NaN is written as the one canonical quiet NaN. */
    uint64_t bits = UINT64_C(0x7ff8000000000000);
    memcpy(&f, &bits, sizeof f);
  }
  if (e->depth == 0) {
    pd_val v = pd_float(f);
    return top_scalar(e, &v);
  }
  if (msgpack_pack_double(&e->pk, f) != 0)
    return enc_nomem(e);
  return item_end(e);
}

/* Text and bytes share all but the header and the UTF-8 check. */
static int enc_span(pd_enc *e, pd_kind kind, const void *p, size_t len) {
  if (e == NULL)
    return PD_EINVALID;
  int rc = item_begin(e, kind);
  if (rc != PD_OK)
    return rc;
  if ((rc = check_span(e, kind == PD_TEXT ? "text" : "bytes", p, len)) !=
      PD_OK)
    return rc;
  if (kind == PD_TEXT) {
    size_t bad = pd__utf8_invalid_at(p, len);
    if (bad != len)
      return enc_fail(e, PD_EINVALID,
                      "text is not valid UTF-8 (byte 0x%02x at offset %zu)",
                      ((const unsigned char *)p)[bad], bad);
  }
  pd_val v = kind == PD_TEXT ? pd_text(p, len) : pd_bytes(p, len);
  if (e->depth == 0)
    return top_scalar(e, &v);
  int err = kind == PD_TEXT ? msgpack_pack_str(&e->pk, len)
                            : msgpack_pack_bin(&e->pk, len);
  if (err == 0 && len > 0)
    err = kind == PD_TEXT ? msgpack_pack_str_body(&e->pk, p, len)
                          : msgpack_pack_bin_body(&e->pk, p, len);
  if (err != 0)
    return enc_nomem(e);
  if (at_key(e))
    note_key(e, &v);
  return item_end(e);
}

int pd_enc_text(pd_enc *e, const char *s, size_t len) {
  return enc_span(e, PD_TEXT, s, len);
}

int pd_enc_bytes(pd_enc *e, const void *p, size_t len) {
  return enc_span(e, PD_BYTES, p, len);
}

int pd_enc_private(pd_enc *e, int tag, const void *p, size_t len) {
  if (e == NULL)
    return PD_EINVALID;
  int rc = item_begin(e, PD_PRIVATE);
  if (rc != PD_OK)
    return rc;
  if (tag < 1 || tag > 127)
    return enc_fail(e, PD_EINVALID,
                    "private tag %d is out of range; tags are 1..127", tag);
  if ((rc = check_span(e, "private payload", p, len)) != PD_OK)
    return rc;
  /* Even at the top level a private value is a document (an ext). */
  if (msgpack_pack_ext(&e->pk, len, (int8_t)tag) != 0 ||
      (len > 0 && msgpack_pack_ext_body(&e->pk, p, len) != 0))
    return enc_nomem(e);
  return item_end(e);
}

/* ---------------------------------------------------------- containers */

static int enc_container(pd_enc *e, int is_map, size_t n) {
  if (e == NULL)
    return PD_EINVALID;
  int rc = item_begin(e, is_map ? PD_MAP : PD_LIST);
  if (rc != PD_OK)
    return rc;
  const char *what = is_map ? "map" : "list";
  if (e->depth == PD_MAX_DEPTH)
    return enc_fail(e, PD_ETOOBIG, "nesting deeper than %d (a %s)",
                    PD_MAX_DEPTH, what);
  /* Every item takes at least one byte (a map two per pair). */
  if (n > PD_MAX_VALUE_BYTES / (is_map ? 2 : 1))
    return enc_fail(e, PD_ETOOBIG,
                    "a %s of %zu %s cannot fit in the limit of %d bytes", what,
                    n, is_map ? "pairs" : "items", PD_MAX_VALUE_BYTES);
  if ((is_map ? msgpack_pack_map(&e->pk, n) : msgpack_pack_array(&e->pk, n)) !=
      0)
    return enc_nomem(e);
  if (n == 0)
    return item_end(e);
  enc_frame *f = &e->frames[e->depth++];
  f->is_map = is_map;
  f->n = n;
  f->left = is_map ? 2 * n : n;
  f->entry_base = e->nentries;
  return PD_OK;
}

int pd_enc_list(pd_enc *e, size_t n) { return enc_container(e, 0, n); }

int pd_enc_map(pd_enc *e, size_t n) { return enc_container(e, 1, n); }

/* ------------------------------------------------------- any pd_val */

/* Inline a packed document by walking it: its items are checked, nested
 * within the depth limit and re-encoded canonically like any other. */
static int enc_packed(pd_enc *e, const pd_val *v) {
  pd_val item;
  int rc;
  if (e->state == ENC_FAILED)
    return e->err;
  if (e->inner == NULL && pd_dec_new(&e->inner) != PD_OK)
    return enc_nomem(e);
  if ((rc = pd__dec_start_input(e->inner, v)) != PD_OK)
    return enc_fail(e, rc, "packed value cannot be inlined: %s",
                    pd_dec_errmsg(e->inner));
  while ((rc = pd_dec_next(e->inner, &item)) == PD_OK)
    if ((rc = pd_enc_val(e, &item)) != PD_OK)
      return rc;
  return rc == PD_ITEROVER ? PD_OK : rc;
}

int pd_enc_val(pd_enc *e, const pd_val *v) {
  if (e == NULL)
    return PD_EINVALID;
  if (e->state == ENC_FAILED)
    return e->err;
  if (v == NULL)
    return enc_fail(e, PD_EINVALID, "pd_enc_val given a NULL value");
  switch (v->kind) {
  case PD_NULL:
    return pd_enc_null(e);
  case PD_BOOL:
    if (v->u.b != 0 && v->u.b != 1)
      return enc_fail(e, PD_EINVALID, "bool value must be 0 or 1, not %d",
                      v->u.b);
    return pd_enc_bool(e, v->u.b);
  case PD_INT:
    return pd_enc_int(e, v->u.i);
  case PD_FLOAT:
    return pd_enc_float(e, v->u.f);
  case PD_TEXT:
    return pd_enc_text(e, v->u.s.ptr, v->u.s.len);
  case PD_BYTES:
    return pd_enc_bytes(e, v->u.s.ptr, v->u.s.len);
  case PD_LIST:
    return pd_enc_list(e, v->u.n);
  case PD_MAP:
    return pd_enc_map(e, v->u.n);
  case PD_PRIVATE:
    return pd_enc_private(e, v->tag, v->u.s.ptr, v->u.s.len);
  case PD_PACKED:
    return enc_packed(e, v);
  }
  return enc_fail(e, PD_EINVALID, "pd_enc_val given unknown kind %d",
                  (int)v->kind);
}

/* ---------------------------------------------------------------- finish */

int pd_enc_finish(pd_enc *e, pd_val *out) {
  if (e == NULL || out == NULL)
    return PD_EINVALID;
  if (e->state == ENC_FAILED)
    return e->err;
  if (e->state == ENC_EMPTY)
    return enc_fail(e, PD_EINVALID, "nothing to finish: no value was encoded");
  if (e->state == ENC_BUILDING) {
    const enc_frame *f = &e->frames[e->depth - 1];
    size_t due = f->is_map ? 2 * f->n : f->n;
    return enc_fail(e, PD_EINVALID,
                    "incomplete value: the %s at depth %d got %zu of its %zu "
                    "%s",
                    f->is_map ? "map" : "list", e->depth, due - f->left, due,
                    f->is_map ? "keys and values" : "items");
  }
  *out = e->top;
  /* Pointers are set here, not earlier: the buffer may have moved. */
  if (e->top.kind == PD_PACKED) {
    out->u.s.ptr = e->buf.data;
    out->u.s.len = e->buf.size;
  } else if (e->top.kind == PD_TEXT || e->top.kind == PD_BYTES) {
    out->u.s.ptr = e->buf.size ? e->buf.data : "";
  }
  return PD_OK;
}
