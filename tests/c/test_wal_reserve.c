/* test_wal_reserve.c - a writer reserves disk blocks ahead of its WAL
 * writes without changing the WAL's size, through a descriptor of its own
 * that a read-only handle never opens and a close gives back
 * (wal_reserve.c). fallocate is defined here, so the library's calls come
 * to this program first (a symbol of the executable comes before libc's),
 * are counted and checked, then passed on. */
#include "testutil.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { FRAME_BYTES = 24 + 4096, WAL_HEADER_BYTES = 32, SETS = 1000 };

static int calls, calls_not_on_wal, calls_that_resize;

/* Whether fd is open on a file whose name ends in "-wal". */
static int is_wal(int fd) {
  char link[64], target[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  target[n > 0 ? n : 0] = 0;
  return n >= 4 && strcmp(target + n - 4, "-wal") == 0;
}

/* Default visibility: the project builds with hidden symbols. */
__attribute__((visibility("default"))) int fallocate(int fd, int mode, off_t offset, off_t len) {
  calls++;
  if (!is_wal(fd)) calls_not_on_wal++;
  /* Reserving only: the file's size must stay what was written. */
  if (mode != FALLOC_FL_KEEP_SIZE) calls_that_resize++;
  int (*real)(int, int, off_t, off_t) = (int (*)(int, int, off_t, off_t))dlsym(RTLD_NEXT, "fallocate");
  if (!real) {
    errno = ENOSYS;
    return -1;
  }
  return real(fd, mode, offset, len);
}

/* Whether the directory's filesystem reserves blocks past a file's end
 * (tmpfs, ext4, xfs and btrfs do), asked of libc's fallocate itself. */
static int filesystem_reserves(const char *dir) {
  const char *probe = tu_path(dir, "probe");
  int fd = open(probe, O_CREAT | O_WRONLY, 0600);
  assert_true(fd >= 0);
  int (*real)(int, int, off_t, off_t) = (int (*)(int, int, off_t, off_t))dlsym(RTLD_NEXT, "fallocate");
  int ok = real && real(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20) == 0;
  if (!ok) print_message("this filesystem reserves no blocks: only the calls are checked\n");
  close(fd);
  unlink(probe);
  return ok;
}

/* How many descriptors of this process are open on a "-wal" file. */
static int wal_descriptors(void) {
  DIR *dir = opendir("/proc/self/fd");
  assert_non_null(dir);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dir)))
    if (e->d_name[0] != '.' && is_wal(atoi(e->d_name))) n++;
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
  calls = calls_not_on_wal = calls_that_resize = 0;
  pd_dict *d = tu_open(path, NULL);
  write_sets(d);
  /* Every call reserved, on the WAL, keeping its size. */
  assert_true(calls > 0);
  assert_int_equal(calls_not_on_wal, 0);
  assert_int_equal(calls_that_resize, 0);
  struct stat st;
  char wal[512];
  snprintf(wal, sizeof wal, "%s-wal", path);
  assert_int_equal(stat(wal, &st), 0);
  long long size = (long long)st.st_size, allocated = (long long)st.st_blocks * 512;
  print_message("WAL: %lld bytes, %lld allocated, %d reservations\n", size, allocated, calls);
  /* The size says only what SQLite wrote: its header and whole frames. */
  assert_true(size > WAL_HEADER_BYTES + 300 * FRAME_BYTES);
  assert_int_equal((size - WAL_HEADER_BYTES) % FRAME_BYTES, 0);
  /* Blocks past the end: at least 1 MiB of the 4 reserved ahead. */
  if (reserves) assert_true(allocated >= size + (1 << 20));
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

/* A handle that may write opens one more descriptor on the WAL than
 * SQLite's own; a read-only one does not; closing gives it back. */
static void test_wal_reserve__only_writers_hold_a_descriptor_until_they_close(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "c.db");
  pd_dict *keeper = tu_open(path, NULL); /* keeps the WAL there throughout */
  write_sets(keeper);
  int kept = wal_descriptors();
  pd_dict *writer = tu_open(path, NULL);
  assert_int_equal(wal_descriptors(), kept + 2);
  pd_options ro = PD_OPTIONS_INIT;
  ro.readonly = 1;
  pd_dict *reader = NULL;
  TU_OK(reader, pd_open(&reader, path, &ro));
  assert_int_equal(wal_descriptors(), kept + 3);
  pd_close(reader);
  write_sets(writer);
  pd_close(writer);
  assert_int_equal(wal_descriptors(), kept);
  pd_close(keeper);
  assert_int_equal(wal_descriptors(), 0);
  tu_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wal_reserve__blocks_are_reserved_and_the_size_is_what_was_written),
      cmocka_unit_test(test_wal_reserve__only_writers_hold_a_descriptor_until_they_close),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
