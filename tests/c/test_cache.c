/*
 * test_cache.c - the per-handle read cache never answers with anything older
 * than a commit that completed before the call began, whoever made it.
 *
 * Every test warms the cache in the parent (two reads of the same thing),
 * lets another process (fork + fresh open) commit, and reads again.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct child_ctx {
  const char *path;
  int op;        /* what the child does, see child_write */
  int64_t value;
} child_ctx;

enum { OP_SET, OP_DELETE, OP_SET_OTHER, OP_SET_THEN_TRUNCATE_WAL, OP_CLEAR };

static int child_write(void *arg) {
  child_ctx *c = arg;
  pd_dict *d = NULL;
  if (pd_open(&d, c->path, NULL) != PD_OK) return 10;
  pd_val k = pd_int(1), k2 = pd_int(2), v = pd_int(c->value);
  int rc = PD_OK;
  switch (c->op) {
  case OP_SET: rc = pd_set(d, &k, &v); break;
  case OP_DELETE: rc = pd_delete(d, &k); break;
  case OP_SET_OTHER: rc = pd_set(d, &k2, &v); break;
  case OP_CLEAR: rc = pd_clear(d); break;
  case OP_SET_THEN_TRUNCATE_WAL:
    rc = pd_set(d, &k, &v);
    pd_close(d);
    d = NULL;
    /* A WAL restart: the header's salts change, mxFrame drops to 0. */
    if (rc == PD_OK && tu_sql(c->path, "PRAGMA wal_checkpoint(TRUNCATE)") != 0) rc = 11;
    break;
  }
  pd_close(d);
  return rc == PD_OK ? 0 : 12;
}

static void run_child(const char *path, int op, int64_t value) {
  child_ctx c = {path, op, value};
  assert_int_equal(tu_run_child(child_write, &c), 0);
}

static int64_t get_int(pd_dict *d, int64_t key) {
  pd_val k = pd_int(key), out;
  TU_OK(d, pd_get(d, &k, &out));
  assert_int_equal(out.kind, PD_INT);
  return out.u.i;
}

static void test_cache__get_sees_other_process_set(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "c.db");
  pd_dict *d = tu_open(path, NULL);
  pd_val k = pd_int(1), v = pd_int(1);
  TU_OK(d, pd_set(d, &k, &v));
  assert_int_equal(get_int(d, 1), 1);
  assert_int_equal(get_int(d, 1), 1); /* now served by the cache */
  run_child(path, OP_SET, 2);
  assert_int_equal(get_int(d, 1), 2);
  run_child(path, OP_SET, 3);
  assert_int_equal(get_int(d, 1), 3);
  pd_close(d);
  tu_rmdir(dir);
}

static void test_cache__delete_count_and_miss_to_hit_are_seen(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "c.db");
  pd_dict *d = tu_open(path, NULL);
  pd_val k = pd_int(1), k2 = pd_int(2), v = pd_int(1), out;
  int64_t n = -1;
  TU_OK(d, pd_set(d, &k, &v));
  assert_int_equal(get_int(d, 1), 1);
  assert_int_equal(get_int(d, 1), 1);
  TU_OK(d, pd_count(d, &n));
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(n, 1);
  /* A cached miss (get and contains) becomes a hit. */
  assert_int_equal(pd_get(d, &k2, &out), PD_ENOTFOUND);
  assert_int_equal(pd_contains(d, &k2), PD_ENOTFOUND);
  assert_int_equal(pd_get(d, &k2, &out), PD_ENOTFOUND);
  run_child(path, OP_SET_OTHER, 7);
  TU_OK(d, pd_contains(d, &k2));
  assert_int_equal(get_int(d, 2), 7);
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(n, 2);
  /* A cached hit becomes a miss. */
  assert_int_equal(get_int(d, 1), 1);
  TU_OK(d, pd_contains(d, &k));
  run_child(path, OP_DELETE, 0);
  assert_int_equal(pd_get(d, &k, &out), PD_ENOTFOUND);
  assert_int_equal(pd_contains(d, &k), PD_ENOTFOUND);
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(n, 1);
  run_child(path, OP_CLEAR, 0);
  assert_int_equal(pd_get(d, &k2, &out), PD_ENOTFOUND);
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(n, 0);
  pd_close(d);
  tu_rmdir(dir);
}

static void test_cache__survives_checkpoint_and_wal_restart(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "c.db");
  pd_dict *d = tu_open(path, NULL);
  pd_val k = pd_int(1), v = pd_int(1);
  TU_OK(d, pd_set(d, &k, &v));
  for (int64_t i = 2; i < 6; i++) {
    assert_int_equal(get_int(d, 1), i - 1);
    assert_int_equal(get_int(d, 1), i - 1);
    run_child(path, OP_SET_THEN_TRUNCATE_WAL, i);
    assert_int_equal(get_int(d, 1), i);
  }
  pd_close(d);
  tu_rmdir(dir);
}

static void test_cache__own_writes_and_transactions_are_seen(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  pd_dict *d = tu_open(tu_path(dir, "c.db"), NULL);
  pd_val k = pd_int(1), v1 = pd_int(1), v2 = pd_int(2), out;
  int64_t n = -1;
  TU_OK(d, pd_set(d, &k, &v1));
  assert_int_equal(get_int(d, 1), 1);
  TU_OK(d, pd_begin(d));
  TU_OK(d, pd_set(d, &k, &v2));
  assert_int_equal(get_int(d, 1), 2); /* the transaction's own write */
  TU_OK(d, pd_delete(d, &k));
  assert_int_equal(pd_get(d, &k, &out), PD_ENOTFOUND);
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(n, 0);
  TU_OK(d, pd_rollback(d));
  assert_int_equal(get_int(d, 1), 1);
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(n, 1);
  pd_val by = pd_int(5);
  TU_OK(d, pd_incr(d, &k, &by, NULL));
  assert_int_equal(get_int(d, 1), 6);
  pd_close(d);
  tu_rmdir(dir);
}

static void test_cache__small_budget_and_disabled_cache_give_exact_values(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "c.db");
  int sizes[] = {1, 16, -1};
  pd_dict *w = tu_open(path, NULL);
  char big[6000];
  memset(big, 'b', sizeof big);
  TU_OK(w, pd_begin(w));
  for (int64_t i = 0; i < 2000; i++) {
    pd_val k = pd_int(i), v = pd_int(i * 3);
    TU_OK(w, pd_set(w, &k, &v));
  }
  pd_val bk = pd_int(-1), bv = pd_bytes(big, sizeof big);
  TU_OK(w, pd_set(w, &bk, &bv));
  TU_OK(w, pd_commit(w));
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    pd_options o = PD_OPTIONS_INIT;
    o.cache_kib = sizes[s];
    pd_dict *d = NULL;
    assert_int_equal(pd_open(&d, path, &o), PD_OK);
    for (int pass = 0; pass < 3; pass++)
      for (int64_t i = 0; i < 2000; i += 7) assert_int_equal(get_int(d, i), i * 3);
    pd_val out;
    for (int pass = 0; pass < 2; pass++) {
      TU_OK(d, pd_get(d, &bk, &out));
      assert_int_equal(out.u.s.len, sizeof big);
      assert_memory_equal(out.u.s.ptr, big, sizeof big);
    }
    assert_int_equal(get_int(d, 3), 9); /* cached now, then changed by w */
    assert_int_equal(get_int(d, 3), 9);
    pd_val k = pd_int(3), v = pd_int(-3);
    TU_OK(w, pd_set(w, &k, &v));
    assert_int_equal(get_int(d, 3), -3);
    v = pd_int(9);
    TU_OK(w, pd_set(w, &k, &v));
    pd_close(d);
  }
  /* Version 1 of pd_options (no cache_kib) is still accepted. */
  pd_options o1 = PD_OPTIONS_INIT;
  o1.version = 1;
  pd_dict *d1 = NULL;
  assert_int_equal(pd_open(&d1, path, &o1), PD_OK);
  assert_int_equal(get_int(d1, 3), 9);
  pd_close(d1);
  pd_close(w);
  tu_rmdir(dir);
}

/* A writer process and this reader alternate through pipes: after the
 * writer reports commit i, the very next get must return exactly i. */
typedef struct pingpong {
  const char *path;
  int to_writer[2], to_reader[2];
  int rounds;
} pingpong;

static int writer_loop(void *arg) {
  pingpong *p = arg;
  /* Only the parent may hold these ends, or a failing parent hangs us. */
  close(p->to_writer[1]);
  close(p->to_reader[0]);
  pd_dict *d = NULL;
  if (pd_open(&d, p->path, NULL) != PD_OK) return 10;
  pd_val k = pd_int(1), k2 = pd_int(2);
  for (int i = 1; i <= p->rounds; i++) {
    char go;
    if (read(p->to_writer[0], &go, 1) != 1) return 11;
    pd_val v = pd_int(i);
    /* Every round sets; every fifth also deletes and recreates key 2. */
    if (pd_set(d, &k, &v) != PD_OK) return 12;
    if (i % 5 == 0 && pd_delete(d, &k2) != PD_OK && i > 5) return 13;
    if (i % 5 == 0 && pd_set(d, &k2, &v) != PD_OK) return 14;
    if (write(p->to_reader[1], "x", 1) != 1) return 15;
  }
  pd_close(d);
  return 0;
}

/* The cache's table starts small and doubles as entries arrive, moving its
 * entries (read_cache.c): every value must come back exact through the
 * doublings, with misses and contains entries mixed in, and with commits by
 * another handle in between leaving dead entries for a doubling to drop. */
static void test_cache__growing_table_keeps_every_value(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "c.db");
  pd_dict *w = tu_open(path, NULL), *d = tu_open(path, NULL);
  enum { N = 30000 };
  TU_OK(w, pd_begin(w));
  for (int64_t i = 0; i < N; i++) {
    pd_val k = pd_int(i), v = pd_int(i * 7);
    TU_OK(w, pd_set(w, &k, &v));
  }
  TU_OK(w, pd_commit(w));
  for (int pass = 0; pass < 3; pass++) {
    for (int64_t i = 0; i < N; i++) {
      assert_int_equal(get_int(d, i), i * 7);
      pd_val miss = pd_int(-1 - i), out;
      if (i % 5 == 0) assert_int_equal(pd_get(d, &miss, &out), PD_ENOTFOUND);
      pd_val k = pd_int(i);
      if (i % 3 == 0) assert_int_equal(pd_contains(d, &k), PD_OK);
      if (pass == 1 && i == N / 2) { /* a commit mid-pass: the older entries die */
        pd_val k0 = pd_int(0), v0 = pd_int(-7);
        TU_OK(w, pd_set(w, &k0, &v0));
      }
    }
    if (pass == 1) {
      assert_int_equal(get_int(d, 0), -7);
      pd_val k0 = pd_int(0), v0 = pd_int(0);
      TU_OK(w, pd_set(w, &k0, &v0));
    }
  }
  pd_close(w);
  pd_close(d);
  tu_rmdir(dir);
}

static void test_cache__alternating_writer_and_reader_agree_exactly(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  pingpong p = {tu_path(dir, "c.db"), {0}, {0}, 400};
  pd_dict *d = tu_open(p.path, NULL);
  pd_val k = pd_int(1), v = pd_int(0);
  TU_OK(d, pd_set(d, &k, &v));
  assert_int_equal(pipe(p.to_writer), 0);
  assert_int_equal(pipe(p.to_reader), 0);
  pid_t pid = tu_fork(writer_loop, &p);
  int64_t last_k2 = -1;
  for (int i = 1; i <= p.rounds; i++) {
    /* Warm the cache on the old state, then let the writer commit. */
    assert_int_equal(get_int(d, 1), i - 1);
    assert_int_equal(get_int(d, 1), i - 1);
    assert_int_equal(write(p.to_writer[1], "g", 1), 1);
    char done;
    assert_int_equal(read(p.to_reader[0], &done, 1), 1);
    assert_int_equal(get_int(d, 1), i);
    if (i % 5 == 0) last_k2 = i;
    if (last_k2 > 0) assert_int_equal(get_int(d, 2), last_k2);
    int64_t n = 0;
    TU_OK(d, pd_count(d, &n));
    assert_int_equal(n, last_k2 > 0 ? 2 : 1);
  }
  assert_int_equal(tu_wait(pid), 0);
  close(p.to_writer[0]);
  close(p.to_writer[1]);
  close(p.to_reader[0]);
  close(p.to_reader[1]);
  pd_close(d);
  tu_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cache__get_sees_other_process_set),
      cmocka_unit_test(test_cache__delete_count_and_miss_to_hit_are_seen),
      cmocka_unit_test(test_cache__survives_checkpoint_and_wal_restart),
      cmocka_unit_test(test_cache__own_writes_and_transactions_are_seen),
      cmocka_unit_test(test_cache__small_budget_and_disabled_cache_give_exact_values),
      cmocka_unit_test(test_cache__growing_table_keeps_every_value),
      cmocka_unit_test(test_cache__alternating_writer_and_reader_agree_exactly),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
