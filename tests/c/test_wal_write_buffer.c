/* test_wal_write_buffer.c - the WAL writes a handle gathers in memory
 * (wal_write_buffer.c) are in the file before anyone else can read them, are
 * read back right inside the transaction, and never reach the file once
 * their transaction has rolled back. Transactions here change more than
 * the page cache holds (16 MiB), so SQLite writes pages to the WAL before
 * the commit and reads them back. */
#include "testutil.h"

#include <sqlite3.h> /* types only: functions through tu_sqlite_sym */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { VALUE_BYTES = 2000, BIG_TXN_SETS = 12000 /* 24 MB */ };

/* A value that tells which key and which round wrote it. */
static pd_val value_of(unsigned char *buf, int i, int round) {
  for (int j = 0; j < VALUE_BYTES; j++) buf[j] = (unsigned char)(i * 31 + j + round * 7);
  return pd_bytes(buf, VALUE_BYTES);
}

enum { KEY_BUF = 32 };

static pd_val key_of(char *buf, const char *prefix, int i) {
  int n = snprintf(buf, KEY_BUF, "%s%d", prefix, i);
  return pd_text(buf, (size_t)n);
}

/* The premise of both tests: the transaction open on path has already
 * written pages to the WAL, far more than the buffer's 128 KiB. */
static void expect_pages_written_early(const char *path) {
  off_t wal_bytes = tu_wal_bytes(path);
  if (wal_bytes < 4 << 20)
    fail_msg("the WAL holds %lld bytes before the commit: nothing was spilled",
             (long long)wal_bytes);
}

/* The WAL header's checkpoint sequence number (walformat: bytes 12-15, big
 * endian), which every restart of the WAL increments. */
static uint32_t wal_restarts(const char *path) {
  char wal[4200];
  unsigned char h[16];
  snprintf(wal, sizeof wal, "%s-wal", path);
  FILE *f = fopen(wal, "rb");
  if (!f || fread(h, 1, sizeof h, f) != sizeof h) fail_msg("cannot read the header of %s", wal);
  fclose(f);
  return (uint32_t)h[12] << 24 | (uint32_t)h[13] << 16 | (uint32_t)h[14] << 8 | h[15];
}

typedef int (*exec_fn)(void *, const char *, void *, void *, char **);

/* A connection of SQLite's own holding one read snapshot (NULL if it
 * cannot): while it is open no checkpoint can copy later commits into the
 * database file, or finish and restart the WAL. */
static void *open_snapshot(const char *path) {
  int (*open_v2)(const char *, void **, int, const char *) =
      (int (*)(const char *, void **, int, const char *))tu_sqlite_sym("sqlite3_open_v2");
  exec_fn exec = (exec_fn)tu_sqlite_sym("sqlite3_exec");
  void *db = NULL;
  if (open_v2(path, &db, 0x1 /* SQLITE_OPEN_READONLY */, NULL) != 0 ||
      exec(db, "BEGIN; SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) != 0)
    return NULL;
  return db;
}

static void *reader_hold(const char *path) {
  void *db = open_snapshot(path);
  if (!db) fail_msg("cannot hold a read snapshot on %s", path);
  return db;
}

static void reader_release(void *db) {
  exec_fn exec = (exec_fn)tu_sqlite_sym("sqlite3_exec");
  assert_int_equal(exec(db, "COMMIT", NULL, NULL, NULL), 0);
  assert_int_equal(((int (*)(void *))tu_sqlite_sym("sqlite3_close"))(db), 0);
}

static void set_range(pd_dict *d, const char *prefix, int from, int to, int round) {
  unsigned char v[VALUE_BYTES];
  char k[KEY_BUF];
  for (int i = from; i < to; i++) {
    pd_val key = key_of(k, prefix, i), value = value_of(v, i, round);
    TU_OK(d, pd_set(d, &key, &value));
  }
}

static void expect_range(pd_dict *d, const char *prefix, int from, int to, int round) {
  unsigned char want[VALUE_BYTES];
  char k[KEY_BUF];
  for (int i = from; i < to; i++) {
    pd_val key = key_of(k, prefix, i), got, expected = value_of(want, i, round);
    int rc = pd_get(d, &key, &got);
    if (rc != PD_OK) fail_msg("get %s: %s: %s", k, pd_errstr(rc), pd_errmsg(d));
    if (got.kind != PD_BYTES || got.u.s.len != VALUE_BYTES ||
        memcmp(got.u.s.ptr, expected.u.s.ptr, VALUE_BYTES) != 0)
      fail_msg("%s does not hold what round %d wrote", k, round);
  }
}

/* Every commit, big or small, is whole in the file when it returns: another
 * connection (its own descriptor and write buffer) reads it all. */
static void test_wal_write_buffer__commits_are_in_the_file_when_they_return(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "b.db");
  pd_dict *w = tu_open(path, NULL), *r = tu_open(path, NULL);
  TU_OK(w, pd_begin(w));
  set_range(w, "big", 0, BIG_TXN_SETS, 1);
  /* Inside the transaction, the pages written out early read back right. */
  expect_range(w, "big", 0, BIG_TXN_SETS, 1);
  expect_pages_written_early(path);
  TU_OK(w, pd_commit(w));
  expect_range(r, "big", 0, BIG_TXN_SETS, 1);
  for (int i = 0; i < 50; i++) { /* small autocommits: a few frames each */
    set_range(w, "small", i, i + 1, 2);
    expect_range(r, "small", 0, i + 1, 2);
  }
  TU_OK(r, pd_check(r));
  pd_close(w);
  pd_close(r);
  tu_rmdir(dir);
}

/* A transaction that wrote pages to the WAL and rolled back leaves nothing
 * behind that could later land on another writer's committed frames. The
 * other writer commits over the same part of the WAL; then the first handle
 * writes again, and the other's data must still read right, here and after
 * a reopen. */
static void test_wal_write_buffer__rolled_back_pages_never_reach_the_file(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "r.db");
  pd_dict *a = tu_open(path, NULL), *b = tu_open(path, NULL);
  set_range(a, "base", 0, 10, 0);
  /* b's frames must stay where a's were: a restart would move them to the
   * start of the WAL, and a stale write of a's at its old offset would then
   * land where nobody reads. */
  void *reader = reader_hold(path);
  uint32_t restarts = wal_restarts(path);
  TU_OK(a, pd_begin(a));
  set_range(a, "gone", 0, BIG_TXN_SETS, 1);
  expect_pages_written_early(path);
  TU_OK(a, pd_rollback(a));
  /* More than a wrote, in transactions of its own, over the same offsets. */
  for (int t = 0; t < 4; t++) {
    TU_OK(b, pd_begin(b));
    set_range(b, "kept", t * 2000, (t + 1) * 2000, 2);
    TU_OK(b, pd_commit(b));
  }
  set_range(a, "after", 0, 3, 3); /* a writes again */
  if (wal_restarts(path) != restarts) fail_msg("the WAL restarted although a reader held it");
  reader_release(reader);
  pd_close(a);
  expect_range(b, "kept", 0, 8000, 2);
  expect_range(b, "base", 0, 10, 0);
  char k[KEY_BUF];
  pd_val gone = key_of(k, "gone", 0);
  assert_int_equal(pd_contains(b, &gone), PD_ENOTFOUND);
  TU_OK(b, pd_check(b));
  pd_close(b);
  pd_dict *c = tu_open(path, NULL);
  expect_range(c, "kept", 0, 8000, 2);
  expect_range(c, "after", 0, 3, 3);
  TU_OK(c, pd_check(c));
  pd_close(c);
  tu_rmdir(dir);
}

/* For a child: holds a read snapshot on path until the parent closes the
 * other end of hold, then exits without closing anything. */
typedef struct {
  const char *path;
  int ready[2], hold[2]; /* pipes: ready written once holding; hold read until EOF */
} snapshot_args;

static int hold_snapshot(void *arg) {
  snapshot_args *a = arg;
  close(a->ready[0]);
  close(a->hold[1]); /* or its read never ends */
  if (!open_snapshot(a->path)) return 1;
  char c = 'r', end;
  if (write(a->ready[1], &c, 1) != 1) return 1;
  while (read(a->hold[0], &end, 1) > 0) {
  }
  return 0;
}

enum { REWRITE_TXN_SETS = 24000 /* 48 MB: pages written out twice */ };

/* A VFS under the library's (installed before its first open, so the
 * library's buffer wraps it) that counts the WAL reads of more than one
 * frame: only the buffer's read-ahead window makes them, for a checksum
 * rewrite or a recovery under the write lock. */
static sqlite3_vfs *real_vfs, counting_vfs;
static const sqlite3_io_methods *real_wal_io;
static sqlite3_io_methods counting_wal_io;
static int window_reads;

static int counting_wal_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 ofst) {
  if (n > 65536 + 24) window_reads++; /* the largest page and its header */
  return real_wal_io->xRead(f, buf, n, ofst);
}

static int counting_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
                         int *out_flags) {
  (void)vfs;
  int rc = real_vfs->xOpen(real_vfs, name, f, flags, out_flags);
  if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) && f->pMethods) {
    if (!real_wal_io) {
      real_wal_io = f->pMethods;
      counting_wal_io = *real_wal_io;
      counting_wal_io.xRead = counting_wal_read;
    }
    if (f->pMethods == real_wal_io) f->pMethods = &counting_wal_io;
  }
  return rc;
}

static int counting_vfs_install(void) {
  real_vfs = ((sqlite3_vfs * (*)(const char *)) tu_sqlite_sym("sqlite3_vfs_find"))(NULL);
  if (!real_vfs) return 0;
  counting_vfs = *real_vfs;
  counting_vfs.zName = "pd-test-window-reads";
  counting_vfs.pNext = NULL;
  counting_vfs.xOpen = counting_open;
  int (*reg)(sqlite3_vfs *, int) =
      (int (*)(sqlite3_vfs *, int))tu_sqlite_sym("sqlite3_vfs_register");
  return reg(&counting_vfs, 1) == SQLITE_OK;
}

/* For a child: commits one transaction larger than the page cache several
 * times over, then exits without closing. A small commit comes first: the
 * first commit after the WAL starts over asks for the WAL's size, which
 * would write the buffer out whatever it held, so the big one must not be
 * that commit. */
static int commit_and_vanish(void *arg) {
  pd_dict *d = NULL;
  unsigned char v[VALUE_BYTES];
  char k[KEY_BUF];
  pd_val first = key_of(k, "first", 0), small = value_of(v, 0, 1);
  if (pd_open(&d, arg, NULL) != PD_OK || pd_set(d, &first, &small) != PD_OK ||
      pd_begin(d) != PD_OK)
    return 1;
  for (int i = 0; i < REWRITE_TXN_SETS; i++) {
    pd_val key = key_of(k, "big", i), value = value_of(v, i, 1);
    if (pd_set(d, &key, &value) != PD_OK) return 1;
  }
  window_reads = 0;
  if (pd_commit(d) != PD_OK) return 1;
  return window_reads > 0 ? 0 : 2; /* 2: no checksum was rewritten */
}

/* A transaction that writes a page out early and then again makes SQLite
 * recompute the checksum of every frame after it at the commit, which the
 * buffer batches (a read-ahead window). Checksums are checked only when a
 * WAL is recovered: here the writer exits after its commit while a reader's
 * snapshot keeps the commit out of the database file, so the next opener
 * rebuilds the WAL-index from the WAL, frame by frame, and stops at the
 * first frame whose checksum is wrong. The whole commit must come back. */
static void test_wal_write_buffer__rewritten_checksums_survive_recovery(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "c.db");
  pd_dict *d = tu_open(path, NULL);
  set_range(d, "base", 0, 10, 0);
  pd_close(d);
  snapshot_args a = {path, {-1, -1}, {-1, -1}};
  assert_int_equal(pipe(a.ready), 0);
  assert_int_equal(pipe(a.hold), 0);
  pid_t reader = tu_fork(hold_snapshot, &a);
  close(a.ready[1]);
  close(a.hold[0]);
  char c;
  if (read(a.ready[0], &c, 1) != 1) fail_msg("the reader child could not hold a snapshot");
  close(a.ready[0]);
  int wrote = tu_run_child(commit_and_vanish, (void *)path);
  close(a.hold[1]);
  assert_int_equal(tu_wait(reader), 0);
  if (wrote == 2) fail_msg("the commit rewrote no checksum: the premise does not hold");
  assert_int_equal(wrote, 0);
  /* The commit is in the WAL only: no checkpoint copied it. */
  struct stat db;
  assert_int_equal(stat(path, &db), 0);
  if (db.st_size > 1 << 20 || tu_wal_bytes(path) < (off_t)REWRITE_TXN_SETS * VALUE_BYTES)
    fail_msg("database file %lld bytes, WAL %lld: the commit is not in the WAL alone",
             (long long)db.st_size, (long long)tu_wal_bytes(path));
  d = tu_open(path, NULL);
  expect_range(d, "base", 0, 10, 0);
  expect_range(d, "first", 0, 1, 1);
  expect_range(d, "big", 0, REWRITE_TXN_SETS, 1);
  TU_OK(d, pd_check(d));
  pd_close(d);
  tu_rmdir(dir);
}

int main(void) {
  if (!counting_vfs_install()) {
    fprintf(stderr, "test_wal_write_buffer: cannot register a VFS over SQLite's default\n");
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wal_write_buffer__commits_are_in_the_file_when_they_return),
      cmocka_unit_test(test_wal_write_buffer__rolled_back_pages_never_reach_the_file),
      cmocka_unit_test(test_wal_write_buffer__rewritten_checksums_survive_recovery),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
