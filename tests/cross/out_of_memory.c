/*
 * out_of_memory - SQLite's allocator (SQLITE_CONFIG_MALLOC) fails at the Nth
 * allocation, for N = 1, 2, ... until a whole workload (open, writes, a
 * transaction, reads, iteration, close) runs without the failure firing.
 * Every call either succeeds or returns PD_ENOMEM; once memory is back the
 * same handle works; under the sanitize build LeakSanitizer fails the run on
 * any leak. (permadict's own malloc calls are not failed here: the ASan
 * allocator cannot be wrapped portably; they are small and checked for NULL
 * by the core's unit tests.)
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cross_util.h"

static sqlite3_mem_methods real;
static int armed, countdown, fired;

static int should_fail(void) {
  if (!armed) return 0;
  if (--countdown == 0) {
    fired++;
    return 1;
  }
  return 0;
}
static void *oom_malloc(int n) { return should_fail() ? NULL : real.xMalloc(n); }
static void *oom_realloc(void *p, int n) { return should_fail() ? NULL : real.xRealloc(p, n); }

static int ok_or_nomem(int rc, pd_dict *d, const char *what, int n) {
  XU_CHECK(rc == PD_OK || rc == PD_ENOMEM || (rc == PD_ENOTFOUND && strcmp(what, "get") == 0),
           "N=%d %s: %s: %s", n, what, pd_errstr(rc), pd_errmsg(d));
  return rc == PD_OK;
}

static void workload(const char *path, int n) {
  pd_options o = PD_OPTIONS_INIT;
  pd_dict *d = NULL;
  int rc = pd_open(&d, path, &o);
  if (!ok_or_nomem(rc, NULL, "open", n)) {
    XU_CHECK(d == NULL, "N=%d: failed open left a handle", n);
    return;
  }
  for (int i = 0; i < 5; i++) {
    pd_val k = pd_int(i), v = pd_text("value", 5);
    ok_or_nomem(pd_set(d, &k, &v), d, "set", n);
  }
  if (ok_or_nomem(pd_begin(d), d, "begin", n)) {
    pd_val k = pd_text("txn", 3), v = pd_int(n);
    ok_or_nomem(pd_set(d, &k, &v), d, "set in txn", n);
    if (!ok_or_nomem(pd_commit(d), d, "commit", n) && pd_in_transaction(d)) pd_rollback(d);
  }
  pd_val k = pd_int(3), v;
  ok_or_nomem(pd_get(d, &k, &v), d, "get", n);
  pd_iter *it = NULL;
  if (ok_or_nomem(pd_iter_open(&it, d, NULL), d, "iter_open", n)) {
    pd_val ik;
    while ((rc = pd_iter_next(it, &ik, NULL)) == PD_OK) {
    }
    XU_CHECK(rc == PD_ITEROVER || rc == PD_ENOMEM, "N=%d iter: %s", n, pd_errstr(rc));
    pd_iter_free(it);
  }
  /* Memory back: the same handle must work. */
  int was_armed = armed;
  armed = 0;
  pd_val k2 = pd_text("after", 5), v2 = pd_int(n);
  XU_RC(pd_set(d, &k2, &v2), PD_OK, d, "set after memory came back");
  armed = was_armed;
  pd_close(d);
}

/* Opens path, counts its entries into *before, and begins a transaction of
 * sets of keys first .. first + sets - 1 (to 0 .. sets - 1). */
static pd_dict *begin_with_sets(const char *path, int first, int sets, int64_t *before) {
  pd_dict *d = xu_open(path, NULL);
  XU_RC(pd_count(d, before), PD_OK, d, "count before the transaction");
  XU_RC(pd_begin(d), PD_OK, d, "begin");
  for (int i = 0; i < sets; i++) {
    pd_val k = pd_int(first + i), v = pd_int(i);
    XU_RC(pd_set(d, &k, &v), PD_OK, d, "a set of the transaction");
  }
  return d;
}

/* A set inside pd_begin is held and reported done before it is written
 * (engine_sqlite_sets.c). Each allocation of a later call is failed in turn
 * (some make SQLite end the transaction by itself). When writing the held
 * sets fails, the whole transaction is given up: that call says so, a later
 * read neither sees nor writes them, later writes are refused and pd_commit
 * commits nothing. When only the call's own read fails, the transaction
 * goes on whole. A failed commit commits nothing. Either way the file keeps
 * only what it had, once the transaction is over. */
static void held_sets_lost_to_a_failure(const char *path) {
  static const char *const calls[] = {"get", "count", "iteration", "commit"};
  for (int when = 0; when < 4; when++) {
    int n, given_up_seen = 0, failed_commits = 0;
    /* Bound far above the 196-198 allocations a case makes today. */
    for (n = 1; n < 2000 && xu_failures < 20; n++) {
      int64_t before = 0, after = 0;
      pd_dict *d = begin_with_sets(path, 1000, 10, &before); /* all held */
      armed = 1;
      countdown = n;
      fired = 0;
      int rc;
      pd_val got = pd_null();
      if (when == 0) {
        pd_val k = pd_int(1000);
        rc = pd_get(d, &k, &got);
      } else if (when == 1) {
        rc = pd_count(d, &after);
      } else if (when == 2) {
        pd_iter *it = NULL;
        rc = pd_iter_open(&it, d, NULL);
        if (rc == PD_OK) {
          pd_val k;
          rc = pd_iter_next(it, &k, NULL);
          pd_iter_free(it);
        }
      } else {
        rc = pd_commit(d);
      }
      armed = 0;
      if (!fired) { /* every allocation of the call has been failed once */
        XU_RC(rc, PD_OK, d, calls[when]);
        if (pd_in_transaction(d)) XU_RC(pd_rollback(d), PD_OK, d, "rollback");
        pd_close(d);
        break;
      }
      XU_CHECK(rc == PD_ENOMEM || rc == PD_OK, "%s, N=%d: %s: %s", calls[when], n,
               pd_errstr(rc), pd_errmsg(d));
      if (rc == PD_OK) { /* the failure was retried inside the call */
        if (when == 0)
          XU_CHECK(got.kind == PD_INT && got.u.i == 0, "get, N=%d: a retried get read wrong", n);
        if (when == 1)
          XU_CHECK(after == before + 10, "count, N=%d: a retried count read %lld, want %lld", n,
                   (long long)after, (long long)(before + 10));
        XU_CHECK(pd_in_transaction(d) == (when != 3), "%s, N=%d: the transaction %s", calls[when],
                 n, when != 3 ? "ended with a call that succeeded" : "is open after its commit");
        if (pd_in_transaction(d)) XU_RC(pd_rollback(d), PD_OK, d, "rollback");
        if (when == 3) { /* committed: whole, and then taken out again */
          XU_RC(pd_count(d, &after), PD_OK, d, "count after the commit");
          XU_CHECK(after == before + 10, "commit, N=%d: %lld entries after, %lld before", n,
                   (long long)after, (long long)before);
          for (int i = 0; i < 10; i++) {
            pd_val k = pd_int(1000 + i);
            XU_RC(pd_delete(d, &k), PD_OK, d, "a delete after the commit");
          }
        }
        pd_close(d);
        continue;
      }
      failed_commits += when == 3;
      int given_up = strstr(pd_errmsg(d), "the transaction was rolled back") != NULL;
      if (when != 3 && given_up) {
        given_up_seen++;
        pd_val k = pd_int(1001), v;
        XU_RC(pd_get(d, &k, &v), PD_ENOTFOUND, d, "a held key read after the failure");
        pd_val k1 = pd_int(1), v1 = pd_int(1);
        XU_RC(pd_set(d, &k1, &v1), PD_EMISUSE, d, "a set after the transaction was given up");
        XU_RC(pd_commit(d), PD_ENOMEM, d, "commit of the given-up transaction");
      } else if (when != 3) { /* the call's own read failed: the transaction goes on whole */
        for (int i = 0; i < 10; i++) {
          pd_val k = pd_int(1000 + i), v;
          XU_RC(pd_get(d, &k, &v), PD_OK, d, "a held key after a failed read");
          XU_CHECK(v.kind == PD_INT && v.u.i == i, "%s, N=%d: key %d reads back wrong",
                   calls[when], n, 1000 + i);
        }
        XU_RC(pd_rollback(d), PD_OK, d, "rollback after a failed read");
      }
      XU_CHECK(!pd_in_transaction(d), "%s, N=%d: the transaction is still open", calls[when], n);
      pd_close(d);
      pd_dict *o = xu_open(path, NULL);
      pd_val k = pd_int(1001), v;
      XU_RC(pd_count(o, &after), PD_OK, o, "count after");
      XU_CHECK(after == before, "%s, N=%d: %lld entries after, %lld before", calls[when], n,
               (long long)after, (long long)before);
      XU_RC(pd_get(o, &k, &v), PD_ENOTFOUND, o, "a held key of the given-up transaction");
      pd_close(o);
    }
    printf("%s: allocation failures injected at N = 1..%d\n", calls[when], n - 1);
    XU_CHECK(n > 1 && n < 2000, "%s: failures at N = 1..%d, want some and an end", calls[when],
             n - 1);
    /* The point of the case: some failure must have cost the held sets. */
    XU_CHECK(when == 3 || given_up_seen > 0, "%s: no failure gave the transaction up", calls[when]);
    XU_CHECK(when != 3 || failed_commits > 0, "commit: no failure made the commit fail");
  }
}

/* A transaction of more sets than the handle keeps log rows for in a small
 * buffer (engine_sqlite_log.c frees a buffer of over 1,024 rows once they
 * are gone). Each allocation of its commit is failed in turn: a failed
 * commit commits nothing and ends the transaction, and the file keeps only
 * what it had; one that went through despite a failure holds every set.
 * (A flush that kept the freed rows after such a failure reads freed
 * memory: the sanitize preset, which tests/run.sh runs too, catches that;
 * the plain build may not.) */
enum { LONG_LOG_SETS = 1100 };

static void long_log_lost_to_a_failed_commit(const char *path) {
  int n, failed_commits = 0;
  for (n = 1; n < 5000 && xu_failures < 20; n++) {
    int64_t before = 0, after = 0;
    pd_dict *d = begin_with_sets(path, 2000, LONG_LOG_SETS, &before);
    armed = 1;
    countdown = n;
    fired = 0;
    int rc = pd_commit(d);
    armed = 0;
    XU_CHECK(rc == PD_ENOMEM || rc == PD_OK, "commit, N=%d: %s: %s", n, pd_errstr(rc),
             pd_errmsg(d));
    XU_CHECK(!pd_in_transaction(d), "commit, N=%d: the transaction is still open", n);
    failed_commits += rc == PD_ENOMEM;
    int64_t want = rc == PD_OK ? before + LONG_LOG_SETS : before;
    XU_RC(pd_count(d, &after), PD_OK, d, "count after the commit");
    XU_CHECK(after == want, "commit, N=%d: %lld entries after, %lld wanted", n,
             (long long)after, (long long)want);
    if (rc == PD_OK) { /* put the file back as it was */
      XU_RC(pd_begin(d), PD_OK, d, "begin of the clean-up");
      for (int i = 0; i < LONG_LOG_SETS; i++) {
        pd_val k = pd_int(2000 + i);
        XU_RC(pd_delete(d, &k), PD_OK, d, "a delete of the clean-up");
      }
      XU_RC(pd_commit(d), PD_OK, d, "commit of the clean-up");
    }
    pd_close(d);
    if (!fired) break; /* every allocation of the commit has been failed once */
  }
  printf("long commit: allocation failures injected at N = 1..%d\n", n - 1);
  XU_CHECK(n > 1 && n < 5000, "long commit: failures at N = 1..%d, want some and an end", n - 1);
  XU_CHECK(failed_commits > 0, "long commit: no failure made the commit fail");
}

int main(void) {
  sqlite3_shutdown();
  sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real);
  sqlite3_mem_methods shim = real;
  shim.xMalloc = oom_malloc;
  shim.xRealloc = oom_realloc;
  if (sqlite3_config(SQLITE_CONFIG_MALLOC, &shim) != SQLITE_OK)
    xu_skip("SQLite refused SQLITE_CONFIG_MALLOC (already initialised)");
  /* No lookaside: every allocation goes through the shim. */
  sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 0, 0);
  const char *path = xu_path("oom.pd");
  { /* create the file first, so that open-time failures hit an existing file too */
    pd_dict *d = xu_open(path, NULL);
    pd_close(d);
  }
  int n;
  for (n = 1; n < 20000 && xu_failures < 20; n++) {
    armed = 1;
    countdown = n;
    fired = 0;
    workload(path, n);
    armed = 0;
    if (!fired) break;
  }
  printf("allocation failures injected at N = 1..%d\n", n - 1);
  XU_CHECK(n > 1, "no allocation ever failed: the shim is not in use");
  held_sets_lost_to_a_failure(path);
  long_log_lost_to_a_failed_commit(path);
  pd_dict *d = xu_open(path, NULL);
  XU_RC(pd_check(d), PD_OK, d, "pd_check after all the failures");
  pd_close(d);
  return xu_finish();
}
