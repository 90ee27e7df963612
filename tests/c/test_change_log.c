/* test_change_log.c - change log rows queued inside a transaction (written
 * in batches) are all there, in order, with the right keys, exactly when
 * they must be, and a rollback leaves no trace of them. */
#include "testutil.h"

#include <string.h>

/* More than two full batches of 64 plus a remainder. */
#define N_CHANGES 150

/* Sets the keys that run_changes deletes (every tenth), before the
 * transaction under test. */
static void plant_deleted_keys(pd_dict *d, int from, int to) {
  char buf[32];
  pd_val v = pd_int(7);
  for (int i = from; i < to; i++) {
    if (i % 10 == 9) {
      pd_val k = tu_key_of(i, buf, sizeof buf);
      TU_OK(d, pd_set(d, &k, &v));
    }
  }
}

/* Change i: deletes key i when i % 10 == 9, else sets key i. */
static void run_changes(pd_dict *d, int from, int to) {
  char buf[32];
  pd_val v = pd_int(7);
  for (int i = from; i < to; i++) {
    pd_val k = tu_key_of(i, buf, sizeof buf);
    if (i % 10 == 9) {
      TU_OK(d, pd_delete(d, &k));
    } else {
      TU_OK(d, pd_set(d, &k, &v));
    }
  }
}

static void test_change_log__rows_queued_in_a_transaction_are_all_written_in_order(
    void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "d.db");
  pd_dict *d = tu_open(path, NULL);
  pd_dict *other = tu_open(path, NULL);
  plant_deleted_keys(d, 0, N_CHANGES);
  int64_t base;
  TU_OK(d, pd_version(d, &base));
  assert_int_equal(base, N_CHANGES / 10);

  TU_OK(d, pd_begin(d));
  run_changes(d, 0, N_CHANGES);
  /* Inside the transaction the log and the version already include the
   * queued rows. */
  int64_t v;
  TU_OK(d, pd_version(d, &v));
  assert_int_equal(v, base + N_CHANGES);
  /* Another handle sees none of it before the commit. */
  int64_t seen;
  TU_OK(other, pd_version(other, &seen));
  assert_int_equal(seen, base);
  TU_OK(d, pd_commit(d));

  TU_OK(other, pd_version(other, &seen));
  assert_int_equal(seen, base + N_CHANGES);
  pd_changes *c;
  pd_change ch;
  TU_OK(other, pd_changes_open(&c, other, base));
  char buf[32];
  for (int i = 0; i < N_CHANGES; i++) {
    TU_OK(other, pd_changes_next(c, &ch));
    assert_int_equal(ch.version, base + i + 1);
    assert_int_equal(ch.op, i % 10 == 9 ? PD_CHANGE_DELETE : PD_CHANGE_SET);
    pd_val want = tu_key_of(i, buf, sizeof buf);
    assert_int_equal(ch.key.kind, want.kind);
    if (want.kind == PD_INT) {
      assert_int_equal(ch.key.u.i, want.u.i);
    } else {
      assert_int_equal(ch.key.u.s.len, want.u.s.len);
      assert_memory_equal(ch.key.u.s.ptr, want.u.s.ptr, want.u.s.len);
    }
  }
  assert_int_equal(pd_changes_next(c, &ch), PD_ITEROVER);
  pd_changes_free(c);
  int64_t n;
  TU_OK(other, pd_count(other, &n));
  assert_int_equal(n, N_CHANGES - N_CHANGES / 10);
  pd_close(other);
  pd_close(d);
  tu_rmdir(dir);
}

static void test_change_log__reading_the_log_inside_the_transaction_sees_queued_rows(
    void **state) {
  (void)state;
  pd_dict *d = tu_open(":memory:", NULL);
  plant_deleted_keys(d, 0, N_CHANGES);
  int64_t base;
  TU_OK(d, pd_version(d, &base));
  TU_OK(d, pd_begin(d));
  run_changes(d, 0, 70); /* one full batch written, six rows queued */
  pd_changes *c;
  pd_change ch;
  TU_OK(d, pd_changes_open(&c, d, base));
  for (int i = 0; i < 70; i++) {
    TU_OK(d, pd_changes_next(c, &ch));
    assert_int_equal(ch.version, base + i + 1);
  }
  assert_int_equal(pd_changes_next(c, &ch), PD_ITEROVER);
  pd_changes_free(c);
  /* Writing on after the log was read keeps versions consecutive. */
  run_changes(d, 70, N_CHANGES);
  TU_OK(d, pd_commit(d));
  TU_OK(d, pd_changes_open(&c, d, base));
  for (int i = 0; i < N_CHANGES; i++) {
    TU_OK(d, pd_changes_next(c, &ch));
    assert_int_equal(ch.version, base + i + 1);
  }
  assert_int_equal(pd_changes_next(c, &ch), PD_ITEROVER);
  pd_changes_free(c);
  pd_close(d);
}

static void test_change_log__rollback_drops_queued_rows(void **state) {
  (void)state;
  pd_dict *d = tu_open(":memory:", NULL);
  pd_val v = pd_int(1);
  TU_OK(d, pd_begin(d));
  for (int i = 0; i < 100; i++) {
    pd_val k = pd_int(i);
    TU_OK(d, pd_set(d, &k, &v));
  }
  TU_OK(d, pd_rollback(d));
  int64_t ver, n;
  TU_OK(d, pd_version(d, &ver));
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(ver, 0);
  assert_int_equal(n, 0);
  pd_changes *c;
  pd_change ch;
  TU_OK(d, pd_changes_open(&c, d, 0));
  assert_int_equal(pd_changes_next(c, &ch), PD_ITEROVER);
  pd_changes_free(c);
  /* Nothing of the dropped queue resurfaces in the next transaction. */
  TU_OK(d, pd_begin(d));
  for (int i = 0; i < 3; i++) {
    pd_val k = pd_int(1000 + i);
    TU_OK(d, pd_set(d, &k, &v));
  }
  TU_OK(d, pd_commit(d));
  TU_OK(d, pd_changes_open(&c, d, 0));
  for (int i = 0; i < 3; i++) {
    TU_OK(d, pd_changes_next(c, &ch));
    assert_int_equal(ch.version, i + 1);
    assert_int_equal(ch.key.u.i, 1000 + i);
  }
  assert_int_equal(pd_changes_next(c, &ch), PD_ITEROVER);
  pd_changes_free(c);
  pd_close(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(
          test_change_log__rows_queued_in_a_transaction_are_all_written_in_order),
      cmocka_unit_test(
          test_change_log__reading_the_log_inside_the_transaction_sees_queued_rows),
      cmocka_unit_test(test_change_log__rollback_drops_queued_rows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
