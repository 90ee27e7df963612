/* typed_json.c - see typed_json.h. */
#include "typed_json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *tj_load_vectors(const char *path) {
  json_error_t err;
  json_t *root = json_load_file(path, JSON_ALLOW_NUL, &err);
  if (!root) {
    fprintf(stderr, "%s:%d: %s\n", path, err.line, err.text);
    exit(2);
  }
  return root;
}

static const char *kind_of(const json_t *t) {
  if (!json_is_array(t) || json_array_size(t) < 1) return NULL;
  return json_string_value(json_array_get(t, 0));
}

static int parse_int(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end || end == s) return -1;
  *out = v;
  return 0;
}

static int parse_float(const char *s, double *out) {
  /* strtod knows nan/inf; the sign of "-0.0" survives. */
  char *end;
  *out = strtod(s, &end);
  return (*end || end == s) ? -1 : 0;
}

static int hex_nibble(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Hex with optional spaces to bytes; returns length or -1. */
static long parse_hex(const char *s, unsigned char **out) {
  size_t n = strlen(s);
  unsigned char *b = malloc(n / 2 + 1);
  long len = 0;
  int hi = -1;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == ' ') continue;
    int v = hex_nibble((unsigned char)s[i]);
    if (v < 0) { free(b); return -1; }
    if (hi < 0) hi = v;
    else { b[len++] = (unsigned char)(hi << 4 | v); hi = -1; }
  }
  if (hi >= 0) { free(b); return -1; }
  *out = b;
  return len;
}

static json_t *hex_string(const void *p, size_t len) {
  char *s = malloc(len * 2 + 1);
  for (size_t i = 0; i < len; i++) sprintf(s + 2 * i, "%02x", ((const unsigned char *)p)[i]);
  s[len * 2] = 0;
  json_t *j = json_string(s);
  free(s);
  return j;
}

static json_t *canon_int(int64_t i) {
  char b[32];
  snprintf(b, sizeof b, "%" PRId64, i);
  return json_pack("[ss]", "int", b);
}

static json_t *canon_float(double f) {
  char b[32];
  if (isnan(f)) {
    snprintf(b, sizeof b, "nan");
  } else {
    uint64_t bits;
    memcpy(&bits, &f, sizeof bits);
    snprintf(b, sizeof b, "%016" PRIx64, bits);
  }
  return json_pack("[ss]", "float", b);
}

static json_t *canon_text(const char *p, size_t len) {
  /* An empty text may come back with a NULL pointer. */
  return json_pack("[so]", "text", json_stringn_nocheck(len ? p : "", len));
}

/* permadict key order on canonical key trees (FORMAT.md section 3). */
static int key_rank(const json_t *k) {
  const char *kind = kind_of(k);
  return strcmp(kind, "int") == 0 ? 0 : strcmp(kind, "text") == 0 ? 1 : 2;
}

static int canon_key_compare(const json_t *a, const json_t *b) {
  int ra = key_rank(a), rb = key_rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  const json_t *va = json_array_get(a, 1), *vb = json_array_get(b, 1);
  if (ra == 0) {
    int64_t x = 0, y = 0;
    parse_int(json_string_value(va), &x);
    parse_int(json_string_value(vb), &y);
    return x < y ? -1 : x > y;
  }
  /* Text compares by its UTF-8 bytes; canonical bytes are lowercase hex, and
   * hex of equal length sorts as the bytes do, a prefix first. */
  size_t la = json_string_length(va), lb = json_string_length(vb);
  int c = memcmp(json_string_value(va), json_string_value(vb), la < lb ? la : lb);
  if (c) return c;
  return la < lb ? -1 : la > lb;
}

static int entry_compare(const void *pa, const void *pb) {
  const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
  return canon_key_compare(json_array_get(a, 0), json_array_get(b, 0));
}

static json_t *sorted_map(json_t *entries) {
  size_t n = json_array_size(entries);
  json_t **v = calloc(n ? n : 1, sizeof *v);
  for (size_t i = 0; i < n; i++) v[i] = json_array_get(entries, i);
  qsort(v, n, sizeof *v, entry_compare);
  json_t *out = json_array();
  for (size_t i = 0; i < n; i++) json_array_append(out, v[i]);
  free(v);
  json_decref(entries);
  return json_pack("[so]", "map", out);
}

json_t *tj_canonical(const json_t *t) {
  const char *kind = kind_of(t);
  if (!kind) return NULL;
  const json_t *a1 = json_array_get(t, 1);
  if (strcmp(kind, "null") == 0) return json_pack("[s]", "null");
  if (strcmp(kind, "bool") == 0) return json_pack("[sb]", "bool", json_is_true(a1));
  if (strcmp(kind, "int") == 0) {
    int64_t i;
    if (!json_is_string(a1) || parse_int(json_string_value(a1), &i)) return NULL;
    return canon_int(i);
  }
  if (strcmp(kind, "float") == 0) {
    double f;
    if (!json_is_string(a1) || parse_float(json_string_value(a1), &f)) return NULL;
    return canon_float(f);
  }
  if (strcmp(kind, "text") == 0) {
    if (!json_is_string(a1)) return NULL;
    return canon_text(json_string_value(a1), json_string_length(a1));
  }
  if (strcmp(kind, "bytes") == 0) {
    unsigned char *b;
    long n = json_is_string(a1) ? parse_hex(json_string_value(a1), &b) : -1;
    if (n < 0) return NULL;
    json_t *h = hex_string(b, (size_t)n);
    free(b);
    return json_pack("[so]", "bytes", h);
  }
  if (strcmp(kind, "private") == 0) {
    unsigned char *b;
    const json_t *a2 = json_array_get(t, 2);
    long n = json_is_string(a2) ? parse_hex(json_string_value(a2), &b) : -1;
    if (n < 0 || !json_is_integer(a1)) return NULL;
    json_t *h = hex_string(b, (size_t)n);
    free(b);
    return json_pack("[sIo]", "private", json_integer_value(a1), h);
  }
  if (strcmp(kind, "list") == 0) {
    json_t *items = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(a1, i, it) {
      json_t *c = tj_canonical(it);
      if (!c) { json_decref(items); return NULL; }
      json_array_append_new(items, c);
    }
    return json_pack("[so]", "list", items);
  }
  if (strcmp(kind, "map") == 0) {
    json_t *entries = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(a1, i, e) {
      json_t *k = tj_canonical(json_array_get(e, 0));
      json_t *v = tj_canonical(json_array_get(e, 1));
      if (!k || !v) { json_decref(k); json_decref(v); json_decref(entries); return NULL; }
      json_array_append_new(entries, json_pack("[oo]", k, v));
    }
    return sorted_map(entries);
  }
  if (strcmp(kind, "nest") == 0) {
    json_t *inner = tj_canonical(json_array_get(t, 2));
    if (!inner || !json_is_integer(a1)) return NULL;
    for (json_int_t d = json_integer_value(a1); d > 0; d--)
      inner = json_pack("[s[o]]", "list", inner);
    return inner;
  }
  return NULL;
}

/* Encodes a canonical tree (floats already as bit patterns). */
static int encode_canonical(pd_enc *enc, const json_t *c) {
  const char *kind = kind_of(c);
  const json_t *a1 = json_array_get(c, 1);
  int rc;
  if (strcmp(kind, "null") == 0) rc = pd_enc_null(enc);
  else if (strcmp(kind, "bool") == 0) rc = pd_enc_bool(enc, json_is_true(a1));
  else if (strcmp(kind, "int") == 0) {
    int64_t i = 0;
    parse_int(json_string_value(a1), &i);
    rc = pd_enc_int(enc, i);
  } else if (strcmp(kind, "float") == 0) {
    double f = NAN;
    const char *s = json_string_value(a1);
    if (strcmp(s, "nan") != 0) {
      uint64_t bits = strtoull(s, NULL, 16);
      memcpy(&f, &bits, sizeof f);
    }
    rc = pd_enc_float(enc, f);
  } else if (strcmp(kind, "text") == 0) {
    rc = pd_enc_text(enc, json_string_value(a1), json_string_length(a1));
  } else if (strcmp(kind, "bytes") == 0 || strcmp(kind, "private") == 0) {
    int priv = kind[0] == 'p';
    unsigned char *b;
    long n = parse_hex(json_string_value(json_array_get(c, priv ? 2 : 1)), &b);
    rc = priv ? pd_enc_private(enc, (int)json_integer_value(a1), b, (size_t)n)
              : pd_enc_bytes(enc, b, (size_t)n);
    free(b);
  } else if (strcmp(kind, "list") == 0) {
    rc = pd_enc_list(enc, json_array_size(a1));
    size_t i;
    json_t *it;
    json_array_foreach(a1, i, it) if (rc == PD_OK) rc = encode_canonical(enc, it);
  } else { /* map: canonical entries are sorted, which the encoder accepts in any order */
    rc = pd_enc_map(enc, json_array_size(a1));
    size_t i;
    json_t *e;
    json_array_foreach(a1, i, e) {
      if (rc == PD_OK) rc = encode_canonical(enc, json_array_get(e, 0));
      if (rc == PD_OK) rc = encode_canonical(enc, json_array_get(e, 1));
    }
  }
  return rc;
}

int tj_encode(pd_enc *enc, const json_t *typed) {
  json_t *c = tj_canonical(typed);
  if (!c) return PD_EINVALID;
  int rc = encode_canonical(enc, c);
  json_decref(c);
  return rc;
}

int tj_encode_canonical(pd_enc *enc, const json_t *canonical) {
  return encode_canonical(enc, canonical);
}

int tj_key(const json_t *typed, pd_val *out, void **buf) {
  json_t *c = tj_canonical(typed);
  *buf = NULL;
  if (!c) return PD_EINVALID;
  const char *kind = kind_of(c);
  const json_t *a1 = json_array_get(c, 1);
  int rc = PD_OK;
  if (strcmp(kind, "int") == 0) {
    int64_t i = 0;
    parse_int(json_string_value(a1), &i);
    *out = pd_int(i);
  } else if (strcmp(kind, "text") == 0) {
    size_t n = json_string_length(a1);
    *buf = malloc(n + 1);
    memcpy(*buf, json_string_value(a1), n);
    *out = pd_text(*buf, n);
  } else if (strcmp(kind, "bytes") == 0) {
    unsigned char *b;
    long n = parse_hex(json_string_value(a1), &b);
    *buf = b;
    *out = pd_bytes(b, (size_t)n);
  } else {
    rc = PD_EINVALID;
  }
  json_decref(c);
  return rc;
}

static json_t *scalar_tree(const pd_val *v) {
  switch (v->kind) {
  case PD_NULL: return json_pack("[s]", "null");
  case PD_BOOL: return json_pack("[sb]", "bool", v->u.b);
  case PD_INT: return canon_int(v->u.i);
  case PD_FLOAT: return canon_float(v->u.f);
  case PD_TEXT: return canon_text(v->u.s.ptr, v->u.s.len);
  case PD_BYTES: return json_pack("[so]", "bytes", hex_string(v->u.s.ptr, v->u.s.len));
  case PD_PRIVATE:
    return json_pack("[sio]", "private", v->tag, hex_string(v->u.s.ptr, v->u.s.len));
  default: return NULL;
  }
}

/* Rebuilds one item (and its children) from the decoder's depth-first walk.
 * The walk is bounded by PD_MAX_DEPTH, which the decoder enforces. */
static json_t *walk(pd_dec *dec, int *err) {
  pd_val it;
  int rc = pd_dec_next(dec, &it);
  if (rc != PD_OK) { *err = rc == PD_ITEROVER ? PD_EDECODE : rc; return NULL; }
  if (it.kind == PD_LIST) {
    json_t *items = json_array();
    for (size_t i = 0, n = it.u.n; i < n; i++) {
      json_t *c = walk(dec, err);
      if (!c) { json_decref(items); return NULL; }
      json_array_append_new(items, c);
    }
    return json_pack("[so]", "list", items);
  }
  if (it.kind == PD_MAP) {
    json_t *entries = json_array();
    for (size_t i = 0, n = it.u.n; i < n; i++) {
      json_t *k = walk(dec, err);
      json_t *v = k ? walk(dec, err) : NULL;
      if (!v) { json_decref(k); json_decref(entries); return NULL; }
      json_array_append_new(entries, json_pack("[oo]", k, v));
    }
    /* Already in key order if the writer was canonical; the harness checks
     * the stored bytes separately, so sorting here only normalises. */
    return sorted_map(entries);
  }
  json_t *s = scalar_tree(&it);
  if (!s) *err = PD_EDECODE;
  return s;
}

json_t *tj_from_val(pd_dec *dec, const pd_val *v, int *err) {
  *err = PD_OK;
  if (v->kind != PD_PACKED) {
    json_t *s = scalar_tree(v);
    if (!s) *err = PD_EDECODE;
    return s;
  }
  int rc = pd_dec_start(dec, v);
  if (rc != PD_OK) { *err = rc; return NULL; }
  json_t *t = walk(dec, err);
  pd_val extra;
  if (t && pd_dec_next(dec, &extra) != PD_ITEROVER) {
    json_decref(t);
    *err = PD_EDECODE;
    return NULL;
  }
  return t;
}

const char *tj_code_name(int code) {
  static const char *names[] = {"OK", "ERROR", "ENOTFOUND", "ITEROVER", "EBUSY",
                                "ETIMEOUT", "EREADONLY", "EFORMAT", "ENOTADB", "ECORRUPT",
                                "EDECODE", "ETOOBIG", "EINVALID", "ETYPE", "EFORKED",
                                "ENOMEM", "EIO", "EFULL", "EMISUSE", "ERESYNC", "EGONE"};
  if (code <= 0 && code >= -20) return names[-code];
  return "unknown";
}
