/* buffer.c - growable byte buffers that own the memory handed out in pd_val. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int pd__buf_reserve(pd__buf *b, size_t extra) {
  if (b->cap - b->len >= extra) return PD_OK;
  if (extra > SIZE_MAX / 2 - b->len) return PD_ENOMEM;
  size_t cap = b->cap ? b->cap : 256;
  while (cap - b->len < extra) cap *= 2;
  unsigned char *p = realloc(b->data, cap);
  if (!p) return PD_ENOMEM;
  b->data = p;
  b->cap = cap;
  return PD_OK;
}

size_t pd__buf_append(pd__buf *b, const void *p, size_t len) {
  if (pd__buf_reserve(b, len + 1) != PD_OK) return (size_t)-1;
  size_t at = b->len;
  if (len) memcpy(b->data + at, p, len);
  /* A zero after every piece lets text be printed in messages safely. */
  b->data[at + len] = 0;
  b->len += len + 1;
  return at;
}

void pd__buf_free(pd__buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void pd__val_fix(pd_val *v, const pd__buf *buf) {
  if (pd__val_has_bytes(v))
    v->u.s.ptr = buf->data + (uintptr_t)v->u.s.ptr;
}

int pd__val_keep(pd__buf *b, const pd_val *v, pd_val *out) {
  *out = *v;
  if (pd__val_has_bytes(v)) {
    size_t at = pd__buf_append(b, v->u.s.ptr, v->u.s.len);
    if (at == (size_t)-1) return PD_ENOMEM;
    out->u.s.ptr = (const void *)(uintptr_t)at;
  }
  return PD_OK;
}

int pd__buf_holds(const pd__buf *b, const pd_val *v) {
  if (!v || (v->kind != PD_TEXT && v->kind != PD_BYTES && v->kind != PD_PRIVATE &&
             v->kind != PD_PACKED))
    return 0;
  uintptr_t at = (uintptr_t)v->u.s.ptr, base = (uintptr_t)b->data;
  return base && at >= base && at < base + b->cap;
}
