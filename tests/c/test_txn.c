/* test_txn.c - explicit transactions, misuse, busy timeout, threads. */
#include "testutil.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void test_txn__commit_and_rollback(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "t.db");
  pd_dict *a = tu_open(path, NULL), *b = tu_open(path, NULL);
  pd_val k = pd_int(1), v = pd_int(10), out;
  int64_t n;
  TU_OK(a, pd_begin(a));
  assert_true(pd_in_transaction(a));
  TU_OK(a, pd_set(a, &k, &v));
  TU_OK(a, pd_get(a, &k, &out)); /* sees its own write */
  assert_int_equal(pd_get(b, &k, &out), PD_ENOTFOUND); /* others do not */
  TU_OK(a, pd_rollback(a));
  assert_false(pd_in_transaction(a));
  assert_int_equal(pd_get(a, &k, &out), PD_ENOTFOUND);
  TU_OK(a, pd_count(a, &n));
  assert_int_equal(n, 0);
  TU_OK(a, pd_begin(a));
  for (int i = 0; i < 100; i++) {
    pd_val ki = pd_int(i);
    TU_OK(a, pd_set(a, &ki, &v));
  }
  TU_OK(a, pd_commit(a));
  TU_OK(b, pd_count(b, &n));
  assert_int_equal(n, 100);
  TU_OK(b, pd_version(b, &n));
  assert_int_equal(n, 100);
  pd_close(a);
  pd_close(b);
  tu_rmdir(dir);
}

static void test_txn__nested_begin_and_stray_commit_are_misuse(void **state) {
  (void)state;
  pd_dict *d = tu_open(":memory:", NULL);
  assert_int_equal(pd_commit(d), PD_EMISUSE);
  assert_int_equal(pd_rollback(d), PD_EMISUSE);
  TU_OK(d, pd_begin(d));
  assert_int_equal(pd_begin(d), PD_EMISUSE);
  assert_non_null(strstr(pd_errmsg(d), "nest"));
  TU_OK(d, pd_commit(d));
  pd_close(d);
}

static void test_txn__close_rolls_back(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "t.db");
  pd_dict *d = tu_open(path, NULL);
  pd_val k = pd_int(1), v = pd_int(1);
  TU_OK(d, pd_begin(d));
  TU_OK(d, pd_set(d, &k, &v));
  pd_close(d);
  d = tu_open(path, NULL);
  assert_int_equal(pd_contains(d, &k), PD_ENOTFOUND);
  pd_close(d);
  tu_rmdir(dir);
}

static void test_txn__busy_after_timeout_names_file(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "b.db");
  pd_dict *a = tu_open(path, NULL);
  pd_options o = PD_OPTIONS_INIT;
  o.timeout_ms = 150;
  pd_dict *b;
  TU_OK(NULL, pd_open(&b, path, &o));
  pd_val k = pd_int(1), v = pd_int(1), out;
  TU_OK(a, pd_begin(a));
  TU_OK(a, pd_set(a, &k, &v));
  int64_t t0 = 0;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  t0 = ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  assert_int_equal(pd_set(b, &k, &v), PD_EBUSY);
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t waited = ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - t0;
  assert_true(waited >= 140);
  assert_non_null(strstr(pd_errmsg(b), path));
  assert_non_null(strstr(pd_errmsg(b), "150 ms"));
  assert_int_equal(pd_sqlite_errcode(b) & 0xff, 5 /* SQLITE_BUSY */);
  assert_int_equal(pd_get(b, &k, &out), PD_ENOTFOUND); /* readers never blocked */
  TU_OK(a, pd_commit(a));
  TU_OK(b, pd_set(b, &k, &v));
  pd_close(a);
  pd_close(b);
  tu_rmdir(dir);
}

struct blocker {
  pd_dict *d;
  int rc;
};

static void *begin_in_thread(void *arg) {
  struct blocker *bl = arg;
  bl->rc = pd_begin(bl->d); /* waits for the lock: inside the handle */
  return NULL;
}

static void test_txn__two_threads_in_one_handle_is_misuse(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "m.db");
  pd_dict *holder = tu_open(path, NULL);
  pd_options o = PD_OPTIONS_INIT;
  o.timeout_ms = 1500;
  pd_dict *d;
  TU_OK(NULL, pd_open(&d, path, &o));
  TU_OK(holder, pd_begin(holder));
  struct blocker bl = {d, 0};
  pthread_t t;
  pthread_create(&t, NULL, begin_in_thread, &bl);
  usleep(300 * 1000);
  pd_val k = pd_int(1);
  assert_int_equal(pd_get(d, &k, NULL), PD_EMISUSE);
  TU_OK(holder, pd_rollback(holder));
  pthread_join(t, NULL);
  assert_int_equal(bl.rc, PD_OK);
  TU_OK(d, pd_rollback(d));
  pd_close(d);
  pd_close(holder);
  tu_rmdir(dir);
}

/* A write transaction may take the namespace's version and count from the
 * handle's previous commit instead of reading them, when nothing was
 * committed since (engine_sqlite_txn.c). Three handles take turns in a
 * random order, adding, overwriting and deleting: every count, version and
 * change log entry must match a model, whoever committed last. */
static void test_txn__handles_taking_turns_see_each_others_commits(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "t.db");
  pd_dict *h[3] = {tu_open(path, NULL), tu_open(path, NULL), tu_open(path, NULL)};
  enum { KEYS = 8, TURNS = 600 };
  int present[KEYS] = {0}, op_of[TURNS + 1], key_of[TURNS + 1];
  int64_t count = 0, n;
  srand(7);
  for (int t = 1; t <= TURNS; t++) {
    pd_dict *d = h[rand() % 3];
    int k = rand() % KEYS;
    pd_val key = pd_int(k), v = pd_int(t);
    if (present[k] && rand() % 2) {
      TU_OK(d, pd_delete(d, &key));
      present[k] = 0;
      count--;
      op_of[t] = PD_CHANGE_DELETE;
    } else {
      TU_OK(d, pd_set(d, &key, &v));
      count += !present[k];
      present[k] = 1;
      op_of[t] = PD_CHANGE_SET;
    }
    key_of[t] = k;
    pd_dict *other = h[rand() % 3];
    TU_OK(other, pd_count(other, &n));
    assert_int_equal(n, count);
    TU_OK(other, pd_version(other, &n));
    assert_int_equal(n, t);
  }
  /* The log holds each turn once, in order (a stale version would have
   * collided with a log row already written, or left a gap). */
  pd_changes *c = NULL;
  pd_change ch;
  TU_OK(h[0], pd_changes_open(&c, h[0], TURNS - 100));
  for (int t = TURNS - 99; t <= TURNS; t++) {
    TU_OK(h[0], pd_changes_next(c, &ch));
    assert_int_equal(ch.version, t);
    assert_int_equal(ch.op, op_of[t]);
    assert_int_equal(ch.key.u.i, key_of[t]);
  }
  pd_changes_free(c);
  TU_OK(h[1], pd_check(h[1]));
  for (int i = 0; i < 3; i++) pd_close(h[i]);
  tu_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_txn__commit_and_rollback),
      cmocka_unit_test(test_txn__nested_begin_and_stray_commit_are_misuse),
      cmocka_unit_test(test_txn__close_rolls_back),
      cmocka_unit_test(test_txn__busy_after_timeout_names_file),
      cmocka_unit_test(test_txn__two_threads_in_one_handle_is_misuse),
      cmocka_unit_test(test_txn__handles_taking_turns_see_each_others_commits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
