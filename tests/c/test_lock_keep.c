/*
 * test_lock_keep.c - opening another handle on a file must never drop the
 * POSIX locks that the handles already open in this process hold on it.
 *
 * Why it matters: fcntl() record locks belong to the (process, inode) pair,
 * and close() of ANY descriptor on the inode drops all of them (SQLite's
 * "How To Corrupt", 2.2). In WAL mode each open connection holds a SHARED
 * lock on the database file for its whole life; that lock is what stops
 * another process, when it closes its last connection, from taking
 * EXCLUSIVE, checkpointing and deleting the -wal that our connection still
 * writes into. Commits made after that go to an unlinked file: other
 * processes never see them.
 *
 * The other process here is a helper forked before the parent opens
 * anything, so it inherits none of SQLite's per-process lock bookkeeping;
 * the two talk over a pair of pipes, one command byte and one int64 answer.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* SQLite's unix VFS takes its SHARED lock as a read lock on these bytes
 * (os.c: PENDING_BYTE 0x40000000, SHARED_FIRST = PENDING_BYTE + 2,
 * SHARED_SIZE 510). */
#define SQLITE_SHARED_FIRST 0x40000002
#define SQLITE_SHARED_SIZE 510

typedef struct helper {
  const char *path;
  int cmd[2];   /* parent writes commands into cmd[1] */
  int reply[2]; /* helper writes answers into reply[1] */
  pid_t pid;
} helper;

/* 'L': the pid owning a lock that conflicts with a write lock on the
 * SHARED range, or 0 when nothing does; negative errno on failure. */
static int64_t probe_shared_lock(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = SQLITE_SHARED_FIRST;
  fl.l_len = SQLITE_SHARED_SIZE;
  int64_t out = fcntl(fd, F_GETLK, &fl) != 0 ? -errno
                : fl.l_type == F_UNLCK      ? 0
                                            : (int64_t)fl.l_pid;
  close(fd); /* the helper holds no locks of its own on the file */
  return out;
}

/* 'R': opens its own handle on namespace "a", counts, closes. Closing the
 * last connection in the helper is exactly when SQLite tries EXCLUSIVE and,
 * if it gets it, checkpoints and deletes the -wal. */
static int64_t count_in_own_handle(const char *path) {
  pd_options o = PD_OPTIONS_INIT;
  o.name = "a";
  o.create = 0;
  pd_dict *d = NULL;
  int rc = pd_open(&d, path, &o);
  if (rc) return rc;
  int64_t n = 0;
  rc = pd_count(d, &n);
  pd_close(d);
  return rc ? rc : n;
}

static int helper_main(void *arg) {
  helper *h = arg;
  close(h->cmd[1]);
  close(h->reply[0]);
  char c;
  while (read(h->cmd[0], &c, 1) == 1) { /* EOF: the parent is done or died */
    int64_t out = c == 'L' ? probe_shared_lock(h->path)
                  : c == 'R' ? count_in_own_handle(h->path)
                             : -EINVAL;
    if (write(h->reply[1], &out, sizeof out) != (ssize_t)sizeof out) return 1;
  }
  return 0;
}

/* Forks the helper before this process opens anything with permadict. */
static void helper_start(helper *h, const char *path) {
  h->path = path;
  if (pipe(h->cmd) != 0 || pipe(h->reply) != 0) fail_msg("pipe: %s", strerror(errno));
  h->pid = tu_fork(helper_main, h);
  close(h->cmd[0]);
  close(h->reply[1]);
}

static int64_t helper_ask(helper *h, char c) {
  int64_t out = 0;
  if (write(h->cmd[1], &c, 1) != 1 || read(h->reply[0], &out, sizeof out) != (ssize_t)sizeof out)
    fail_msg("the helper process stopped answering (command '%c')", c);
  return out;
}

static void helper_stop(helper *h) {
  close(h->cmd[1]);
  close(h->reply[0]);
  assert_int_equal(tu_wait(h->pid), 0);
}

static void expect_shared_lock_held(helper *h, const char *after) {
  int64_t owner = helper_ask(h, 'L');
  if (owner != (int64_t)getpid())
    fail_msg("after %s, the SHARED lock (bytes 0x%x+%d) of the handles already open "
             "is %s (probe answered %lld, this process is %ld): opening must not "
             "close a descriptor on the database file",
             after, SQLITE_SHARED_FIRST, SQLITE_SHARED_SIZE,
             owner == 0 ? "gone" : "not ours", (long long)owner, (long)getpid());
}

static void set_int(pd_dict *d, const char *key, int64_t v) {
  pd_val k = pd_text(key, strlen(key)), val = pd_int(v);
  TU_OK(d, pd_set(d, &k, &val));
}

static void expect_helper_sees(helper *h, int64_t want, const char *when) {
  int64_t got = helper_ask(h, 'R');
  if (got != want)
    fail_msg("%s, another process counted %lld keys, expected %lld: commits made "
             "after a second open went where other processes cannot see them",
             when, (long long)got, (long long)want);
}

static void test_lock_keep__opening_more_handles_keeps_the_shared_lock(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "locks.db");
  helper h;
  helper_start(&h, path);

  pd_dict *a = tu_open(path, "a");
  set_int(a, "k1", 1);
  /* Without this the later probes could pass for a wrong reason. */
  expect_shared_lock_held(&h, "the first open");

  pd_dict *same = tu_open(path, "a");
  expect_shared_lock_held(&h, "a second open of the same namespace");
  pd_dict *other = tu_open(path, "b");
  expect_shared_lock_held(&h, "an open of another namespace");

  pd_options o = PD_OPTIONS_INIT;
  o.readonly = 1;
  o.name = "a";
  pd_dict *ro = NULL;
  TU_OK(NULL, pd_open(&ro, path, &o));
  expect_shared_lock_held(&h, "a read-only open");

  /* A refused open closes its connection again: that must not drop the
   * locks either. */
  o.readonly = 0;
  o.create = 0;
  o.name = "missing";
  pd_dict *none = NULL;
  assert_int_equal(pd_open(&none, path, &o), PD_ENOTFOUND);
  expect_shared_lock_held(&h, "a refused open (missing namespace)");

  pd_close(same);
  pd_close(other);
  pd_close(ro);
  expect_shared_lock_held(&h, "closing the other handles");
  pd_close(a);
  helper_stop(&h);
  tu_rmdir(dir);
}

static void test_lock_keep__commits_after_a_second_open_reach_other_processes(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "commits.db");
  char wal[4200];
  snprintf(wal, sizeof wal, "%s-wal", path);
  helper h;
  helper_start(&h, path);

  pd_dict *a = tu_open(path, "a");
  set_int(a, "k1", 1);
  pd_dict *b = tu_open(path, "b"); /* the second open of the same file */
  expect_helper_sees(&h, 1, "right after the second open");
  if (access(wal, F_OK) != 0)
    fail_msg("another process closing its handle deleted '%s' while this process "
             "still had two connections on the file",
             wal);

  set_int(a, "k2", 2); /* autocommit */
  TU_OK(a, pd_begin(a));
  set_int(a, "k3", 3);
  /* The other process comes and goes while a write transaction is open. */
  expect_helper_sees(&h, 2, "during a write transaction");
  set_int(a, "k4", 4);
  TU_OK(a, pd_commit(a));
  expect_helper_sees(&h, 4, "after the transaction committed");

  pd_close(b);
  pd_close(a);
  helper_stop(&h);

  pd_dict *fresh = tu_open(path, "a");
  int64_t n = 0;
  TU_OK(fresh, pd_count(fresh, &n));
  assert_int_equal(n, 4);
  TU_OK(fresh, pd_check(fresh));
  pd_close(fresh);
  tu_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lock_keep__opening_more_handles_keeps_the_shared_lock),
      cmocka_unit_test(test_lock_keep__commits_after_a_second_open_reach_other_processes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
