/*
 * utf8.c - strict UTF-8 validation (Unicode 15, table 3-7).
 *
 * Text keys and values are checked on every write, so the common all-ASCII
 * case is skipped eight bytes at a time; only multi-byte sequences take the
 * byte-by-byte path.
 */
#include <string.h>

#include "codec.h"

/* Bytes 0x80..0xBF continue a sequence. */
#define IS_CONT(c) (((c) & 0xC0u) == 0x80u)

size_t pd__utf8_invalid_at(const void *p, size_t len) {
  const unsigned char *s = (const unsigned char *)p;
  size_t i = 0;
  while (i < len) {
    /* ASCII fast path: a whole word without any high bit set. */
    while (len - i >= 8) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (w & UINT64_C(0x8080808080808080))
        break;
      i += 8;
    }
    if (i >= len)
      break;
    unsigned char c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t left = len - i;
    if (c >= 0xC2 && c <= 0xDF) {
      if (left < 2 || !IS_CONT(s[i + 1]))
        return i;
      i += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      if (left < 3)
        return i;
      unsigned char c1 = s[i + 1];
      /* E0 needs A0..BF (no overlongs); ED needs 80..9F (no surrogates). */
      unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
      unsigned char hi = c == 0xED ? 0x9F : 0xBF;
      if (c1 < lo || c1 > hi || !IS_CONT(s[i + 2]))
        return i;
      i += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      if (left < 4)
        return i;
      unsigned char c1 = s[i + 1];
      /* F0 needs 90..BF (no overlongs); F4 needs 80..8F (<= U+10FFFF). */
      unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
      unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
      if (c1 < lo || c1 > hi || !IS_CONT(s[i + 2]) || !IS_CONT(s[i + 3]))
        return i;
      i += 4;
    } else {
      /* 80..C1 (stray continuation, overlong lead) and F5..FF. */
      return i;
    }
  }
  return len;
}

int pd__utf8_valid(const void *p, size_t len) {
  return pd__utf8_invalid_at(p, len) == len;
}

int pd_utf8_valid(const void *p, size_t len) {
  if (!p) return len == 0;
  return pd__utf8_valid(p, len);
}
