/*
 * test_codec.c - the value codec: pd_enc, pd_dec and pd_val_equal against
 * docs/FORMAT.md section 4 (exact canonical bytes, round trips of every kind
 * and edge value, every error, hostile documents).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "permadict.h"

/* ------------------------------------------------------------- helpers */

static pd_enc *new_enc(void) {
  pd_enc *e = NULL;
  assert_int_equal(pd_enc_new(&e), PD_OK);
  assert_non_null(e);
  return e;
}

static pd_dec *new_dec(void) {
  pd_dec *d = NULL;
  assert_int_equal(pd_dec_new(&d), PD_OK);
  assert_non_null(d);
  return d;
}

/* pd_val_equal on values built in place. */
static int same(pd_val a, pd_val b) { return pd_val_equal(&a, &b); }

static pd_val packed(const void *p, size_t len) {
  pd_val v = pd_bytes(p, len);
  v.kind = PD_PACKED;
  return v;
}

/* Parse "92 01 a1 61" into bytes; returns the count. */
static size_t unhex(const char *hex, unsigned char *out, size_t cap) {
  size_t n = 0;
  unsigned int b;
  int used;
  while (sscanf(hex, " %2x%n", &b, &used) == 1) {
    assert_true(n < cap);
    out[n++] = (unsigned char)b;
    hex += used;
  }
  return n;
}

static void assert_packed_hex(const pd_val *v, const char *hex) {
  unsigned char want[512];
  size_t n = unhex(hex, want, sizeof want);
  assert_int_equal(v->kind, PD_PACKED);
  if (v->u.s.len != n || memcmp(v->u.s.ptr, want, n) != 0) {
    fprintf(stderr, "want %s\ngot ", hex);
    for (size_t i = 0; i < v->u.s.len; i++)
      fprintf(stderr, "%02x ", ((const unsigned char *)v->u.s.ptr)[i]);
    fprintf(stderr, "\n");
    fail_msg("packed bytes differ");
  }
}

static void finish_ok(pd_enc *e, pd_val *out) {
  int rc = pd_enc_finish(e, out);
  if (rc != PD_OK)
    fail_msg("pd_enc_finish: %d %s", rc, pd_enc_errmsg(e));
}

/* Decode doc and check its items equal want[0..n), then the end. */
static void assert_decodes_to(const pd_val *doc, const pd_val *want,
                              size_t n) {
  pd_dec *d = new_dec();
  pd_val item;
  int rc = pd_dec_start(d, doc);
  if (rc != PD_OK)
    fail_msg("pd_dec_start: %d %s", rc, pd_dec_errmsg(d));
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(pd_dec_next(d, &item), PD_OK);
    if (!pd_val_equal(&item, &want[i]))
      fail_msg("item %zu: kind %d, want kind %d", i, item.kind, want[i].kind);
  }
  assert_int_equal(pd_dec_next(d, &item), PD_ITEROVER);
  assert_int_equal(pd_dec_next(d, &item), PD_ITEROVER);
  pd_dec_free(d);
}

/* Decode doc and re-encode it item by item: the bytes must not change. */
static void assert_reencodes_identically(const pd_val *doc) {
  pd_dec *d = new_dec();
  pd_enc *e = new_enc();
  pd_val item, again;
  assert_int_equal(pd_dec_start(d, doc), PD_OK);
  while (pd_dec_next(d, &item) == PD_OK)
    assert_int_equal(pd_enc_val(e, &item), PD_OK);
  finish_ok(e, &again);
  assert_true(pd_val_equal(doc, &again));
  pd_enc_free(e);
  pd_dec_free(d);
}

static int dec_start_hex(pd_dec *d, const char *hex) {
  unsigned char buf[512];
  size_t n = unhex(hex, buf, sizeof buf);
  pd_val doc = packed(buf, n);
  return pd_dec_start(d, &doc);
}

/* pd_dec_start refuses the document with PD_EDECODE and a message
 * containing why. */
static void assert_rejected_hex(const char *hex, const char *why) {
  pd_dec *d = new_dec();
  pd_val item;
  int rc = dec_start_hex(d, hex);
  if (rc != PD_EDECODE || strstr(pd_dec_errmsg(d), why) == NULL)
    fail_msg("document %s: got %d \"%s\", want PD_EDECODE \"...%s...\"", hex,
             rc, pd_dec_errmsg(d), why);
  /* A walk that did not start yields nothing but the same error. */
  assert_int_equal(pd_dec_next(d, &item), PD_EDECODE);
  pd_dec_free(d);
}

static pd_val float_from_bits(uint64_t bits) {
  double f;
  memcpy(&f, &bits, sizeof f);
  return pd_float(f);
}

static uint64_t bits_of(double f) {
  uint64_t b;
  memcpy(&b, &f, sizeof b);
  return b;
}

/* The encoder fails with code and a message containing why; the failure
 * is sticky until pd_enc_reset. */
static void assert_enc_failed(pd_enc *e, int rc, int code, const char *why) {
  pd_val out;
  if (rc != code || strstr(pd_enc_errmsg(e), why) == NULL)
    fail_msg("got %d \"%s\", want %d \"...%s...\"", rc, pd_enc_errmsg(e), code,
             why);
  assert_int_equal(pd_enc_int(e, 1), code);
  assert_int_equal(pd_enc_list(e, 0), code);
  assert_int_equal(pd_enc_finish(e, &out), code);
  assert_non_null(strstr(pd_enc_errmsg(e), why));
  pd_enc_reset(e);
  assert_string_equal(pd_enc_errmsg(e), "");
  assert_int_equal(pd_enc_int(e, 7), PD_OK);
  assert_int_equal(pd_enc_finish(e, &out), PD_OK);
  assert_int_equal(out.kind, PD_INT);
  assert_int_equal(out.u.i, 7);
  pd_enc_reset(e);
}

/* --------------------------------------------------- canonical bytes */

static void test_codec__list_of_int_and_text_has_exact_bytes(void **state) {
  (void)state;
  pd_enc *e = new_enc();
  pd_val out;
  assert_int_equal(pd_enc_list(e, 2), PD_OK);
  assert_int_equal(pd_enc_int(e, 1), PD_OK);
  assert_int_equal(pd_enc_text(e, "a", 1), PD_OK);
  finish_ok(e, &out);
  assert_packed_hex(&out, "92 01 a1 61");
  pd_enc_free(e);
}

static void test_codec__floats_are_always_float64(void **state) {
  (void)state;
  pd_enc *e = new_enc();
  pd_val out;
  pd_enc_list(e, 3);
  pd_enc_float(e, 1.0);
  pd_enc_float(e, -0.0);
  pd_enc_float(e, INFINITY);
  finish_ok(e, &out);
  assert_packed_hex(&out, "93 cb 3f f0 00 00 00 00 00 00"
                          "   cb 80 00 00 00 00 00 00 00"
                          "   cb 7f f0 00 00 00 00 00 00");
  pd_enc_free(e);
}

static void test_codec__every_nan_is_written_as_the_canonical_nan(void **state) {
  (void)state;
  pd_enc *e = new_enc();
  pd_val out;
  pd_enc_list(e, 3);
  pd_enc_val(e, &(pd_val){0}); /* PD_NULL through pd_enc_val */
  pd_val payload_nan = float_from_bits(UINT64_C(0x7ff0000000000123));
  pd_val negative_nan = float_from_bits(UINT64_C(0xfff8000000000000));
  assert_true(isnan(payload_nan.u.f) && isnan(negative_nan.u.f));
  pd_enc_val(e, &payload_nan);
  pd_enc_float(e, negative_nan.u.f);
  finish_ok(e, &out);
  assert_packed_hex(&out, "93 c0 cb 7f f8 00 00 00 00 00 00"
                          "      cb 7f f8 00 00 00 00 00 00");
  pd_enc_free(e);
}

static void test_codec__ints_take_the_shortest_form(void **state) {
  (void)state;
  pd_enc *e = new_enc();
  pd_val out;
  const int64_t v[] = {0, 127, 128, 255, 256, 65535, 65536, 4294967295LL,
                       4294967296LL, INT64_MAX, -1, -32, -33, -128, -129,
                       -32768, -32769, -2147483648LL, -2147483649LL,
                       INT64_MIN};
  pd_enc_list(e, sizeof v / sizeof v[0]);
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    assert_int_equal(pd_enc_int(e, v[i]), PD_OK);
  finish_ok(e, &out);
  assert_packed_hex(&out, "dc 00 14"
                          " 00 7f cc 80 cc ff cd 01 00 cd ff ff"
                          " ce 00 01 00 00 ce ff ff ff ff"
                          " cf 00 00 00 01 00 00 00 00"
                          " cf 7f ff ff ff ff ff ff ff"
                          " ff e0 d0 df d0 80 d1 ff 7f d1 80 00"
                          " d2 ff ff 7f ff d2 80 00 00 00"
                          " d3 ff ff ff ff 7f ff ff ff"
                          " d3 80 00 00 00 00 00 00 00");
  pd_enc_free(e);
}

static void test_codec__headers_take_the_shortest_form(void **state) {
  (void)state;
  static char big[300];
  memset(big, 'x', sizeof big);
  pd_enc *e = new_enc();
  pd_val out;
  unsigned char want[512];
  size_t n = 0;

  pd_enc_list(e, 8);
  pd_enc_text(e, big, 31); /* fixstr */
  pd_enc_text(e, big, 32); /* str 8 */
  pd_enc_bytes(e, big, 0); /* bin 8 */
  pd_enc_private(e, 5, big, 1);  /* fixext 1 */
  pd_enc_private(e, 5, big, 16); /* fixext 16 */
  pd_enc_private(e, 5, big, 3);  /* ext 8 */
  pd_enc_text(e, big, 256);      /* str 16 */
  pd_enc_map(e, 0);              /* fixmap */
  finish_ok(e, &out);

  want[n++] = 0x98;
  want[n++] = 0xbf;
  memset(want + n, 'x', 31), n += 31;
  want[n++] = 0xd9, want[n++] = 32;
  memset(want + n, 'x', 32), n += 32;
  want[n++] = 0xc4, want[n++] = 0;
  want[n++] = 0xd4, want[n++] = 5, want[n++] = 'x';
  want[n++] = 0xd8, want[n++] = 5;
  memset(want + n, 'x', 16), n += 16;
  want[n++] = 0xc7, want[n++] = 3, want[n++] = 5;
  memset(want + n, 'x', 3), n += 3;
  want[n++] = 0xda, want[n++] = 0x01, want[n++] = 0x00;
  assert_int_equal(out.u.s.len, n + 256 + 1);
  assert_memory_equal(out.u.s.ptr, want, n);
  assert_memory_equal((const char *)out.u.s.ptr + n, big, 256);
  assert_int_equal(((const unsigned char *)out.u.s.ptr)[n + 256], 0x80);
  pd_enc_free(e);
}

/* Builds {b"x": 1, "b": 2, 10: 3, -5: 4, "a": 5, "ab": 6} with the pairs
 * in the order given by perm. */
static void build_mixed_map(pd_enc *e, const int perm[6]) {
  pd_enc_map(e, 6);
  for (int i = 0; i < 6; i++) {
    switch (perm[i]) {
    case 0: pd_enc_bytes(e, "x", 1); pd_enc_int(e, 1); break;
    case 1: pd_enc_text(e, "b", 1); pd_enc_int(e, 2); break;
    case 2: pd_enc_int(e, 10); pd_enc_int(e, 3); break;
    case 3: pd_enc_int(e, -5); pd_enc_int(e, 4); break;
    case 4: pd_enc_text(e, "a", 1); pd_enc_int(e, 5); break;
    case 5: pd_enc_text(e, "ab", 2); pd_enc_int(e, 6); break;
    }
  }
}

static void test_codec__map_built_in_two_orders_gives_identical_bytes(
    void **state) {
  (void)state;
  static const int order1[6] = {0, 1, 2, 3, 4, 5};
  static const int order2[6] = {5, 3, 4, 0, 2, 1};
  pd_enc *e1 = new_enc(), *e2 = new_enc();
  pd_val a, b;
  build_mixed_map(e1, order1);
  build_mixed_map(e2, order2);
  finish_ok(e1, &a);
  finish_ok(e2, &b);
  assert_true(pd_val_equal(&a, &b));
  /* ints numerically, then text (a prefix first), then bytes */
  assert_packed_hex(&a, "86 fb 04 0a 03 a1 61 05 a2 61 62 06 a1 62 02"
                        " c4 01 78 01");
  pd_enc_free(e1);
  pd_enc_free(e2);
}

static void test_codec__nested_maps_are_sorted_at_every_level(void **state) {
  (void)state;
  pd_enc *e = new_enc();
  pd_val out;
  /* {"z": {3: "c", 1: "a", 2: [ {"y": 0, "x": 1} ]}, "m": null} */
  pd_enc_map(e, 2);
  pd_enc_text(e, "z", 1);
  pd_enc_map(e, 3);
  pd_enc_int(e, 3), pd_enc_text(e, "c", 1);
  pd_enc_int(e, 1), pd_enc_text(e, "a", 1);
  pd_enc_int(e, 2), pd_enc_list(e, 1);
  pd_enc_map(e, 2);
  pd_enc_text(e, "y", 1), pd_enc_int(e, 0);
  pd_enc_text(e, "x", 1), pd_enc_int(e, 1);
  pd_enc_text(e, "m", 1);
  pd_enc_null(e);
  finish_ok(e, &out);
  assert_packed_hex(&out, "82 a1 6d c0 a1 7a 83 01 a1 61 02 91 82 a1 78 01"
                          " a1 79 00 03 a1 63");
  assert_reencodes_identically(&out);
  pd_enc_free(e);
}

/* ------------------------------------------------------------ round trips */

static void test_codec__every_kind_and_edge_value_round_trips(void **state) {
  (void)state;
  static const char text_with_zero[] = {'a', '\0', 'b'};
  static const unsigned char not_utf8[] = {0xff, 0xfe, 0x00, 0x80};
  static const char utf8[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"; /* é€😀 */
  const pd_val want[] = {
      {PD_LIST, 0, {.n = 21}},
      pd_null(),
      pd_bool(1),
      pd_bool(0),
      pd_int(0),
      pd_int(INT64_MAX),
      pd_int(INT64_MIN),
      pd_int((INT64_C(1) << 53) + 1),
      pd_float(-0.0),
      pd_float(NAN),
      pd_float(INFINITY),
      pd_float(-INFINITY),
      pd_float(5e-324),
      pd_text("", 0),
      pd_text(text_with_zero, sizeof text_with_zero),
      pd_text(utf8, sizeof utf8 - 1),
      pd_bytes("", 0),
      pd_bytes(not_utf8, sizeof not_utf8),
      {PD_LIST, 0, {.n = 0}},
      {PD_MAP, 0, {.n = 0}},
      {PD_PRIVATE, PD_TAG_PYTHON_PICKLE, {.s = {"\x80\x05N.", 4}}},
      {PD_LIST, 0, {.n = 2}},
      {PD_PRIVATE, 127, {.s = {NULL, 0}}},
      {PD_MAP, 0, {.n = 3}},
      pd_int(-7),
      {PD_MAP, 0, {.n = 1}},
      pd_bytes(not_utf8, 2),
      pd_text(text_with_zero, 3),
      pd_text(text_with_zero, 3),
      pd_float(2.5),
      pd_bytes("", 0),
      {PD_PRIVATE, 64, {.s = {"p", 1}}},
  };
  const size_t n = sizeof want / sizeof want[0];
  pd_enc *e = new_enc();
  pd_val out;
  for (size_t i = 0; i < n; i++)
    if (pd_enc_val(e, &want[i]) != PD_OK)
      fail_msg("item %zu: %s", i, pd_enc_errmsg(e));
  finish_ok(e, &out);
  assert_decodes_to(&out, want, n);
  assert_reencodes_identically(&out);

  /* The edge floats keep their exact bits (the sign of -0.0 included). */
  pd_dec *d = new_dec();
  pd_val item;
  assert_int_equal(pd_dec_start(d, &out), PD_OK);
  for (int i = 0; i < 9; i++)
    assert_int_equal(pd_dec_next(d, &item), PD_OK);
  assert_int_equal(item.kind, PD_FLOAT);
  assert_true(signbit(item.u.f) && item.u.f == 0.0);
  assert_int_equal(pd_dec_next(d, &item), PD_OK);
  assert_int_equal(bits_of(item.u.f), UINT64_C(0x7ff8000000000000));
  pd_dec_free(d);
  pd_enc_free(e);
}

static void test_codec__top_level_scalars_come_back_as_scalars(void **state) {
  (void)state;
  pd_enc *e = new_enc();
  pd_val out;
  char text[] = {'h', '\0', 'i'};

  assert_int_equal(pd_enc_text(e, text, sizeof text), PD_OK);
  finish_ok(e, &out);
  memset(text, '?', sizeof text); /* the result is the encoder's copy */
  assert_true(same(out, pd_text("h\0i", 3)));
  assert_ptr_not_equal(out.u.s.ptr, text);

  const pd_val scalars[] = {pd_null(), pd_bool(1), pd_int(INT64_MIN),
                            pd_float(-0.0), pd_bytes("", 0), pd_text("", 0),
                            pd_bytes("\xff", 1)};
  for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++) {
    pd_enc_reset(e);
    assert_int_equal(pd_enc_val(e, &scalars[i]), PD_OK);
    finish_ok(e, &out);
    assert_true(pd_val_equal(&out, &scalars[i]));
    /* finish can be asked again and gives the same */
    pd_val again;
    finish_ok(e, &again);
    assert_true(pd_val_equal(&out, &again));
  }
  pd_enc_free(e);
}

static void test_codec__top_level_private_value_is_a_document(void **state) {
  (void)state;
  pd_enc *e = new_enc();
  pd_val out;
  assert_int_equal(pd_enc_private(e, 1, "abc", 3), PD_OK);
  finish_ok(e, &out);
  assert_packed_hex(&out, "c7 03 01 61 62 63");
  const pd_val want[] = {{PD_PRIVATE, 1, {.s = {"abc", 3}}}};
  assert_decodes_to(&out, want, 1);
  pd_enc_free(e);
}

/* A list nested depth deep (the outermost counting 1), innermost [7]. */
static int build_nested(pd_enc *e, int depth) {
  int rc = PD_OK;
  for (int i = 0; i < depth && rc == PD_OK; i++)
    rc = pd_enc_list(e, 1);
  if (rc == PD_OK)
    rc = pd_enc_int(e, 7);
  return rc;
}

static void test_codec__nesting_32_deep_round_trips(void **state) {
  (void)state;
  pd_enc *e = new_enc();
  pd_val out;
  assert_int_equal(build_nested(e, PD_MAX_DEPTH), PD_OK);
  finish_ok(e, &out);
  assert_int_equal(out.u.s.len, PD_MAX_DEPTH + 1);
  assert_reencodes_identically(&out);
  /* and a map 32 deep, innermost empty */
  pd_enc_reset(e);
  for (int i = 0; i < PD_MAX_DEPTH - 1; i++)
    pd_enc_map(e, 1), pd_enc_int(e, i);
  assert_int_equal(pd_enc_map(e, 0), PD_OK);
  finish_ok(e, &out);
  assert_reencodes_identically(&out);
  pd_enc_free(e);
}

static void test_codec__encoder_refuses_nesting_33_deep(void **state) {
  (void)state;
  pd_enc *e = new_enc();
  assert_int_equal(build_nested(e, PD_MAX_DEPTH), PD_OK);
  pd_enc_reset(e);
  for (int i = 0; i < PD_MAX_DEPTH; i++)
    assert_int_equal(pd_enc_list(e, 1), PD_OK);
  assert_enc_failed(e, pd_enc_map(e, 0), PD_ETOOBIG, "nesting deeper than 32");
  pd_enc_free(e);
}

/* Document of depth arrays each holding the next, innermost holding nil
 * (or, with empty_inner, the innermost array empty). */
static unsigned char *nested_doc(size_t depth, int empty_inner, size_t *len) {
  unsigned char *p = malloc(depth + 1);
  assert_non_null(p);
  memset(p, 0x91, depth);
  if (empty_inner) {
    p[depth - 1] = 0x90;
    *len = depth;
  } else {
    p[depth] = 0xc0;
    *len = depth + 1;
  }
  return p;
}

static void test_codec__decoder_depth_boundary_is_32(void **state) {
  (void)state;
  pd_dec *d = new_dec();
  pd_val item;
  size_t len;
  const size_t depths[] = {32, 33, 1000000};
  for (int empty = 0; empty <= 1; empty++) {
    for (size_t i = 0; i < 3; i++) {
      unsigned char *p = nested_doc(depths[i], empty, &len);
      pd_val doc = packed(p, len);
      int rc = pd_dec_start(d, &doc);
      if (depths[i] == 32) {
        assert_int_equal(rc, PD_OK);
        size_t items = 0;
        while (pd_dec_next(d, &item) == PD_OK)
          items++;
        assert_int_equal(items, empty ? 32 : 33);
      } else {
        assert_int_equal(rc, PD_EDECODE);
        assert_non_null(strstr(pd_dec_errmsg(d), "nesting deeper than 32"));
      }
      free(p);
    }
  }
  pd_dec_free(d);
}

static void test_codec__decoded_items_survive_the_callers_buffer(void **state) {
  (void)state;
  pd_dec *d = new_dec();
  pd_val item;
  unsigned char buf[] = {0x92, 0xa2, 'h', 'i', 0xc4, 0x01, 0x00};
  pd_val doc = packed(buf, sizeof buf);
  assert_int_equal(pd_dec_start(d, &doc), PD_OK);
  memset(buf, 0xc1, sizeof buf); /* the caller reuses its memory */
  assert_int_equal(pd_dec_next(d, &item), PD_OK);
  assert_int_equal(item.kind, PD_LIST);
  assert_int_equal(item.u.n, 2);
  assert_int_equal(pd_dec_next(d, &item), PD_OK);
  assert_true(same(item, pd_text("hi", 2)));
  assert_int_equal(pd_dec_next(d, &item), PD_OK);
  assert_true(same(item, pd_bytes("\0", 1)));
  assert_int_equal(pd_dec_next(d, &item), PD_ITEROVER);
  pd_dec_free(d);
}

/* An empty text, bytes or private payload comes out with a pointer, as
 * pd_text("", 0) makes it: msgpack-c leaves NULL there when no earlier one
 * in the document set it, and the CLI's JSON writer refused a NULL text. */
static void test_codec__empty_items_are_never_null(void **state) {
  (void)state;
  pd_dec *d = new_dec();
  pd_val item;
  /* ["", b"", private 64 of zero bytes] */
  assert_int_equal(dec_start_hex(d, "93 a0 c4 00 c7 00 40"), PD_OK);
  assert_int_equal(pd_dec_next(d, &item), PD_OK);
  pd_kind want[] = {PD_TEXT, PD_BYTES, PD_PRIVATE};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(pd_dec_next(d, &item), PD_OK);
    assert_int_equal(item.kind, want[i]);
    assert_int_equal(item.u.s.len, 0);
    assert_non_null(item.u.s.ptr);
  }
  assert_int_equal(pd_dec_next(d, &item), PD_ITEROVER);
  pd_dec_free(d);
}

static void test_codec__decoder_before_start_is_misuse(void **state) {
  (void)state;
  pd_dec *d = new_dec();
  pd_val item, notpacked = pd_bytes("\x90", 1);
  assert_int_equal(pd_dec_next(d, &item), PD_EMISUSE);
  assert_int_equal(pd_dec_start(d, &notpacked), PD_EINVALID);
  assert_non_null(strstr(pd_dec_errmsg(d), "bytes"));
  assert_int_equal(pd_dec_next(d, &item), PD_EINVALID);
  pd_dec_free(NULL);
  pd_enc_free(NULL);
  pd_dec_free(d);
}

static void test_codec__reader_accepts_non_shortest_forms(void **state) {
  (void)state;
  /* [int8 1, uint16 2, float32 1.5, str8 "a", array16 [], map16 {}] */
  unsigned char buf[] = {0x96, 0xd0, 0x01, 0xcd, 0x00, 0x02, 0xca, 0x3f, 0xc0,
                         0x00, 0x00, 0xd9, 0x01, 'a',  0xdc, 0x00, 0x00, 0xde,
                         0x00, 0x00};
  const pd_val want[] = {{PD_LIST, 0, {.n = 6}}, pd_int(1), pd_int(2),
                         pd_float(1.5), pd_text("a", 1), {PD_LIST, 0, {.n = 0}},
                         {PD_MAP, 0, {.n = 0}}};
  pd_val doc = packed(buf, sizeof buf);
  assert_decodes_to(&doc, want, sizeof want / sizeof want[0]);
}

/* ----------------------------------------------------- encoder errors */

static void test_codec__encoder_refuses_invalid_utf8(void **state) {
  (void)state;
  static const char *const bad[] = {
      "\xc0\x80",         /* overlong NUL */
      "\xe0\x80\xaf",     /* overlong '/' */
      "\xed\xa0\x80",     /* surrogate U+D800 */
      "\xf4\x90\x80\x80", /* above U+10FFFF */
      "\xe2\x82",         /* truncated */
      "\x80",             /* lone continuation */
      "ok\xff",           /* invalid byte */
      "abcdefgh\xf5\x80\x80\x80", /* after an ASCII run */
  };
  pd_enc *e = new_enc();
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    pd_enc_list(e, 1);
    assert_enc_failed(e, pd_enc_text(e, bad[i], strlen(bad[i])), PD_EINVALID,
                      "not valid UTF-8");
  }
  /* the same bytes are fine as bytes, and as a top-level text they fail */
  assert_int_equal(pd_enc_bytes(e, "\xc0\x80", 2), PD_OK);
  pd_enc_reset(e);
  assert_enc_failed(e, pd_enc_text(e, "\xed\xbf\xbf", 3), PD_EINVALID,
                    "offset 0");
  pd_enc_free(e);
}

static void test_codec__encoder_refuses_duplicate_map_keys(void **state) {
  (void)state;
  pd_enc *e = new_enc();
  pd_enc_map(e, 3);
  pd_enc_text(e, "k", 1), pd_enc_int(e, 1);
  pd_enc_text(e, "a", 1), pd_enc_int(e, 2);
  pd_enc_text(e, "k", 1);
  assert_enc_failed(e, pd_enc_int(e, 3), PD_EINVALID,
                    "duplicate map key \"k\"");
  /* in order already, ints, nested */
  pd_enc_list(e, 1);
  pd_enc_map(e, 2);
  pd_enc_int(e, -1), pd_enc_null(e);
  pd_enc_int(e, -1);
  assert_enc_failed(e, pd_enc_null(e), PD_EINVALID, "duplicate map key -1");
  /* 1, "1" and b"1" are three different keys */
  pd_enc_map(e, 3);
  pd_enc_bytes(e, "1", 1), pd_enc_null(e);
  pd_enc_text(e, "1", 1), pd_enc_null(e);
  pd_enc_int(e, 1), pd_enc_null(e);
  pd_val out;
  finish_ok(e, &out);
  assert_packed_hex(&out, "83 01 c0 a1 31 c0 c4 01 31 c0");
  pd_enc_free(e);
}

static void test_codec__encoder_refuses_keys_of_other_kinds(void **state) {
  (void)state;
  pd_enc *e = new_enc();
  pd_enc_map(e, 1);
  assert_enc_failed(e, pd_enc_float(e, 1.0), PD_EINVALID,
                    "map key must be int, text or bytes, not float");
  pd_enc_map(e, 1);
  assert_enc_failed(e, pd_enc_null(e), PD_EINVALID, "not null");
  pd_enc_map(e, 1);
  assert_enc_failed(e, pd_enc_list(e, 0), PD_EINVALID, "not list");
  pd_enc_map(e, 2);
  pd_enc_int(e, 1), pd_enc_map(e, 0);
  assert_enc_failed(e, pd_enc_private(e, 9, "x", 1), PD_EINVALID,
                    "not private");
  pd_enc_map(e, 1);
  assert_enc_failed(e, pd_enc_bool(e, 1), PD_EINVALID, "not bool");
  pd_enc_free(e);
}

static void test_codec__encoder_refuses_item_counts_that_do_not_match(
    void **state) {
  (void)state;
  pd_enc *e = new_enc();
  pd_val out;
  /* too many */
  pd_enc_list(e, 1);
  pd_enc_int(e, 1);
  assert_enc_failed(e, pd_enc_int(e, 2), PD_EINVALID, "too many items");
  pd_enc_int(e, 1);
  assert_enc_failed(e, pd_enc_text(e, "x", 1), PD_EINVALID, "too many items");
  /* too few at finish */
  pd_enc_list(e, 3);
  pd_enc_int(e, 1);
  assert_enc_failed(e, pd_enc_finish(e, &out), PD_EINVALID,
                    "list at depth 1 got 1 of its 3 items");
  pd_enc_map(e, 1);
  pd_enc_text(e, "key", 3);
  assert_enc_failed(e, pd_enc_finish(e, &out), PD_EINVALID,
                    "map at depth 1 got 1 of its 2 keys and values");
  /* nothing at all */
  assert_enc_failed(e, pd_enc_finish(e, &out), PD_EINVALID, "nothing");
  pd_enc_free(e);
}

static void test_codec__encoder_refuses_bad_private_tags(void **state) {
  (void)state;
  pd_enc *e = new_enc();
  const int bad[] = {0, -1, 128, 1000};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_enc_failed(e, pd_enc_private(e, bad[i], "x", 1), PD_EINVALID,
                      "tags are 1..127");
  pd_enc_free(e);
}

static void test_codec__encoder_refuses_bad_arguments(void **state) {
  (void)state;
  pd_enc *e = new_enc();
  pd_val weird_bool = pd_bool(1), bad_kind = pd_null();
  weird_bool.u.b = 2;
  bad_kind.kind = (pd_kind)42;
  pd_enc_list(e, 1);
  assert_enc_failed(e, pd_enc_text(e, NULL, 3), PD_EINVALID, "NULL pointer");
  assert_enc_failed(e, pd_enc_bytes(e, NULL, 1), PD_EINVALID, "NULL pointer");
  assert_enc_failed(e, pd_enc_val(e, &weird_bool), PD_EINVALID,
                    "bool value must be 0 or 1");
  assert_enc_failed(e, pd_enc_val(e, &bad_kind), PD_EINVALID, "unknown kind");
  assert_enc_failed(e, pd_enc_val(e, NULL), PD_EINVALID, "NULL");
  /* NULL with length 0 is an empty text */
  assert_int_equal(pd_enc_text(e, NULL, 0), PD_OK);
  pd_val out;
  finish_ok(e, &out);
  assert_true(same(out, pd_text("", 0)));
  assert_int_equal(pd_enc_new(NULL), PD_EINVALID);
  pd_enc_free(e);
}

static void test_codec__encoder_refuses_values_over_64_mib(void **state) {
  (void)state;
  pd_enc *e = new_enc();
  static const char small[1];
  /* refused on the length alone: the bytes are never read */
  pd_enc_list(e, 1);
  assert_enc_failed(e, pd_enc_bytes(e, small, (size_t)PD_MAX_VALUE_BYTES + 1),
                    PD_ETOOBIG, "limit");
  assert_enc_failed(e, pd_enc_text(e, small, SIZE_MAX), PD_ETOOBIG, "limit");
  assert_enc_failed(e, pd_enc_list(e, (size_t)1 << 40), PD_ETOOBIG,
                    "cannot fit");
  assert_enc_failed(e, pd_enc_map(e, PD_MAX_VALUE_BYTES), PD_ETOOBIG,
                    "cannot fit");
  /* many items that together pass the limit */
  size_t chunk = 16u << 20;
  char *big = calloc(1, chunk);
  assert_non_null(big);
  pd_enc_list(e, 5);
  int rc = PD_OK;
  for (int i = 0; i < 5 && rc == PD_OK; i++)
    rc = pd_enc_bytes(e, big, chunk);
  assert_enc_failed(e, rc, PD_ETOOBIG, "limit");
  free(big);
  pd_enc_free(e);
}

/* --------------------------------------------------- inlining documents */

static void test_codec__packed_values_are_inlined_canonically(void **state) {
  (void)state;
  pd_enc *e = new_enc(), *direct = new_enc();
  pd_val inner, outer, want;
  /* inner = {"b": 1, "a": [1, 2]} */
  pd_enc_map(e, 2);
  pd_enc_text(e, "b", 1), pd_enc_int(e, 1);
  pd_enc_text(e, "a", 1), pd_enc_list(e, 2), pd_enc_int(e, 1),
      pd_enc_int(e, 2);
  finish_ok(e, &inner);
  unsigned char copy[64];
  memcpy(copy, inner.u.s.ptr, inner.u.s.len);
  inner.u.s.ptr = copy;
  pd_enc_reset(e);
  /* outer = {"x": inner, "w": [inner]} */
  pd_enc_map(e, 2);
  pd_enc_text(e, "x", 1);
  assert_int_equal(pd_enc_val(e, &inner), PD_OK);
  pd_enc_text(e, "w", 1);
  pd_enc_list(e, 1);
  assert_int_equal(pd_enc_val(e, &inner), PD_OK);
  finish_ok(e, &outer);

  pd_enc_map(direct, 2);
  pd_enc_text(direct, "w", 1);
  pd_enc_list(direct, 1);
  pd_enc_map(direct, 2);
  pd_enc_text(direct, "a", 1), pd_enc_list(direct, 2);
  pd_enc_int(direct, 1), pd_enc_int(direct, 2);
  pd_enc_text(direct, "b", 1), pd_enc_int(direct, 1);
  pd_enc_text(direct, "x", 1);
  pd_enc_map(direct, 2);
  pd_enc_text(direct, "a", 1), pd_enc_list(direct, 2);
  pd_enc_int(direct, 1), pd_enc_int(direct, 2);
  pd_enc_text(direct, "b", 1), pd_enc_int(direct, 1);
  finish_ok(direct, &want);
  assert_true(pd_val_equal(&outer, &want));

  /* a non-canonical document is re-encoded canonically */
  pd_enc_reset(e);
  unsigned char loose[] = {0x92, 0xd0, 0x01, 0xca, 0x3f, 0xc0, 0x00, 0x00};
  pd_val doc = packed(loose, sizeof loose);
  assert_int_equal(pd_enc_val(e, &doc), PD_OK);
  finish_ok(e, &outer);
  assert_packed_hex(&outer, "92 01 cb 3f f8 00 00 00 00 00 00");

  /* a document can not be a key, nor be invalid, nor nest too deep */
  pd_enc_reset(e);
  pd_enc_map(e, 1);
  assert_enc_failed(e, pd_enc_val(e, &inner), PD_EINVALID,
                    "map key must be");
  unsigned char bad[] = {0x91, 0xa1, 0xff};
  doc = packed(bad, sizeof bad);
  pd_enc_list(e, 1);
  assert_enc_failed(e, pd_enc_val(e, &doc), PD_EDECODE, "not valid UTF-8");
  size_t len;
  unsigned char *deep = nested_doc(32, 0, &len);
  doc = packed(deep, len);
  assert_int_equal(pd_enc_val(e, &doc), PD_OK);
  pd_enc_reset(e);
  pd_enc_list(e, 1);
  assert_enc_failed(e, pd_enc_val(e, &doc), PD_ETOOBIG,
                    "nesting deeper than 32");
  free(deep);
  /* One over the limit by itself is the same limit, PD_ETOOBIG, at the top
   * level and inside a list alike: a document given to the encoder is input,
   * not something read back (where pd_dec_start says PD_EDECODE). */
  deep = nested_doc(33, 0, &len);
  doc = packed(deep, len);
  assert_enc_failed(e, pd_enc_val(e, &doc), PD_ETOOBIG,
                    "nesting deeper than 32");
  pd_enc_list(e, 1);
  assert_enc_failed(e, pd_enc_val(e, &doc), PD_ETOOBIG,
                    "nesting deeper than 32");
  free(deep);
  pd_enc_free(e);
  pd_enc_free(direct);
}

static void test_codec__reset_reuses_the_encoder_for_many_values(void **state) {
  (void)state;
  pd_enc *e = new_enc();
  pd_val out;
  char *big = calloc(1, 3u << 20);
  assert_non_null(big);
  for (int round = 0; round < 3; round++) {
    pd_enc_reset(e);
    pd_enc_list(e, 1);
    pd_enc_bytes(e, big, 3u << 20); /* over the size kept across resets */
    finish_ok(e, &out);
    assert_int_equal(out.u.s.len, 1 + 5 + (3u << 20));
    for (int i = 0; i < 1000; i++) {
      pd_enc_reset(e);
      pd_enc_map(e, 2);
      pd_enc_int(e, i), pd_enc_text(e, "v", 1);
      pd_enc_int(e, -i - 1), pd_enc_null(e);
      finish_ok(e, &out);
      assert_int_equal(((const unsigned char *)out.u.s.ptr)[0], 0x82);
    }
  }
  free(big);
  pd_enc_free(e);
}

/* ------------------------------------------------------ hostile documents */

static void test_codec__decoder_refuses_hostile_documents(void **state) {
  (void)state;
  assert_rejected_hex("", "empty");
  assert_rejected_hex("92 01 a1", "truncated");
  assert_rejected_hex("92 01", "truncated");
  assert_rejected_hex("91 a5 61 62", "declares 5 bytes");
  assert_rejected_hex("91 cd 01", "truncated");
  assert_rejected_hex("91 01 02", "1 trailing bytes");
  assert_rejected_hex("90 90", "trailing");
  assert_rejected_hex("91 a2 c3 28", "not valid UTF-8");
  assert_rejected_hex("91 a3 ed a0 80", "not valid UTF-8");
  assert_rejected_hex("81 cb 3f f0 00 00 00 00 00 00 01", "is a float");
  assert_rejected_hex("81 c0 01", "is a null");
  assert_rejected_hex("81 90 01", "is a list");
  assert_rejected_hex("82 a1 62 01 a1 61 02", "not sorted");
  assert_rejected_hex("82 a1 61 01 01 02", "not sorted"); /* int after text */
  assert_rejected_hex("82 01 01 d0 01 02", "appears twice");
  assert_rejected_hex("d4 00 61", "tags are 1..127");
  assert_rejected_hex("91 d4 ff 61", "has tag -1");
  assert_rejected_hex("91 cf 80 00 00 00 00 00 00 00", "above 2^63-1");
  assert_rejected_hex("01", "not int");
  assert_rejected_hex("a1 61", "not text");
  assert_rejected_hex("c0", "not null");
  assert_rejected_hex("cb 3f f0 00 00 00 00 00 00", "not float");
  assert_rejected_hex("c4 00", "not bytes");
  assert_rejected_hex("c1", "0xc1");
  assert_rejected_hex("91 c1", "0xc1");
  /* declared counts no document of this size could hold: refused before
   * msgpack-c would allocate room for them */
  assert_rejected_hex("dd ff ff ff ff", "declares 4294967295 items");
  assert_rejected_hex("df ff ff ff ff 01 01", "declares 4294967295 pairs");
  assert_rejected_hex("91 dd 7f ff ff ff c0", "declares");
  assert_rejected_hex("92 dc ff ff 00", "declares 65535 items");
  assert_rejected_hex("db ff ff ff ff", "not text");
  assert_rejected_hex("91 c6 ff ff ff ff 00", "declares 4294967295 bytes");
  assert_rejected_hex("c9 ff ff ff ff 05", "declares");

  pd_dec *d = new_dec();
  pd_val huge = packed("\x90", (size_t)PD_MAX_VALUE_BYTES + 1);
  assert_int_equal(pd_dec_start(d, &huge), PD_ETOOBIG);
  pd_val null_doc = packed(NULL, 3);
  assert_int_equal(pd_dec_start(d, &null_doc), PD_EINVALID);
  pd_dec_free(d);
}

/* A tiny deterministic generator, so failures reproduce. */
static uint64_t rng_next(uint64_t *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return *s >> 33;
}

static void test_codec__random_bytes_never_crash_the_decoder(void **state) {
  (void)state;
  static const unsigned char interesting[] = {
      0x90, 0x91, 0x92, 0x80, 0x81, 0x82, 0xa1, 0xa3, 0xc0, 0xc3, 0xc4,
      0xcb, 0xcd, 0xd4, 0xd9, 0xdc, 0xdd, 0xde, 0xdf, 0x01, 0xff, 0x61};
  pd_dec *d = new_dec();
  pd_enc *e = new_enc();
  unsigned char buf[64];
  uint64_t seed = 12345;
  size_t accepted = 0;
  for (int round = 0; round < 200000; round++) {
    /* short documents are the likeliest to be valid: favour them */
    size_t len = 1 + rng_next(&seed) % (1 + rng_next(&seed) % sizeof buf);
    for (size_t i = 0; i < len; i++) {
      uint64_t r = rng_next(&seed);
      buf[i] = (r & 1) ? interesting[(r >> 1) % sizeof interesting]
                       : (unsigned char)(r >> 8);
    }
    pd_val doc = packed(buf, len), item;
    int rc = pd_dec_start(d, &doc);
    if (rc != PD_OK) {
      assert_int_equal(rc, PD_EDECODE);
      assert_true(strlen(pd_dec_errmsg(d)) > 0);
      continue;
    }
    /* accepted: it walks to the end, and re-encodes to a document that
     * is accepted too and canonical (a second round changes nothing) */
    accepted++;
    pd_enc_reset(e);
    assert_int_equal(pd_enc_val(e, &doc), PD_OK);
    pd_val again;
    finish_ok(e, &again);
    assert_reencodes_identically(&again);
    while ((rc = pd_dec_next(d, &item)) == PD_OK)
      ;
    assert_int_equal(rc, PD_ITEROVER);
  }
  assert_true(accepted > 500); /* the generator does reach valid documents */
  pd_enc_free(e);
  pd_dec_free(d);
}

/* ------------------------------------------------------------ equality */

static void test_codec__equality_follows_the_stored_form(void **state) {
  (void)state;
  pd_val nan1 = float_from_bits(UINT64_C(0x7ff8000000000000));
  pd_val nan2 = float_from_bits(UINT64_C(0xfff0000000000001));
  assert_true(pd_val_equal(&nan1, &nan2));
  assert_false(same(pd_float(0.0), pd_float(-0.0)));
  assert_true(same(pd_float(-0.0), pd_float(-0.0)));
  assert_false(same(pd_int(1), pd_float(1.0)));
  assert_false(same(pd_int(1), pd_bool(1)));
  assert_false(same(pd_bool(1), pd_float(1.0)));
  assert_false(same(pd_int(0), pd_null()));
  assert_true(same(pd_null(), pd_null()));
  assert_true(same(pd_bool(0), pd_bool(0)));
  assert_false(same(pd_bool(0), pd_bool(1)));
  assert_false(same(pd_text("a", 1), pd_bytes("a", 1)));
  assert_true(same(pd_text(NULL, 0), pd_text("", 0)));
  assert_false(same(pd_text("a\0b", 3), pd_text("a\0c", 3)));
  assert_false(same(pd_text("ab", 2), pd_text("abc", 3)));
  assert_true(same(pd_int(INT64_MIN), pd_int(INT64_MIN)));
  pd_val p1 = packed("\x91\x01", 2), p2 = packed("\x91\x01", 2),
         p3 = packed("\x91\x02", 2);
  assert_true(pd_val_equal(&p1, &p2));
  assert_false(pd_val_equal(&p1, &p3));
  assert_false(same(p1, pd_bytes("\x91\x01", 2)));
  pd_val a = {PD_PRIVATE, 1, {.s = {"x", 1}}}, b = a;
  assert_true(pd_val_equal(&a, &b));
  b.tag = 2;
  assert_false(pd_val_equal(&a, &b));
  assert_false(pd_val_equal(&a, NULL));
  assert_true(pd_val_equal(NULL, NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_codec__list_of_int_and_text_has_exact_bytes),
      cmocka_unit_test(test_codec__floats_are_always_float64),
      cmocka_unit_test(test_codec__every_nan_is_written_as_the_canonical_nan),
      cmocka_unit_test(test_codec__ints_take_the_shortest_form),
      cmocka_unit_test(test_codec__headers_take_the_shortest_form),
      cmocka_unit_test(
          test_codec__map_built_in_two_orders_gives_identical_bytes),
      cmocka_unit_test(test_codec__nested_maps_are_sorted_at_every_level),
      cmocka_unit_test(test_codec__every_kind_and_edge_value_round_trips),
      cmocka_unit_test(test_codec__top_level_scalars_come_back_as_scalars),
      cmocka_unit_test(test_codec__top_level_private_value_is_a_document),
      cmocka_unit_test(test_codec__nesting_32_deep_round_trips),
      cmocka_unit_test(test_codec__encoder_refuses_nesting_33_deep),
      cmocka_unit_test(test_codec__decoder_depth_boundary_is_32),
      cmocka_unit_test(test_codec__decoded_items_survive_the_callers_buffer),
      cmocka_unit_test(test_codec__empty_items_are_never_null),
      cmocka_unit_test(test_codec__decoder_before_start_is_misuse),
      cmocka_unit_test(test_codec__reader_accepts_non_shortest_forms),
      cmocka_unit_test(test_codec__encoder_refuses_invalid_utf8),
      cmocka_unit_test(test_codec__encoder_refuses_duplicate_map_keys),
      cmocka_unit_test(test_codec__encoder_refuses_keys_of_other_kinds),
      cmocka_unit_test(
          test_codec__encoder_refuses_item_counts_that_do_not_match),
      cmocka_unit_test(test_codec__encoder_refuses_bad_private_tags),
      cmocka_unit_test(test_codec__encoder_refuses_bad_arguments),
      cmocka_unit_test(test_codec__encoder_refuses_values_over_64_mib),
      cmocka_unit_test(test_codec__packed_values_are_inlined_canonically),
      cmocka_unit_test(test_codec__reset_reuses_the_encoder_for_many_values),
      cmocka_unit_test(test_codec__decoder_refuses_hostile_documents),
      cmocka_unit_test(test_codec__random_bytes_never_crash_the_decoder),
      cmocka_unit_test(test_codec__equality_follows_the_stored_form),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
