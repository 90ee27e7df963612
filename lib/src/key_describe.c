/* key_describe.c - printable forms of keys, so messages can name them. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "codec.h"

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
  size_t n = key->u.s.len, shown = n < PD__KEY_SHOWN_BYTES ? n : PD__KEY_SHOWN_BYTES, i = 0;
  int is_text = key->kind == PD_TEXT;
  at += (size_t)snprintf(buf + at, cap - at, "%s'", is_text ? "" : "b");
  while (i < shown && at + 8 < cap) {
    unsigned char c = p[i];
    /* A whole UTF-8 character of text prints as itself, or not at all: a
     * cut one would make the message itself invalid UTF-8. */
    size_t len = !is_text || c < 0xc2 ? 0 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 0;
    if (len && i + len <= n && pd__utf8_valid(p + i, len)) {
      if (i + len > shown || at + len + 8 >= cap) break;
      memcpy(buf + at, p + i, len);
      at += len;
      i += len;
    } else if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      buf[at++] = (char)c;
      i++;
    } else {
      at += (size_t)snprintf(buf + at, cap - at, "\\x%02x", c);
      i++;
    }
  }
  if (at + 6 < cap) at += (size_t)snprintf(buf + at, cap - at, "%s'", i < n ? "..." : "");
  buf[at < cap ? at : cap - 1] = 0;
  return buf;
}
