/* key_describe.c - printable forms of keys, so messages can name them. */
#include <inttypes.h>
#include <stdio.h>

#include "internal.h"

const char *pd__key_describe(const pd_val *key, char *buf, size_t cap) {
  if (!key) {
    snprintf(buf, cap, "(no key)");
    return buf;
  }
  if (key->kind == PD_INT) {
    snprintf(buf, cap, "%" PRId64, key->u.i);
    return buf;
  }
  if (key->kind != PD_TEXT && key->kind != PD_BYTES) {
    snprintf(buf, cap, "(key of kind %d)", (int)key->kind);
    return buf;
  }
  size_t at = 0;
  const unsigned char *p = key->u.s.ptr;
  size_t n = key->u.s.len;
  int is_text = key->kind == PD_TEXT;
  at += (size_t)snprintf(buf + at, cap - at, "%s'", is_text ? "" : "b");
  for (size_t i = 0; i < n && i < PD__KEY_SHOWN_BYTES && at + 8 < cap; i++) {
    unsigned char c = p[i];
    /* Text bytes >= 0x80 are kept so UTF-8 prints as itself. */
    if ((c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') ||
        (is_text && c >= 0x80))
      buf[at++] = (char)c;
    else
      at += (size_t)snprintf(buf + at, cap - at, "\\x%02x", c);
  }
  if (at + 6 < cap)
    at += (size_t)snprintf(buf + at, cap - at, "%s'", n > PD__KEY_SHOWN_BYTES ? "..." : "");
  buf[at < cap ? at : cap - 1] = 0;
  return buf;
}
