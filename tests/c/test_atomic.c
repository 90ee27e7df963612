/* test_atomic.c - pd_incr, pd_set_if_absent, pd_pop, pd_get_and_set,
 * pd_compare_and_swap, and incr from two processes at once. */
#include "testutil.h"

#include <math.h>
#include <string.h>

static void test_atomic__incr_ints_floats_and_absent(void **state) {
  (void)state;
  pd_dict *d = tu_open(":memory:", NULL);
  pd_val k = pd_text("n", 1), by = pd_int(5), out;
  TU_OK(d, pd_incr(d, &k, &by, &out));
  assert_int_equal(out.kind, PD_INT);
  assert_int_equal(out.u.i, 5);
  by = pd_int(-7);
  TU_OK(d, pd_incr(d, &k, &by, &out));
  assert_int_equal(out.u.i, -2);
  by = pd_float(0.5);
  TU_OK(d, pd_incr(d, &k, &by, &out));
  assert_int_equal(out.kind, PD_FLOAT);
  assert_true(out.u.f == -1.5);
  TU_OK(d, pd_get(d, &k, &out));
  assert_true(out.kind == PD_FLOAT && out.u.f == -1.5);
  pd_close(d);
}

static void test_atomic__incr_overflow_and_wrong_type_leave_value(void **state) {
  (void)state;
  pd_dict *d = tu_open(":memory:", NULL);
  pd_val k = pd_int(1), v = pd_int(INT64_MAX), by = pd_int(1), out;
  TU_OK(d, pd_set(d, &k, &v));
  assert_int_equal(pd_incr(d, &k, &by, &out), PD_EINVALID);
  assert_non_null(strstr(pd_errmsg(d), "overflow"));
  TU_OK(d, pd_get(d, &k, &out));
  assert_true(out.u.i == INT64_MAX);
  v = pd_text("abc", 3);
  TU_OK(d, pd_set(d, &k, &v));
  assert_int_equal(pd_incr(d, &k, &by, &out), PD_ETYPE);
  TU_OK(d, pd_get(d, &k, &out));
  assert_int_equal(out.kind, PD_TEXT);
  assert_memory_equal(out.u.s.ptr, "abc", 3);
  pd_val bad_by = pd_text("1", 1);
  assert_int_equal(pd_incr(d, &k, &bad_by, NULL), PD_EINVALID);
  v = pd_bool(1);
  TU_OK(d, pd_set(d, &k, &v));
  assert_int_equal(pd_incr(d, &k, &by, NULL), PD_ETYPE);
  pd_close(d);
}

static void test_atomic__set_if_absent_pop_get_and_set(void **state) {
  (void)state;
  pd_dict *d = tu_open(":memory:", NULL);
  pd_val k = pd_bytes("\0k", 2), a = pd_text("a", 1), b = pd_text("b", 1), out;
  int flag = -1;
  TU_OK(d, pd_set_if_absent(d, &k, &a, &flag));
  assert_int_equal(flag, 1);
  TU_OK(d, pd_set_if_absent(d, &k, &b, &flag));
  assert_int_equal(flag, 0);
  TU_OK(d, pd_get(d, &k, &out));
  assert_memory_equal(out.u.s.ptr, "a", 1);
  TU_OK(d, pd_get_and_set(d, &k, &b, &out, &flag));
  assert_int_equal(flag, 1);
  assert_memory_equal(out.u.s.ptr, "a", 1);
  TU_OK(d, pd_pop(d, &k, &out));
  assert_memory_equal(out.u.s.ptr, "b", 1);
  assert_int_equal(pd_pop(d, &k, &out), PD_ENOTFOUND);
  TU_OK(d, pd_get_and_set(d, &k, &a, &out, &flag));
  assert_int_equal(flag, 0);
  assert_int_equal(out.kind, PD_NULL);
  int64_t n;
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(n, 1);
  pd_close(d);
}

static void test_atomic__compare_and_swap(void **state) {
  (void)state;
  pd_dict *d = tu_open(":memory:", NULL);
  pd_val k = pd_int(9), one = pd_int(1), two = pd_int(2), onef = pd_float(1.0), nan = pd_float(NAN), out;
  int swapped = -1;
  TU_OK(d, pd_compare_and_swap(d, &k, NULL, &one, &swapped)); /* absent -> 1 */
  assert_int_equal(swapped, 1);
  TU_OK(d, pd_compare_and_swap(d, &k, NULL, &two, &swapped));
  assert_int_equal(swapped, 0);
  TU_OK(d, pd_compare_and_swap(d, &k, &onef, &two, &swapped)); /* 1.0 != 1 */
  assert_int_equal(swapped, 0);
  TU_OK(d, pd_compare_and_swap(d, &k, &one, &nan, &swapped));
  assert_int_equal(swapped, 1);
  TU_OK(d, pd_compare_and_swap(d, &k, &nan, &two, &swapped)); /* NaN equals NaN */
  assert_int_equal(swapped, 1);
  TU_OK(d, pd_get(d, &k, &out));
  assert_int_equal(out.u.i, 2);
  TU_OK(d, pd_compare_and_swap(d, &k, &two, NULL, &swapped)); /* delete */
  assert_int_equal(swapped, 1);
  assert_int_equal(pd_contains(d, &k), PD_ENOTFOUND);
  pd_close(d);
}

/* Text the test can compare a result against. */
static void assert_text(const pd_val *v, const char *want) {
  assert_int_equal(v->kind, PD_TEXT);
  assert_int_equal(v->u.s.len, strlen(want));
  assert_memory_equal(v->u.s.ptr, want, strlen(want));
}

static void set_text(pd_dict *d, const char *k, const char *v) {
  pd_val key = pd_text(k, strlen(k)), val = pd_text(v, strlen(v));
  TU_OK(d, pd_set(d, &key, &val));
}

/* What pd_get returned lives in the handle until its next call, and that
 * next call may be the operation it is passed to: its own read must not
 * overwrite or free the argument before it is used. */
static void test_atomic__arguments_from_the_last_get_survive_the_operation(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "a.db");
  pd_dict *d = tu_open(path, NULL), *other = tu_open(path, NULL);
  pd_val got, out, now;
  int flag = -1;

  /* pop the key a queue's head names: the pop's read of "job42" (value
   * "other") must not turn the key into "other". */
  set_text(d, "next", "job42");
  set_text(d, "job42", "other");
  set_text(d, "other", "precious");
  pd_val next = pd_text("next", 4), job42 = pd_text("job42", 5), oth = pd_text("other", 5);
  TU_OK(d, pd_get(d, &next, &got));
  TU_OK(d, pd_pop(d, &got, &out));
  assert_text(&out, "other");
  assert_int_equal(pd_contains(d, &job42), PD_ENOTFOUND);
  TU_OK(d, pd_contains(d, &oth));

  /* The same with a value large enough that the read moves the buffer
   * (a use after free under the sanitizer build). */
  static char big[100000];
  memset(big, 'x', sizeof big);
  pd_val bigv = pd_bytes(big, sizeof big);
  set_text(d, "next", "job43");
  pd_val job43 = pd_text("job43", 5);
  TU_OK(d, pd_set(d, &job43, &bigv));
  TU_OK(d, pd_get(d, &next, &got));
  TU_OK(d, pd_pop(d, &got, &out));
  assert_int_equal(out.u.s.len, sizeof big);
  assert_int_equal(pd_contains(d, &job43), PD_ENOTFOUND);

  /* The usual compare-and-swap loop: expected is what pd_get read, and
   * another handle has changed the value since. */
  set_text(d, "state", "idle");
  pd_val st = pd_text("state", 5), mine = pd_text("mine", 4);
  TU_OK(d, pd_get(d, &st, &got));
  set_text(other, "state", "busy");
  TU_OK(d, pd_compare_and_swap(d, &st, &got, &mine, &flag));
  assert_int_equal(flag, 0);
  TU_OK(other, pd_get(other, &st, &now));
  assert_text(&now, "busy");

  /* The value stored (get_and_set's value, CAS's desired) read by pd_get. */
  set_text(d, "a", "AAAA");
  set_text(d, "b", "BBBB");
  set_text(d, "c", "CCCC");
  pd_val ka = pd_text("a", 1), kb = pd_text("b", 1), kc = pd_text("c", 1);
  pd_val cccc = pd_text("CCCC", 4);
  TU_OK(d, pd_get(d, &ka, &got));
  TU_OK(d, pd_get_and_set(d, &kb, &got, &out, &flag));
  assert_text(&out, "BBBB");
  TU_OK(other, pd_get(other, &kb, &now));
  assert_text(&now, "AAAA");
  TU_OK(d, pd_get(d, &ka, &got));
  TU_OK(d, pd_compare_and_swap(d, &kc, &cccc, &got, &flag));
  assert_int_equal(flag, 1);
  TU_OK(other, pd_get(other, &kc, &now));
  assert_text(&now, "AAAA");

  TU_OK(d, pd_check(d));
  pd_close(d);
  pd_close(other);
  tu_rmdir(dir);
}

static const char *shared_path;

static int incr_child(void *arg) {
  (void)arg;
  return tu_incr_counter(shared_path, 2000);
}

/* A document built elsewhere, valid but not in the canonical form (FORMAT.md
 * 4.1), is stored canonically: equal values then have equal bytes, and a
 * compare-and-swap with the value encoded by pd_enc matches it. */
static void test_atomic__a_document_not_in_canonical_form_is_stored_canonically(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  pd_dict *d = tu_open(tu_path(dir, "a.db"), NULL);
  /* [1 as int 8, 1.5 as float 32] and [a NaN with a payload] */
  static const unsigned char loose[] = {0x92, 0xd0, 0x01, 0xca, 0x3f, 0xc0, 0x00, 0x00};
  static const unsigned char canonical[] = {0x92, 0x01, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0};
  static const unsigned char nan_loose[] = {0x91, 0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0x01};
  static const unsigned char nan_canonical[] = {0x91, 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0};
  pd_val k = pd_text("k", 1), k2 = pd_text("n", 1), got, doc = pd_bytes(loose, sizeof loose);
  doc.kind = PD_PACKED;
  TU_OK(d, pd_set(d, &k, &doc));
  TU_OK(d, pd_get(d, &k, &got));
  assert_int_equal(got.kind, PD_PACKED);
  assert_int_equal(got.u.s.len, sizeof canonical);
  assert_memory_equal(got.u.s.ptr, canonical, sizeof canonical);
  pd_enc *e;
  pd_val expected, desired = pd_int(2);
  assert_int_equal(pd_enc_new(&e), PD_OK);
  pd_enc_list(e, 2);
  pd_enc_int(e, 1);
  pd_enc_float(e, 1.5);
  assert_int_equal(pd_enc_finish(e, &expected), PD_OK);
  int swapped = 0;
  TU_OK(d, pd_compare_and_swap(d, &k, &expected, &desired, &swapped));
  assert_true(swapped);
  /* and the same loose document as expected matches what it stored */
  TU_OK(d, pd_set(d, &k, &doc));
  swapped = 0;
  TU_OK(d, pd_compare_and_swap(d, &k, &doc, &desired, &swapped));
  assert_true(swapped);
  pd_val nan_doc = pd_bytes(nan_loose, sizeof nan_loose);
  nan_doc.kind = PD_PACKED;
  TU_OK(d, pd_set(d, &k2, &nan_doc));
  TU_OK(d, pd_get(d, &k2, &got));
  assert_int_equal(got.u.s.len, sizeof nan_canonical);
  assert_memory_equal(got.u.s.ptr, nan_canonical, sizeof nan_canonical);
  pd_enc_free(e);
  pd_close(d);
  tu_rmdir(dir);
}

/* An expected document that is not valid matches nothing, wherever its
 * defect sits: also behind a header that is valid but not canonical. */
static void test_atomic__an_invalid_expected_document_matches_nothing(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  pd_dict *d = tu_open(tu_path(dir, "a.db"), NULL);
  /* ["\xff"] with a short and with a long array header: bad UTF-8 */
  static const unsigned char short_header[] = {0x91, 0xa1, 0xff};
  static const unsigned char long_header[] = {0xdc, 0x00, 0x01, 0xa1, 0xff};
  const unsigned char *docs[] = {short_header, long_header};
  size_t lens[] = {sizeof short_header, sizeof long_header};
  pd_val k = pd_text("k", 1), v = pd_int(7), desired = pd_int(8), got;
  TU_OK(d, pd_set(d, &k, &v));
  for (int i = 0; i < 2; i++) {
    pd_val expected = pd_bytes(docs[i], lens[i]);
    expected.kind = PD_PACKED;
    int swapped = -1;
    TU_OK(d, pd_compare_and_swap(d, &k, &expected, &desired, &swapped));
    assert_int_equal(swapped, 0);
    TU_OK(d, pd_get(d, &k, &got));
    assert_int_equal(got.u.i, 7);
  }
  pd_close(d);
  tu_rmdir(dir);
}

static void test_atomic__two_processes_incr_exact_total(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  shared_path = tu_path(dir, "c.db");
  pd_close(tu_open(shared_path, NULL));
  pid_t a = tu_fork(incr_child, NULL), b = tu_fork(incr_child, NULL);
  assert_int_equal(tu_wait(a), 0);
  assert_int_equal(tu_wait(b), 0);
  pd_dict *d = tu_open(shared_path, NULL);
  pd_val k = pd_text("counter", 7), out;
  TU_OK(d, pd_get(d, &k, &out));
  assert_int_equal(out.u.i, 4000);
  int64_t v;
  TU_OK(d, pd_version(d, &v));
  assert_int_equal(v, 4000);
  TU_OK(d, pd_check(d));
  pd_close(d);
  tu_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_atomic__incr_ints_floats_and_absent),
      cmocka_unit_test(test_atomic__incr_overflow_and_wrong_type_leave_value),
      cmocka_unit_test(test_atomic__set_if_absent_pop_get_and_set),
      cmocka_unit_test(test_atomic__compare_and_swap),
      cmocka_unit_test(test_atomic__arguments_from_the_last_get_survive_the_operation),
      cmocka_unit_test(test_atomic__a_document_not_in_canonical_form_is_stored_canonically),
      cmocka_unit_test(test_atomic__an_invalid_expected_document_matches_nothing),
      cmocka_unit_test(test_atomic__two_processes_incr_exact_total),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
