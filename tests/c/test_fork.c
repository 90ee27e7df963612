/* test_fork.c - the fork() rule: inherited handles refuse work, pd_reopen
 * gives a fresh connection that holds its own locks, and the parent's locks
 * and transaction survive the child closing its inherited copy. */
#include "testutil.h"

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h> /* types only: functions through tu_sqlite_sym */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

/* Opens parent_handle on path, stores 1 -> 1 in an open transaction, and
 * runs child in a process forked right then; it must exit 0. */
static void fork_inside_a_transaction(const char *path, tu_child_fn child) {
  parent_handle = tu_open(path, NULL);
  pd_val k = pd_int(1), v = pd_int(1);
  TU_OK(parent_handle, pd_begin(parent_handle));
  TU_OK(parent_handle, pd_set(parent_handle, &k, &v));
  assert_int_equal(tu_run_child(child, NULL), 0);
}

static void test_fork__child_gets_eforked_and_parent_txn_commits_intact(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "f.db");
  pd_val k = pd_int(1), v = pd_int(1), out;
  fork_inside_a_transaction(path, child_sees_eforked);
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

/* pd_reopen opens "the same file": not whatever the relative path given to
 * pd_open names after the child changed directory. */
static int child_moves_away_and_reopens(void *arg) {
  pd_val k = pd_int(8), v = pd_int(80);
  if (chdir(arg) != 0) return 1;
  if (pd_reopen(parent_handle) != PD_OK) return 2;
  if (pd_set(parent_handle, &k, &v) != PD_OK) return 3;
  pd_close(parent_handle);
  return access("f.db", F_OK) == 0 ? 4 : 0; /* no second file here */
}

static void test_fork__reopen_after_chdir_finds_the_same_file(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  char *elsewhere = strdup(tu_path(dir, "elsewhere"));
  assert_int_equal(mkdir(elsewhere, 0700), 0);
  char *cwd = getcwd(NULL, 0);
  assert_int_equal(chdir(dir), 0);
  parent_handle = tu_open("f.db", NULL);
  assert_int_equal(tu_run_child(child_moves_away_and_reopens, elsewhere), 0);
  pd_val k = pd_int(8), out;
  TU_OK(parent_handle, pd_get(parent_handle, &k, &out));
  assert_int_equal(out.u.i, 80);
  pd_close(parent_handle);
  assert_int_equal(chdir(cwd), 0);
  assert_int_equal(rmdir(elsewhere), 0);
  free(cwd);
  free(elsewhere);
  tu_rmdir(dir);
}

/* The child's own connection must hold real locks once the parent is gone:
 * otherwise a third process that opens and closes the file takes itself for
 * the last user and deletes the -wal the child still commits into. */
static int child_writes_after_parent_left(int go_fd, int ready_fd) {
  char b;
  pd_val v = pd_int(1), k1 = pd_text("child1", 6), k2 = pd_text("child2", 6);
  if (pd_reopen(parent_handle) != PD_OK) return 1;
  if (pd_set(parent_handle, &k1, &v) != PD_OK) return 2;
  if (write(ready_fd, "r", 1) != 1 || read(go_fd, &b, 1) != 1) return 3;
  if (pd_set(parent_handle, &k2, &v) != PD_OK) return 4;
  if (write(ready_fd, "w", 1) != 1 || read(go_fd, &b, 1) != 1) return 5;
  return 0;
}

static int seen_by_a_new_handle(const char *path, const char *key) {
  pd_dict *d = tu_open(path, NULL);
  pd_val k = pd_text(key, strlen(key));
  int rc = pd_contains(d, &k);
  pd_close(d);
  return rc == PD_OK;
}

static void test_fork__child_commits_survive_the_parent_closing(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "f.db");
  parent_handle = tu_open(path, NULL);
  pd_val k0 = pd_text("k0", 2), v = pd_int(1);
  TU_OK(parent_handle, pd_set(parent_handle, &k0, &v));
  int to_child[2], to_parent[2];
  assert_int_equal(pipe(to_child), 0);
  assert_int_equal(pipe(to_parent), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) _exit(child_writes_after_parent_left(to_child[0], to_parent[1]));
  /* The child's ends closed here: a child that exits early is a failed
   * read at once, not a wait for the test's timeout. */
  close(to_child[0]);
  close(to_parent[1]);
  char b;
  assert_int_equal(read(to_parent[0], &b, 1), 1);
  pd_close(parent_handle); /* the parent lets go */
  assert_true(seen_by_a_new_handle(path, "child1")); /* open, read, close */
  assert_int_equal(write(to_child[1], "g", 1), 1);
  assert_int_equal(read(to_parent[0], &b, 1), 1);
  assert_true(seen_by_a_new_handle(path, "child2")); /* child still running */
  assert_int_equal(write(to_child[1], "x", 1), 1);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_true(seen_by_a_new_handle(path, "child2"));
  pd_dict *d = tu_open(path, NULL);
  TU_OK(d, pd_check(d));
  pd_close(d);
  close(to_child[1]);
  close(to_parent[0]);
  tu_rmdir(dir);
}

/* The child of a fork() inside a write transaction inherits a write lock it
 * can never release: its writes to that file fail at once, naming why,
 * instead of waiting out the timeout; reads still work. */
static int child_of_a_transaction(void *arg) {
  (void)arg;
  pd_val k = pd_int(1), k9 = pd_int(9), v = pd_int(5), out;
  if (pd_reopen(parent_handle) != PD_OK) return 1;
  if (pd_get(parent_handle, &k, &out) != PD_ENOTFOUND) return 2; /* uncommitted */
  if (pd_set(parent_handle, &k9, &v) != PD_EFORKED) return 3;
  if (!strstr(pd_errmsg(parent_handle), "forked while a write transaction")) return 4;
  if (pd_begin(parent_handle) != PD_EFORKED) return 5;
  pd_options o = PD_OPTIONS_INIT;
  o.name = "other"; /* a new namespace: opening it would write */
  pd_dict *other = NULL;
  if (pd_open(&other, pd_path(parent_handle), &o) != PD_EFORKED) return 6;
  pd_close(parent_handle);
  return 0;
}

static int child_writes(void *arg) {
  pd_val k = pd_int(2), v = pd_int(6);
  pd_dict *d = tu_open(arg, NULL);
  int rc = pd_set(d, &k, &v);
  pd_close(d);
  return rc == PD_OK ? 0 : 1;
}

static void test_fork__child_of_a_transaction_cannot_write(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "f.db");
  pd_val out;
  fork_inside_a_transaction(path, child_of_a_transaction);
  TU_OK(parent_handle, pd_commit(parent_handle));
  /* forked outside a transaction, a child writes as usual */
  assert_int_equal(tu_run_child(child_writes, (void *)path), 0);
  pd_val k2 = pd_int(2);
  TU_OK(parent_handle, pd_get(parent_handle, &k2, &out));
  assert_int_equal(out.u.i, 6);
  pd_close(parent_handle);
  tu_rmdir(dir);
}

/* SQLite's allocator, wrapped: once armed, a free sleeps inside SQLite's
 * allocator mutex (held around every free while memory statistics are on,
 * SQLite's default) long enough for another thread to fork meanwhile. */
static sqlite3_mem_methods real_mem, slow_free_mem;
static atomic_int free_armed, inside_free;

static void slow_free(void *p) {
  if (atomic_exchange(&free_armed, 0)) {
    atomic_store(&inside_free, 1);
    usleep(200 * 1000);
  }
  real_mem.xFree(p);
}

/* Makes SQLite's allocator the wrapped one (slow) or its own again, with
 * memory statistics on. No handle is open: SQLite can be shut down. */
static void sqlite_allocator_set(int slow) {
  int (*init)(void) = (int (*)(void))tu_sqlite_sym("sqlite3_initialize");
  int (*shutdown)(void) = (int (*)(void))tu_sqlite_sym("sqlite3_shutdown");
  int (*config)(int, ...) = (int (*)(int, ...))tu_sqlite_sym("sqlite3_config");
  assert_int_equal(init(), SQLITE_OK); /* so that its own allocator is in place */
  assert_int_equal(shutdown(), SQLITE_OK);
  if (!real_mem.xFree) {
    assert_int_equal(config(SQLITE_CONFIG_GETMALLOC, &real_mem), SQLITE_OK);
    slow_free_mem = real_mem;
    slow_free_mem.xFree = slow_free;
  }
  assert_int_equal(config(SQLITE_CONFIG_MALLOC, slow ? &slow_free_mem : &real_mem), SQLITE_OK);
  assert_int_equal(config(SQLITE_CONFIG_MEMSTATUS, 1), SQLITE_OK);
}

static void *free_iterator(void *it) {
  atomic_store(&free_armed, 1);
  pd_iter_free(it); /* gives SQLite back its copy of the last key */
  return NULL;
}

static int child_opens(void *arg) {
  alarm(2); /* a child stuck on a mutex inherited locked dies of SIGALRM */
  pd_dict *d = NULL;
  int rc = pd_open(&d, arg, NULL);
  pd_close(d);
  return rc == PD_OK ? 0 : 1;
}

/* fork() waits for a pd_iter_free in another thread: freeing an iterator
 * frees SQLite memory, and a child forked while SQLite's allocator mutex is
 * held inherits it locked for good: its first pd_open would hang. */
static void test_fork__during_pd_iter_free_in_another_thread_child_can_open(void **state) {
  (void)state;
  sqlite_allocator_set(1);
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "f.db");
  pd_dict *d = tu_open(path, NULL);
  for (int i = 0; i < 3; i++) {
    pd_val k = pd_int(i);
    TU_OK(d, pd_set(d, &k, &k));
  }
  pd_iter_options o = PD_ITER_OPTIONS_INIT;
  o.page_size = 1; /* a full page: the iterator keeps SQLite's copy of its last key */
  pd_iter *it = NULL;
  pd_val k;
  TU_OK(d, pd_iter_open(&it, d, &o));
  TU_OK(d, pd_iter_next(it, &k, NULL));
  pthread_t t;
  atomic_store(&inside_free, 0);
  assert_int_equal(pthread_create(&t, NULL, free_iterator, it), 0);
  for (int waited = 0; !atomic_load(&inside_free); waited++) {
    if (waited == 50000) fail_msg("pd_iter_free freed nothing through SQLite in 5 s");
    usleep(100);
  }
  int status = tu_run_child(child_opens, (void *)path);
  pthread_join(t, NULL);
  pd_close(d);
  sqlite_allocator_set(0);
  if (status != 0)
    fail_msg("the child exited with %d%s", status,
             status == 128 + SIGALRM ? " (it hung on SQLite's allocator mutex)" : "");
  tu_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fork__child_gets_eforked_and_parent_txn_commits_intact),
      cmocka_unit_test(test_fork__reopen_in_child_works),
      cmocka_unit_test(test_fork__reopen_after_chdir_finds_the_same_file),
      cmocka_unit_test(test_fork__child_commits_survive_the_parent_closing),
      cmocka_unit_test(test_fork__child_of_a_transaction_cannot_write),
      cmocka_unit_test(test_fork__during_pd_iter_free_in_another_thread_child_can_open),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
