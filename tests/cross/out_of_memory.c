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
  pd_dict *d = xu_open(path, NULL);
  XU_RC(pd_check(d), PD_OK, d, "pd_check after all the failures");
  pd_close(d);
  return xu_finish();
}
