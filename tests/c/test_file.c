/* test_file.c - file identity, refusal of other files, atomic creation,
 * file mode, sidecar symlinks, replaced/deleted files, read-only handles. */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void expect_refused(const char *path, int code, const char *words) {
  uint64_t before = tu_file_hash(path);
  pd_dict *d = (pd_dict *)1;
  assert_int_equal(pd_open(&d, path, NULL), code);
  assert_null(d);
  assert_non_null(strstr(pd_errmsg(NULL), path));
  if (words) assert_non_null(strstr(pd_errmsg(NULL), words));
  assert_true(tu_file_hash(path) == before);
  char side[4200];
  snprintf(side, sizeof side, "%s-wal", path);
  assert_int_equal(access(side, F_OK), -1);
}

static void test_file__refuses_non_sqlite_and_empty_files_unchanged(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *txt = tu_path(dir, "notes.txt"), *empty = tu_path(dir, "empty.db");
  char text[200];
  memset(text, 'x', sizeof text); /* longer than an SQLite header */
  memcpy(text, "hello, not a database", 21);
  tu_write_file(txt, text, sizeof text);
  tu_write_file(empty, "", 0);
  expect_refused(txt, PD_ENOTADB, "not an SQLite database");
  expect_refused(empty, PD_ENOTADB, "empty");
  tu_rmdir(dir);
}

static void test_file__refuses_foreign_and_newer_sqlite_files_unchanged(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *zero = tu_path(dir, "zero.db"), *newer = tu_path(dir, "newer.db");
  /* Make permadict files, then give them another identity behind our back. */
  pd_dict *d = tu_open(newer, NULL);
  pd_close(d);
  assert_int_equal(tu_sql(newer, "PRAGMA user_version = 4; PRAGMA wal_checkpoint(TRUNCATE);"), 0);
  expect_refused(newer, PD_EFORMAT, "version 4");
  /* Versions 1 and 2 (development builds) are older: refused, never converted. */
  assert_int_equal(tu_sql(newer, "PRAGMA user_version = 2; PRAGMA wal_checkpoint(TRUNCATE);"), 0);
  expect_refused(newer, PD_EFORMAT, "older than this library's version 3");
  assert_int_equal(tu_sql(newer, "PRAGMA user_version = 1; PRAGMA wal_checkpoint(TRUNCATE);"), 0);
  expect_refused(newer, PD_EFORMAT, "older than this library's version 3");
  d = tu_open(zero, NULL);
  pd_close(d);
  assert_int_equal(tu_sql(zero, "PRAGMA application_id = 0; PRAGMA wal_checkpoint(TRUNCATE);"), 0);
  expect_refused(zero, PD_EFORMAT, "not a permadict file");
  assert_int_equal(tu_sql(zero, "PRAGMA application_id = 1234; PRAGMA wal_checkpoint(TRUNCATE);"), 0);
  expect_refused(zero, PD_EFORMAT, "not a permadict file");
  /* Our marks in a rollback-journal file without our tables: refused before
   * the conversion to WAL (which changes the file's header). */
  const char *marks = tu_path(dir, "marks.db");
  tu_write_file(marks, "", 0); /* an empty file is an empty database to SQLite */
  assert_int_equal(tu_sql(marks, "PRAGMA application_id = 1885696621; PRAGMA user_version = 3;"
                                 "CREATE TABLE other (x);"),
                   0);
  expect_refused(marks, PD_EFORMAT, "marks but not its tables");
  tu_rmdir(dir);
}

static void test_file__new_file_is_mode_0600_and_wal(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "new.db");
  mode_t old = umask(022);
  pd_dict *d = tu_open(path, NULL);
  umask(old);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  unsigned char h[100];
  int fd = open(path, O_RDONLY);
  assert_int_equal(read(fd, h, 100), 100);
  close(fd);
  assert_int_equal(h[18], 2);
  assert_int_equal(h[19], 2);
  assert_int_equal(h[68] << 24 | h[69] << 16 | h[70] << 8 | h[71], 0x7065726D);
  assert_int_equal(h[63], 3);
  pd_stats s;
  TU_OK(d, pd_stats_get(d, &s));
  assert_int_equal(s.format_version, 3);
  assert_true(s.file_bytes > 0);
  pd_close(d);
  tu_rmdir(dir);
}

static void test_file__missing_file_without_create_or_readonly_is_not_created(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "missing.db");
  pd_options o = PD_OPTIONS_INIT;
  pd_dict *d;
  o.readonly = 1;
  assert_int_equal(pd_open(&d, path, &o), PD_ENOTFOUND);
  o.readonly = 0;
  o.create = 0;
  assert_int_equal(pd_open(&d, path, &o), PD_ENOTFOUND);
  assert_int_equal(access(path, F_OK), -1);
  assert_int_equal(pd_open(&d, "", NULL), PD_EINVALID);
  o.version = 99;
  assert_int_equal(pd_open(&d, path, &o), PD_EINVALID);
  tu_rmdir(dir);
}

static int create_race_child(void *arg) {
  pd_dict *d = NULL;
  if (pd_open(&d, (const char *)arg, NULL) != PD_OK) return 1;
  pd_val k = pd_int(getpid()), v = pd_int(1);
  int rc = pd_set(d, &k, &v);
  pd_close(d);
  return rc == PD_OK ? 0 : 2;
}

static void test_file__concurrent_creation_gives_one_valid_file(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "race.db");
  pid_t kids[4];
  for (int i = 0; i < 4; i++) kids[i] = tu_fork(create_race_child, (void *)path);
  for (int i = 0; i < 4; i++) assert_int_equal(tu_wait(kids[i]), 0);
  pd_dict *d = tu_open(path, NULL);
  int64_t n;
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(n, 4);
  TU_OK(d, pd_check(d));
  pd_close(d);
  tu_rmdir(dir);
}

static void test_file__symlinked_wal_is_refused(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "s.db"), *wal = tu_path(dir, "s.db-wal"),
             *victim = tu_path(dir, "victim");
  pd_close(tu_open(path, NULL));
  tu_write_file(victim, "precious", 8);
  assert_int_equal(symlink(victim, wal), 0);
  pd_dict *d;
  assert_int_equal(pd_open(&d, path, NULL), PD_EINVALID);
  assert_non_null(strstr(pd_errmsg(NULL), "symbolic link"));
  unlink(wal);
  assert_int_equal(symlink(victim, tu_path(dir, "s.db-shm")), 0);
  assert_int_equal(pd_open(&d, path, NULL), PD_EINVALID);
  tu_rmdir(dir);
}

/* SQLite finds the -wal and -shm by the name a file is opened with, so a
 * process opening a second hard link would commit to a WAL of its own:
 * refused (left unchanged), while a symbolic link to it opens the one file. */
static void test_file__file_with_two_hard_links_is_refused(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "h.db"), *other = tu_path(dir, "other.db"),
             *soft = tu_path(dir, "soft.db");
  pd_dict *d = tu_open(path, NULL);
  pd_val k = pd_text("n", 1), v = pd_int(1), out;
  TU_OK(d, pd_set(d, &k, &v));
  pd_close(d);
  assert_int_equal(link(path, other), 0);
  expect_refused(other, PD_EINVALID, "2 hard links");
  expect_refused(path, PD_EINVALID, "2 hard links");
  assert_int_equal(unlink(other), 0);
  assert_int_equal(symlink("h.db", soft), 0);
  d = tu_open(soft, NULL);
  TU_OK(d, pd_get(d, &k, &out));
  assert_int_equal(out.u.i, 1);
  pd_close(d);
  tu_rmdir(dir);
}

/* A symbolic link to a file that does not exist: nothing is created, not
 * through the link (wherever it points) and not in place of it, and the
 * message says what the path is, whatever the options. */
static void test_file__dangling_symlink_is_refused_not_created_through(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *link_path = tu_path(dir, "l.db"), *target = tu_path(dir, "target.db");
  const char *deep = tu_path(dir, "nowhere/x.db");
  pd_options ro = PD_OPTIONS_INIT;
  ro.readonly = 1;
  const pd_options *opts[] = {NULL, &ro};
  const char *targets[] = {target, deep}; /* its directory exists, or not */
  for (int t = 0; t < 2; t++) {
    assert_int_equal(symlink(targets[t], link_path), 0);
    for (int i = 0; i < 2; i++) {
      pd_dict *d = (pd_dict *)1;
      assert_int_equal(pd_open(&d, link_path, opts[i]), PD_ENOTFOUND);
      assert_null(d);
      assert_non_null(strstr(pd_errmsg(NULL), link_path));
      assert_non_null(strstr(pd_errmsg(NULL), "symbolic link whose target does not exist"));
    }
    assert_int_equal(access(targets[t], F_OK), -1);
    struct stat st;
    assert_int_equal(lstat(link_path, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(unlink(link_path), 0);
  }
  /* No temporary file of an attempted creation was left behind either. */
  DIR *dh = opendir(dir);
  assert_non_null(dh);
  int left = 0;
  for (struct dirent *e; (e = readdir(dh));) left += e->d_name[0] != '.';
  closedir(dh);
  assert_int_equal(left, 0);
  tu_rmdir(dir);
}

static void test_file__replaced_or_deleted_file_gives_egone_on_write(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "g.db"), *other = tu_path(dir, "o.db");
  pd_dict *d = tu_open(path, NULL);
  pd_val k = pd_int(1), v = pd_int(2);
  TU_OK(d, pd_set(d, &k, &v));
  pd_close(tu_open(other, NULL));
  assert_int_equal(rename(other, path), 0); /* replaced */
  assert_int_equal(pd_set(d, &k, &v), PD_EGONE);
  assert_non_null(strstr(pd_errmsg(d), "replaced"));
  pd_close(d);

  d = tu_open(path, NULL);
  TU_OK(d, pd_set(d, &k, &v));
  assert_int_equal(unlink(path), 0); /* deleted */
  assert_int_equal(pd_set(d, &k, &v), PD_EGONE);
  assert_int_equal(pd_begin(d), PD_EGONE);
  assert_int_equal(pd_in_transaction(d), 0);
  pd_close(d);
  tu_rmdir(dir);
}

/* A name that starts with "file:" is a file of that name, never an SQLite
 * URI for another file (Debian's SQLite reads URIs in every name). */
static void test_file__name_starting_with_file_colon_is_that_file(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  char cwd[4096];
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(dir), 0);
  pd_dict *real = tu_open("uri.db", NULL);
  pd_val k = pd_int(1), v = pd_text("real", 4), w = pd_text("via name", 8), out;
  TU_OK(real, pd_set(real, &k, &v));
  pd_close(real);
  pd_dict *d = tu_open("file:uri.db", NULL); /* as a URI: uri.db itself */
  TU_OK(d, pd_set(d, &k, &w));
  pd_close(d);
  assert_int_equal(access("file:uri.db", F_OK), 0);
  real = tu_open("uri.db", NULL);
  TU_OK(real, pd_get(real, &k, &out));
  assert_int_equal(out.u.s.len, 4); /* "real": the other file was not touched */
  pd_close(real);
  d = tu_open("file:uri.db?mode=ro", NULL); /* a query is part of the name, too */
  TU_OK(d, pd_set(d, &k, &w));
  pd_close(d);
  assert_int_equal(access("file:uri.db?mode=ro", F_OK), 0);
  assert_int_equal(chdir(cwd), 0);
  tu_rmdir(dir);
}

static void test_file__readonly_handle_refuses_writes(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "ro.db");
  pd_dict *w = tu_open(path, NULL);
  pd_val k = pd_text("k", 1), v = pd_int(1), out;
  TU_OK(w, pd_set(w, &k, &v));
  pd_options o = PD_OPTIONS_INIT;
  o.readonly = 1;
  pd_dict *r;
  TU_OK(NULL, pd_open(&r, path, &o));
  TU_OK(r, pd_get(r, &k, &out));
  assert_int_equal(out.u.i, 1);
  assert_int_equal(pd_set(r, &k, &v), PD_EREADONLY);
  assert_int_equal(pd_delete(r, &k), PD_EREADONLY);
  assert_int_equal(pd_clear(r), PD_EREADONLY);
  assert_int_equal(pd_incr(r, &k, &v, NULL), PD_EREADONLY);
  assert_int_equal(pd_pop(r, &k, &out), PD_EREADONLY);
  pd_val absent = pd_text("absent", 6);
  assert_int_equal(pd_pop(r, &absent, &out), PD_ENOTFOUND); /* nothing to write */
  assert_int_equal(pd_begin(r), PD_EREADONLY);
  assert_int_equal(pd_drop_namespace(r, "default"), PD_EREADONLY);
  assert_non_null(strstr(pd_errmsg(r), "read-only"));
  pd_close(w);
  o.name = "nope";
  assert_int_equal(pd_open(&w, path, &o), PD_ENOTFOUND);
  assert_null(w);
  assert_non_null(strstr(pd_errmsg(NULL), "nope"));
  pd_close(r);
  tu_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_file__refuses_non_sqlite_and_empty_files_unchanged),
      cmocka_unit_test(test_file__refuses_foreign_and_newer_sqlite_files_unchanged),
      cmocka_unit_test(test_file__new_file_is_mode_0600_and_wal),
      cmocka_unit_test(test_file__missing_file_without_create_or_readonly_is_not_created),
      cmocka_unit_test(test_file__concurrent_creation_gives_one_valid_file),
      cmocka_unit_test(test_file__symlinked_wal_is_refused),
      cmocka_unit_test(test_file__file_with_two_hard_links_is_refused),
      cmocka_unit_test(test_file__dangling_symlink_is_refused_not_created_through),
      cmocka_unit_test(test_file__replaced_or_deleted_file_gives_egone_on_write),
      cmocka_unit_test(test_file__name_starting_with_file_colon_is_that_file),
      cmocka_unit_test(test_file__readonly_handle_refuses_writes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
