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

/* Versions start at 0: a negative since is a caller's mistake, not a log
 * that no longer reaches back (and INT64_MIN once overflowed computing a
 * rowid). */
static void test_changes__negative_since_is_invalid(void **state) {
  (void)state;
  pd_dict *d = tu_open(":memory:", NULL);
  pd_val k = pd_int(1);
  TU_OK(d, pd_set(d, &k, &k));
  const int64_t bad[] = {-1, INT64_MIN};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    pd_changes *c = (pd_changes *)1;
    char want[64];
    snprintf(want, sizeof want, "since is %lld", (long long)bad[i]);
    assert_int_equal(pd_changes_open(&c, d, bad[i]), PD_EINVALID);
    assert_null(c);
    assert_non_null(strstr(pd_errmsg(d), want));
  }
  pd_changes *c = NULL;
  TU_OK(d, pd_changes_open(&c, d, 0)); /* 0, the empty namespace, is fine */
  pd_changes_free(c);
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
 * a set of key "k<version>" (as set_keys below writes them). */
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

/* Sets key "k<version>" for versions from+1 .. to: in the open transaction,
 * or one commit each when none is open. */
static void set_keys(pd_dict *d, int64_t from, int64_t to) {
  for (int64_t v = from + 1; v <= to; v++) {
    char key[32];
    int n = snprintf(key, sizeof key, "k%lld", (long long)v);
    pd_val k = pd_text(key, (size_t)n), val = pd_int(v);
    TU_OK(d, pd_set(d, &k, &val));
  }
}

/* set_keys in one transaction of its own. */
static void commit_keys(pd_dict *d, int64_t from, int64_t to) {
  TU_OK(d, pd_begin(d));
  set_keys(d, from, to);
  TU_OK(d, pd_commit(d));
}

/* A transaction of far more changes than the log keeps drops its oldest rows
 * unwritten (engine_sqlite_log.c); the stored log must still be one unbroken
 * run with the right keys, and older rows of earlier commits must not be
 * left behind below the hole. */
static void test_changes__huge_transaction_keeps_log_unbroken(void **state) {
  (void)state;
  pd_dict *d = tu_open(":memory:", NULL);
  commit_keys(d, 0, 300);
  expect_run(d, 0, 300);
  /* 10,100 changes: the oldest 100 are dropped unwritten, and rows 241..300,
   * which lazy pruning (every 256 versions) has not reached, must go too. */
  commit_keys(d, 300, 10400);
  pd_changes *c;
  assert_int_equal(pd_changes_open(&c, d, 250), PD_ERESYNC);
  expect_run(d, 400, 10400);
  TU_OK(d, pd_begin(d));
  set_keys(d, 10400, 45300);
  int64_t n;
  TU_OK(d, pd_count(d, &n)); /* reads the log mid-transaction: all rows out */
  assert_int_equal(n, 45300);
  set_keys(d, 45300, 91000);
  TU_OK(d, pd_commit(d));
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(n, 91000);
  expect_run(d, 91000 - 10000, 91000);
  assert_int_equal(pd_changes_open(&c, d, 300), PD_ERESYNC); /* below the hole */
  assert_int_equal(pd_changes_open(&c, d, 50000), PD_ERESYNC);
  /* A rolled-back huge transaction leaves log and count as they were. */
  TU_OK(d, pd_begin(d));
  set_keys(d, 91000, 130000);
  TU_OK(d, pd_rollback(d));
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(n, 91000);
  expect_run(d, 91000 - 10000, 91000);
  commit_keys(d, 91000, 91005);
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
  assert_non_null(strstr(pd_errmsg(a), "version 5 but namespace 'ns' is at 1, so that version is "
                                       "not one of this namespace's"));
  pd_close(a);
  pd_close(b);
  tu_rmdir(dir);
}

/* FORMAT.md 2: version v's log row is rowid 2v + 1 of the namespace's slot. */
#define LOG_VERSION_SQL "((id & 17592186044415) >> 1)"

/* A reader never skips over a hole in the log (another writer's pruning gone
 * wrong, a damaged file): it answers resync, not a shorter list. */
static void test_changes__hole_in_the_log_resyncs(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "hole.db");
  pd_dict *d = tu_open(path, NULL);
  set_keys(d, 0, 10);
  assert_int_equal(
      tu_sql(path, "DELETE FROM permadict_rows WHERE type < 0 AND " LOG_VERSION_SQL " = 5"), 0);
  pd_changes *c;
  assert_int_equal(pd_changes_open(&c, d, 2), PD_ERESYNC);
  assert_non_null(strstr(pd_errmsg(d), "version 3"));
  expect_run(d, 5, 10);
  pd_close(d);
  tu_rmdir(dir);
}

/* Pruning walks a narrow window; rows older than it, left by a writer that
 * pruned less often, are found and deleted too, so the log stays bounded. */
static void test_changes__rows_below_the_prune_window_are_pruned(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "old.db");
  pd_dict *d = tu_open(path, NULL);
  commit_keys(d, 0, 10600);
  /* Now versions 601..10600 are logged; plant 1..600 back, as if the log had
   * never been pruned. */
  assert_int_equal(tu_sql(path, "INSERT INTO permadict_rows (id, ns, key, type, value) "
                                "SELECT id + 1, ns, key, -1, 0 FROM permadict_rows "
                                "WHERE type >= 0 AND (id & 17592186044415) <= 1200"),
                   0);
  assert_int_equal(tu_sql_int(path, "SELECT count(*) FROM permadict_changes"), 10600);
  commit_keys(d, 10600, 10800); /* passes 10,768: a prune up to version 800 */
  assert_int_equal(tu_sql_int(path, "SELECT min(version) FROM permadict_changes"), 801);
  assert_int_equal(tu_sql_int(path, "SELECT count(*) FROM permadict_changes"), 10000);
  expect_run(d, 800, 10800);
  TU_OK(d, pd_check(d));
  pd_close(d);
  tu_rmdir(dir);
}

/* A transaction of more changes than the log keeps: its prune stops at the
 * newest row stored before it (engine_sqlite_log.c), which must go too, so
 * exactly the newest 10,000 rows are left, and the entries it made stay. */
static void test_changes__huge_transaction_leaves_exactly_the_newest_rows(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "huge.db");
  pd_dict *d = tu_open(path, NULL);
  commit_keys(d, 0, 300);
  commit_keys(d, 300, 10400);
  assert_int_equal(tu_sql_int(path, "SELECT min(version) FROM permadict_changes"), 401);
  assert_int_equal(tu_sql_int(path, "SELECT max(version) FROM permadict_changes"), 10400);
  assert_int_equal(tu_sql_int(path, "SELECT count(*) FROM permadict_changes"), 10000);
  assert_int_equal(tu_sql_int(path, "SELECT count(*) FROM permadict_items"), 10400);
  expect_run(d, 400, 10400);
  TU_OK(d, pd_check(d));
  pd_close(d);
  tu_rmdir(dir);
}

/* A namespace has 2^43 - 1 versions (FORMAT.md 2); the change past the last
 * fails with PD_EFULL and writes nothing. */
static void test_changes__last_version_then_efull(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "full.db");
  pd_dict *d = tu_open(path, NULL);
  set_keys(d, 0, 1);
  /* A log row two short of the last version, carrying the count (1). */
  assert_int_equal(tu_sql(path, "INSERT INTO permadict_rows (id, ns, key, type, value) "
                                "SELECT (slot << 44) + 17592186044413, id, 'k1', -1, 1 "
                                "FROM permadict_namespaces"),
                   0);
  int64_t v;
  TU_OK(d, pd_version(d, &v));
  assert_int_equal(v, (INT64_C(1) << 43) - 2);
  pd_val k2 = pd_text("k2", 2), k1 = pd_text("k1", 2), one = pd_int(1), out;
  TU_OK(d, pd_set(d, &k2, &one)); /* the last version */
  TU_OK(d, pd_version(d, &v));
  assert_int_equal(v, (INT64_C(1) << 43) - 1);
  pd_val k3 = pd_text("k3", 2);
  assert_int_equal(pd_set(d, &k3, &one), PD_EFULL);
  assert_non_null(strstr(pd_errmsg(d), "used all its"));
  assert_int_equal(pd_delete(d, &k1), PD_EFULL);
  assert_int_equal(pd_clear(d), PD_EFULL);
  assert_int_equal(pd_get(d, &k3, &out), PD_ENOTFOUND);
  TU_OK(d, pd_get(d, &k1, &out));
  int64_t n;
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(n, 2);
  TU_OK(d, pd_check(d));
  pd_close(d);
  tu_rmdir(dir);
}

/* pd_check knows the layout: a row outside its namespace's slot, or a log
 * row of an unknown op, is damage. */
static void test_changes__check_finds_rows_out_of_place(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "check.db");
  pd_dict *d = tu_open(path, NULL);
  set_keys(d, 0, 3);
  TU_OK(d, pd_check(d));
  assert_int_equal(tu_sql(path, "UPDATE permadict_rows SET type = -7 WHERE type < 0 AND "
                                LOG_VERSION_SQL " = 2"),
                   0);
  assert_int_equal(pd_check(d), PD_ECORRUPT);
  assert_non_null(strstr(pd_errmsg(d), "unknown op 7"));
  assert_int_equal(tu_sql(path, "UPDATE permadict_rows SET type = -1 WHERE type = -7"), 0);
  TU_OK(d, pd_check(d));
  assert_int_equal(tu_sql(path, "UPDATE permadict_rows SET id = id + (1 << 44) "
                                "WHERE type >= 0 AND key = 'k1'"),
                   0);
  assert_int_equal(pd_check(d), PD_ECORRUPT);
  assert_non_null(strstr(pd_errmsg(d), "outside their namespace"));
  pd_close(d);
  tu_rmdir(dir);
}

/* A log row of a damaged file that no writer makes (an unknown op, a set
 * without a key, a key of a storage class no key has) is a decode error of
 * the change list naming its version, not an op outside pd_change_op or a
 * PD_NULL key handed out as a change; pd_check finds each too. */
static void test_changes__damaged_log_row_is_a_decode_error(void **state) {
  (void)state;
  static const char *const damage[] = {
      "UPDATE permadict_rows SET type = -7 WHERE type < 0 AND " LOG_VERSION_SQL " = 2",
      "UPDATE permadict_rows SET type = -9223372036854775808 WHERE type < 0 AND "
      LOG_VERSION_SQL " = 2",
      "UPDATE permadict_rows SET key = NULL WHERE type < 0 AND " LOG_VERSION_SQL " = 2",
      "UPDATE permadict_rows SET key = 1.5 WHERE type < 0 AND " LOG_VERSION_SQL " = 2",
  };
  for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
    const char *dir = tu_tmpdir();
    const char *path = tu_path(dir, "damaged.db");
    pd_dict *d = tu_open(path, NULL);
    set_keys(d, 0, 3);
    assert_int_equal(tu_sql(path, damage[i]), 0);
    pd_changes *c = NULL;
    assert_int_equal(pd_changes_open(&c, d, 1), PD_EDECODE);
    assert_null(c);
    assert_non_null(strstr(pd_errmsg(d), "at version 2"));
    expect_run(d, 2, 3); /* the log after the damaged row reads */
    assert_int_equal(pd_check(d), PD_ECORRUPT);
    assert_non_null(strstr(pd_errmsg(d), "change log at version 2"));
    pd_close(d);
    tu_rmdir(dir);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_changes__lists_changes_after_a_version),
      cmocka_unit_test(test_changes__negative_since_is_invalid),
      cmocka_unit_test(test_changes__log_is_pruned_and_old_versions_resync),
      cmocka_unit_test(test_changes__huge_transaction_keeps_log_unbroken),
      cmocka_unit_test(test_changes__dropped_and_recreated_namespace_resyncs),
      cmocka_unit_test(test_changes__hole_in_the_log_resyncs),
      cmocka_unit_test(test_changes__rows_below_the_prune_window_are_pruned),
      cmocka_unit_test(test_changes__huge_transaction_leaves_exactly_the_newest_rows),
      cmocka_unit_test(test_changes__last_version_then_efull),
      cmocka_unit_test(test_changes__check_finds_rows_out_of_place),
      cmocka_unit_test(test_changes__damaged_log_row_is_a_decode_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
