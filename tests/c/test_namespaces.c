/* test_namespaces.c - isolation, listing, dropping, hostile names. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void test_namespaces__are_isolated_and_listed_sorted(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "n.db");
  pd_dict *a = tu_open(path, "zeta"), *b = tu_open(path, "alpha"), *c = tu_open(path, NULL);
  pd_val k = pd_int(1), va = pd_int(1), vb = pd_int(2), out;
  TU_OK(a, pd_set(a, &k, &va));
  TU_OK(b, pd_set(b, &k, &vb));
  TU_OK(a, pd_get(a, &k, &out));
  assert_int_equal(out.u.i, 1);
  TU_OK(b, pd_get(b, &k, &out));
  assert_int_equal(out.u.i, 2);
  assert_int_equal(pd_get(c, &k, &out), PD_ENOTFOUND);
  char **names;
  size_t n;
  TU_OK(c, pd_namespaces(c, &names, &n));
  assert_int_equal(n, 3);
  assert_string_equal(names[0], "alpha");
  assert_string_equal(names[1], "default");
  assert_string_equal(names[2], "zeta");
  pd_free_names(names, n);
  pd_free_names(NULL, 0);
  pd_close(a);
  pd_close(b);
  pd_close(c);
  tu_rmdir(dir);
}

/* Listing by path opens no namespace: a file without "default" lists fine,
 * and the file is left byte for byte as it was (read-only, nothing created). */
static void test_namespaces__listed_by_path_without_opening_one(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "n.db");
  pd_dict *a = tu_open(path, "zeta"), *b = tu_open(path, "alpha");
  pd_close(a);
  pd_close(b);
  struct stat before, after;
  assert_int_equal(stat(path, &before), 0);
  char **names;
  size_t n;
  assert_int_equal(pd_file_namespaces(path, &names, &n), PD_OK);
  assert_int_equal(n, 2);
  assert_string_equal(names[0], "alpha");
  assert_string_equal(names[1], "zeta");
  pd_free_names(names, n);
  assert_int_equal(stat(path, &after), 0);
  assert_int_equal(before.st_size, after.st_size);
  assert_int_equal(before.st_mtime, after.st_mtime);
  /* "default" was not created by listing. */
  pd_options ro = PD_OPTIONS_INIT;
  ro.readonly = 1;
  assert_int_equal(pd_open(&a, path, &ro), PD_ENOTFOUND);
  /* Failures say why through this thread's open message. */
  assert_int_equal(pd_file_namespaces(tu_path(dir, "missing.db"), &names, &n), PD_ENOTFOUND);
  assert_null(names);
  assert_int_equal(n, 0);
  assert_non_null(strstr(pd_errmsg(NULL), "missing.db"));
  FILE *f = fopen(tu_path(dir, "other.txt"), "w");
  assert_non_null(f);
  fputs("not a database, and not to be touched\n", f);
  fclose(f);
  assert_int_equal(pd_file_namespaces(tu_path(dir, "other.txt"), &names, &n), PD_ENOTADB);
  assert_non_null(strstr(pd_errmsg(NULL), "other.txt"));
  assert_int_equal(pd_file_namespaces(path, NULL, &n), PD_EINVALID);
  tu_rmdir(dir);
}

/* FORMAT.md 2: a name is UTF-8 text of 1..255 bytes without a zero byte. A
 * stored one that is not (another writer's) is reported, never handed out:
 * "a" for 'a\0b' would open (or create) another namespace. pd_check finds
 * it too. */
static void test_namespaces__stored_name_that_is_not_one_is_ecorrupt(void **state) {
  (void)state;
  static const char *const bad[] = {"'a' || char(0) || 'b'", "''", "x'6e73'",
                                    "CAST(x'ff41' AS TEXT)", "printf('%.256c', 'n')"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *dir = tu_tmpdir();
    const char *path = tu_path(dir, "names.db");
    pd_dict *d = tu_open(path, NULL);
    char sql[200];
    snprintf(sql, sizeof sql,
             "INSERT INTO permadict_namespaces (name, slot) VALUES (%s, 1)", bad[i]);
    assert_int_equal(tu_sql(path, sql), 0);
    char **names = NULL;
    size_t n = 0;
    assert_int_equal(pd_namespaces(d, &names, &n), PD_ECORRUPT);
    assert_null(names);
    assert_non_null(strstr(pd_errmsg(d), "namespace id 2"));
    assert_int_equal(pd_file_namespaces(path, &names, &n), PD_ECORRUPT);
    assert_int_equal(pd_check(d), PD_ECORRUPT);
    pd_close(d);
    tu_rmdir(dir);
  }
}

static void test_namespaces__drop_makes_open_handles_gone(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "n.db");
  pd_dict *a = tu_open(path, "victim"), *b = tu_open(path, NULL);
  pd_val k = pd_int(1), v = pd_int(1);
  TU_OK(a, pd_set(a, &k, &v));
  TU_OK(b, pd_set(b, &k, &v));
  TU_OK(b, pd_drop_namespace(b, "victim"));
  assert_int_equal(pd_drop_namespace(b, "victim"), PD_ENOTFOUND);
  int64_t n;
  TU_OK(a, pd_count(a, &n));
  assert_int_equal(n, 0);
  assert_int_equal(pd_get(a, &k, NULL), PD_ENOTFOUND);
  assert_int_equal(pd_set(a, &k, &v), PD_EGONE);
  assert_non_null(strstr(pd_errmsg(a), "victim"));
  assert_int_equal(pd_delete(a, &k), PD_EGONE);
  assert_int_equal(pd_clear(a), PD_EGONE);
  assert_int_equal(pd_incr(a, &k, &v, NULL), PD_EGONE);
  TU_OK(b, pd_count(b, &n));
  assert_int_equal(n, 1);
  TU_OK(b, pd_check(b));
  pd_close(a);
  pd_close(b);
  tu_rmdir(dir);
}

static void test_namespaces__hostile_names_stored_safely_or_rejected(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "n.db");
  const char *ok[] = {"it's", "\"quoted\"", "x\"; DROP TABLE permadict_items; --",
                      "sqlite_master", "permadict_items", "caf\xc3\xa9"};
  pd_dict *d = tu_open(path, NULL);
  pd_val k = pd_int(1), v = pd_int(1);
  TU_OK(d, pd_set(d, &k, &v));
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    pd_dict *x = tu_open(path, ok[i]);
    assert_string_equal(pd_name(x), ok[i]);
    TU_OK(x, pd_set(x, &k, &v));
    pd_close(x);
  }
  char **names;
  size_t n;
  TU_OK(d, pd_namespaces(d, &names, &n));
  assert_int_equal(n, 1 + sizeof ok / sizeof *ok);
  pd_free_names(names, n);
  pd_val out;
  TU_OK(d, pd_get(d, &k, &out)); /* the items table is still there */
  TU_OK(d, pd_check(d));
  char *huge = malloc(10001);
  memset(huge, 'n', 10000);
  huge[10000] = 0;
  pd_options o = PD_OPTIONS_INIT;
  pd_dict *x;
  o.name = huge;
  assert_int_equal(pd_open(&x, path, &o), PD_ETOOBIG);
  assert_int_equal(pd_drop_namespace(d, huge), PD_ETOOBIG);
  free(huge);
  o.name = "";
  assert_int_equal(pd_open(&x, path, &o), PD_EINVALID);
  o.name = "\xff\xfe";
  assert_int_equal(pd_open(&x, path, &o), PD_EINVALID);
  char max[256];
  memset(max, 'm', 255);
  max[255] = 0;
  o.name = max;
  TU_OK(NULL, pd_open(&x, path, &o));
  pd_close(x);
  pd_close(d);
  tu_rmdir(dir);
}

static void test_namespaces__handle_on_dropped_one_never_writes_into_a_new_one(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "n.db");
  /* "victim" gets the highest id; a plain INTEGER PRIMARY KEY would hand it
   * to the next namespace made after the drop. */
  pd_dict *keep = tu_open(path, NULL), *old = tu_open(path, "victim");
  pd_val k = pd_int(1), v = pd_int(1), w = pd_int(2), out;
  TU_OK(old, pd_set(old, &k, &v));
  TU_OK(keep, pd_drop_namespace(keep, "victim"));
  pd_dict *fresh = tu_open(path, "newcomer");
  TU_OK(fresh, pd_set(fresh, &k, &v)); /* in the slot "victim" had */
  assert_int_equal(pd_set(old, &k, &w), PD_EGONE);
  assert_int_equal(pd_delete(old, &k), PD_EGONE);
  assert_int_equal(pd_get(old, &k, &out), PD_ENOTFOUND);
  int64_t n = -1;
  TU_OK(old, pd_count(old, &n));
  assert_int_equal(n, 0);
  TU_OK(fresh, pd_get(fresh, &k, &out));
  assert_int_equal(out.u.i, 1);
  TU_OK(fresh, pd_count(fresh, &n));
  assert_int_equal(n, 1);
  /* Recreating the dropped name does not revive the old handle either. */
  pd_dict *again = tu_open(path, "victim");
  assert_int_equal(pd_set(old, &k, &w), PD_EGONE);
  assert_int_equal(pd_get(again, &k, &out), PD_ENOTFOUND);
  TU_OK(keep, pd_check(keep));
  pd_close(again);
  pd_close(fresh);
  pd_close(old);
  pd_close(keep);
  tu_rmdir(dir);
}

/* A process dropping a namespace over and over while another opens it with
 * create: every open succeeds (the namespace it attaches may be dropped
 * right after, which its calls then report). The lookup after creating ran
 * after the commit, and a drop in between failed the open with PD_ERROR. */
static const char *racing_path;
static int drop_racy_until_stopped(void *arg) {
  (void)arg;
  pd_options o = PD_OPTIONS_INIT;
  o.timeout_ms = 30000;
  pd_dict *d = NULL;
  if (pd_open(&d, racing_path, &o) != PD_OK) return 1;
  struct stat st;
  char stop[4200];
  snprintf(stop, sizeof stop, "%s.stop", racing_path);
  while (stat(stop, &st) != 0) {
    int rc = pd_drop_namespace(d, "racy");
    if (rc != PD_OK && rc != PD_ENOTFOUND) return 2;
  }
  pd_close(d);
  return 0;
}

static void test_namespaces__open_with_create_survives_concurrent_drops(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  racing_path = tu_path(dir, "race.db");
  pd_close(tu_open(racing_path, NULL));
  pid_t dropper = tu_fork(drop_racy_until_stopped, NULL);
  pd_options o = PD_OPTIONS_INIT;
  o.name = "racy";
  o.timeout_ms = 30000;
  int failed = 0;
  for (int i = 0; i < 1500 && !failed; i++) {
    pd_dict *d = NULL;
    int rc = pd_open(&d, racing_path, &o);
    if (rc != PD_OK) {
      failed = 1;
      print_error("open %d -> %d: %s\n", i, rc, pd_errmsg(NULL));
    }
    pd_close(d);
  }
  tu_write_file(tu_path(dir, "race.db.stop"), "", 0);
  assert_int_equal(tu_wait(dropper), 0);
  assert_false(failed);
  tu_rmdir(dir);
}

/* FORMAT.md 2: a namespace takes the lowest free slot, slots of dropped
 * namespaces are reused, and a file holds at most 2^19 namespaces. */
static void test_namespaces__slots_are_reused_and_bounded(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "slots.db");
  pd_dict *d = tu_open(path, NULL);
  pd_val k = pd_int(1), v = pd_int(7), out;
  TU_OK(d, pd_set(d, &k, &v));
  assert_int_equal(tu_sql_int(path, "SELECT slot FROM permadict_namespaces"), 0);
  /* Slots 1 .. 524287, named n1 .. n524287, as another writer would. */
  assert_int_equal(tu_sql(path, "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
                                "WHERE i < 524287) INSERT INTO permadict_namespaces (name, slot) "
                                "SELECT 'n' || i, i FROM s"),
                   0);
  pd_options o = PD_OPTIONS_INIT;
  o.name = "one_too_many";
  pd_dict *x = NULL;
  assert_int_equal(pd_open(&x, path, &o), PD_EFULL);
  assert_non_null(strstr(pd_errmsg(x), "524288"));
  pd_close(x);
  TU_OK(d, pd_drop_namespace(d, "n1000"));
  pd_dict *fresh = tu_open(path, "one_too_many");
  assert_int_equal(
      tu_sql_int(path, "SELECT slot FROM permadict_namespaces WHERE name = 'one_too_many'"), 1000);
  TU_OK(fresh, pd_set(fresh, &k, &k));
  TU_OK(d, pd_get(d, &k, &out));
  assert_int_equal(out.u.i, 7);
  TU_OK(fresh, pd_get(fresh, &k, &out));
  assert_int_equal(out.u.i, 1);
  pd_close(fresh);
  pd_close(d);
  tu_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_namespaces__are_isolated_and_listed_sorted),
      cmocka_unit_test(test_namespaces__listed_by_path_without_opening_one),
      cmocka_unit_test(test_namespaces__stored_name_that_is_not_one_is_ecorrupt),
      cmocka_unit_test(test_namespaces__drop_makes_open_handles_gone),
      cmocka_unit_test(test_namespaces__hostile_names_stored_safely_or_rejected),
      cmocka_unit_test(test_namespaces__handle_on_dropped_one_never_writes_into_a_new_one),
      cmocka_unit_test(test_namespaces__slots_are_reused_and_bounded),
      cmocka_unit_test(test_namespaces__open_with_create_survives_concurrent_drops),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
