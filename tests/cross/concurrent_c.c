/*
 * concurrent_c - the C participant of the concurrency scenarios
 * (run_concurrency.py starts it next to Python and Lua processes):
 *   concurrent_c incr FILE N TIMEOUT_MS     N pd_incr of "counter" by 1
 *   concurrent_c cas FILE N TIMEOUT_MS      N increments of "cas" by
 *                                           compare-and-swap retry loop
 *   concurrent_c txn FILE N TIMEOUT_MS      N transactions moving 1 from
 *                                           "a" to "b" (sum stays constant)
 * Any error, busy included, is printed and exits 1.
 */
#include <stdlib.h>
#include <string.h>

#include "cross_util.h"

static void die(pd_dict *d, const char *what, int rc) {
  printf("FAIL %s: %s: %s\n", what, pd_errstr(rc), pd_errmsg(d));
  exit(1);
}

int main(int argc, char **argv) {
  if (argc != 5) return 2;
  const char *cmd = argv[1];
  long n = atol(argv[3]);
  pd_options o = PD_OPTIONS_INIT;
  o.timeout_ms = atoi(argv[4]);
  pd_dict *d;
  int rc = pd_open(&d, argv[2], &o);
  if (rc) die(NULL, "open", rc);
  for (long i = 0; i < n; i++) {
    if (strcmp(cmd, "incr") == 0) {
      pd_val k = pd_text("counter", 7), by = pd_int(1);
      if ((rc = pd_incr(d, &k, &by, NULL))) die(d, "incr", rc);
    } else if (strcmp(cmd, "cas") == 0) {
      pd_val k = pd_text("cas", 3), cur;
      for (;;) {
        rc = pd_get(d, &k, &cur);
        if (rc && rc != PD_ENOTFOUND) die(d, "get", rc);
        pd_val next = pd_int(rc == PD_ENOTFOUND ? 1 : cur.u.i + 1);
        int swapped = 0;
        if ((rc = pd_compare_and_swap(d, &k, rc == PD_ENOTFOUND ? NULL : &cur, &next, &swapped)))
          die(d, "cas", rc);
        if (swapped) break;
      }
    } else {
      pd_val a = pd_text("a", 1), b = pd_text("b", 1), va, vb;
      if ((rc = pd_begin(d))) die(d, "begin", rc);
      if ((rc = pd_get(d, &a, &va)) && rc != PD_ENOTFOUND) die(d, "get a", rc);
      int64_t x = rc ? 0 : va.u.i;
      if ((rc = pd_get(d, &b, &vb)) && rc != PD_ENOTFOUND) die(d, "get b", rc);
      int64_t y = rc ? 0 : vb.u.i;
      pd_val nx = pd_int(x - 1), ny = pd_int(y + 1);
      if ((rc = pd_set(d, &a, &nx)) || (rc = pd_set(d, &b, &ny))) die(d, "set", rc);
      if ((rc = pd_commit(d))) die(d, "commit", rc);
    }
  }
  pd_close(d);
  return 0;
}
