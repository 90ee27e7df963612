/* test_items.c - get/set/delete/contains/count/clear, values and keys. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static pd_dict *open_tmp(const char **dir_out) {
  const char *dir = tu_tmpdir();
  if (dir_out) *dir_out = dir;
  return tu_open(tu_path(dir, "items.db"), NULL);
}

static void roundtrip(pd_dict *d, const pd_val *key, const pd_val *v) {
  pd_val out;
  TU_OK(d, pd_set(d, key, v));
  TU_OK(d, pd_get(d, key, &out));
  assert_int_equal(out.kind, v->kind);
  switch (v->kind) {
  case PD_BOOL: assert_int_equal(out.u.b, v->u.b); break;
  case PD_INT: assert_true(out.u.i == v->u.i); break;
  case PD_FLOAT:
    if (isnan(v->u.f)) assert_true(isnan(out.u.f));
    else assert_memory_equal(&out.u.f, &v->u.f, sizeof(double)); /* keeps -0.0 */
    break;
  case PD_TEXT: case PD_BYTES: case PD_PACKED:
    assert_int_equal(out.u.s.len, v->u.s.len);
    assert_non_null(out.u.s.ptr);
    if (v->u.s.len) assert_memory_equal(out.u.s.ptr, v->u.s.ptr, v->u.s.len);
    break;
  default: break;
  }
}

static void test_items__scalar_edge_values_round_trip(void **state) {
  (void)state;
  const char *dir;
  pd_dict *d = open_tmp(&dir);
  pd_val k = pd_text("k", 1);
  pd_val vals[] = {
      pd_null(), pd_bool(1), pd_bool(0), pd_int(INT64_MAX), pd_int(INT64_MIN),
      pd_int(9007199254740993LL), pd_float(-0.0), pd_float(NAN), pd_float(INFINITY),
      pd_float(-INFINITY), pd_float(1.5), pd_text("a\0b", 3), pd_text("", 0),
      pd_bytes("\xff\x00\xfe", 3), pd_bytes("", 0), pd_bytes(NULL, 0)};
  for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) roundtrip(d, &k, &vals[i]);
  int64_t n;
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(n, 1);
  pd_close(d);
  tu_rmdir(dir);
}

static void test_items__packed_values_round_trip(void **state) {
  (void)state;
  const char *dir;
  pd_dict *d = open_tmp(&dir);
  pd_enc *e;
  pd_val v, k = pd_int(7);
  assert_int_equal(pd_enc_new(&e), PD_OK);
  /* {1: [true, -0.0], "a": b"\x00"} */
  TU_OK(d, pd_enc_map(e, 2));
  TU_OK(d, pd_enc_int(e, 1));
  TU_OK(d, pd_enc_list(e, 2));
  TU_OK(d, pd_enc_bool(e, 1));
  TU_OK(d, pd_enc_float(e, -0.0));
  TU_OK(d, pd_enc_text(e, "a", 1));
  TU_OK(d, pd_enc_bytes(e, "\0", 1));
  TU_OK(d, pd_enc_finish(e, &v));
  assert_int_equal(v.kind, PD_PACKED);
  roundtrip(d, &k, &v);
  pd_enc_reset(e);
  TU_OK(d, pd_enc_private(e, 64, "xyz", 3));
  TU_OK(d, pd_enc_finish(e, &v));
  roundtrip(d, &k, &v);
  pd_enc_free(e);
  /* A document that breaks FORMAT.md 4.1 is refused and nothing changes. */
  pd_val bad = {PD_PACKED, 0, {0}};
  bad.u.s.ptr = "\x92\x01";
  bad.u.s.len = 2; /* array of 2 with one item */
  assert_int_equal(pd_set(d, &k, &bad), PD_EDECODE);
  assert_non_null(strstr(pd_errmsg(d), "7"));
  pd_val out;
  TU_OK(d, pd_get(d, &k, &out));
  assert_int_equal(out.kind, PD_PACKED);
  assert_int_equal(out.u.s.len, v.u.s.len);
  pd_close(d);
  tu_rmdir(dir);
}

static void test_items__typed_keys_are_distinct(void **state) {
  (void)state;
  const char *dir;
  pd_dict *d = open_tmp(&dir);
  pd_val k1 = pd_int(1), k2 = pd_text("1", 1), k3 = pd_bytes("1", 1), out;
  TU_OK(d, pd_set(d, &k1, &(pd_val){PD_INT, 0, {.i = 10}}));
  TU_OK(d, pd_set(d, &k2, &(pd_val){PD_INT, 0, {.i = 20}}));
  TU_OK(d, pd_set(d, &k3, &(pd_val){PD_INT, 0, {.i = 30}}));
  int64_t n;
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(n, 3);
  TU_OK(d, pd_get(d, &k1, &out));
  assert_int_equal(out.u.i, 10);
  TU_OK(d, pd_get(d, &k2, &out));
  assert_int_equal(out.u.i, 20);
  TU_OK(d, pd_get(d, &k3, &out));
  assert_int_equal(out.u.i, 30);
  TU_OK(d, pd_delete(d, &k2));
  assert_int_equal(pd_contains(d, &k2), PD_ENOTFOUND);
  TU_OK(d, pd_contains(d, &k1));
  TU_OK(d, pd_contains(d, &k3));
  pd_close(d);
  tu_rmdir(dir);
}

static void test_items__delete_count_clear_keep_count_exact(void **state) {
  (void)state;
  const char *dir;
  pd_dict *d = open_tmp(&dir);
  int64_t n;
  for (int i = 0; i < 50; i++) {
    pd_val k = pd_int(i), v = pd_int(i * 2);
    TU_OK(d, pd_set(d, &k, &v));
    TU_OK(d, pd_set(d, &k, &v)); /* overwrite: count unchanged */
  }
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(n, 50);
  pd_val k = pd_int(3);
  TU_OK(d, pd_delete(d, &k));
  assert_int_equal(pd_delete(d, &k), PD_ENOTFOUND);
  assert_non_null(strstr(pd_errmsg(d), "3"));
  assert_int_equal(pd_get(d, &k, NULL), PD_ENOTFOUND);
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(n, 49);
  TU_OK(d, pd_clear(d));
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(n, 0);
  TU_OK(d, pd_check(d));
  pd_close(d);
  tu_rmdir(dir);
}

static void test_items__bad_keys_and_values_are_refused(void **state) {
  (void)state;
  const char *dir;
  pd_dict *d = open_tmp(&dir);
  pd_val v = pd_int(1), fk = pd_float(1.0), big, badtext = pd_text("\xff", 1);
  static char huge[PD_MAX_KEY_BYTES + 1];
  big = pd_bytes(huge, sizeof huge);
  assert_int_equal(pd_set(d, &fk, &v), PD_EINVALID);
  assert_int_equal(pd_set(d, &big, &v), PD_ETOOBIG);
  assert_int_equal(pd_set(d, &badtext, &v), PD_EINVALID);
  assert_int_equal(pd_set(d, NULL, &v), PD_EINVALID);
  pd_val k = pd_int(1);
  assert_int_equal(pd_set(d, &k, NULL), PD_EINVALID);
  assert_int_equal(pd_set(d, &k, &badtext), PD_EINVALID);
  pd_val list = {PD_LIST, 0, {.n = 0}};
  assert_int_equal(pd_set(d, &k, &list), PD_EINVALID);
  int64_t n;
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(n, 0);
  assert_int_equal(pd_get(NULL, &k, NULL), PD_EINVALID);
  pd_close(d);
  pd_close(NULL);
  tu_rmdir(dir);
}

/* permadict.h: limits, nesting included, are PD_ETOOBIG. A document built
 * elsewhere that nests 33 deep is over that limit like one built with pd_enc,
 * whether its headers are the shortest or not (a longer one, array 16, makes
 * it a document to re-encode), and whichever write it is given to. */
static void test_items__packed_value_nested_too_deep_is_etoobig(void **state) {
  (void)state;
  const char *dir;
  pd_dict *d = open_tmp(&dir);
  pd_val k = pd_int(1), v = pd_int(7), got;
  TU_OK(d, pd_set(d, &k, &v));
  unsigned char shortest[34], longer[36];
  memset(shortest, 0x91, 33); /* 33 one-item lists around a nil */
  shortest[33] = 0xc0;
  memcpy(longer, "\xdc\x00\x01", 3); /* the outermost as array 16 */
  memcpy(longer + 3, shortest + 1, 33);
  const struct { const unsigned char *p; size_t len; } docs[] = {
      {shortest, sizeof shortest}, {longer, sizeof longer}};
  for (size_t i = 0; i < 2; i++) {
    pd_val deep = {PD_PACKED, 0, {0}};
    deep.u.s.ptr = docs[i].p;
    deep.u.s.len = docs[i].len;
    int found = -1, swapped = -1;
    assert_int_equal(pd_set(d, &k, &deep), PD_ETOOBIG);
    assert_non_null(strstr(pd_errmsg(d), "nesting deeper than 32"));
    assert_int_equal(pd_get_and_set(d, &k, &deep, &got, &found), PD_ETOOBIG);
    assert_int_equal(pd_compare_and_swap(d, &k, &v, &deep, &swapped), PD_ETOOBIG);
    assert_int_equal(swapped, 0);
  }
  TU_OK(d, pd_get(d, &k, &got));
  assert_int_equal(got.kind, PD_INT);
  assert_true(got.u.i == 7);
  pd_close(d);
  tu_rmdir(dir);
}

static void test_items__value_memory_is_owned_by_the_handle(void **state) {
  (void)state;
  const char *dir;
  pd_dict *d = open_tmp(&dir);
  char buf[16] = "hello";
  pd_val k = pd_int(1), v = pd_text(buf, 5), out;
  TU_OK(d, pd_set(d, &k, &v));
  memset(buf, 'X', 5); /* the caller's memory is not referenced afterwards */
  TU_OK(d, pd_get(d, &k, &out));
  assert_memory_equal(out.u.s.ptr, "hello", 5);
  pd_close(d);
  tu_rmdir(dir);
}

static void test_items__memory_dict_works(void **state) {
  (void)state;
  pd_dict *d = tu_open(":memory:", NULL);
  pd_val k = pd_text("a", 1), v = pd_int(5), out;
  TU_OK(d, pd_set(d, &k, &v));
  TU_OK(d, pd_get(d, &k, &out));
  assert_int_equal(out.u.i, 5);
  assert_string_equal(pd_path(d), ":memory:");
  assert_string_equal(pd_name(d), "default");
  pd_stats st;
  TU_OK(d, pd_stats_get(d, &st));
  assert_int_equal(st.count, 1);
  assert_int_equal(st.version, 1);
  assert_int_equal(st.format_version, 3);
  pd_close(d);
}

/* A new in-memory dict is empty and private: opened read-only or without
 * create there is no namespace to open, and the message says why rather
 * than only that it does not exist. */
static void test_items__memory_dict_read_only_says_it_has_nothing(void **state) {
  (void)state;
  pd_options o = PD_OPTIONS_INIT;
  pd_dict *d = NULL;
  o.readonly = 1;
  assert_int_equal(pd_open(&d, ":memory:", &o), PD_ENOTFOUND);
  assert_null(d);
  assert_non_null(strstr(pd_errmsg(NULL), "':memory:'"));
  assert_non_null(strstr(pd_errmsg(NULL), "in-memory dict starts empty"));
  assert_non_null(strstr(pd_errmsg(NULL), "opening one read-only"));
  o.readonly = 0;
  o.create = 0;
  assert_int_equal(pd_open(&d, ":memory:", &o), PD_ENOTFOUND);
  assert_non_null(strstr(pd_errmsg(NULL), "opening one without create"));
}

static void test_items__stored_value_of_bad_type_is_a_decode_error(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "bad.db");
  pd_dict *d = tu_open(path, NULL);
  pd_val k = pd_text("x", 1), v = pd_int(1);
  TU_OK(d, pd_set(d, &k, &v));
  TU_OK(d, pd_check(d));
  assert_int_equal(tu_sql(path, "UPDATE permadict_rows SET type = 99 WHERE type >= 0"), 0);
  assert_int_equal(pd_get(d, &k, &v), PD_EDECODE);
  assert_non_null(strstr(pd_errmsg(d), "'x'"));
  assert_int_equal(pd_check(d), PD_ECORRUPT);
  assert_int_equal(tu_sql(path, "UPDATE permadict_rows SET type = 4, value = x'ff' WHERE type >= 0"), 0);
  assert_int_equal(pd_get(d, &k, &v), PD_EDECODE);
  assert_int_equal(tu_sql(path, "UPDATE permadict_rows SET type = 6, value = x'c0' WHERE type >= 0"), 0);
  assert_int_equal(pd_get(d, &k, &v), PD_EDECODE);
  assert_int_equal(tu_sql(path, "UPDATE permadict_rows SET type = 1, value = 1 WHERE type >= 0"), 0);
  TU_OK(d, pd_get(d, &k, &v));
  assert_int_equal(v.kind, PD_BOOL);
  TU_OK(d, pd_check(d));
  assert_int_equal(tu_sql(path, "UPDATE permadict_rows SET value = 5 WHERE type < 0"), 0);
  assert_int_equal(pd_check(d), PD_ECORRUPT);
  assert_non_null(strstr(pd_errmsg(d), "records 5"));
  pd_close(d);
  tu_rmdir(dir);
}

/* The newest change log row carries the count (FORMAT.md 5). One no file
 * can hold (above its version, negative, not an integer) is damage: pd_count
 * and writes say so, instead of answering it or carrying on from it (a
 * count of INT64_MAX plus the new key overflowed). */
static void test_items__impossible_stored_count_is_ecorrupt(void **state) {
  (void)state;
  static const char *const counts[] = {"9223372036854775807", "2", "-1", "'1'"};
  for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
    const char *dir = tu_tmpdir();
    const char *path = tu_path(dir, "count.db");
    pd_dict *d = tu_open(path, NULL);
    pd_val k = pd_text("x", 1), k2 = pd_text("y", 1), v = pd_int(1), out;
    TU_OK(d, pd_set(d, &k, &v));
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE permadict_rows SET value = %s WHERE type < 0", counts[i]);
    assert_int_equal(tu_sql(path, sql), 0);
    int64_t n = 0;
    assert_int_equal(pd_count(d, &n), PD_ECORRUPT);
    assert_non_null(strstr(pd_errmsg(d), "change log row of version 1"));
    assert_int_equal(pd_set(d, &k2, &v), PD_ECORRUPT);
    assert_int_equal(pd_get(d, &k2, &out), PD_ENOTFOUND);
    TU_OK(d, pd_get(d, &k, &out));
    assert_int_equal(out.u.i, 1);
    assert_int_equal(pd_check(d), PD_ECORRUPT);
    pd_close(d);
    tu_rmdir(dir);
  }
}

/* FORMAT.md 5: the newest row of a namespace's slot is always its newest
 * change log row. When it is not (a writer that forgot the log row of its
 * last set, a row of another op or namespace), count and version are
 * unknown: reported, never read as "no change yet" (a count of 0), and no
 * write goes ahead from there. */
static void test_items__newest_row_not_a_log_row_is_ecorrupt(void **state) {
  (void)state;
  static const char *const damage[] = {
      "DELETE FROM permadict_rows WHERE id = (SELECT max(id) FROM permadict_rows)",
      "UPDATE permadict_rows SET type = 2 WHERE id = (SELECT max(id) FROM permadict_rows)",
      "UPDATE permadict_rows SET ns = ns + 7 WHERE id = (SELECT max(id) FROM permadict_rows)",
  };
  for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
    const char *dir = tu_tmpdir();
    const char *path = tu_path(dir, "newest.db");
    pd_dict *d = tu_open(path, NULL);
    pd_val k = pd_text("x", 1), k2 = pd_text("y", 1), k3 = pd_text("z", 1), v = pd_int(1), out;
    TU_OK(d, pd_set(d, &k, &v));
    TU_OK(d, pd_set(d, &k2, &v));
    assert_int_equal(tu_sql(path, damage[i]), 0);
    int64_t n = -1;
    assert_int_equal(pd_count(d, &n), PD_ECORRUPT);
    assert_non_null(strstr(pd_errmsg(d), "newest row"));
    assert_int_equal(pd_version(d, &n), PD_ECORRUPT);
    assert_int_equal(pd_set(d, &k3, &v), PD_ECORRUPT);
    assert_non_null(strstr(pd_errmsg(d), "newest row"));
    assert_int_equal(pd_get(d, &k3, &out), PD_ENOTFOUND);
    TU_OK(d, pd_get(d, &k, &out));
    assert_int_equal(out.u.i, 1);
    assert_int_equal(pd_check(d), PD_ECORRUPT);
    pd_close(d);
    tu_rmdir(dir);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_items__scalar_edge_values_round_trip),
      cmocka_unit_test(test_items__packed_values_round_trip),
      cmocka_unit_test(test_items__typed_keys_are_distinct),
      cmocka_unit_test(test_items__delete_count_clear_keep_count_exact),
      cmocka_unit_test(test_items__bad_keys_and_values_are_refused),
      cmocka_unit_test(test_items__packed_value_nested_too_deep_is_etoobig),
      cmocka_unit_test(test_items__value_memory_is_owned_by_the_handle),
      cmocka_unit_test(test_items__memory_dict_works),
      cmocka_unit_test(test_items__memory_dict_read_only_says_it_has_nothing),
      cmocka_unit_test(test_items__stored_value_of_bad_type_is_a_decode_error),
      cmocka_unit_test(test_items__impossible_stored_count_is_ecorrupt),
      cmocka_unit_test(test_items__newest_row_not_a_log_row_is_ecorrupt),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
