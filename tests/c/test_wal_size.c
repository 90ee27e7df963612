/* test_wal_size.c - the WAL file stays bounded while several processes
 * commit without a pause (wal_checkpoint.c). */
#include "testutil.h"

#include <string.h>
#include <unistd.h>

enum { WRITERS = 4, COMMITS_EACH = 5000 };

static const char *shared_path;

static int incr_child(void *arg) {
  (void)arg;
  return tu_incr_counter(shared_path, COMMITS_EACH);
}

/* Each increment commits two pages, so a WAL that never starts again from
 * the beginning reaches 2 * 20,000 frames of 4,120 bytes: 165 MB. The WAL
 * file keeps the largest size it ever had, so its size afterwards is the
 * high-water mark; the parent's open handle keeps it from being deleted.
 * With the restart it stayed at 30-59 MB, and at 40-84 MB with two CPU
 * hogs beside an ASan build; without it, 153-166 MB every time. */
static void test_wal_size__four_processes_committing_nonstop_keep_it_bounded(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  shared_path = tu_path(dir, "w.db");
  pd_dict *d = tu_open(shared_path, NULL);
  pid_t pids[WRITERS];
  for (int i = 0; i < WRITERS; i++) pids[i] = tu_fork(incr_child, NULL);
  for (int i = 0; i < WRITERS; i++) assert_int_equal(tu_wait(pids[i]), 0);
  pd_val k = pd_text("counter", 7), out;
  TU_OK(d, pd_get(d, &k, &out));
  assert_int_equal(out.u.i, WRITERS * COMMITS_EACH);
  off_t wal_bytes = tu_wal_bytes(shared_path);
  const off_t never_restarted = (off_t)2 * WRITERS * COMMITS_EACH * 4120;
  print_message("WAL high-water mark: %lld bytes (%lld if it never restarts)\n",
                (long long)wal_bytes, (long long)never_restarted);
  if (wal_bytes > never_restarted / 5 * 3)
    fail_msg("the WAL grew to %lld bytes (%lld if it never restarts)", (long long)wal_bytes,
             (long long)never_restarted);
  TU_OK(d, pd_check(d));
  pd_close(d);
  tu_rmdir(dir);
}

/* A WAL file keeps the size of its largest burst while any handle has the
 * file open (the last close deletes it), so one big transaction in a
 * long-running worker used to cost its size on disk for good. The first
 * commit after the WAL starts again from the beginning now cuts it back to
 * 64 MiB (wal_checkpoint.c). */
static void test_wal_size__a_burst_s_wal_is_cut_back_at_its_next_restart(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "b.db");
  pd_dict *d = tu_open(path, NULL);
  static char page_sized[4000]; /* one value a page: 20,000 pages, 82 MB of WAL */
  memset(page_sized, 'v', sizeof page_sized);
  pd_val v = pd_bytes(page_sized, sizeof page_sized);
  TU_OK(d, pd_begin(d));
  for (int i = 0; i < 20000; i++) {
    pd_val k = pd_int(i);
    TU_OK(d, pd_set(d, &k, &v));
  }
  TU_OK(d, pd_commit(d));
  off_t wal_bytes = tu_wal_bytes(path);
  const off_t limit = (off_t)64 << 20;
  if (wal_bytes <= limit) fail_msg("the burst made a WAL of only %lld bytes", (long long)wal_bytes);
  /* The burst's checkpoint runs in the handle's checkpoint thread
   * (wal_checkpointer.c): the first commit after it has copied the WAL back
   * starts the WAL again from the beginning. 10 s is far beyond the copy of
   * 82 MB and its two syncs. */
  pd_val k = pd_text("after", 5), one = pd_int(1);
  int commits = 0;
  for (;;) {
    TU_OK(d, pd_set(d, &k, &one));
    commits++;
    wal_bytes = tu_wal_bytes(path);
    if (wal_bytes <= limit || commits >= 1000) break;
    usleep(10000);
  }
  print_message("WAL after %d commits: %lld bytes\n", commits, (long long)wal_bytes);
  if (wal_bytes > limit)
    fail_msg("the WAL kept %lld bytes after %d commits", (long long)wal_bytes, commits);
  TU_OK(d, pd_get(d, &k, &one));
  assert_int_equal(one.u.i, 1);
  pd_close(d);
  tu_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wal_size__four_processes_committing_nonstop_keep_it_bounded),
      cmocka_unit_test(test_wal_size__a_burst_s_wal_is_cut_back_at_its_next_restart),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
