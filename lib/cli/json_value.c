/*
 * json_value.c - JSON <-> permadict values (the mapping is in json_value.h).
 *
 * JSON -> value walks jansson's tree into a pd_enc, so the core's encoder
 * checks limits and canonical order. Value -> JSON walks a pd_dec and builds
 * a jansson tree; a map is only known to fit a JSON object once all its keys
 * are seen, so its pairs are collected first. Recursion depth is bounded on
 * both sides: by PD_MAX_DEPTH (the encoder stops deeper input, the decoder
 * rejects deeper documents before the walk starts).
 */
#include "json_value.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "report.h" /* CLI_PRINTF */

static int set_error(jv_error *err, int rc, const char *fmt, ...)
    CLI_PRINTF(3, 4);

static int set_error(jv_error *err, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->text, sizeof err->text, fmt, ap);
  va_end(ap);
  return rc;
}

/* ------------------------------------------------------------- parsing */

json_t *jv_parse(const char *text, size_t len, jv_error *err) {
  json_error_t je;
  json_t *j = json_loadb(text, len,
                         JSON_DECODE_ANY | JSON_ALLOW_NUL |
                             JSON_REJECT_DUPLICATES,
                         &je);
  if (j)
    return j;
  /* Valid JSON that jansson cannot hold (a number out of range, a zero
   * byte in an object key) is no reason to suggest storing it as text. */
  err->not_json = json_error_code(&je) != json_error_numeric_overflow &&
                  json_error_code(&je) != json_error_null_byte_in_key;
  if (json_error_code(&je) == json_error_null_byte_in_key) {
    set_error(err, PD_EINVALID,
              "an object key holds a zero byte, which a JSON object cannot "
              "carry here: write that map as {\"$map\": [[key, value], ...]} "
              "(column %d)",
              je.column);
  } else if (json_error_code(&je) == json_error_numeric_overflow) {
    /* jansson says "too big integer near '...'": say what the limit is. */
    if (strstr(je.text, "integer"))
      set_error(err, PD_EINVALID,
                "integer out of the 64-bit range "
                "[-9223372036854775808, 9223372036854775807] (%s)",
                je.text);
    else
      set_error(err, PD_EINVALID, "number too large for a double (%s)",
                je.text);
  } else {
    set_error(err, PD_EINVALID, "invalid JSON at column %d: %s", je.column,
              je.text);
  }
  return NULL;
}

/* -------------------------------------------------------- JSON -> value */

static int emit_value(const json_t *j, pd_enc *enc, jv_error *err);

/* Carry the encoder's own message (it names the limit that was hit). */
static int enc_failed(pd_enc *enc, int rc, jv_error *err) {
  return set_error(err, rc, "%s", pd_enc_errmsg(enc));
}

#define EMIT(call)                                                           \
  do {                                                                       \
    int rc_ = (call);                                                        \
    if (rc_ != PD_OK)                                                        \
      return enc_failed(enc, rc_, err);                                      \
  } while (0)

/* {"$bytes": "<base64>"} -> bytes (private payloads use the same decoding). */
static int decode_base64_member(const json_t *s, const char *form,
                                unsigned char **out, size_t *out_len,
                                jv_error *err) {
  if (!json_is_string(s))
    return set_error(err, PD_EINVALID, "%s needs a base64 string", form);
  const char *why = NULL;
  int rc = base64_decode(json_string_value(s), json_string_length(s), out,
                         out_len, &why);
  if (rc == -2)
    return set_error(err, PD_ENOMEM, "out of memory");
  if (rc != 0)
    return set_error(err, PD_EINVALID, "%s: %s", form, why);
  return PD_OK;
}

static int emit_bytes(const json_t *s, pd_enc *enc, jv_error *err) {
  unsigned char *buf;
  size_t len;
  int rc = decode_base64_member(s, "\"$bytes\"", &buf, &len, err);
  if (rc != PD_OK)
    return rc;
  rc = pd_enc_bytes(enc, buf, len);
  free(buf);
  return rc == PD_OK ? PD_OK : enc_failed(enc, rc, err);
}

static int emit_special_float(const json_t *s, pd_enc *enc, jv_error *err) {
  const char *t = json_is_string(s) ? json_string_value(s) : NULL;
  double f;
  if (t && strcmp(t, "nan") == 0)
    f = NAN;
  else if (t && strcmp(t, "inf") == 0)
    f = INFINITY;
  else if (t && strcmp(t, "-inf") == 0)
    f = -INFINITY;
  else if (t && strcmp(t, "-0.0") == 0)
    f = -0.0;
  else
    return set_error(err, PD_EINVALID,
                     "\"$float\" must be \"nan\", \"inf\", \"-inf\" or "
                     "\"-0.0\" (write other floats as JSON numbers)");
  EMIT(pd_enc_float(enc, f));
  return PD_OK;
}

static int emit_private(const json_t *a, pd_enc *enc, jv_error *err) {
  if (!json_is_array(a) || json_array_size(a) != 2 ||
      !json_is_integer(json_array_get(a, 0)))
    return set_error(err, PD_EINVALID,
                     "\"$private\" needs [tag, \"<base64>\"]");
  json_int_t tag = json_integer_value(json_array_get(a, 0));
  if (tag < 1 || tag > 127)
    return set_error(err, PD_EINVALID,
                     "\"$private\" tag %lld is outside 1..127", (long long)tag);
  unsigned char *buf;
  size_t len;
  int rc = decode_base64_member(json_array_get(a, 1), "\"$private\" payload",
                                &buf, &len, err);
  if (rc != PD_OK)
    return rc;
  rc = pd_enc_private(enc, (int)tag, buf, len);
  free(buf);
  return rc == PD_OK ? PD_OK : enc_failed(enc, rc, err);
}

static int emit_key(const json_t *j, pd_enc *enc, jv_error *err) {
  if (json_is_string(j)) {
    EMIT(pd_enc_text(enc, json_string_value(j), json_string_length(j)));
    return PD_OK;
  }
  if (json_is_integer(j)) {
    EMIT(pd_enc_int(enc, json_integer_value(j)));
    return PD_OK;
  }
  if (json_is_object(j) && json_object_size(j) == 1) {
    const json_t *b = json_object_get(j, "$bytes");
    if (b)
      return emit_bytes(b, enc, err);
  }
  return set_error(err, PD_EINVALID,
                   "a key must be a JSON string, an integer or "
                   "{\"$bytes\": \"<base64>\"}");
}

static int emit_pair_list(const json_t *pairs, pd_enc *enc, jv_error *err) {
  if (!json_is_array(pairs))
    return set_error(err, PD_EINVALID,
                     "\"$map\" needs an array of [key, value] pairs");
  size_t n = json_array_size(pairs);
  EMIT(pd_enc_map(enc, n));
  for (size_t i = 0; i < n; i++) {
    const json_t *pair = json_array_get(pairs, i);
    if (!json_is_array(pair) || json_array_size(pair) != 2)
      return set_error(err, PD_EINVALID,
                       "\"$map\" item %zu is not a [key, value] pair", i);
    int rc = emit_key(json_array_get(pair, 0), enc, err);
    if (rc == PD_OK)
      rc = emit_value(json_array_get(pair, 1), enc, err);
    if (rc != PD_OK)
      return rc;
  }
  return PD_OK;
}

/* An object one of whose keys starts with '$': one of the tagged forms, or
 * an error (a plain map with such keys is written with "$map"). */
static int emit_tagged(const json_t *obj, const char *first_dollar_key,
                       pd_enc *enc, jv_error *err) {
  if (json_object_size(obj) == 1) {
    const char *k = first_dollar_key;
    const json_t *v = json_object_get(obj, k);
    if (strcmp(k, "$bytes") == 0)
      return emit_bytes(v, enc, err);
    if (strcmp(k, "$float") == 0)
      return emit_special_float(v, enc, err);
    if (strcmp(k, "$map") == 0)
      return emit_pair_list(v, enc, err);
    if (strcmp(k, "$private") == 0)
      return emit_private(v, enc, err);
  }
  return set_error(err, PD_EINVALID,
                   "object key \"%.100s\" starts with '$', which is kept for "
                   "{\"$bytes\"|\"$float\"|\"$map\"|\"$private\": ...}; write "
                   "a map with such keys as {\"$map\": [[key, value], ...]}",
                   first_dollar_key);
}

static int emit_object(const json_t *obj, pd_enc *enc, jv_error *err) {
  const char *key;
  size_t key_len;
  json_t *value;
  json_object_keylen_foreach((json_t *)obj, key, key_len, value) {
    if (key_len > 0 && key[0] == '$')
      return emit_tagged(obj, key, enc, err);
  }
  EMIT(pd_enc_map(enc, json_object_size(obj)));
  json_object_keylen_foreach((json_t *)obj, key, key_len, value) {
    EMIT(pd_enc_text(enc, key, key_len));
    int rc = emit_value(value, enc, err);
    if (rc != PD_OK)
      return rc;
  }
  return PD_OK;
}

static int emit_value(const json_t *j, pd_enc *enc, jv_error *err) {
  switch (json_typeof(j)) {
  case JSON_OBJECT:
    return emit_object(j, enc, err);
  case JSON_ARRAY: {
    size_t n = json_array_size(j);
    EMIT(pd_enc_list(enc, n));
    for (size_t i = 0; i < n; i++) {
      int rc = emit_value(json_array_get(j, i), enc, err);
      if (rc != PD_OK)
        return rc;
    }
    return PD_OK;
  }
  case JSON_STRING:
    EMIT(pd_enc_text(enc, json_string_value(j), json_string_length(j)));
    return PD_OK;
  case JSON_INTEGER:
    EMIT(pd_enc_int(enc, json_integer_value(j)));
    return PD_OK;
  case JSON_REAL:
    EMIT(pd_enc_float(enc, json_real_value(j)));
    return PD_OK;
  case JSON_TRUE:
    EMIT(pd_enc_bool(enc, 1));
    return PD_OK;
  case JSON_FALSE:
    EMIT(pd_enc_bool(enc, 0));
    return PD_OK;
  case JSON_NULL:
    EMIT(pd_enc_null(enc));
    return PD_OK;
  }
  return set_error(err, PD_EINVALID, "unknown JSON type");
}

int jv_to_value(const json_t *j, pd_enc *enc, pd_val *out, jv_error *err) {
  pd_enc_reset(enc);
  int rc = emit_value(j, enc, err);
  if (rc != PD_OK)
    return rc;
  rc = pd_enc_finish(enc, out);
  return rc == PD_OK ? PD_OK : enc_failed(enc, rc, err);
}

int jv_to_key(const json_t *j, pd_enc *enc, pd_val *out, jv_error *err) {
  pd_enc_reset(enc);
  int rc = emit_key(j, enc, err);
  if (rc != PD_OK)
    return rc;
  rc = pd_enc_finish(enc, out);
  return rc == PD_OK ? PD_OK : enc_failed(enc, rc, err);
}

/* -------------------------------------------------------- value -> JSON */

static json_t *oom(jv_error *err) {
  set_error(err, PD_ENOMEM, "out of memory");
  return NULL;
}

/* {"<tag>": inner}, taking the reference to inner. */
static json_t *tagged(const char *tag, json_t *inner, jv_error *err) {
  if (!inner)
    return oom(err);
  json_t *o = json_object();
  if (!o || json_object_set_new(o, tag, inner) != 0) {
    json_decref(o);
    return oom(err);
  }
  return o;
}

static json_t *base64_string(const void *p, size_t len, jv_error *err) {
  char *b64 = base64_encode(p, len);
  if (!b64)
    return oom(err);
  json_t *s = json_string(b64);
  free(b64);
  return s ? s : oom(err);
}

static json_t *float_json(double f, jv_error *err) {
  const char *special = NULL;
  if (isnan(f))
    special = "nan";
  else if (isinf(f))
    special = f > 0 ? "inf" : "-inf";
  else if (f == 0.0 && signbit(f))
    special = "-0.0"; /* many JSON readers lose the sign of -0 */
  if (special)
    return tagged("$float", json_string(special), err);
  /* jansson writes reals with %.17g and adds ".0" when there is neither a
   * '.' nor an exponent, so every float reads back as the same float. */
  json_t *r = json_real(f);
  return r ? r : oom(err);
}

/* Any value that is not a list or map (scalars and private). */
static json_t *scalar_json(const pd_val *v, jv_error *err) {
  json_t *j = NULL;
  switch (v->kind) {
  case PD_NULL:
    j = json_null();
    break;
  case PD_BOOL:
    j = json_boolean(v->u.b);
    break;
  case PD_INT:
    j = json_integer(v->u.i);
    break;
  case PD_FLOAT:
    return float_json(v->u.f, err);
  case PD_TEXT:
    /* Checked although the library validates text: a JSON writer must never
     * emit invalid UTF-8, whatever a damaged file holds. */
    j = json_stringn(v->u.s.ptr, v->u.s.len);
    if (!j) {
      set_error(err, PD_EDECODE, "stored text is not valid UTF-8");
      return NULL;
    }
    break;
  case PD_BYTES:
    return tagged("$bytes", base64_string(v->u.s.ptr, v->u.s.len, err), err);
  case PD_PRIVATE: {
    json_t *pair = json_array();
    if (!pair || json_array_append_new(pair, json_integer(v->tag)) != 0 ||
        json_array_append_new(pair,
                              base64_string(v->u.s.ptr, v->u.s.len, err)) != 0) {
      json_decref(pair);
      return oom(err);
    }
    return tagged("$private", pair, err);
  }
  default:
    set_error(err, PD_EDECODE, "unexpected value kind %d", (int)v->kind);
    return NULL;
  }
  return j ? j : oom(err);
}

/* A map key may become a JSON object key only if it reads back as the same
 * text key: not a '$' form, and no zero byte (jansson refuses those in keys). */
static int is_plain_object_key(const pd_val *k) {
  return k->kind == PD_TEXT &&
         !(k->u.s.len > 0 && ((const char *)k->u.s.ptr)[0] == '$') &&
         memchr(k->u.s.ptr, '\0', k->u.s.len) == NULL;
}

static json_t *walk_item(pd_dec *dec, jv_error *err, int *plain_key);

static json_t *walk_list(pd_dec *dec, size_t n, jv_error *err) {
  json_t *a = json_array();
  if (!a)
    return oom(err);
  for (size_t i = 0; i < n; i++) {
    json_t *item = walk_item(dec, err, NULL);
    if (!item) {
      json_decref(a);
      return NULL;
    }
    if (json_array_append_new(a, item) != 0) {
      json_decref(a);
      return oom(err);
    }
  }
  return a;
}

/* [k, v], taking both references (NULL ones mean an error already set). */
static json_t *make_pair(json_t *k, json_t *v, jv_error *err) {
  if (!k || !v) {
    json_decref(k);
    json_decref(v);
    return NULL;
  }
  json_t *pair = json_array();
  if (!pair) {
    json_decref(k);
    json_decref(v);
    return oom(err);
  }
  int failed = json_array_append_new(pair, k);
  failed |= json_array_append_new(pair, v);
  if (failed) {
    json_decref(pair);
    return oom(err);
  }
  return pair;
}

/* Build [[k, v], ...] first; turn it into an object if every key allows. */
static json_t *walk_map(pd_dec *dec, size_t n, jv_error *err) {
  json_t *pairs = json_array();
  if (!pairs)
    return oom(err);
  int all_plain = 1;
  for (size_t i = 0; i < n; i++) {
    int plain = 0;
    json_t *k = walk_item(dec, err, &plain);
    json_t *v = k ? walk_item(dec, err, NULL) : NULL;
    json_t *pair = make_pair(k, v, err);
    if (!pair) {
      json_decref(pairs);
      return NULL;
    }
    if (json_array_append_new(pairs, pair) != 0) {
      json_decref(pairs);
      return oom(err);
    }
    all_plain &= plain;
  }
  if (!all_plain)
    return tagged("$map", pairs, err);
  json_t *obj = json_object();
  if (!obj) {
    json_decref(pairs);
    return oom(err);
  }
  for (size_t i = 0; i < n; i++) {
    json_t *pair = json_array_get(pairs, i);
    json_t *k = json_array_get(pair, 0);
    if (json_object_setn(obj, json_string_value(k), json_string_length(k),
                         json_array_get(pair, 1)) != 0) {
      json_decref(obj);
      json_decref(pairs);
      return oom(err);
    }
  }
  json_decref(pairs);
  return obj;
}

/* The next item of a document and everything nested in it. When plain_key
 * is given the item is a map key: say whether it can be an object key. */
static json_t *walk_item(pd_dec *dec, jv_error *err, int *plain_key) {
  pd_val it;
  int rc = pd_dec_next(dec, &it);
  if (rc != PD_OK) {
    set_error(err, rc == PD_ITEROVER ? PD_EDECODE : rc,
              "packed value ended early: %s", pd_dec_errmsg(dec));
    return NULL;
  }
  if (plain_key)
    *plain_key = is_plain_object_key(&it);
  switch (it.kind) {
  case PD_LIST:
    return walk_list(dec, it.u.n, err);
  case PD_MAP:
    return walk_map(dec, it.u.n, err);
  default:
    return scalar_json(&it, err);
  }
}

json_t *jv_from_value(const pd_val *v, pd_dec *dec, jv_error *err) {
  if (v->kind != PD_PACKED)
    return scalar_json(v, err);
  int rc = pd_dec_start(dec, v);
  if (rc != PD_OK) {
    set_error(err, rc, "%s", pd_dec_errmsg(dec));
    return NULL;
  }
  return walk_item(dec, err, NULL);
}

json_t *jv_from_key(const pd_val *key, jv_error *err) {
  if (key->kind != PD_INT && key->kind != PD_TEXT && key->kind != PD_BYTES) {
    set_error(err, PD_EDECODE, "a key of kind %d", (int)key->kind);
    return NULL;
  }
  return scalar_json(key, err);
}
