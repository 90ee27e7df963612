/*
 * value_check.c - checks on keys and values before they are stored, and the
 * few helpers that name them in messages.
 *
 * The store calls these before touching SQLite, so bad input fails with a
 * message naming what was wrong and nothing already stored is affected.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"

const char *pd__kind_name(int kind) {
  static const char *const names[] = {"null", "bool",  "int",  "float",
                                      "text", "bytes", "list", "map",
                                      "private value", "packed document"};
  if (kind < 0 || kind >= (int)(sizeof names / sizeof names[0]))
    return "unknown";
  return names[kind];
}

void pd__codec_key_describe(const pd_val *key, char *out, size_t cap) {
  if (out == NULL || cap == 0)
    return;
  if (key == NULL) {
    snprintf(out, cap, "(no key)");
    return;
  }
  if (key->kind == PD_INT) {
    snprintf(out, cap, "%lld", (long long)key->u.i);
    return;
  }
  if (key->kind != PD_TEXT && key->kind != PD_BYTES) {
    snprintf(out, cap, "(a %s)", pd__kind_name(key->kind));
    return;
  }
  /* Quote the bytes, escaping anything unprintable, and stop with "..."
   * before running out of room (reserve: escape 4 + "..." 3 + quote + NUL). */
  const unsigned char *s = (const unsigned char *)key->u.s.ptr;
  size_t len = s ? key->u.s.len : 0, o = 0, i;
  const char *open = key->kind == PD_TEXT ? "\"" : "b\"";
  o += (size_t)snprintf(out, cap, "%s", open);
  /* Valid UTF-8 text prints as itself, whole characters only. */
  int utf8 = key->kind == PD_TEXT && pd__utf8_valid(s, len);
  for (i = 0; i < len && o + 10 < cap; i++) {
    unsigned char c = s[i];
    if (c == '"' || c == '\\') {
      o += (size_t)snprintf(out + o, cap - o, "\\%c", c);
    } else if (c >= 0x20 && c < 0x7f) {
      out[o++] = (char)c;
    } else if (utf8 && c >= 0xC2) {
      size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      if (o + n + 10 >= cap)
        break;
      memcpy(out + o, s + i, n);
      o += n;
      i += n - 1;
    } else {
      o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
  }
  if (o >= cap) /* cap too small even for the opening quote */
    return;
  if (i < len)
    snprintf(out + o, cap - o, "...\"");
  else
    snprintf(out + o, cap - o, "\"");
}

/* A (pointer, length) span: NULL is only allowed for length 0. */
static int check_span(const pd_val *v, const char *what, char *msg,
                      size_t msgcap) {
  if (v->u.s.ptr == NULL && v->u.s.len > 0)
    return pd__codec_fail(PD_EINVALID, msg, msgcap,
                "%s %s has a NULL pointer and length %zu", what,
                pd__kind_name(v->kind), v->u.s.len);
  return PD_OK;
}

static int check_text(const pd_val *v, const char *what, char *msg,
                      size_t msgcap) {
  size_t bad = pd__utf8_invalid_at(v->u.s.ptr, v->u.s.len);
  if (bad != v->u.s.len)
    return pd__codec_fail(PD_EINVALID, msg, msgcap,
                "%s text is not valid UTF-8 (byte 0x%02x at offset %zu)", what,
                ((const unsigned char *)v->u.s.ptr)[bad], bad);
  return PD_OK;
}

int pd__key_check(const pd_val *key, char *msg, size_t msgcap) {
  int rc;
  if (key == NULL)
    return pd__codec_fail(PD_EINVALID, msg, msgcap, "key is NULL");
  switch (key->kind) {
  case PD_INT:
    return PD_OK;
  case PD_TEXT:
  case PD_BYTES:
    if ((rc = check_span(key, "key", msg, msgcap)) != PD_OK)
      return rc;
    if (key->u.s.len > PD_MAX_KEY_BYTES)
      return pd__codec_fail(PD_ETOOBIG, msg, msgcap,
                  "key %s is %zu bytes long; the limit is %d bytes",
                  pd__kind_name(key->kind), key->u.s.len, PD_MAX_KEY_BYTES);
    if (key->kind == PD_TEXT)
      return check_text(key, "key", msg, msgcap);
    return PD_OK;
  default:
    return pd__codec_fail(PD_EINVALID, msg, msgcap,
                "a key must be int, text or bytes, not %s",
                pd__kind_name(key->kind));
  }
}

/* writing: a packed document must also be in canonical form (else
 * PD__ENONCANONICAL, see pd__packed_check). */
static int value_check(const pd_val *v, int writing, char *msg, size_t msgcap) {
  int rc;
  if (v == NULL)
    return pd__codec_fail(PD_EINVALID, msg, msgcap, "value is NULL");
  switch (v->kind) {
  case PD_NULL:
  case PD_INT:
  case PD_FLOAT:
    return PD_OK;
  case PD_BOOL:
    if (v->u.b != 0 && v->u.b != 1)
      return pd__codec_fail(PD_EINVALID, msg, msgcap,
                  "bool value must be 0 or 1, not %d", v->u.b);
    return PD_OK;
  case PD_TEXT:
  case PD_BYTES:
  case PD_PACKED:
    if ((rc = check_span(v, "value", msg, msgcap)) != PD_OK)
      return rc;
    if (v->u.s.len > PD_MAX_VALUE_BYTES)
      return pd__codec_fail(PD_ETOOBIG, msg, msgcap,
                  "value %s is %zu bytes long; the limit is %d bytes",
                  pd__kind_name(v->kind), v->u.s.len, PD_MAX_VALUE_BYTES);
    if (v->kind == PD_TEXT)
      return check_text(v, "value", msg, msgcap);
    if (v->kind == PD_PACKED)
      return pd__packed_check(v->u.s.ptr, v->u.s.len, writing, msg, msgcap);
    return PD_OK;
  case PD_LIST:
  case PD_MAP:
  case PD_PRIVATE:
    return pd__codec_fail(PD_EINVALID, msg, msgcap,
                "a %s cannot be stored directly: build it with pd_enc and "
                "store the PD_PACKED result",
                pd__kind_name(v->kind));
  }
  return pd__codec_fail(PD_EINVALID, msg, msgcap, "value has unknown kind %d",
              (int)v->kind);
}

int pd__value_check(const pd_val *v, char *msg, size_t msgcap) {
  return value_check(v, 0, msg, msgcap);
}

int pd__value_check_write(const pd_val *v, char *msg, size_t msgcap) {
  return value_check(v, 1, msg, msgcap);
}
