/*
 * checkpoint_thread - a commit leaves its checkpoint to the handle's
 * checkpoint thread (lib/src/wal_checkpointer.c).
 *   1. The thread that commits a transaction of more than 3,000 pages syncs
 *      nothing (with synchronous=NORMAL only a checkpoint syncs), another
 *      thread then does, and every key is there, read by a second handle,
 *      after the first one closed in the middle of later checkpoints.
 *   2. A child forked after the parent's checkpoint thread started can
 *      pd_reopen its handle, start a thread of its own with a big commit,
 *      and close; the parent's handle keeps working (bounded by an alarm).
 * Syncs are counted by the fault VFS shim (fault_vfs.h), never armed here.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cross_util.h"
#include "fault_vfs.h"

enum { KEYS = 4000, VALUE_BYTES = 3500 }; /* a page each: over 3,000 frames */

static char value[VALUE_BYTES];

static int big_transaction(pd_dict *d, int tag) {
  memset(value, 'a' + tag, sizeof value);
  int rc = pd_begin(d);
  for (int i = 0; rc == PD_OK && i < KEYS; i++) {
    pd_val k = pd_int(i), v = pd_bytes(value, sizeof value);
    rc = pd_set(d, &k, &v);
  }
  return rc == PD_OK ? pd_commit(d) : rc;
}

/* Syncs by threads other than this one. */
static int syncs_elsewhere(void) { return fault_vfs_syncs_all() - fault_vfs_syncs_here(); }

/* Waits up to 10 s for a sync by another thread beyond the first `since`. */
static int synced_since(int since) {
  for (int i = 0; i < 1000 && syncs_elsewhere() == since; i++) usleep(10000);
  return syncs_elsewhere() > since;
}

/* v is the value big_transaction wrote with tag, whole. */
static int holds_tag(const pd_val *v, int tag) {
  char want[VALUE_BYTES];
  memset(want, 'a' + tag, sizeof want);
  return v->kind == PD_BYTES && v->u.s.len == VALUE_BYTES &&
         memcmp(v->u.s.ptr, want, VALUE_BYTES) == 0;
}

static void all_keys_are(const char *path, int tag) {
  pd_dict *d = xu_open(path, NULL);
  XU_RC(pd_check(d), PD_OK, d, "check");
  int wrong = 0;
  for (int i = 0; i < KEYS; i++) {
    pd_val k = pd_int(i), v;
    if (pd_get(d, &k, &v) != PD_OK || !holds_tag(&v, tag)) wrong++;
  }
  XU_CHECK(wrong == 0, "%d of %d keys missing or wrong", wrong, KEYS);
  pd_close(d);
}

static void commit_does_not_checkpoint(const char *path) {
  pd_dict *d = xu_open(path, NULL);
  pd_val k = pd_text("first", 5), one = pd_int(1);
  XU_RC(pd_set(d, &k, &one), PD_OK, d, "first commit (starts the WAL)");
  int here = fault_vfs_syncs_here(), elsewhere = syncs_elsewhere();
  XU_RC(big_transaction(d, 0), PD_OK, d, "big transaction");
  XU_CHECK(fault_vfs_syncs_here() == here,
           "the committing thread synced %d times: it ran the checkpoint itself",
           fault_vfs_syncs_here() - here);
  XU_CHECK(synced_since(elsewhere), "no other thread synced within 10 s: no checkpoint ran");
  /* Another big commit, then close at once: close waits for the thread. */
  XU_RC(big_transaction(d, 1), PD_OK, d, "second big transaction");
  pd_close(d);
  all_keys_are(path, 1);
}

static void forked_child_reopens(const char *path) {
  pd_dict *d = xu_open(path, NULL);
  int elsewhere = syncs_elsewhere();
  XU_RC(big_transaction(d, 2), PD_OK, d, "parent's big transaction");
  XU_CHECK(synced_since(elsewhere), "the parent's checkpoint thread never synced");
  pid_t pid = fork();
  XU_CHECK(pid >= 0, "fork failed");
  if (pid < 0) {
    pd_close(d);
    return;
  }
  if (pid == 0) {
    alarm(20); /* a hang in reopen or close fails instead of blocking ctest */
    int rc = pd_reopen(d);
    if (rc == PD_OK) rc = big_transaction(d, 3);
    pd_close(d);
    _exit(rc == PD_OK ? 0 : 1);
  }
  int st = 0;
  XU_CHECK(waitpid(pid, &st, 0) == pid, "waitpid failed");
  XU_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child: status %d", st);
  pd_val k = pd_int(0), v;
  XU_RC(pd_get(d, &k, &v), PD_OK, d, "parent's get after the child");
  XU_CHECK(holds_tag(&v, 3), "the parent does not see the child's commit");
  pd_close(d);
  all_keys_are(path, 3);
}

int main(void) {
  xu_tmpdir();
  XU_CHECK(fault_vfs_install() == 0, "cannot register the VFS shim");
  if (xu_failures) return xu_finish();
  commit_does_not_checkpoint(xu_path("commit.pd"));
  forked_child_reopens(xu_path("fork.pd"));
  return xu_finish();
}
