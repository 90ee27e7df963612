/* test_txn.c - explicit transactions, misuse, busy timeout, threads. */
#include "testutil.h"

#include <pthread.h>
#include <sqlite3.h> /* types only: functions through tu_sqlite_sym */
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

/* ----------------------------------- a commit inside the carry's window */

/* Another process, forked before this one opens anything, that on command
 * 'S' sets a key in namespace "ns" and on 'D' drops "ns"; it answers with
 * the PD code as an int64. */
typedef struct helper {
  const char *path;
  int cmd[2], reply[2];
  pid_t pid;
} helper;

static int64_t helper_run(const helper *h, char c) {
  pd_options o = PD_OPTIONS_INIT;
  o.name = "ns"; /* a handle on the namespace it drops: one commit, no more */
  o.create = 0;
  pd_dict *d = NULL;
  int rc = pd_open(&d, h->path, &o);
  if (rc) return rc;
  pd_val k = pd_int(100), v = pd_int(100);
  rc = c == 'S' ? pd_set(d, &k, &v) : c == 'D' ? pd_drop_namespace(d, "ns") : PD_EINVALID;
  pd_close(d);
  return rc;
}

static int helper_main(void *arg) {
  helper *h = arg;
  close(h->cmd[1]);
  close(h->reply[0]);
  char c;
  while (read(h->cmd[0], &c, 1) == 1) { /* EOF: the parent is done */
    int64_t out = helper_run(h, c);
    if (write(h->reply[1], &out, sizeof out) != (ssize_t)sizeof out) return 1;
  }
  return 0;
}

static void helper_start(helper *h, const char *path) {
  h->path = path;
  if (pipe(h->cmd) != 0 || pipe(h->reply) != 0) fail_msg("pipe failed");
  h->pid = tu_fork(helper_main, h);
  close(h->cmd[0]);
  close(h->reply[1]);
}

static void helper_stop(helper *h) {
  close(h->cmd[1]);
  close(h->reply[0]);
  assert_int_equal(tu_wait(h->pid), 0);
}

/* A VFS over SQLite's default one with two hooks. Once armed, the moment a
 * connection of this process lets go of the WAL write lock (the end of
 * COMMIT, before the library reads the commit stamp) it has the helper
 * commit, then lets the caller go on. That is the window the version carry
 * must not be fooled by, made wide and certain. And while fail_reads is
 * set, every read of the database or its WAL fails as a disk would. */
static sqlite3_vfs *real_vfs, shim_vfs;
/* The database and its WAL have methods of their own (the WAL's take no
 * locks), so each is wrapped apart. */
static const sqlite3_io_methods *real_io, *real_wal_io;
static sqlite3_io_methods shim_io, shim_wal_io;
static helper *armed_helper;
static char armed_cmd; /* 0 once the hook has run */
static int64_t armed_reply;
static int fail_reads, reads_failed;

static int read_fails(void) {
  reads_failed += fail_reads;
  return fail_reads;
}

static int shim_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 ofst) {
  return read_fails() ? SQLITE_IOERR_READ : real_io->xRead(f, buf, n, ofst);
}

static int shim_wal_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 ofst) {
  return read_fails() ? SQLITE_IOERR_READ : real_wal_io->xRead(f, buf, n, ofst);
}

static int shim_shm_lock(sqlite3_file *f, int ofst, int n, int flags) {
  int rc = real_io->xShmLock(f, ofst, n, flags);
  if (armed_cmd && ofst == 0 /* WAL_WRITE_LOCK */ && n == 1 &&
      flags == (SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE)) {
    char c = armed_cmd;
    armed_cmd = 0;
    /* No cmocka failure from inside SQLite: a bad answer is checked after. */
    armed_reply = -1000;
    if (write(armed_helper->cmd[1], &c, 1) == 1 &&
        read(armed_helper->reply[0], &armed_reply, sizeof armed_reply) != sizeof armed_reply)
      armed_reply = -1000;
  }
  return rc;
}

static int shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
                     int *out_flags) {
  (void)vfs;
  int rc = real_vfs->xOpen(real_vfs, name, f, flags, out_flags);
  if (rc == SQLITE_OK && (flags & SQLITE_OPEN_MAIN_DB) && f->pMethods &&
      f->pMethods->iVersion >= 2) {
    if (!real_io) {
      real_io = f->pMethods;
      shim_io = *real_io;
      shim_io.xShmLock = shim_shm_lock;
      shim_io.xRead = shim_read;
    }
    if (f->pMethods == real_io) f->pMethods = &shim_io;
  }
  if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) && f->pMethods) {
    if (!real_wal_io) {
      real_wal_io = f->pMethods;
      shim_wal_io = *real_wal_io;
      shim_wal_io.xRead = shim_wal_read;
    }
    if (f->pMethods == real_wal_io) f->pMethods = &shim_wal_io;
  }
  return rc;
}

static void shim_install(void) {
  real_vfs = ((sqlite3_vfs * (*)(const char *)) tu_sqlite_sym("sqlite3_vfs_find"))(NULL);
  assert_non_null(real_vfs);
  shim_vfs = *real_vfs;
  shim_vfs.zName = "pd-test-commit-window";
  shim_vfs.pNext = NULL;
  shim_vfs.xOpen = shim_open;
  int (*reg)(sqlite3_vfs *, int) =
      (int (*)(sqlite3_vfs *, int))tu_sqlite_sym("sqlite3_vfs_register");
  assert_int_equal(reg(&shim_vfs, 1), SQLITE_OK);
}

static void shim_remove(void) {
  int (*unreg)(sqlite3_vfs *) = (int (*)(sqlite3_vfs *))tu_sqlite_sym("sqlite3_vfs_unregister");
  assert_int_equal(unreg(&shim_vfs), SQLITE_OK);
  real_io = real_wal_io = NULL;
}

static void arm(helper *h, char c) {
  armed_helper = h;
  armed_reply = -1000;
  armed_cmd = c;
}

/* The hook ran, and the helper's commit succeeded. */
static void expect_helper_committed(void) {
  assert_int_equal(armed_cmd, 0);
  assert_int_equal(armed_reply, PD_OK);
}

/* A transaction that wrote nothing (a compare-and-swap that did not match,
 * an empty pd_begin/pd_commit) has no commit of its own: a commit by
 * another process right after it must not be taken for ours, or the
 * handle carries a stale version (its next new key collides: "UNIQUE
 * constraint failed") or writes into a namespace that was dropped. */
static void test_txn__commit_that_wrote_nothing_carries_no_version(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "carry.db");
  pd_close(tu_open(path, "ns"));
  helper h;
  helper_start(&h, path);
  shim_install();
  pd_options o = PD_OPTIONS_INIT;
  o.name = "ns";
  pd_dict *d = NULL;
  TU_OK(NULL, pd_open(&d, path, &o));
  pd_val k1 = pd_int(1), k2 = pd_int(2), one = pd_int(1), two = pd_int(2);
  int64_t version = 0;
  int swapped = -1;
  TU_OK(d, pd_set(d, &k1, &one)); /* version 1, carried to the next write */

  arm(&h, 'S'); /* the helper's set makes version 2 */
  TU_OK(d, pd_compare_and_swap(d, &k1, &two, &two, &swapped));
  assert_int_equal(swapped, 0);
  expect_helper_committed();
  TU_OK(d, pd_set(d, &k2, &one));
  TU_OK(d, pd_version(d, &version));
  assert_int_equal(version, 3);

  arm(&h, 'D');
  TU_OK(d, pd_begin(d));
  TU_OK(d, pd_commit(d));
  expect_helper_committed();
  assert_int_equal(pd_set(d, &k2, &two), PD_EGONE);
  assert_non_null(strstr(pd_errmsg(d), "dropped"));
  pd_close(d);
  shim_remove();
  helper_stop(&h);

  pd_dict *c = tu_open(path, NULL); /* no rows left outside a namespace */
  TU_OK(c, pd_check(c));
  pd_close(c);
  tu_rmdir(dir);
}

/* SQLite rolls a transaction back by itself on an I/O error, also in a
 * statement that only reads. A write after that must not go on as if the
 * transaction were open (each write would commit alone, and the rest of the
 * transaction later too): it is refused until pd_rollback. */
static void test_txn__write_after_a_read_error_ended_the_transaction_is_refused(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "ioerr.db");
  pd_dict *w = tu_open(path, NULL);
  /* Enough entries for many pages, so that a lookup of the last key reads
   * pages a new handle has not read yet. */
  enum { N = 2000 };
  char text[200];
  memset(text, 'x', sizeof text);
  pd_val v = pd_text(text, sizeof text), one = pd_int(1), out;
  TU_OK(w, pd_begin(w));
  for (int i = 0; i < N; i++) {
    pd_val k = pd_int(i);
    TU_OK(w, pd_set(w, &k, &v));
  }
  TU_OK(w, pd_commit(w));
  shim_install();
  pd_dict *d = NULL;
  TU_OK(NULL, pd_open(&d, path, NULL));
  TU_OK(d, pd_begin(d));
  pd_val last = pd_int(N - 1), fresh = pd_int(N);
  reads_failed = 0;
  fail_reads = 1;
  int rc = pd_get(d, &last, &out);
  fail_reads = 0;
  assert_true(reads_failed > 0);
  assert_int_equal(rc, PD_EIO);

  assert_int_equal(pd_set(d, &fresh, &one), PD_EMISUSE);
  assert_non_null(strstr(pd_errmsg(d), "rolled back"));
  assert_int_equal(pd_get(w, &fresh, &out), PD_ENOTFOUND); /* nothing was written */
  TU_OK(d, pd_rollback(d));
  TU_OK(d, pd_set(d, &fresh, &one)); /* the handle works again */
  TU_OK(w, pd_get(w, &fresh, &out));
  pd_close(d);

  /* pd_commit right after such a read says the same, not that no
   * transaction is active. A new handle: d has the pages cached now. */
  TU_OK(NULL, pd_open(&d, path, NULL));
  TU_OK(d, pd_begin(d));
  fail_reads = 1;
  rc = pd_get(d, &last, &out);
  fail_reads = 0;
  assert_int_equal(rc, PD_EIO);
  assert_int_equal(pd_commit(d), PD_EIO);
  assert_non_null(strstr(pd_errmsg(d), "rolled back after an earlier error"));
  assert_false(pd_in_transaction(d));
  pd_close(d);
  shim_remove();
  TU_OK(w, pd_check(w));
  pd_close(w);
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
      cmocka_unit_test(test_txn__commit_that_wrote_nothing_carries_no_version),
      cmocka_unit_test(test_txn__write_after_a_read_error_ended_the_transaction_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
