/* test_wal_reserve.c - a writer reserves disk blocks ahead of its WAL
 * writes without changing the WAL's size, and gives back its descriptor
 * when it closes (wal_reserve.c). */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { FRAME_BYTES = 24 + 4096, WAL_HEADER_BYTES = 32, SETS = 1000 };

/* Whether the directory's filesystem reserves blocks past a file's end
 * (tmpfs, ext4, xfs and btrfs do). */
static int filesystem_reserves(const char *dir) {
  const char *probe = tu_path(dir, "probe");
  int fd = open(probe, O_CREAT | O_WRONLY, 0600);
  assert_true(fd >= 0);
  int ok = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20) == 0;
  if (!ok) print_message("fallocate: %s\n", strerror(errno));
  close(fd);
  unlink(probe);
  return ok;
}

static int open_fds(void) {
  DIR *dir = opendir("/proc/self/fd");
  assert_non_null(dir);
  int n = 0;
  while (readdir(dir)) n++;
  closedir(dir);
  return n;
}

/* 1,000 sets of 1 KiB: about 330 frames, 1.4 MB of WAL, far from a
 * checkpoint, so the WAL holds every frame while the handle is open. */
static void write_sets(pd_dict *d) {
  static char value[1024];
  memset(value, 'v', sizeof value);
  pd_val v = pd_bytes(value, sizeof value);
  TU_OK(d, pd_begin(d));
  for (int i = 0; i < SETS; i++) {
    char kb[16];
    pd_val k = tu_key_of(i, kb, sizeof kb);
    TU_OK(d, pd_set(d, &k, &v));
  }
  TU_OK(d, pd_commit(d));
}

static void test_wal_reserve__blocks_are_reserved_and_the_size_is_what_was_written(
    void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "r.db");
  int reserves = filesystem_reserves(dir);
  pd_dict *d = tu_open(path, NULL);
  write_sets(d);
  struct stat st;
  char wal[512];
  snprintf(wal, sizeof wal, "%s-wal", path);
  assert_int_equal(stat(wal, &st), 0);
  long long size = (long long)st.st_size, allocated = (long long)st.st_blocks * 512;
  print_message("WAL: %lld bytes, %lld allocated\n", size, allocated);
  /* The size says only what SQLite wrote: its header and whole frames. */
  assert_true(size > WAL_HEADER_BYTES + 300 * FRAME_BYTES);
  assert_int_equal((size - WAL_HEADER_BYTES) % FRAME_BYTES, 0);
  /* Blocks past the end: at least 1 MiB of the 4 reserved ahead (without
   * a reservation, the blocks end with the file's last page). */
  if (reserves)
    assert_true(allocated >= size + (1 << 20));
  else
    assert_true(allocated < size + (1 << 20));
  /* Another handle reads every set: the file is whole. */
  pd_dict *other = tu_open(path, NULL);
  int64_t n = 0;
  TU_OK(other, pd_count(other, &n));
  assert_int_equal(n, SETS);
  TU_OK(other, pd_check(other));
  pd_close(other);
  pd_close(d);
  tu_rmdir(dir);
}

static void test_wal_reserve__closing_gives_the_descriptor_back(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "c.db");
  /* After a first handle: what the library keeps once for the process (the
   * SQLite library's own, for example) is not what is counted. */
  pd_dict *first = tu_open(path, NULL);
  write_sets(first);
  pd_close(first);
  int before = open_fds();
  for (int i = 0; i < 3; i++) {
    pd_dict *d = tu_open(path, NULL);
    write_sets(d);
    pd_close(d);
  }
  assert_int_equal(open_fds(), before);
  tu_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wal_reserve__blocks_are_reserved_and_the_size_is_what_was_written),
      cmocka_unit_test(test_wal_reserve__closing_gives_the_descriptor_back),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
