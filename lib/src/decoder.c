/*
 * decoder.c - reading packed documents (docs/FORMAT.md 4.1): the full check
 * (pd__packed_check) and the depth-first walk (pd_dec).
 *
 * A document goes through three steps, each bounded in time and memory:
 *
 *   1. A header pre-scan (which, for a document being written, also tells
 *      a form other than the canonical one: form_check). msgpack-c allocates room for all of an array's or
 *      map's declared items the moment it reads the header, before it knows
 *      whether the items exist: the 5-byte document dd ff ff ff ff makes it
 *      ask malloc for about 128 GiB (an abort under AddressSanitizer, and a
 *      denial of service in general). The pre-scan reads only headers and
 *      lengths, with a fixed stack of PD_MAX_DEPTH counters, and refuses
 *      declared counts and lengths that the remaining bytes cannot hold, a
 *      nesting deeper than PD_MAX_DEPTH, truncation and trailing bytes. After
 *      it, msgpack-c's memory use is bounded by a small multiple of the
 *      document's size.
 *   2. msgpack_unpack_next builds msgpack-c's object tree. Its own nesting
 *      stack is MSGPACK_EMBED_STACK_SIZE (32) deep, the same bound as
 *      PD_MAX_DEPTH (the tests hold the two together at depth 32 and 33).
 *   3. A walk over the tree (an explicit stack, never recursion) checks what
 *      MessagePack itself allows but permadict does not: str that is not
 *      UTF-8, ext types outside 1..127, ints above 2^63-1, map keys that are
 *      not int/str/bin, and map keys that are not sorted and distinct.
 *
 * pd_dec then walks the same tree again, handing out pd_vals that point into
 * the decoder's own copy of the document.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "codec.h"

#define MSG_CAP 256

/* ------------------------------------------------------- 1. header pre-scan */

static uint64_t read_be(const unsigned char *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

/* What a type byte says about the object it starts. */
typedef struct header_shape {
  unsigned char fixed;   /* header bytes before any length field */
  unsigned char lenbytes; /* bytes of big-endian length or count after that */
  unsigned char extra;   /* bytes after the length field (the ext type) */
  unsigned char kind;    /* 0 scalar, 1 str/bin/ext body, 2 array, 3 map */
  uint32_t body;         /* fixed body size or count, when lenbytes == 0 */
} header_shape;

enum { SHAPE_SCALAR, SHAPE_BODY, SHAPE_ARRAY, SHAPE_MAP };

/* 0 for the one byte MessagePack never uses (0xc1). */
static int header_shape_of(unsigned char c, header_shape *h) {
  memset(h, 0, sizeof *h);
  h->fixed = 1;
  if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3)
    return 1;
  if (c <= 0x8f) {
    h->kind = SHAPE_MAP;
    h->body = c & 0x0f;
  } else if (c <= 0x9f) {
    h->kind = SHAPE_ARRAY;
    h->body = c & 0x0f;
  } else if (c <= 0xbf) {
    h->kind = SHAPE_BODY;
    h->body = c & 0x1f;
  } else if (c >= 0xc4 && c <= 0xc6) { /* bin 8/16/32 */
    h->kind = SHAPE_BODY;
    h->lenbytes = (unsigned char)(1u << (c - 0xc4));
  } else if (c >= 0xc7 && c <= 0xc9) { /* ext 8/16/32 */
    h->kind = SHAPE_BODY;
    h->lenbytes = (unsigned char)(1u << (c - 0xc7));
    h->extra = 1;
  } else if (c == 0xca || c == 0xcb) { /* float 32/64 */
    h->fixed = c == 0xca ? 5 : 9;
  } else if (c >= 0xcc && c <= 0xd3) { /* uint/int 8..64 */
    h->fixed = (unsigned char)(1 + (1u << ((c - 0xcc) & 3)));
  } else if (c >= 0xd4 && c <= 0xd8) { /* fixext 1..16 */
    h->kind = SHAPE_BODY;
    h->fixed = 2;
    h->body = 1u << (c - 0xd4);
  } else if (c >= 0xd9 && c <= 0xdb) { /* str 8/16/32 */
    h->kind = SHAPE_BODY;
    h->lenbytes = (unsigned char)(1u << (c - 0xd9));
  } else if (c == 0xdc || c == 0xdd) { /* array 16/32 */
    h->kind = SHAPE_ARRAY;
    h->lenbytes = c == 0xdc ? 2 : 4;
  } else if (c == 0xde || c == 0xdf) { /* map 16/32 */
    h->kind = SHAPE_MAP;
    h->lenbytes = c == 0xde ? 2 : 4;
  } else {
    return 0; /* 0xc1 */
  }
  return 1;
}

/* ext 8/16/32 and fixext 1..16: a private value. */
static int is_ext_byte(unsigned char c) {
  return (c >= 0xc7 && c <= 0xc9) || (c >= 0xd4 && c <= 0xd8);
}

/* The permadict kind a type byte starts, for messages. */
static const char *type_byte_name(unsigned char c) {
  if (c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xd3))
    return "int";
  if (c <= 0x8f || c == 0xde || c == 0xdf)
    return "map";
  if (c <= 0x9f || c == 0xdc || c == 0xdd)
    return "list";
  if (c <= 0xbf || (c >= 0xd9 && c <= 0xdb))
    return "text";
  if (c == 0xc0)
    return "null";
  if (c == 0xc2 || c == 0xc3)
    return "bool";
  if (c >= 0xc4 && c <= 0xc6)
    return "bytes";
  if (c == 0xca || c == 0xcb)
    return "float";
  if (c == 0xc1)
    return "invalid byte 0xc1";
  return "private value";
}

#define CANONICAL_NAN 0x7ff8000000000000ULL

/* When writing: whether the object whose header starts at p (offset at; n
 * its length or count) is in the one form FORMAT.md 4.1 has writers emit:
 * the shortest header for its value or length, floats as float 64, the one
 * NaN. Readers accept the other forms (and widen float 32). Because stored
 * documents are canonical, equal values have equal bytes: pd_val_equal and
 * compare-and-swap compare documents bytewise. PD__ENONCANONICAL if not. */
static int form_check(const unsigned char *p, uint64_t n, int writing, size_t at, char *msg,
                      size_t msgcap) {
  if (!writing)
    return PD_OK;
  unsigned char c = p[0];
  if (c == 0xca)
    return pd__codec_fail(PD__ENONCANONICAL, msg, msgcap,
                "float 32 at offset %zu: floats are stored as float 64", at);
  if (c == 0xcb) {
    uint64_t bits = read_be(p + 1, 8);
    int nan = (bits & 0x7ff0000000000000ULL) == 0x7ff0000000000000ULL &&
              (bits & 0x000fffffffffffffULL) != 0;
    if (nan && bits != CANONICAL_NAN)
      return pd__codec_fail(PD__ENONCANONICAL, msg, msgcap,
                  "NaN at offset %zu has the bits 0x%016llx; a NaN is stored as "
                  "0x7ff8000000000000",
                  at, (unsigned long long)bits);
    return PD_OK;
  }
  int longer = 0;
  if (c >= 0xcc && c <= 0xcf) { /* uint 8..64: above what a shorter one holds */
    static const uint64_t least[] = {128, 256, 65536, 4294967296ULL};
    longer = read_be(p + 1, 1u << (c - 0xcc)) < least[c - 0xcc];
  } else if (c >= 0xd0 && c <= 0xd3) { /* int 8..64: negatives only, below */
    static const int64_t most[] = {-33, -129, -32769, -2147483649LL};
    unsigned w = 1u << (c - 0xd0);
    uint64_t raw = read_be(p + 1, w);
    if (w < 8 && (raw >> (8 * w - 1)) & 1)
      raw |= ~((1ULL << (8 * w)) - 1); /* sign-extend */
    longer = (int64_t)raw > most[c - 0xd0];
  } else if (c >= 0xd9 && c <= 0xdb) { /* str 8/16/32 */
    static const uint64_t least[] = {32, 256, 65536};
    longer = n < least[c - 0xd9];
  } else if (c == 0xc5 || c == 0xc6) { /* bin 16/32 (bin 8 is the shortest) */
    longer = n < (c == 0xc5 ? 256u : 65536u);
  } else if (c == 0xdc || c == 0xde || c == 0xdd || c == 0xdf) { /* array/map 16/32 */
    longer = n < (c == 0xdc || c == 0xde ? 16u : 65536u);
  } else if (c >= 0xc7 && c <= 0xc9) { /* ext 8/16/32 */
    static const uint64_t least[] = {0, 256, 65536};
    longer = n < least[c - 0xc7] ||
             (c == 0xc7 && (n == 1 || n == 2 || n == 4 || n == 8 || n == 16));
  }
  if (longer)
    return pd__codec_fail(PD__ENONCANONICAL, msg, msgcap,
                "the %s at offset %zu is not in its shortest form, which writers "
                "must use (FORMAT.md 4.1)",
                type_byte_name(c), at);
  return PD_OK;
}

static int prescan(const unsigned char *p, size_t len, int writing, char *msg,
                   size_t msgcap) {
  uint64_t left[PD_MAX_DEPTH]; /* items still due in each open container */
  int depth = 0, noncanonical = 0;
  size_t pos = 0;

  for (;;) {
    header_shape h;
    if (pos >= len)
      return pd__codec_fail(PD_EDECODE, msg, msgcap,
                  "document is truncated: it ends inside a list or map at "
                  "offset %zu",
                  len);
    size_t at = pos, avail = len - pos;
    if (!header_shape_of(p[at], &h))
      return pd__codec_fail(PD_EDECODE, msg, msgcap,
                  "byte 0xc1 at offset %zu is not a MessagePack type", at);
    size_t head = (size_t)h.fixed + h.lenbytes + h.extra;
    if (head > avail)
      return pd__codec_fail(PD_EDECODE, msg, msgcap,
                  "document is truncated inside the %s header at offset %zu",
                  type_byte_name(p[at]), at);
    uint64_t n = h.lenbytes ? read_be(p + at + h.fixed, h.lenbytes) : h.body;
    /* A form other than the canonical one is told only once the rest of
     * the document passed: a writer's caller re-encodes such a document,
     * and a limit it breaks must still be reported as that limit. */
    if (!noncanonical && form_check(p + at, n, writing, at, msg, msgcap) != PD_OK)
      noncanonical = 1;
    pos += head;
    if (h.kind == SHAPE_BODY) {
      if (n > len - pos)
        return pd__codec_fail(PD_EDECODE, msg, msgcap,
                    "document is truncated: %s at offset %zu declares %llu "
                    "bytes but only %zu follow",
                    type_byte_name(p[at]), at, (unsigned long long)n,
                    len - pos);
      pos += (size_t)n;
    } else if (h.kind != SHAPE_SCALAR) {
      /* Given to a write, this is input over a limit (permadict.h:
       * PD_ETOOBIG, as pd_enc says); read back, a document no writer may
       * have made (FORMAT.md 4.1: a decode error). */
      if (depth >= PD_MAX_DEPTH)
        return pd__codec_fail(writing ? PD_ETOOBIG : PD_EDECODE, msg, msgcap,
                    "nesting deeper than %d (a %s at offset %zu)",
                    PD_MAX_DEPTH, type_byte_name(p[at]), at);
      uint64_t items = h.kind == SHAPE_MAP ? 2 * n : n;
      /* Every item takes at least one byte. */
      if (items > len - pos)
        return pd__codec_fail(PD_EDECODE, msg, msgcap,
                    "document is truncated or corrupt: %s at offset %zu "
                    "declares %llu %s but only %zu bytes follow",
                    type_byte_name(p[at]), at, (unsigned long long)n,
                    h.kind == SHAPE_MAP ? "pairs" : "items", len - pos);
      if (items > 0) {
        left[depth++] = items;
        continue;
      }
    }
    /* One object is complete: close every container it completes. */
    while (depth > 0 && --left[depth - 1] == 0)
      depth--;
    if (depth == 0)
      break;
  }
  if (pos != len)
    return pd__codec_fail(PD_EDECODE, msg, msgcap,
                "%zu trailing bytes after the document, which ends at offset "
                "%zu",
                len - pos, pos);
  return noncanonical ? PD__ENONCANONICAL : PD_OK;
}

/* --------------------------------------------------- 3. the tree and a walk */

typedef struct walk_frame {
  const msgpack_object *items;    /* an array's elements, or NULL */
  const msgpack_object_kv *pairs; /* a map's pairs, when items is NULL */
  size_t total;                   /* objects: elements, or 2 * pairs */
  size_t pos;                     /* next object; in a map, even = key */
} walk_frame;

/* A depth-first walk over a tree msgpack-c built; no recursion. */
typedef struct walker {
  const msgpack_object *root;
  int started;
  int depth;
  walk_frame stack[PD_MAX_DEPTH];
} walker;

static void walk_init(walker *w, const msgpack_object *root) {
  w->root = root;
  w->started = 0;
  w->depth = 0;
}

/* The next object, or NULL at the end. *frame is the container it is in
 * (NULL for the root) and *pos its index there; a container with items is
 * entered, so its items come next. The pre-scan bounds the depth, so the
 * "stack full" branch cannot be taken by a checked document. */
static const msgpack_object *walk_next(walker *w, const walk_frame **frame,
                                       size_t *pos) {
  const msgpack_object *o;
  if (!w->started) {
    w->started = 1;
    o = w->root;
    *frame = NULL;
    *pos = 0;
  } else {
    while (w->depth > 0 &&
           w->stack[w->depth - 1].pos == w->stack[w->depth - 1].total)
      w->depth--;
    if (w->depth == 0)
      return NULL;
    walk_frame *f = &w->stack[w->depth - 1];
    size_t i = f->pos++;
    if (f->items)
      o = &f->items[i];
    else
      o = (i & 1) ? &f->pairs[i / 2].val : &f->pairs[i / 2].key;
    *frame = f;
    *pos = i;
  }
  if ((o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size > 0) ||
      (o->type == MSGPACK_OBJECT_MAP && o->via.map.size > 0)) {
    if (w->depth == PD_MAX_DEPTH)
      return NULL;
    walk_frame *f = &w->stack[w->depth++];
    f->pos = 0;
    if (o->type == MSGPACK_OBJECT_ARRAY) {
      f->items = o->via.array.ptr;
      f->pairs = NULL;
      f->total = o->via.array.size;
    } else {
      f->items = NULL;
      f->pairs = o->via.map.ptr;
      f->total = 2 * (size_t)o->via.map.size;
    }
  }
  return o;
}

/* msgpack-c leaves the pointer of an empty str, bin or ext NULL unless an
 * earlier one in the document left its own there. An empty text, bytes or
 * payload is handed out as "", as pd_text("", 0) makes it, so callers can
 * pass it on to functions that refuse NULL (jansson's json_stringn did:
 * `permadict get` failed on [""] with "not valid UTF-8"). */
static const char *nonnull(const char *p) { return p ? p : ""; }

/* The pd_val of one object; text, bytes and payloads point into the
 * document. Ints above INT64_MAX are refused by check_tree first. */
static void object_to_val(const msgpack_object *o, pd_val *v) {
  v->tag = 0;
  switch (o->type) {
  case MSGPACK_OBJECT_NIL:
    v->kind = PD_NULL;
    v->u.i = 0;
    break;
  case MSGPACK_OBJECT_BOOLEAN:
    v->kind = PD_BOOL;
    v->u.b = o->via.boolean ? 1 : 0;
    break;
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    v->kind = PD_INT;
    v->u.i = o->via.i64;
    break;
  case MSGPACK_OBJECT_FLOAT32: /* non-canonical but readable: widened */
  case MSGPACK_OBJECT_FLOAT64:
    v->kind = PD_FLOAT;
    v->u.f = o->via.f64;
    break;
  case MSGPACK_OBJECT_STR:
    v->kind = PD_TEXT;
    v->u.s.ptr = nonnull(o->via.str.ptr);
    v->u.s.len = o->via.str.size;
    break;
  case MSGPACK_OBJECT_BIN:
    v->kind = PD_BYTES;
    v->u.s.ptr = nonnull(o->via.bin.ptr);
    v->u.s.len = o->via.bin.size;
    break;
  case MSGPACK_OBJECT_ARRAY:
    v->kind = PD_LIST;
    v->u.n = o->via.array.size;
    break;
  case MSGPACK_OBJECT_MAP:
    v->kind = PD_MAP;
    v->u.n = o->via.map.size;
    break;
  case MSGPACK_OBJECT_EXT:
    v->kind = PD_PRIVATE;
    v->tag = o->via.ext.type;
    v->u.s.ptr = nonnull(o->via.ext.ptr);
    v->u.s.len = o->via.ext.size;
    break;
  }
}

static int is_key_type(msgpack_object_type t) {
  return t == MSGPACK_OBJECT_POSITIVE_INTEGER ||
         t == MSGPACK_OBJECT_NEGATIVE_INTEGER || t == MSGPACK_OBJECT_STR ||
         t == MSGPACK_OBJECT_BIN;
}

/* The rules MessagePack allows and permadict does not (step 3). */
static int check_tree(const msgpack_object *root, const char *base,
                      char *msg, size_t msgcap) {
  walker w;
  const walk_frame *f;
  const msgpack_object *o;
  size_t pos, item = 0;
  char k1[80], k2[80];

  walk_init(&w, root);
  for (; (o = walk_next(&w, &f, &pos)) != NULL; item++) {
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
      if (o->via.u64 > (uint64_t)INT64_MAX)
        return pd__codec_fail(PD_EDECODE, msg, msgcap,
                    "int %llu (item %zu) is above 2^63-1",
                    (unsigned long long)o->via.u64, item);
      break;
    case MSGPACK_OBJECT_STR: {
      size_t bad = pd__utf8_invalid_at(o->via.str.ptr, o->via.str.size);
      if (bad != o->via.str.size)
        return pd__codec_fail(PD_EDECODE, msg, msgcap,
                    "text at offset %zu is not valid UTF-8 (byte 0x%02x at "
                    "offset %zu)",
                    (size_t)(o->via.str.ptr - base),
                    (unsigned char)o->via.str.ptr[bad],
                    (size_t)(o->via.str.ptr - base) + bad);
      break;
    }
    case MSGPACK_OBJECT_EXT:
      if (o->via.ext.type < 1)
        return pd__codec_fail(PD_EDECODE, msg, msgcap,
                    "private value at offset %zu has tag %d; tags are 1..127",
                    (size_t)(o->via.ext.ptr - base), (int)o->via.ext.type);
      break;
    default:
      break;
    }
    if (f == NULL || f->items != NULL || (pos & 1))
      continue;
    /* A map key: of a key kind, and above the previous key of its map. */
    if (!is_key_type(o->type)) {
      pd_val v;
      object_to_val(o, &v);
      return pd__codec_fail(PD_EDECODE, msg, msgcap,
                  "map key (item %zu) is a %s; map keys must be int, text or "
                  "bytes",
                  item, pd__kind_name(v.kind));
    }
    if (pos >= 2) {
      pd_val prev, cur;
      object_to_val(&f->pairs[pos / 2 - 1].key, &prev);
      object_to_val(o, &cur);
      int c = pd__key_compare(&prev, &cur);
      if (c == 0) {
        pd__codec_key_describe(&cur, k1, sizeof k1);
        return pd__codec_fail(PD_EDECODE, msg, msgcap,
                    "map key %s appears twice (item %zu)", k1, item);
      }
      if (c > 0) {
        pd__codec_key_describe(&prev, k1, sizeof k1);
        pd__codec_key_describe(&cur, k2, sizeof k2);
        return pd__codec_fail(PD_EDECODE, msg, msgcap,
                    "map keys not sorted: %s before %s (item %zu)", k1, k2,
                    item);
      }
    }
  }
  return PD_OK;
}

/* ------------------------------------------------------- the whole check */

/* Steps 1-3 on p[0..len); on success *u holds the tree (the caller destroys
 * it either way). */
static int check_document(const char *p, size_t len, int writing, msgpack_unpacked *u,
                          char *msg, size_t msgcap) {
  const unsigned char *b = (const unsigned char *)p;
  int rc;

  if (len == 0)
    return pd__codec_fail(PD_EDECODE, msg, msgcap, "packed document is empty");
  if (p == NULL)
    return pd__codec_fail(PD_EINVALID, msg, msgcap,
                "packed document has a NULL pointer and length %zu", len);
  if (len > PD_MAX_VALUE_BYTES)
    return pd__codec_fail(PD_ETOOBIG, msg, msgcap,
                "packed document is %zu bytes; the limit is %d bytes", len,
                PD_MAX_VALUE_BYTES);
  header_shape h;
  if (!header_shape_of(b[0], &h) ||
      (h.kind == SHAPE_SCALAR || (h.kind == SHAPE_BODY && !is_ext_byte(b[0]))))
    return pd__codec_fail(PD_EDECODE, msg, msgcap,
                "the top level of a packed document must be a list, a map or "
                "a private value, not %s",
                type_byte_name(b[0]));
  /* A form other than the canonical one (told only when writing) is
   * reported once the tree passed too: a writer re-encodes such a document,
   * and whatever else is wrong with it must still be said as itself. */
  int form = prescan(b, len, writing, msg, msgcap);
  if (form != PD_OK && form != PD__ENONCANONICAL)
    return form;

  size_t off = 0;
  msgpack_unpack_return r = msgpack_unpack_next(u, p, len, &off);
  if (r == MSGPACK_UNPACK_NOMEM_ERROR)
    /* The pre-scan already held nesting to 32 and bounded the allocation,
     * so this is memory running out (or a msgpack-c built with a smaller
     * nesting stack than Debian's 32). */
    return pd__codec_fail(PD_ENOMEM, msg, msgcap,
                "msgpack-c ran out of memory decoding a %zu-byte document "
                "(or its nesting deeper than 32 is over msgpack-c's limit)",
                len);
  if (r != MSGPACK_UNPACK_SUCCESS || off != len)
    /* The pre-scan accepts exactly what msgpack-c does; keep a plain
     * answer should the two ever disagree. */
    return pd__codec_fail(PD_EDECODE, msg, msgcap,
                "msgpack-c rejected the document (code %d at offset %zu)",
                (int)r, off);
  rc = check_tree(&u->data, p, msg, msgcap);
  return rc != PD_OK ? rc : form;
}

int pd__packed_check(const void *p, size_t len, int writing, char *msg, size_t msgcap) {
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  int rc = check_document((const char *)p, len, writing, &u, msg, msgcap);
  msgpack_unpacked_destroy(&u);
  return rc;
}

/* --------------------------------------------------------------- pd_dec */

struct pd_dec {
  char *doc; /* our copy of the document: items point into it */
  size_t cap;
  msgpack_unpacked tree;
  walker walk;
  int status; /* PD_OK while walking; else what pd_dec_next returns */
  char msg[MSG_CAP];
};

int pd_dec_new(pd_dec **out) {
  if (out == NULL)
    return PD_EINVALID;
  pd_dec *dec = calloc(1, sizeof *dec);
  *out = dec;
  if (dec == NULL)
    return PD_ENOMEM;
  msgpack_unpacked_init(&dec->tree);
  dec->status = PD_EMISUSE;
  snprintf(dec->msg, sizeof dec->msg, "pd_dec_next before pd_dec_start");
  return PD_OK;
}

void pd_dec_free(pd_dec *dec) {
  if (dec == NULL)
    return;
  msgpack_unpacked_destroy(&dec->tree);
  free(dec->doc);
  free(dec);
}

/* After a failed start, pd_dec_next repeats the failure. */
static int dec_fail(pd_dec *dec, int code) {
  dec->status = code;
  return code;
}

/* writing: packed is input to a write (pd__dec_start_input). */
static int dec_start(pd_dec *dec, const pd_val *packed, int writing) {
  if (dec == NULL)
    return PD_EINVALID;
  dec->msg[0] = '\0';
  msgpack_unpacked_destroy(&dec->tree);
  if (packed == NULL || packed->kind != PD_PACKED) {
    snprintf(dec->msg, sizeof dec->msg,
             "pd_dec_start needs a packed document, not %s",
             packed ? pd__kind_name(packed->kind) : "NULL");
    return dec_fail(dec, PD_EINVALID);
  }
  size_t len = packed->u.s.len;
  if (packed->u.s.ptr == NULL || len == 0 || len > PD_MAX_VALUE_BYTES)
    return dec_fail(dec, check_document(packed->u.s.ptr, len, writing,
                                        &dec->tree, dec->msg, sizeof dec->msg));
  /* Copy, so items stay valid for the walk whatever the caller does with
   * the memory it gave (often a handle's buffer, reused on its next call). */
  if (len > dec->cap) {
    size_t cap = dec->cap ? dec->cap : 256;
    while (cap < len)
      cap *= 2;
    char *doc = realloc(dec->doc, cap);
    if (doc == NULL) {
      snprintf(dec->msg, sizeof dec->msg,
               "out of memory copying a %zu-byte document", len);
      return dec_fail(dec, PD_ENOMEM);
    }
    dec->doc = doc;
    dec->cap = cap;
  }
  memcpy(dec->doc, packed->u.s.ptr, len);
  int rc = check_document(dec->doc, len, writing, &dec->tree, dec->msg,
                          sizeof dec->msg);
  if (rc == PD__ENONCANONICAL) { /* the walk hands out values, not forms */
    rc = PD_OK;
    dec->msg[0] = '\0';
  }
  if (rc != PD_OK)
    return dec_fail(dec, rc);
  walk_init(&dec->walk, &dec->tree.data);
  dec->status = PD_OK;
  return PD_OK;
}

int pd_dec_start(pd_dec *dec, const pd_val *packed) {
  return dec_start(dec, packed, 0);
}

int pd__dec_start_input(pd_dec *dec, const pd_val *packed) {
  return dec_start(dec, packed, 1);
}

int pd_dec_next(pd_dec *dec, pd_val *out) {
  const walk_frame *f;
  size_t pos;
  if (dec == NULL || out == NULL)
    return PD_EINVALID;
  if (dec->status != PD_OK)
    return dec->status;
  const msgpack_object *o = walk_next(&dec->walk, &f, &pos);
  if (o == NULL) {
    dec->status = PD_ITEROVER;
    return PD_ITEROVER;
  }
  object_to_val(o, out);
  return PD_OK;
}

const char *pd_dec_errmsg(const pd_dec *dec) {
  return dec ? dec->msg : "";
}
