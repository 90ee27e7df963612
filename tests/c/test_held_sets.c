/* test_held_sets.c - the sets an explicit transaction holds back and writes
 * 64 to a statement (engine_sqlite_sets.c): every read inside the
 * transaction sees them, the change log's counts stay exact, rollback
 * forgets them. Checked against a model of the dict. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#define KEYS 400

/* The model: value of key i (-1: absent), the count and the version, and
 * the count right after each version. */
typedef struct model {
  int64_t value[KEYS];
  int64_t count, version;
  int64_t count_after[4096];
} model;

/* An empty dict's model (static: count_after is large). */
static model *model_empty(void) {
  static model m;
  memset(&m, 0, sizeof m);
  for (int i = 0; i < KEYS; i++) m.value[i] = -1;
  return &m;
}

static void model_changed(model *m) {
  m->version++;
  assert_true(m->version < (int64_t)(sizeof m->count_after / sizeof *m->count_after));
  m->count_after[m->version] = m->count;
}

static void set_key(pd_dict *d, model *m, int i, int64_t value) {
  char kb[16];
  pd_val k = tu_key_of(i, kb, sizeof kb), v = pd_int(value);
  TU_OK(d, pd_set(d, &k, &v));
  if (m->value[i] < 0) m->count++;
  m->value[i] = value;
  model_changed(m);
}

static void delete_key(pd_dict *d, model *m, int i) {
  char kb[16];
  pd_val k = tu_key_of(i, kb, sizeof kb);
  TU_OK(d, pd_delete(d, &k));
  m->value[i] = -1;
  m->count--;
  model_changed(m);
}

/* Everything a read inside the transaction can see agrees with the model. */
static void check_reads(pd_dict *d, const model *m) {
  int64_t n = 0;
  TU_OK(d, pd_count(d, &n));
  assert_int_equal(n, m->count);
  TU_OK(d, pd_version(d, &n));
  assert_int_equal(n, m->version);
  for (int i = 0; i < KEYS; i++) {
    char kb[16];
    pd_val k = tu_key_of(i, kb, sizeof kb), out;
    int rc = pd_get(d, &k, &out);
    if (m->value[i] < 0) {
      assert_int_equal(rc, PD_ENOTFOUND);
    } else {
      TU_OK(d, rc);
      assert_int_equal(out.kind, PD_INT);
      assert_int_equal(out.u.i, m->value[i]);
    }
  }
  pd_iter *it = NULL;
  TU_OK(d, pd_iter_open(&it, d, NULL));
  int64_t seen = 0;
  pd_val k;
  int rc;
  while ((rc = pd_iter_next(it, &k, NULL)) == PD_OK) seen++;
  pd_iter_free(it);
  assert_int_equal(rc, PD_ITEROVER);
  assert_int_equal(seen, m->count);
}

/* The stored change log row of each version carries the count after it. */
static void check_logged_counts(const char *path, const model *m, int64_t from) {
  for (int64_t v = from + 1; v <= m->version; v++) {
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT count FROM permadict_changes WHERE version = %lld AND ns = "
             "(SELECT id FROM permadict_namespaces WHERE name = 'default')",
             (long long)v);
    int64_t logged = tu_sql_int(path, sql);
    if (logged != m->count_after[v])
      fail_msg("version %lld: log row says %lld entries, the model %lld", (long long)v,
               (long long)logged, (long long)m->count_after[v]);
  }
}

static unsigned next_random(unsigned *s) {
  *s = *s * 1103515245u + 12345u;
  return (*s >> 16) & 0x7fff;
}

static void test_held_sets__reads_inside_the_transaction_see_them(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "t.db");
  pd_dict *d = tu_open(path, NULL);
  model *m = model_empty();
  /* Keys 0..49 are in the file before the transaction. */
  TU_OK(d, pd_begin(d));
  for (int i = 0; i < 50; i++) set_key(d, m, i, i);
  TU_OK(d, pd_commit(d));
  int64_t before = m->version;

  unsigned seed = 12345;
  int deletes = 0;
  TU_OK(d, pd_begin(d));
  /* Runs of sets between reads: shorter than a batch, exactly one, longer
   * than one (flushed by the 64th set, the rest by the read), and two. A
   * delete writes the held sets too, so the runs of 63 to 65 have none:
   * their batches end exactly where the run says. */
  const int runs[] = {1, 10, 63, 64, 65, 130, 200, 64, 7, 150, 300};
  for (size_t r = 0; r < sizeof runs / sizeof *runs; r++) {
    int batch_edge = runs[r] >= 63 && runs[r] <= 65;
    for (int s = 0; s < runs[r]; s++) {
      if (r == 6 && s == runs[r] / 2) { /* a clear between held sets */
        TU_OK(d, pd_clear(d));
        for (int i = 0; i < KEYS; i++) m->value[i] = -1;
        m->count = 0;
        model_changed(m);
      }
      int op = (int)(next_random(&seed) % 20);
      /* Even runs mostly add keys 50..399, odd runs mostly rewrite 0..99
       * (with repeats inside one batch; run 7 follows the clear, so its
       * keys are mostly new), so that full batches of mostly old and of
       * mostly new keys alternate. */
      int i = r % 2 == 0 ? 50 + (int)(next_random(&seed) % 350)
                         : (int)(next_random(&seed) % 100);
      if (op == 0 && !batch_edge && m->value[i] >= 0) {
        delete_key(d, m, i);
        deletes++;
      } else {
        set_key(d, m, i, (int64_t)r * 100000 + s);
      }
    }
    check_reads(d, m);
  }
  assert_true(deletes > 0); /* the deletes between held sets did happen */
  /* An increment reads and rewrites a key held a moment ago. */
  set_key(d, m, 3, 41);
  char kb[16];
  pd_val k3 = tu_key_of(3, kb, sizeof kb), one = pd_int(1), out;
  TU_OK(d, pd_incr(d, &k3, &one, &out));
  assert_int_equal(out.u.i, 42);
  m->value[3] = 42;
  model_changed(m);
  TU_OK(d, pd_commit(d));

  /* Another handle sees exactly the model, and the log agrees version by
   * version. */
  pd_dict *other = tu_open(path, NULL);
  check_reads(other, m);
  pd_close(other);
  check_logged_counts(path, m, before);
  pd_close(d);
  tu_rmdir(dir);
}

static void test_held_sets__rollback_forgets_them(void **state) {
  (void)state;
  const char *dir = tu_tmpdir();
  const char *path = tu_path(dir, "t.db");
  pd_dict *d = tu_open(path, NULL);
  model *m = model_empty();
  for (int i = 0; i < 5; i++) set_key(d, m, i, i);
  TU_OK(d, pd_begin(d));
  for (int i = 0; i < 100; i++) { /* a written batch and 36 held sets */
    char kb[16];
    pd_val k = tu_key_of(100 + i, kb, sizeof kb), v = pd_int(i);
    TU_OK(d, pd_set(d, &k, &v));
  }
  TU_OK(d, pd_rollback(d));
  check_reads(d, m);
  /* Versions go on from before the transaction, and the log says so. */
  TU_OK(d, pd_begin(d));
  set_key(d, m, 200, 1);
  TU_OK(d, pd_commit(d));
  check_reads(d, m);
  check_logged_counts(path, m, 0);
  pd_close(d);
  tu_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_held_sets__reads_inside_the_transaction_see_them),
      cmocka_unit_test(test_held_sets__rollback_forgets_them),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
