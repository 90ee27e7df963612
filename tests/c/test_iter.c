/* test_iter.c - key order, prefix, ranges, paging, concurrent deletes,
 * undecodable rows, iterators sharing a handle. */
#include "testutil.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

static void fill(pd_dict *d) {
  pd_val v = pd_int(0);
  const char *texts[] = {"b", "a", "ab", "abc", "a\xc3\xa9", "b\xff"};
  for (int i = -2; i <= 2; i++) {
    pd_val k = pd_int(i * 100);
    TU_OK(d, pd_set(d, &k, &v));
  }
  for (int i = 0; i < 5; i++) {
    pd_val k = pd_text(texts[i], strlen(texts[i]));
    TU_OK(d, pd_set(d, &k, &v));
  }
  pd_val b1 = pd_bytes("", 0), b2 = pd_bytes("\x00", 1), b3 = pd_bytes("ab\xff", 3),
         b4 = pd_bytes("ac", 2);
  TU_OK(d, pd_set(d, &b1, &v));
  TU_OK(d, pd_set(d, &b2, &v));
  TU_OK(d, pd_set(d, &b3, &v));
  TU_OK(d, pd_set(d, &b4, &v));
}

/* Renders the keys an iterator yields as "i:-200 t:a b:00 ..." */
static void walk(pd_dict *d, const pd_iter_options *o, char *out, size_t cap) {
  pd_iter *it;
  pd_val k, v;
  int rc;
  size_t at = 0;
  out[0] = 0;
  TU_OK(d, pd_iter_open(&it, d, o));
  while ((rc = pd_iter_next(it, &k, &v)) == PD_OK) {
    if (k.kind == PD_INT) at += snprintf(out + at, cap - at, "i:%lld ", (long long)k.u.i);
    else if (k.kind == PD_TEXT) at += snprintf(out + at, cap - at, "t:%.*s ", (int)k.u.s.len, (const char *)k.u.s.ptr);
    else {
      at += snprintf(out + at, cap - at, "b:");
      for (size_t i = 0; i < k.u.s.len; i++)
        at += snprintf(out + at, cap - at, "%02x", ((const unsigned char *)k.u.s.ptr)[i]);
      at += snprintf(out + at, cap - at, " ");
    }
  }
  assert_int_equal(rc, PD_ITEROVER);
  pd_iter_free(it);
}

/* Every key fill() stores, in key order, as walk() writes them. */
#define ALL_KEYS                                                                   \
  "i:-200 i:-100 i:0 i:100 i:200 t:a t:ab t:abc t:a\xc3\xa9 t:b b: b:00 b:6162ff " \
  "b:6163 "

/* Keys 0 .. n-1, each set to v, in one transaction. */
static void set_int_keys(pd_dict *d, int n, const pd_val *v) {
  TU_OK(d, pd_begin(d));
  for (int i = 0; i < n; i++) {
    pd_val k = pd_int(i);
    TU_OK(d, pd_set(d, &k, v));
  }
  TU_OK(d, pd_commit(d));
}

static void test_iter__keys_come_in_key_order(void **state) {
  (void)state;
  pd_dict *d = tu_open(":memory:", NULL);
  fill(d);
  char got[1024];
  pd_iter_options o = PD_ITER_OPTIONS_INIT;
  o.page_size = 3;
  walk(d, &o, got, sizeof got);
  assert_string_equal(got, ALL_KEYS);
  pd_close(d);
}

/* 14 keys in pages of every size from 1 to 15: at 1, 2, 7 and 14 the last
 * page is full and the one after it empty, which must end the walk without
 * repeating a key; at the others the last page is short. */
static void test_iter__last_page_exactly_full(void **state) {
  (void)state;
  pd_dict *d = tu_open(":memory:", NULL);
  fill(d);
  char got[1024];
  pd_iter_options o = PD_ITER_OPTIONS_INIT;
  for (size_t size = 1; size <= 15; size++) {
    o.page_size = size;
    walk(d, &o, got, sizeof got);
    assert_string_equal(got, ALL_KEYS);
  }
  pd_close(d);
}

/* The handle keeps one prepared statement per shape of page: iterators of
 * the same and of different shapes, advanced in turns, each see their own
 * keys. */
static void test_iter__iterators_take_turns_on_one_handle(void **state) {
  (void)state;
  pd_dict *d = tu_open(":memory:", NULL);
  fill(d);
  pd_iter_options whole = PD_ITER_OPTIONS_INIT, with_values = PD_ITER_OPTIONS_INIT,
                  ints = PD_ITER_OPTIONS_INIT;
  whole.page_size = 2;
  with_values.page_size = 2;
  with_values.values = 1;
  ints = with_values;
  pd_val lo = pd_int(-100), hi = pd_int(200);
  ints.start = &lo;
  ints.end = &hi;
  pd_iter *a, *b, *c;
  TU_OK(d, pd_iter_open(&a, d, &whole));
  TU_OK(d, pd_iter_open(&b, d, &with_values));
  TU_OK(d, pd_iter_open(&c, d, &ints));
  int64_t want_ints[] = {-100, 0, 100};
  pd_val k, v;
  for (int i = 0; i < 3; i++) {
    TU_OK(d, pd_iter_next(a, &k, NULL));
    assert_int_equal(k.u.i, i * 100 - 200);
    TU_OK(d, pd_iter_next(b, &k, &v));
    assert_int_equal(k.u.i, i * 100 - 200);
    TU_OK(d, pd_iter_next(c, &k, &v));
    assert_int_equal(k.u.i, want_ints[i]);
    assert_int_equal(v.kind, PD_INT);
  }
  assert_int_equal(pd_iter_next(c, &k, &v), PD_ITEROVER);
  int n = 0;
  while (pd_iter_next(b, &k, &v) == PD_OK) n++;
  assert_int_equal(n, 11);
  while (pd_iter_next(a, &k, NULL) == PD_OK) n++;
  assert_int_equal(n, 11 + 11);
  pd_iter_free(a);
  pd_iter_free(b);
  pd_iter_free(c);
  pd_close(d);
}

static void test_iter__prefix_and_range(void **state) {
  (void)state;
  pd_dict *d = tu_open(":memory:", NULL);
  fill(d);
  char got[1024];
  pd_iter_options o = PD_ITER_OPTIONS_INIT;
  pd_val p = pd_text("a", 1);
  o.prefix = &p;
  walk(d, &o, got, sizeof got);
  assert_string_equal(got, "t:a t:ab t:abc t:a\xc3\xa9 ");
  pd_val pb = pd_bytes("ab", 2);
  o.prefix = &pb;
  walk(d, &o, got, sizeof got);
  assert_string_equal(got, "b:6162ff ");
  pd_val pff = pd_text("", 0);
  o.prefix = &pff;
  walk(d, &o, got, sizeof got);
  assert_string_equal(got, "t:a t:ab t:abc t:a\xc3\xa9 t:b ");
  o.prefix = NULL;
  pd_val s = pd_int(-100), e = pd_text("ab", 2);
  o.start = &s;
  o.end = &e;
  walk(d, &o, got, sizeof got);
  assert_string_equal(got, "i:-100 i:0 i:100 i:200 t:a ");
  o.prefix = &p;
  walk(d, &o, got, sizeof got);
  assert_string_equal(got, "t:a ");
  o.start = &e;
  o.end = &s; /* empty range */
  o.prefix = NULL;
  walk(d, &o, got, sizeof got);
  assert_string_equal(got, "");
  pd_val bad = pd_int(1);
  o.prefix = &bad;
  pd_iter *it;
  assert_int_equal(pd_iter_open(&it, d, &o), PD_EINVALID);
  assert_null(it);
  pd_close(d);
}

static void test_iter__values_optional(void **state) {
  (void)state;
  pd_dict *d = tu_open(":memory:", NULL);
  pd_val k = pd_int(1), v = pd_text("val", 3), ko, vo;
  TU_OK(d, pd_set(d, &k, &v));
  pd_iter_options o = PD_ITER_OPTIONS_INIT;
  pd_iter *it;
  TU_OK(d, pd_iter_open(&it, d, &o));
  TU_OK(d, pd_iter_next(it, &ko, &vo));
  assert_int_equal(vo.kind, PD_NULL);
  pd_iter_free(it);
  o.values = 1;
  TU_OK(d, pd_iter_open(&it, d, &o));
  TU_OK(d, pd_iter_next(it, &ko, &vo));
  assert_int_equal(vo.kind, PD_TEXT);
  assert_memory_equal(vo.u.s.ptr, "val", 3);
  assert_int_equal(pd_iter_next(it, &ko, &vo), PD_ITEROVER);
  pd_iter_free(it);
  pd_iter_free(NULL);
  pd_close(d);
}

static void test_iter__survives_concurrent_delete(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "i.db");
  pd_dict *a = tu_open(path, NULL), *b = tu_open(path, NULL);
  pd_val v = pd_int(0);
  set_int_keys(a, 1000, &v);
  pd_iter_options o = PD_ITER_OPTIONS_INIT;
  o.page_size = 10;
  pd_iter *it;
  pd_val k;
  TU_OK(a, pd_iter_open(&it, a, &o));
  int seen = 0, rc;
  int64_t last = -1;
  while ((rc = pd_iter_next(it, &k, NULL)) == PD_OK) {
    assert_true(k.u.i > last);
    last = k.u.i;
    seen++;
    if (seen == 5) {
      /* Another handle deletes every odd key not yet visited, and the
       * current page's successor key. Writers are not blocked by us. */
      TU_OK(b, pd_begin(b));
      for (int i = 11; i < 1000; i += 2) {
        pd_val kd = pd_int(i);
        TU_OK(b, pd_delete(b, &kd));
      }
      TU_OK(b, pd_commit(b));
    }
    if (k.u.i > 10) assert_true(k.u.i % 2 == 0);
  }
  assert_int_equal(rc, PD_ITEROVER);
  assert_int_equal(seen, 11 + 494); /* 0..10, then the even keys 12..998 */
  pd_iter_free(it);
  pd_close(a);
  pd_close(b);
  tu_rmdir(dir);
}

/* A file at path with the integer keys 1..n, all holding 0. */
static pd_dict *open_with_keys_1_to(const char *path, int n) {
  pd_dict *d = tu_open(path, NULL);
  pd_val v = pd_int(0);
  for (int i = 1; i <= n; i++) {
    pd_val k = pd_int(i);
    TU_OK(d, pd_set(d, &k, &v));
  }
  return d;
}

static void test_iter__undecodable_row_is_reported_and_skipped(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "bad.db");
  pd_dict *d = open_with_keys_1_to(path, 3);
  pd_val v;
  assert_int_equal(tu_sql(path, "UPDATE permadict_rows SET type = 6, value = x'01' WHERE type >= 0 AND key = 2"), 0);
  pd_iter_options o = PD_ITER_OPTIONS_INIT;
  o.values = 1;
  pd_iter *it;
  pd_val k;
  TU_OK(d, pd_iter_open(&it, d, &o));
  TU_OK(d, pd_iter_next(it, &k, &v));
  assert_int_equal(k.u.i, 1);
  assert_int_equal(pd_iter_next(it, &k, &v), PD_EDECODE);
  assert_non_null(strstr(pd_errmsg(d), "entry 2 "));
  TU_OK(d, pd_iter_next(it, &k, &v));
  assert_int_equal(k.u.i, 3);
  assert_int_equal(pd_iter_next(it, &k, &v), PD_ITEROVER);
  pd_iter_free(it);
  pd_close(d);
  tu_rmdir(dir);
}

/* A NULL key (a damaged file) sorts first, and no key compares greater than
 * it: a page that ends on one must not end the iteration. */
static void test_iter__null_key_at_the_end_of_a_page_does_not_end_it(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "null.db");
  pd_dict *d = open_with_keys_1_to(path, 5);
  assert_int_equal(tu_sql(path, "INSERT INTO permadict_rows (id, ns, key, type, value) "
                                "VALUES (1000000, 1, NULL, 2, 0)"),
                   0);
  for (size_t page = 1; page <= 3; page++) {
    pd_iter_options o = PD_ITER_OPTIONS_INIT;
    o.page_size = page;
    pd_iter *it;
    pd_val k;
    int64_t next = 1;
    int errors = 0, rc;
    TU_OK(d, pd_iter_open(&it, d, &o));
    while ((rc = pd_iter_next(it, &k, NULL)) != PD_ITEROVER) {
      if (rc == PD_EDECODE) {
        errors++;
        continue;
      }
      TU_OK(d, rc);
      assert_int_equal(k.u.i, next++);
    }
    assert_int_equal(errors, 1);
    assert_int_equal(next, 6); /* keys 1..5, all of them */
    pd_iter_free(it);
  }
  pd_close(d);
  tu_rmdir(dir);
}

/* Bytes of heap in use: ASan's allocator replaces glibc's, whose mallinfo2
 * then sees none of it. */
#if defined(__SANITIZE_ADDRESS__)
/* From the ASan runtime (sanitizer/allocator_interface.h, which gcc 12 lacks). */
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_in_use(void) { return __sanitizer_get_current_allocated_bytes(); }
#else
static size_t heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2(); /* arena and mmapped blocks */
  return mi.uordblks + mi.hblkhd;
}
#endif

/* A walk left after its first key holds only what it has read: Lua frees
 * an iterator left by `break` when its garbage collector gets to it, and
 * the collector does not see this memory (LuaJIT, breaking out of pairs()
 * over 4 KiB values: 400 MB of RSS, when every first page held 256 rows). */
static void test_iter__walk_left_after_one_key_holds_little_memory(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  pd_dict *d = tu_open(tu_path(dir, "i.db"), NULL);
  static char big[4000];
  memset(big, 'x', sizeof big);
  pd_val v = pd_bytes(big, sizeof big);
  set_int_keys(d, 300, &v);
  pd_iter_options o = PD_ITER_OPTIONS_INIT;
  o.values = 1;
  pd_iter *its[8];
  pd_val k, got;
  /* A first walk warms SQLite's page cache, which is not the iterator's. */
  TU_OK(d, pd_iter_open(&its[0], d, &o));
  while (pd_iter_next(its[0], &k, &got) == PD_OK) {
  }
  pd_iter_free(its[0]);
  size_t before = heap_in_use();
  for (int i = 0; i < 8; i++) {
    TU_OK(d, pd_iter_open(&its[i], d, &o));
    TU_OK(d, pd_iter_next(its[i], &k, &got));
    assert_int_equal(got.u.s.len, sizeof big);
  }
  size_t after = heap_in_use();
  size_t each = after > before ? (after - before) / 8 : 0;
  for (int i = 0; i < 8; i++) pd_iter_free(its[i]);
  print_message("an iterator after one key holds %zu bytes\n", each);
  if (each > 32 * sizeof big)
    fail_msg("an iterator that read one key of %zu bytes holds %zu bytes", sizeof big, each);
  pd_close(d);
  tu_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_iter__keys_come_in_key_order),
      cmocka_unit_test(test_iter__last_page_exactly_full),
      cmocka_unit_test(test_iter__iterators_take_turns_on_one_handle),
      cmocka_unit_test(test_iter__prefix_and_range),
      cmocka_unit_test(test_iter__values_optional),
      cmocka_unit_test(test_iter__survives_concurrent_delete),
      cmocka_unit_test(test_iter__undecodable_row_is_reported_and_skipped),
      cmocka_unit_test(test_iter__null_key_at_the_end_of_a_page_does_not_end_it),
      cmocka_unit_test(test_iter__walk_left_after_one_key_holds_little_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
