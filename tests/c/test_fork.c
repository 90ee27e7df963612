/* test_fork.c - the fork() rule: inherited handles refuse work, pd_reopen
 * gives a fresh connection, and the parent's locks and transaction survive
 * the child closing its inherited copy. */
#include "testutil.h"

#include <string.h>
#include <unistd.h>

static pd_dict *parent_handle;

static int child_sees_eforked(void *arg) {
  (void)arg;
  pd_val k = pd_int(1), v = pd_int(2);
  if (pd_get(parent_handle, &k, NULL) != PD_EFORKED) return 1;
  if (pd_set(parent_handle, &k, &v) != PD_EFORKED) return 2;
  if (!strstr(pd_errmsg(parent_handle), "fork")) return 3;
  if (pd_commit(parent_handle) != PD_EFORKED) return 4;
  pd_close(parent_handle); /* frees memory, leaves the connection alone */
  return 0;
}

static void test_fork__child_gets_eforked_and_parent_txn_commits_intact(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "f.db");
  parent_handle = tu_open(path, NULL);
  pd_val k = pd_int(1), v = pd_int(1), out;
  TU_OK(parent_handle, pd_begin(parent_handle));
  TU_OK(parent_handle, pd_set(parent_handle, &k, &v));
  assert_int_equal(tu_run_child(child_sees_eforked, NULL), 0);
  /* The child's exit did not release our lock or undo our writes. */
  pd_val k2 = pd_int(2);
  TU_OK(parent_handle, pd_set(parent_handle, &k2, &v));
  TU_OK(parent_handle, pd_commit(parent_handle));
  pd_dict *other = tu_open(path, NULL);
  TU_OK(other, pd_get(other, &k, &out));
  TU_OK(other, pd_get(other, &k2, &out));
  int64_t n;
  TU_OK(other, pd_count(other, &n));
  assert_int_equal(n, 2);
  TU_OK(other, pd_check(other));
  pd_close(other);
  pd_close(parent_handle);
  tu_rmdir(dir);
}

static int child_reopens(void *arg) {
  (void)arg;
  pd_val k = pd_int(7), v = pd_int(70), out;
  if (pd_reopen(parent_handle) != PD_OK) return 1;
  if (pd_set(parent_handle, &k, &v) != PD_OK) return 2;
  if (pd_get(parent_handle, &k, &out) != PD_OK || out.u.i != 70) return 3;
  pd_close(parent_handle);
  return 0;
}

static void test_fork__reopen_in_child_works(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "f.db");
  pd_options o = PD_OPTIONS_INIT;
  o.name = "ns";
  TU_OK(NULL, pd_open(&parent_handle, path, &o));
  pd_val k = pd_int(7), out;
  assert_int_equal(tu_run_child(child_reopens, NULL), 0);
  TU_OK(parent_handle, pd_get(parent_handle, &k, &out)); /* same namespace */
  assert_int_equal(out.u.i, 70);
  TU_OK(parent_handle, pd_reopen(parent_handle)); /* also fine in the parent */
  TU_OK(parent_handle, pd_get(parent_handle, &k, &out));
  pd_close(parent_handle);
  tu_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fork__child_gets_eforked_and_parent_txn_commits_intact),
      cmocka_unit_test(test_fork__reopen_in_child_works),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
