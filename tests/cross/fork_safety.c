/*
 * fork_safety - fork() and permadict handles.
 *   1. A child that exits (exit(), which runs atexit handlers, and _exit())
 *      while the parent is inside a write transaction does not tear the
 *      parent's commit.
 *   2. A child using the inherited handle gets PD_EFORKED and the parent's
 *      handle keeps working; pd_reopen() gives the child a working handle;
 *      pd_close() in the child leaves the parent's locks alone.
 *   3. 200 forks while another thread writes: no deadlock (each child opens
 *      its own handle and writes), bounded by an alarm.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cross_util.h"

static int child_status(pid_t pid) {
  int st;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void child_exit_during_parent_transaction(const char *path, int use_exit) {
  pd_dict *d = xu_open(path, NULL);
  XU_RC(pd_begin(d), PD_OK, d, "begin");
  for (int i = 0; i < 100; i++) {
    pd_val k = pd_int(i), v = pd_int(use_exit);
    XU_RC(pd_set(d, &k, &v), PD_OK, d, "set in txn");
  }
  pid_t pid = fork();
  if (pid == 0) {
    if (use_exit) exit(0);
    _exit(0);
  }
  XU_CHECK(child_status(pid) == 0, "child failed");
  XU_RC(pd_commit(d), PD_OK, d, "commit after the child exited");
  pd_close(d);
  d = xu_open(path, NULL);
  XU_RC(pd_check(d), PD_OK, d, "check");
  for (int i = 0; i < 100; i++) {
    pd_val k = pd_int(i), v;
    XU_RC(pd_get(d, &k, &v), PD_OK, d, "committed key");
    XU_CHECK(v.kind == PD_INT && v.u.i == use_exit, "key %d torn", i);
  }
  pd_close(d);
}

static void inherited_handle(const char *path) {
  pd_dict *d = xu_open(path, NULL);
  pd_val k = pd_text("parent", 6), v = pd_int(1);
  XU_RC(pd_set(d, &k, &v), PD_OK, d, "set");
  pid_t pid = fork();
  if (pid == 0) {
    int bad = 0;
    pd_val got;
    if (pd_get(d, &k, &got) != PD_EFORKED) bad |= 1;
    if (pd_set(d, &k, &v) != PD_EFORKED) bad |= 2;
    if (pd_reopen(d) != PD_OK) bad |= 4;
    else {
      pd_val ck = pd_text("child", 5);
      if (pd_set(d, &ck, &v) != PD_OK) bad |= 8;
    }
    pd_close(d);
    _exit(bad);
  }
  int st = child_status(pid);
  XU_CHECK(st == 0, "child: inherited handle misbehaved (bits %d: 1 get, 2 set not EFORKED,"
           " 4 reopen, 8 write after reopen)", st);
  pid = fork();
  if (pid == 0) {
    pd_close(d); /* must not release the parent's locks or close its file */
    _exit(0);
  }
  XU_CHECK(child_status(pid) == 0, "child close failed");
  XU_RC(pd_begin(d), PD_OK, d, "parent begin after children");
  v = pd_int(2);
  XU_RC(pd_set(d, &k, &v), PD_OK, d, "parent set");
  XU_RC(pd_commit(d), PD_OK, d, "parent commit");
  pd_val ck = pd_text("child", 5);
  XU_RC(pd_contains(d, &ck), PD_OK, d, "child's write after pd_reopen");
  XU_RC(pd_check(d), PD_OK, d, "check");
  pd_close(d);
}

static atomic_int stop, writing;
static const char *thread_path;

static void *writer_thread(void *arg) {
  (void)arg;
  pd_dict *d = xu_open(thread_path, "thread");
  for (int64_t i = 0; !atomic_load(&stop); i++) {
    pd_val k = pd_int(i % 100), v = pd_int(i);
    int rc = pd_set(d, &k, &v);
    if (rc != PD_OK) {
      printf("FAIL: thread write: %s: %s\n", pd_errstr(rc), pd_errmsg(d));
      xu_failures++;
      break;
    }
    atomic_store(&writing, 1);
  }
  atomic_store(&writing, 1); /* a failed thread must not leave main waiting */
  pd_close(d);
  return NULL;
}

static void forks_while_thread_writes(const char *path) {
  thread_path = path;
  pthread_t t;
  pthread_create(&t, NULL, writer_thread, NULL);
  alarm(100); /* last resort: a deadlock in the parent fails instead of hanging */
  /* Forks start once the thread writes. While it is still starting, a fork
   * can catch it inside malloc; glibc's malloc is fork-safe, but the
   * sanitizers' allocator (GCC 12) is not, and the child would hang in its
   * first malloc for a reason that is not ours. */
  while (!atomic_load(&writing)) usleep(1000);
  int failed = 0, hung = 0, done = 0;
  for (int i = 0; i < 200 && hung < 3; i++, done++) {
    pid_t pid = fork();
    if (pid == 0) {
      alarm(5); /* a child stuck on a lock inherited from the writer thread dies */
      pd_options o = PD_OPTIONS_INIT;
      o.name = "children";
      pd_dict *d;
      int rc = pd_open(&d, path, &o);
      if (rc != PD_OK) {
        printf("child %d: open: %s: %s\n", i, pd_errstr(rc), pd_errmsg(NULL));
        fflush(stdout);
        _exit(1);
      }
      pd_val k = pd_int(i), v = pd_int(getpid());
      rc = pd_set(d, &k, &v);
      if (rc != PD_OK) printf("child %d: set: %s: %s\n", i, pd_errstr(rc), pd_errmsg(d));
      fflush(stdout);
      pd_close(d);
      _exit(rc == PD_OK ? 0 : 2);
    }
    int st = child_status(pid);
    if (st == 128 + SIGALRM) hung++;
    else if (st != 0) failed++;
  }
  atomic_store(&stop, 1);
  pthread_join(t, NULL);
  alarm(0);
  XU_CHECK(hung == 0, "%d children deadlocked after fork (of %d forks; stopped after 3)", hung,
           done);
  XU_CHECK(failed == 0, "%d of %d children failed", failed, done);
  if (hung || failed) return;
  pd_dict *d = xu_open(path, "children");
  int64_t n = 0;
  XU_RC(pd_count(d, &n), PD_OK, d, "count");
  XU_CHECK(n == 200, "children wrote %lld keys, want 200", (long long)n);
  pd_close(d);
}

int main(void) {
  child_exit_during_parent_transaction(xu_path("exit.pd"), 1);
  child_exit_during_parent_transaction(xu_path("_exit.pd"), 0);
  inherited_handle(xu_path("inherited.pd"));
  forks_while_thread_writes(xu_path("threads.pd"));
  return xu_finish();
}
