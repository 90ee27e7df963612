/* test_changes.c - pd_version and the change log, pruning and resync. */
#include "testutil.h"

#include <stdio.h>
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

/* Reads changes after `since` and checks they run unbroken to `to`, each
 * a set of key "k<version>" (as big_txn below writes them). */
static void expect_run(pd_dict *d, int64_t since, int64_t to) {
  pd_changes *c;
  TU_OK(d, pd_changes_open(&c, d, since));
  pd_change ch;
  int64_t prev = since;
  while (pd_changes_next(c, &ch) == PD_OK) {
    char want[32];
    int n = snprintf(want, sizeof want, "k%lld", (long long)ch.version);
    assert_int_equal(ch.version, prev + 1);
    assert_int_equal(ch.op, PD_CHANGE_SET);
    assert_int_equal(ch.key.kind, PD_TEXT);
    assert_int_equal(ch.key.u.s.len, (size_t)n);
    assert_memory_equal(ch.key.u.s.ptr, want, (size_t)n);
    prev = ch.version;
  }
  assert_int_equal(prev, to);
  pd_changes_free(c);
}

/* Sets key "k<version>" for versions from+1 .. to, in the open transaction. */
static void big_txn(pd_dict *d, int64_t from, int64_t to) {
  for (int64_t v = from + 1; v <= to; v++) {
    char key[32];
    int n = snprintf(key, sizeof key, "k%lld", (long long)v);
    pd_val k = pd_text(key, (size_t)n), val = pd_int(v);
    TU_OK(d, pd_set(d, &k, &val));
  }
}

/* A transaction of far more changes than the log keeps drops its oldest rows
 * unwritten (engine_sqlite_log.c); the stored log must still be one unbroken
 * run with the right keys, and older rows of earlier commits must not be
 * left behind below the hole. */
static void test_changes__huge_transaction_keeps_log_unbroken(void **state) {
  (void)state;
  pd_dict *d = tu_open(":memory:", NULL);
  TU_OK(d, pd_begin(d));
  big_txn(d, 0, 300);
  TU_OK(d, pd_commit(d));
  expect_run(d, 0, 300);
  /* 10,100 changes: the oldest 100 are dropped unwritten, and rows 241..300,
   * which lazy pruning (every 256 versions) has not reached, must go too. */
  TU_OK(d, pd_begin(d));
  big_txn(d, 300, 10400);
  TU_OK(d, pd_commit(d));
  pd_changes *c;
  assert_int_equal(pd_changes_open(&c, d, 250), PD_ERESYNC);
  expect_run(d, 400, 10400);
  TU_OK(d, pd_begin(d));
  big_txn(d, 10400, 45300);
  int64_t n;
  TU_OK(d, pd_count(d, &n)); /* reads the log mid-transaction: all rows out */
  assert_int_equal(n, 45300);
  big_txn(d, 45300, 91000);
  TU_OK(d, pd_commit(d));
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(n, 91000);
  expect_run(d, 91000 - 10000, 91000);
  assert_int_equal(pd_changes_open(&c, d, 300), PD_ERESYNC); /* below the hole */
  assert_int_equal(pd_changes_open(&c, d, 50000), PD_ERESYNC);
  /* A rolled-back huge transaction leaves log and count as they were. */
  TU_OK(d, pd_begin(d));
  big_txn(d, 91000, 130000);
  TU_OK(d, pd_rollback(d));
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(n, 91000);
  expect_run(d, 91000 - 10000, 91000);
  TU_OK(d, pd_begin(d));
  big_txn(d, 91000, 91005);
  TU_OK(d, pd_commit(d));
  expect_run(d, 91000 - 10000, 91005);
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
      cmocka_unit_test(test_changes__huge_transaction_keeps_log_unbroken),
      cmocka_unit_test(test_changes__dropped_and_recreated_namespace_resyncs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
