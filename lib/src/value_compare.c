/*
 * value_compare.c - equality of values and the order of keys.
 *
 * Both follow the stored form, not the host language's idea of equality:
 * 1 and 1.0 differ, NaN equals NaN, -0.0 is not 0.0, and packed documents
 * compare bytewise (exact, because the encoder is canonical).
 */
#include <math.h>
#include <string.h>

#include "codec.h"

/* A float's bits with every NaN folded into the canonical quiet NaN, the
 * form the encoder writes (docs/FORMAT.md 4.1). */
static uint64_t float_bits(double f) {
  uint64_t bits;
  if (isnan(f))
    return UINT64_C(0x7ff8000000000000);
  memcpy(&bits, &f, sizeof bits);
  return bits;
}

/* Bytewise equality of two (pointer, length) spans; a NULL pointer is fine
 * when its length is 0. */
static int span_equal(const void *a, size_t alen, const void *b, size_t blen) {
  if (alen != blen)
    return 0;
  return alen == 0 || memcmp(a, b, alen) == 0;
}

int pd_val_equal(const pd_val *a, const pd_val *b) {
  if (a == b)
    return 1;
  if (a == NULL || b == NULL || a->kind != b->kind)
    return 0;
  switch (a->kind) {
  case PD_NULL:
    return 1;
  case PD_BOOL:
    return (a->u.b != 0) == (b->u.b != 0);
  case PD_INT:
    return a->u.i == b->u.i;
  case PD_FLOAT:
    return float_bits(a->u.f) == float_bits(b->u.f);
  case PD_PRIVATE:
    return a->tag == b->tag &&
           span_equal(a->u.s.ptr, a->u.s.len, b->u.s.ptr, b->u.s.len);
  case PD_TEXT:
  case PD_BYTES:
  case PD_PACKED:
    return span_equal(a->u.s.ptr, a->u.s.len, b->u.s.ptr, b->u.s.len);
  case PD_LIST:
  case PD_MAP:
    return a->u.n == b->u.n;
  }
  return 0;
}

/* Rank of a key kind in key order; the caller has checked the kind. */
static int key_rank(pd_kind kind) {
  return kind == PD_INT ? 0 : kind == PD_TEXT ? 1 : 2;
}

int pd__key_compare(const pd_val *a, const pd_val *b) {
  int ra = key_rank(a->kind), rb = key_rank(b->kind);
  if (ra != rb)
    return ra < rb ? -1 : 1;
  if (a->kind == PD_INT)
    return (a->u.i > b->u.i) - (a->u.i < b->u.i);
  size_t alen = a->u.s.len, blen = b->u.s.len;
  size_t common = alen < blen ? alen : blen;
  int c = common ? memcmp(a->u.s.ptr, b->u.s.ptr, common) : 0;
  if (c != 0)
    return c < 0 ? -1 : 1;
  return (alen > blen) - (alen < blen);
}
