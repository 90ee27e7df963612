/* test_wal_writeback.c - the commit that takes the WAL past each multiple of
 * 768 frames starts the WAL's write-back, and nothing else does
 * (wal_writeback.c). sync_file_range is defined here, so the library's calls
 * come to this program first (a symbol of the executable comes before
 * libc's), are counted and checked, then passed on. */
#include "testutil.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { WRITEBACK_FRAMES = 768, FRAME_BYTES = 4096 + 24, WAL_HEADER = 32 };

static int calls, calls_not_on_wal, calls_that_wait;

/* Default visibility: the project builds with hidden symbols. */
__attribute__((visibility("default"))) int sync_file_range(int fd, off64_t offset, off64_t nbytes,
                                                          unsigned int flags) {
  calls++;
  char link[64], target[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  target[n > 0 ? n : 0] = 0;
  if (n < 4 || strcmp(target + n - 4, "-wal") != 0) calls_not_on_wal++;
  /* Starting the write-back only: waiting would stall the caller. */
  if (flags != SYNC_FILE_RANGE_WRITE) calls_that_wait++;
  int (*real)(int, off64_t, off64_t, unsigned int) =
      (int (*)(int, off64_t, off64_t, unsigned int))dlsym(RTLD_NEXT, "sync_file_range");
  return real ? real(fd, offset, nbytes, flags) : 0;
}

/* Autocommit sets of new keys until the WAL holds at least `frames` frames;
 * returns how many it holds (no checkpoint comes before 3,000). */
static int64_t grow_wal(pd_dict *d, int64_t frames) {
  pd_stats st;
  int64_t i = 0, now = 0;
  while (now < frames) {
    pd_val k = pd_int(i++), v = pd_text("a value of a few bytes", 22);
    TU_OK(d, pd_set(d, &k, &v));
    TU_OK(d, pd_stats_get(d, &st));
    now = (st.wal_bytes - WAL_HEADER) / FRAME_BYTES;
  }
  return now;
}

static void test_wal_writeback__started_once_per_multiple_of_frames(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  pd_dict *d = tu_open(tu_path(dir, "w.db"), NULL);
  calls = calls_not_on_wal = calls_that_wait = 0;
  int64_t frames = grow_wal(d, WRITEBACK_FRAMES - 10);
  assert_int_equal(calls, 0); /* no multiple passed yet */
  frames = grow_wal(d, 2 * WRITEBACK_FRAMES + 10);
  assert_true(frames < 3000);
  assert_int_equal(calls, frames / WRITEBACK_FRAMES);
  assert_int_equal(calls_not_on_wal, 0);
  assert_int_equal(calls_that_wait, 0);
  TU_OK(d, pd_check(d));
  pd_close(d);
  tu_rmdir(dir);
}

/* Two processes writing at once: still one call per multiple, made by
 * whichever commit passed it. Each child's exit status is its own count. */
static const char *shared_path;

static int grow_child(void *arg) {
  (void)arg;
  pd_dict *d = NULL;
  if (pd_open(&d, shared_path, NULL) != PD_OK) return 255;
  calls = 0;
  grow_wal(d, 3 * WRITEBACK_FRAMES + 10);
  pd_close(d);
  return calls;
}

static void test_wal_writeback__two_writers_start_it_once_per_multiple(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  shared_path = tu_path(dir, "two.db");
  pd_dict *d = tu_open(shared_path, NULL); /* keeps the WAL between the children */
  pid_t a = tu_fork(grow_child, NULL), b = tu_fork(grow_child, NULL);
  int calls_a = tu_wait(a), calls_b = tu_wait(b);
  pd_stats st;
  TU_OK(d, pd_stats_get(d, &st));
  int64_t frames = (st.wal_bytes - WAL_HEADER) / FRAME_BYTES;
  assert_true(frames < 3000); /* no checkpoint, so no restart: one run of frames */
  assert_int_equal(calls_a + calls_b, frames / WRITEBACK_FRAMES);
  pd_close(d);
  tu_rmdir(dir);
}

/* durable: synchronous=FULL syncs the WAL at every commit already. */
static void test_wal_writeback__not_for_a_durable_handle(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  pd_options o = PD_OPTIONS_INIT;
  o.durable = 1;
  pd_dict *d = NULL;
  TU_OK(NULL, pd_open(&d, tu_path(dir, "d.db"), &o));
  calls = 0;
  grow_wal(d, WRITEBACK_FRAMES + 10);
  assert_int_equal(calls, 0);
  pd_close(d);
  tu_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wal_writeback__started_once_per_multiple_of_frames),
      cmocka_unit_test(test_wal_writeback__two_writers_start_it_once_per_multiple),
      cmocka_unit_test(test_wal_writeback__not_for_a_durable_handle),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
