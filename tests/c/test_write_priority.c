/*
 * test_write_priority.c - a writer that has waited long for the write lock
 * gets it before writers that came later (write_priority.c), a claimant
 * that dies holds nobody back, and the shared memory object behind it is
 * left alone when it is not ours and removed when the file's last
 * connection closes.
 *
 * A child holds the write lock in an open transaction (a process forked
 * inside one could not write) while other children line up behind it. Each
 * child says over a pipe when it is about to write; the parent then gives
 * it CLAIM_AFTER_MS, ten times the 10 ms after which a waiting writer
 * claims priority, before the next step.
 */
#include "testutil.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLAIM_AFTER_MS 100
/* sizeof(priority_shared) in write_priority.c, checked against the object
 * itself in the first test. */
#define OBJECT_BYTES 24

/* The name write_priority.c gives the file's object. */
static const char *object_name(const char *path) {
  static char name[64];
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  snprintf(name, sizeof name, "/permadict-writers-%llx-%llx", (unsigned long long)st.st_dev,
           (unsigned long long)st.st_ino);
  return name;
}

static int object_exists(const char *path) {
  int fd = shm_open(object_name(path), O_RDONLY, 0);
  if (fd >= 0) close(fd);
  return fd >= 0;
}

static off_t object_size(const char *path) {
  int fd = shm_open(object_name(path), O_RDONLY, 0);
  if (fd < 0) fail_msg("no object for %s", path);
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  close(fd);
  return st.st_size;
}

/* The number of the claim standing in the file's object, 0 if none: its
 * second 32-bit word (write_priority.c, priority_shared). */
static uint32_t standing_claim(const char *path) {
  int fd = shm_open(object_name(path), O_RDONLY, 0);
  if (fd < 0) fail_msg("no object for %s", path);
  uint32_t claim = 0;
  ssize_t got = pread(fd, &claim, sizeof claim, 4);
  close(fd);
  if (got != (ssize_t)sizeof claim) fail_msg("the object for %s is too short", path);
  return claim;
}

/* A child that sets "order" to its own letter. */
typedef struct writer {
  const char *path;
  char letter[2];
  int ready[2];      /* the child writes one byte into ready[1] just before its set */
  pid_t pid;
} writer;

static int writer_main(void *arg) {
  writer *w = arg;
  close(w->ready[0]);
  pd_options o = PD_OPTIONS_INIT;
  o.timeout_ms = 10000;
  pd_dict *d = NULL;
  if (pd_open(&d, w->path, &o) != PD_OK) return 2;
  int64_t started = tu_now_ms();
  if (write(w->ready[1], "r", 1) != 1) return 3;
  pd_val k = pd_text("order", 5), v = pd_text(w->letter, 1);
  int rc = pd_set(d, &k, &v);
  if (rc != PD_OK) {
    fprintf(stderr, "writer %s: %s\n", w->letter, pd_errmsg(d));
    return 4;
  }
  pd_close(d);
  /* Exit status 10 + the time the set took in seconds (at most 100): the
   * parent checks it. */
  int64_t took_s = (tu_now_ms() - started) / 1000;
  return 10 + (int)(took_s > 100 ? 100 : took_s);
}

static void start_writer(writer *w, const char *path, const char *letter) {
  memset(w, 0, sizeof *w);
  w->path = path;
  snprintf(w->letter, sizeof w->letter, "%s", letter);
  assert_int_equal(pipe(w->ready), 0);
  w->pid = tu_fork(writer_main, w);
  close(w->ready[1]);
  char c;
  assert_int_equal(read(w->ready[0], &c, 1), 1); /* it is about to write */
  close(w->ready[0]);
}

/* The seconds the writer's set took; fails unless it succeeded. */
static int writer_seconds(writer *w) {
  int status = tu_wait(w->pid);
  /* 128 + a signal's number (tu_wait) is a crash, not a time. */
  if (status < 10 || status > 110) fail_msg("writer %s failed with status %d", w->letter, status);
  return status - 10;
}

/* A child that holds the write lock in an open transaction until told. */
typedef struct holder {
  const char *path;
  int ready[2]; /* it writes one byte into ready[1] once it holds the lock */
  int go[2];    /* then commits when a byte arrives on go[0] */
  pid_t pid;
} holder;

static int holder_main(void *arg) {
  holder *h = arg;
  close(h->ready[0]);
  close(h->go[1]);
  pd_dict *d = NULL;
  if (pd_open(&d, h->path, NULL) != PD_OK) return 2;
  pd_val k = pd_text("order", 5), v = pd_text("A", 1);
  if (pd_begin(d) != PD_OK || pd_set(d, &k, &v) != PD_OK) return 3;
  char c;
  if (write(h->ready[1], "r", 1) != 1 || read(h->go[0], &c, 1) != 1) return 4;
  if (pd_commit(d) != PD_OK) return 5;
  pd_close(d);
  return 0;
}

static void hold_write_lock(holder *h, const char *path) {
  memset(h, 0, sizeof *h);
  h->path = path;
  assert_int_equal(pipe(h->ready), 0);
  assert_int_equal(pipe(h->go), 0);
  h->pid = tu_fork(holder_main, h);
  close(h->ready[1]);
  close(h->go[0]);
  char c;
  assert_int_equal(read(h->ready[0], &c, 1), 1);
  close(h->ready[0]);
}

static void commit_and_release(holder *h) {
  assert_int_equal(write(h->go[1], "g", 1), 1);
  close(h->go[1]);
  assert_int_equal(tu_wait(h->pid), 0);
}

static char *order_of(const char *path) {
  pd_dict *d = tu_open(path, NULL);
  pd_val k = pd_text("order", 5), v;
  TU_OK(d, pd_get(d, &k, &v));
  assert_int_equal(v.kind, PD_TEXT);
  char *out = strndup(v.u.s.ptr, v.u.s.len);
  pd_close(d);
  return out;
}

/* B has waited long and claimed; C comes later and must let B go first.
 * A commits 1 ms after C starts: without the claim, C, polling every few
 * microseconds at first, takes the lock before B, which sleeps 250-500 us
 * between polls by then, and the final value is B's. Five rounds, C last
 * every time. */
static void test_write_priority__long_waiter_goes_before_a_newcomer(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "p.db");
  for (int round = 0; round < 5; round++) {
    holder a;
    hold_write_lock(&a, path);
    writer b, c;
    start_writer(&b, path, "B");
    tu_sleep_ms(CLAIM_AFTER_MS);
    if (!standing_claim(path)) fail_msg("round %d: B has waited and claimed nothing", round);
    assert_int_equal(object_size(path), OBJECT_BYTES);
    start_writer(&c, path, "C");
    tu_sleep_ms(1);
    commit_and_release(&a);
    writer_seconds(&b);
    writer_seconds(&c);
    char *order = order_of(path);
    assert_string_equal(order, "C"); /* B wrote first, C after it */
    free(order);
    /* Every connection is closed: the last close removed the object. */
    assert_false(object_exists(path));
  }
  tu_rmdir(dir);
}

/* B claims, then is stopped and killed while it waits. While its claim
 * stands, C stands back even from a free lock: B is stopped (it renews its
 * claim no more, which stays good for 100 ms) and A commits; 20 ms later C
 * has not written. Then B's claim must not keep C waiting: C's timeout is
 * 10 s and a claim not renewed for 100 ms is cleared, so C must be done
 * well within 5 s; a claim never cleared would hold C until its timeout. */
static void test_write_priority__killed_claimant_holds_nobody_back(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "k.db");
  holder a;
  hold_write_lock(&a, path);
  writer b, c;
  start_writer(&b, path, "B");
  tu_sleep_ms(CLAIM_AFTER_MS);
  uint32_t claim = standing_claim(path);
  if (!claim) fail_msg("B has waited and claimed nothing");
  start_writer(&c, path, "C");
  tu_sleep_ms(CLAIM_AFTER_MS);
  assert_int_equal(standing_claim(path), claim); /* still B's: C has not cleared it */
  assert_int_equal(kill(b.pid, SIGSTOP), 0);
  commit_and_release(&a);
  tu_sleep_ms(20);
  char *before = order_of(path);
  /* Killed before any assertion: a stopped child would outlive a failure. */
  assert_int_equal(kill(b.pid, SIGKILL), 0);
  assert_int_equal(tu_wait(b.pid), 128 + SIGKILL);
  assert_string_equal(before, "A"); /* the lock was free, and C stood back */
  free(before);
  assert_true(writer_seconds(&c) < 5);
  char *order = order_of(path);
  assert_string_equal(order, "C");
  free(order);
  tu_rmdir(dir);
}

/* An object of that name that is not ours (another size, or empty: one
 * whose creator never sized it) is neither written nor resized, nor
 * removed; writers wait as they did without one. */
static void foreign_object_is_left_alone(const char *foreign, size_t size) {
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "f.db");
  pd_close(tu_open(path, NULL)); /* the file, so that it has an inode; nothing written */
  char name[64];
  snprintf(name, sizeof name, "%s", object_name(path));
  shm_unlink(name); /* one a crashed earlier run left for a file of this inode */
  int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, foreign, size), (ssize_t)size);
  holder a;
  hold_write_lock(&a, path);
  writer b;
  start_writer(&b, path, "B");
  tu_sleep_ms(CLAIM_AFTER_MS);
  commit_and_release(&a);
  writer_seconds(&b);
  char *order = order_of(path);
  assert_string_equal(order, "B");
  free(order);
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  assert_int_equal(st.st_size, (off_t)size);
  char back[64];
  assert_int_equal(pread(fd, back, sizeof back, 0), (ssize_t)size);
  if (size) assert_memory_equal(back, foreign, size);
  close(fd);
  assert_true(object_exists(path)); /* not removed either */
  shm_unlink(name);
  tu_rmdir(dir);
}

static void test_write_priority__foreign_object_of_another_size_is_left_alone(void **state) {
  (void)state;
  static const char foreign[] = "not a permadict object";
  foreign_object_is_left_alone(foreign, sizeof foreign);
}

static void test_write_priority__foreign_empty_object_is_left_alone(void **state) {
  (void)state;
  foreign_object_is_left_alone("", 0);
}

static void test_write_priority__foreign_object_of_our_size_is_left_alone(void **state) {
  (void)state;
  static const char foreign[OBJECT_BYTES] = "24 bytes, not our magic";
  foreign_object_is_left_alone(foreign, sizeof foreign);
}

/* For a child: a writer whose file size limit (1 byte, which ftruncate
 * obeys too) keeps it from sizing the object it has just created. Its set
 * fails as well: the WAL cannot grow either. */
static int write_unable_to_size_the_object(void *arg) {
  pd_dict *d = NULL;
  if (pd_open(&d, arg, NULL) != PD_OK) return 2;
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit one_byte = {1, 1};
  if (setrlimit(RLIMIT_FSIZE, &one_byte) != 0) return 3;
  /* The premise: the limit does keep a new object from being sized. */
  char probe[64];
  snprintf(probe, sizeof probe, "/permadict-test-fsize-%d", (int)getpid());
  int fd = shm_open(probe, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return 5;
  int sized = ftruncate(fd, OBJECT_BYTES) == 0;
  close(fd);
  shm_unlink(probe);
  if (sized) return 6;
  pd_val k = pd_text("k", 1), v = pd_int(1);
  if (pd_set(d, &k, &v) == PD_OK) return 4;
  pd_close(d);
  return 0;
}

/* A creator that cannot size its new object removes it: left empty, it
 * would be taken for one not yet ready by every later writer, which would
 * then give up on priority for this file until the object went. */
static void test_write_priority__an_object_its_creator_cannot_size_is_removed(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "s.db");
  pd_close(tu_open(path, NULL));
  shm_unlink(object_name(path)); /* one a crashed earlier run left for a file of this inode */
  pd_dict *reader = tu_open(path, NULL); /* keeps the -wal and -shm the child needs */
  assert_int_equal(tu_run_child(write_unable_to_size_the_object, (void *)path), 0);
  assert_false(object_exists(path));
  pd_close(reader);
  tu_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_write_priority__long_waiter_goes_before_a_newcomer),
      cmocka_unit_test(test_write_priority__killed_claimant_holds_nobody_back),
      cmocka_unit_test(test_write_priority__foreign_object_of_another_size_is_left_alone),
      cmocka_unit_test(test_write_priority__foreign_empty_object_is_left_alone),
      cmocka_unit_test(test_write_priority__foreign_object_of_our_size_is_left_alone),
      cmocka_unit_test(test_write_priority__an_object_its_creator_cannot_size_is_removed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
