/* test_errors.c - fixed texts, versions, and the thread's open message. */
#include "testutil.h"

#include <pthread.h>
#include <unistd.h>
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

/* Thread A sits inside the handle in pd_wait until the main thread commits
 * through another handle. */
typedef struct waiter {
  pd_dict *d;
  int64_t since;
  int rc;
} waiter;

static void *wait_inside(void *arg) {
  waiter *w = arg;
  /* The main thread's probes may be inside at the moment: then retry. */
  do w->rc = pd_wait(w->d, w->since, 10000, NULL);
  while (w->rc == PD_EMISUSE);
  return NULL;
}

static void *read_errmsg(void *arg) {
  pd_dict *d = arg;
  return (void *)pd_errmsg(d);
}

static void test_errors__second_thread_gets_misuse_with_its_own_message(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "t.db");
  pd_dict *d = tu_open(path, NULL), *other = tu_open(path, NULL);
  pd_val k = pd_int(42), out;
  assert_int_equal(pd_get(d, &k, &out), PD_ENOTFOUND);
  char before[512];
  strcpy(before, pd_errmsg(d));
  assert_non_null(strstr(before, "42"));
  waiter w = {d, 0, -1};
  TU_OK(d, pd_version(d, &w.since));
  pthread_t a;
  assert_int_equal(pthread_create(&a, NULL, wait_inside, &w), 0);
  int rc = PD_OK;
  int64_t v;
  for (int i = 0; i < 20000 && rc == PD_OK; i++) {
    rc = pd_version(d, &v);
    if (rc == PD_OK) usleep(100);
  }
  assert_int_equal(rc, PD_EMISUSE);
  /* This thread's message says what happened... */
  assert_non_null(strstr(pd_errmsg(d), "another thread"));
  assert_int_equal(pd_sqlite_errcode(d), 0);
  /* ...while the handle's own buffer, thread A's, was not written. */
  pthread_t c;
  void *seen = NULL;
  assert_int_equal(pthread_create(&c, NULL, read_errmsg, d), 0);
  pthread_join(c, &seen);
  assert_string_equal((const char *)seen, before);
  TU_OK(other, pd_set(other, &k, &k)); /* wakes thread A */
  pthread_join(a, NULL);
  assert_int_equal(w.rc, PD_OK);
  /* Back inside, this thread sees the handle's messages again. */
  assert_int_equal(pd_delete(d, &(pd_val){PD_INT, 0, {.i = 7}}), PD_ENOTFOUND);
  assert_null(strstr(pd_errmsg(d), "another thread"));
  assert_non_null(strstr(pd_errmsg(d), "7"));
  pd_close(other);
  pd_close(d);
  tu_rmdir(dir);
}

/* get and contains write their not-found message only when it is asked for
 * (errors.c); it must read exactly as if written at once, and give way to
 * any later error. */
/* A key shown in a message is cut at 40 bytes, never inside a UTF-8
 * character: the message must stay valid UTF-8 (a binding decodes it). */
static void test_errors__a_long_key_is_cut_between_characters(void **state) {
  (void)state;
  pd_dict *d = tu_open(":memory:", NULL);
  char key[43];
  memset(key, 'a', 39);
  memcpy(key + 39, "\xc3\xa9zz", 4); /* the 40th byte starts an e-acute */
  pd_val k = pd_text(key, sizeof key), bad = pd_text("\xff", 1), out;
  assert_int_equal(pd_set(d, &k, &bad), PD_EINVALID);
  assert_true(pd_utf8_valid(pd_errmsg(d), strlen(pd_errmsg(d))));
  assert_non_null(strstr(pd_errmsg(d), "aaaaaaaaa...'"));
  assert_int_equal(pd_get(d, &k, &out), PD_ENOTFOUND);
  assert_true(pd_utf8_valid(pd_errmsg(d), strlen(pd_errmsg(d))));
  pd_close(d);
}

static void test_errors__not_found_message_names_the_key(void **state) {
  (void)state;
  pd_dict *d = tu_open(":memory:", NULL);
  const char long_key[] = "0123456789012345678901234567890123456789-and-more";
  pd_val out, neg = pd_int(-42), one = pd_int(1), two = pd_int(2), empty = pd_text("", 0);
  pd_val quoted = pd_text("caf\xc3\xa9 'x'", 9), raw = pd_bytes("\0\x01" "a", 3);
  pd_val longer = pd_text(long_key, sizeof long_key - 1);
  assert_int_equal(pd_get(d, &neg, &out), PD_ENOTFOUND);
  assert_string_equal(pd_errmsg(d), "key -42 not found");
  assert_string_equal(pd_errmsg(d), "key -42 not found"); /* asking twice */
  assert_int_equal(pd_contains(d, &quoted), PD_ENOTFOUND);
  assert_string_equal(pd_errmsg(d), "key 'caf\xc3\xa9 \\x27x\\x27' not found");
  assert_int_equal(pd_get(d, &longer, &out), PD_ENOTFOUND);
  assert_string_equal(pd_errmsg(d),
                      "key '0123456789012345678901234567890123456789...' not found");
  assert_int_equal(pd_get(d, &raw, &out), PD_ENOTFOUND);
  /* A later error replaces a not-found message that was never read... */
  assert_int_equal(pd_set(d, &empty, NULL), PD_EINVALID);
  assert_null(strstr(pd_errmsg(d), "not found"));
  assert_int_equal(pd_get(d, &raw, &out), PD_ENOTFOUND);
  assert_string_equal(pd_errmsg(d), "key b'\\x00\\x01a' not found");
  /* ...and a successful call leaves the last error's message as it was. */
  assert_int_equal(pd_get(d, &one, &out), PD_ENOTFOUND);
  TU_OK(d, pd_set(d, &one, &two));
  assert_string_equal(pd_errmsg(d), "key 1 not found");
  pd_close(d);
}

/* A reopen that fails writes its own message (the file checks write it
 * directly): a not-found message still waiting to be written must not
 * replace it. */
static void test_errors__failed_reopen_message_wins_over_an_earlier_miss(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "gone.db");
  pd_dict *d = tu_open(path, NULL);
  pd_close(d);
  pd_options o = PD_OPTIONS_INIT;
  o.create = 0;
  assert_int_equal(pd_open(&d, path, &o), PD_OK);
  pd_val k = pd_int(1), out;
  assert_int_equal(pd_get(d, &k, &out), PD_ENOTFOUND);
  assert_int_equal(unlink(path), 0);
  assert_int_not_equal(pd_reopen(d), PD_OK);
  assert_null(strstr(pd_errmsg(d), "not found"));
  assert_non_null(strstr(pd_errmsg(d), "gone.db"));
  pd_close(d);
  tu_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_errors__every_code_has_its_own_text),
      cmocka_unit_test(test_errors__library_version_matches_header),
      cmocka_unit_test(test_errors__failed_open_sets_out_null_and_thread_message),
      cmocka_unit_test(test_errors__second_thread_gets_misuse_with_its_own_message),
      cmocka_unit_test(test_errors__a_long_key_is_cut_between_characters),
      cmocka_unit_test(test_errors__not_found_message_names_the_key),
      cmocka_unit_test(test_errors__failed_reopen_message_wins_over_an_earlier_miss),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
