/*
 * kill9_writer - a writer killed with SIGKILL in the middle of transactions,
 * 100 times over one file, loses nothing it acknowledged and never shows half
 * a transaction.
 *
 * Transaction n stores n under the ten keys "slot0".."slot9" and under the
 * integer key n. So after any crash: the ten slots agree (no partial
 * transaction), every integer key up to the slots' value is present, and that
 * value is at least the last n the writer acknowledged. The writer
 * acknowledges n through a pipe only after pd_commit returned PD_OK; the pipe
 * keeps what was written even when the writer dies.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cross_util.h"

#define ROUNDS 100
#define SLOTS 10

static int64_t committed_slots(pd_dict *d, int64_t *max_int_key_ok) {
  pd_val v;
  int64_t first = -1;
  for (int s = 0; s < SLOTS; s++) {
    char name[16];
    snprintf(name, sizeof name, "slot%d", s);
    pd_val k = pd_text(name, strlen(name));
    int rc = pd_get(d, &k, &v);
    int64_t got = rc == PD_ENOTFOUND ? 0 : v.u.i;
    XU_CHECK(rc == PD_OK || rc == PD_ENOTFOUND, "get %s: %s", name, pd_errmsg(d));
    if (s == 0) first = got;
    XU_CHECK(got == first, "partial transaction visible: slot0=%lld slot%d=%lld",
             (long long)first, s, (long long)got);
  }
  /* Every transaction up to the slots' value left its integer key. */
  *max_int_key_ok = 1;
  for (int64_t n = 1; n <= first; n++) {
    pd_val k = pd_int(n);
    if (pd_contains(d, &k) != PD_OK) {
      XU_CHECK(0, "transaction %lld committed (slots say %lld) but its key is gone",
               (long long)n, (long long)first);
      *max_int_key_ok = 0;
      break;
    }
  }
  pd_val k = pd_int(first + 1);
  XU_CHECK(pd_contains(d, &k) == PD_ENOTFOUND,
           "key of uncommitted transaction %lld visible", (long long)first + 1);
  return first;
}

static void writer(const char *path, int ack_fd, int64_t start) {
  pd_dict *d = xu_open(path, NULL);
  for (int64_t n = start + 1;; n++) {
    if (pd_begin(d) != PD_OK) _exit(3);
    for (int s = 0; s < SLOTS; s++) {
      char name[16];
      snprintf(name, sizeof name, "slot%d", s);
      pd_val k = pd_text(name, strlen(name)), v = pd_int(n);
      if (pd_set(d, &k, &v) != PD_OK) _exit(3);
      if (s == SLOTS / 2) {
        pd_val ik = pd_int(n);
        if (pd_set(d, &ik, &v) != PD_OK) _exit(3);
      }
    }
    if (pd_commit(d) != PD_OK) _exit(3);
    if (write(ack_fd, &n, sizeof n) != sizeof n) _exit(3);
  }
}

int main(void) {
  const char *path = xu_path("kill9.pd");
  srand((unsigned)time(NULL) ^ (unsigned)getpid());
  int64_t acked = 0;
  long total_commits = 0;
  for (int round = 0; round < ROUNDS && !xu_failures; round++) {
    int64_t start = 0, ok;
    if (round > 0) {
      pd_dict *d = xu_open(path, NULL);
      start = committed_slots(d, &ok);
      pd_close(d);
    }
    int fds[2];
    if (pipe(fds) != 0) return 2;
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      writer(path, fds[1], start);
    }
    close(fds[1]);
    /* Kill at a random point: from before the open to well into the run. */
    usleep((useconds_t)(rand() % 30000));
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    XU_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
             "writer ended by itself (status %d) in round %d", status, round);
    int64_t n;
    while (read(fds[0], &n, sizeof n) == sizeof n) {
      acked = n;
      total_commits++;
    }
    close(fds[0]);

    pd_dict *d = xu_open(path, NULL);
    XU_RC(pd_check(d), PD_OK, d, "pd_check (integrity_check and invariants)");
    int64_t last = committed_slots(d, &ok);
    XU_CHECK(last >= acked, "round %d: acknowledged commit %lld lost (file holds %lld)", round,
             (long long)acked, (long long)last);
    pd_close(d);
  }
  printf("%d rounds, %ld acknowledged commits, last %lld\n", ROUNDS, total_commits,
         (long long)acked);
  XU_CHECK(total_commits > 0, "the writer never committed: the test proved nothing");
  return xu_finish();
}
