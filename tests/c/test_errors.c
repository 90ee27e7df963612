/* test_errors.c - fixed texts, versions, and the thread's open message. */
#include "testutil.h"

#include <string.h>

static void test_errors__every_code_has_its_own_text(void **state) {
  (void)state;
  for (int a = PD_EGONE; a <= PD_OK; a++) {
    assert_non_null(pd_errstr(a));
    for (int b = PD_EGONE; b < a; b++) assert_string_not_equal(pd_errstr(a), pd_errstr(b));
  }
  assert_string_equal(pd_errstr(-999), "unknown error code");
}

static void test_errors__library_version_matches_header(void **state) {
  (void)state;
  assert_int_equal(pd_libversion_number(), PERMADICT_VERSION_NUMBER);
  assert_string_equal(pd_libversion(), PERMADICT_VERSION_STRING);
  assert_true(PD_VERSION_COMPATIBLE());
}

static void test_errors__failed_open_sets_out_null_and_thread_message(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "missing-dir/x.db");
  pd_dict *d = (pd_dict *)&d;
  int rc = pd_open(&d, path, NULL);
  assert_int_not_equal(rc, PD_OK);
  assert_null(d);
  assert_non_null(strstr(pd_errmsg(NULL), "missing-dir"));
  assert_int_equal(pd_open(NULL, path, NULL), PD_EINVALID);
  assert_int_equal(pd_sqlite_errcode(NULL), 0);
  assert_null(pd_path(NULL));
  tu_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_errors__every_code_has_its_own_text),
      cmocka_unit_test(test_errors__library_version_matches_header),
      cmocka_unit_test(test_errors__failed_open_sets_out_null_and_thread_message),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
