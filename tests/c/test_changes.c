/* test_changes.c - pd_version and the change log, pruning and resync. */
#include "testutil.h"

#include <string.h>

static void test_changes__lists_changes_after_a_version(void **state) {
  (void)state;
  pd_dict *d = tu_open(":memory:", NULL);
  int64_t v0;
  TU_OK(d, pd_version(d, &v0));
  assert_int_equal(v0, 0);
  pd_val k1 = pd_text("a", 1), k2 = pd_int(2), v = pd_int(1);
  TU_OK(d, pd_set(d, &k1, &v));
  TU_OK(d, pd_set(d, &k2, &v));
  TU_OK(d, pd_delete(d, &k1));
  TU_OK(d, pd_clear(d));
  assert_int_equal(pd_delete(d, &k1), PD_ENOTFOUND); /* no change, no version */
  int64_t v1;
  TU_OK(d, pd_version(d, &v1));
  assert_int_equal(v1, 4);
  pd_changes *c;
  pd_change ch;
  TU_OK(d, pd_changes_open(&c, d, 1));
  TU_OK(d, pd_changes_next(c, &ch));
  assert_int_equal(ch.version, 2);
  assert_int_equal(ch.op, PD_CHANGE_SET);
  assert_int_equal(ch.key.kind, PD_INT);
  TU_OK(d, pd_changes_next(c, &ch));
  assert_int_equal(ch.op, PD_CHANGE_DELETE);
  assert_int_equal(ch.key.kind, PD_TEXT);
  assert_memory_equal(ch.key.u.s.ptr, "a", 1);
  TU_OK(d, pd_changes_next(c, &ch));
  assert_int_equal(ch.op, PD_CHANGE_CLEAR);
  assert_int_equal(ch.key.kind, PD_NULL);
  assert_int_equal(ch.version, 4);
  assert_int_equal(pd_changes_next(c, &ch), PD_ITEROVER);
  pd_changes_free(c);
  TU_OK(d, pd_changes_open(&c, d, 4));
  assert_int_equal(pd_changes_next(c, &ch), PD_ITEROVER);
  pd_changes_free(c);
  assert_int_equal(pd_changes_open(&c, d, 5), PD_ERESYNC);
  assert_null(c);
  pd_changes_free(NULL);
  pd_close(d);
}

static void test_changes__log_is_pruned_and_old_versions_resync(void **state) {
  (void)state;
  pd_dict *d = tu_open(":memory:", NULL);
  pd_val k = pd_int(1), by = pd_int(1);
  TU_OK(d, pd_begin(d));
  for (int i = 0; i < 10600; i++) TU_OK(d, pd_incr(d, &k, &by, NULL));
  TU_OK(d, pd_commit(d));
  int64_t v;
  TU_OK(d, pd_version(d, &v));
  assert_int_equal(v, 10600);
  pd_changes *c;
  assert_int_equal(pd_changes_open(&c, d, 0), PD_ERESYNC);
  assert_non_null(strstr(pd_errmsg(d), "re-read"));
  TU_OK(d, pd_changes_open(&c, d, 10600 - 10000));
  pd_change ch;
  size_t n = 0;
  int64_t prev = 10600 - 10000;
  while (pd_changes_next(c, &ch) == PD_OK) {
    assert_int_equal(ch.version, prev + 1);
    prev = ch.version;
    n++;
  }
  assert_int_equal(n, 10000);
  pd_changes_free(c);
  pd_stats s;
  TU_OK(d, pd_stats_get(d, &s));
  assert_int_equal(s.version, 10600);
  assert_int_equal(s.count, 1);
  assert_int_equal(s.namespaces, 1);
  pd_close(d);
}

static void test_changes__dropped_and_recreated_namespace_resyncs(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "c.db");
  pd_dict *a = tu_open(path, "ns"), *b = tu_open(path, NULL);
  pd_val k = pd_int(1), v = pd_int(1);
  for (int i = 0; i < 5; i++) TU_OK(a, pd_set(a, &k, &v));
  TU_OK(b, pd_drop_namespace(b, "ns"));
  int64_t ver;
  assert_int_equal(pd_version(a, &ver), PD_EGONE);
  pd_close(a);
  a = tu_open(path, "ns");
  TU_OK(a, pd_set(a, &k, &v));
  pd_changes *c;
  assert_int_equal(pd_changes_open(&c, a, 5), PD_ERESYNC);
  pd_close(a);
  pd_close(b);
  tu_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_changes__lists_changes_after_a_version),
      cmocka_unit_test(test_changes__log_is_pruned_and_old_versions_resync),
      cmocka_unit_test(test_changes__dropped_and_recreated_namespace_resyncs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
