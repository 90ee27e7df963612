/*
 * pdlua_utf8.c - deciding whether a Lua string is text or bytes.
 *
 * A Lua string is stored as text when it is valid UTF-8 and as bytes
 * otherwise. The rules must be exactly as strict as the core's (which
 * re-checks every text): a looser check here would turn a storable string
 * into a write error instead of bytes.
 */
#include "pdlua.h"


/* Bytes 0x80..0xBF continue a multi-byte sequence. */
static int is_continuation(unsigned char c) { return (c & 0xC0u) == 0x80u; }

int pdlua_utf8_valid(const char *p, size_t len) {
  const unsigned char *s = (const unsigned char *)p;
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t left = len - i;
    if (c >= 0xC2 && c <= 0xDF) {
      if (left < 2 || !is_continuation(s[i + 1]))
        return 0;
      i += 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      /* E0 must not be overlong (A0..BF next); ED must not be a surrogate
       * (80..9F next). */
      unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
      unsigned char hi = c == 0xED ? 0x9F : 0xBF;
      if (left < 3 || s[i + 1] < lo || s[i + 1] > hi ||
          !is_continuation(s[i + 2]))
        return 0;
      i += 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      /* F0 must not be overlong (90..BF next); F4 stays <= U+10FFFF. */
      unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
      unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
      if (left < 4 || s[i + 1] < lo || s[i + 1] > hi ||
          !is_continuation(s[i + 2]) || !is_continuation(s[i + 3]))
        return 0;
      i += 4;
    } else {
      return 0; /* stray continuation, C0/C1 overlong lead, F5..FF */
    }
  }
  return 1;
}
