/*
 * concurrent_c - the C participant of the concurrency scenarios
 * (run_concurrency.py starts it next to Python and Lua processes):
 *   concurrent_c incr FILE N TIMEOUT_MS     N pd_incr of "counter" by 1
 *   concurrent_c cas FILE N TIMEOUT_MS      N increments of "cas" by
 *                                           compare-and-swap retry loop
 *   concurrent_c txn FILE N TIMEOUT_MS      N transactions moving 1 from
 *                                           "a" to "b" (sum stays constant)
 *   concurrent_c commits FILE N TIMEOUT_MS  N commits to the keys k000..k099
 *                                           (value [i, i*i]), then "done";
 *                                           prints the slowest commit
 * Any error, busy included, is printed and exits 1.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cross_util.h"

static void die(pd_dict *d, const char *what, int rc) {
  printf("FAIL %s: %s: %s\n", what, pd_errstr(rc), pd_errmsg(d));
  exit(1);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* N single commits, each a whole [i, i*i] a slow reader can verify. */
static void commits(pd_dict *d, long n) {
  pd_enc *enc;
  if (pd_enc_new(&enc)) die(d, "pd_enc_new", PD_ENOMEM);
  double worst = 0;
  for (long i = 0; i < n; i++) {
    char name[8];
    snprintf(name, sizeof name, "k%03ld", i % 100);
    pd_val k = pd_text(name, strlen(name)), v;
    pd_enc_reset(enc);
    pd_enc_list(enc, 2);
    pd_enc_int(enc, i);
    pd_enc_int(enc, (int64_t)i * i);
    int rc = pd_enc_finish(enc, &v);
    if (rc) die(d, "encode", rc);
    double t0 = now_ms();
    if ((rc = pd_set(d, &k, &v))) die(d, "set", rc);
    double took = now_ms() - t0;
    if (took > worst) worst = took;
  }
  pd_val k = pd_text("done", 4), t = pd_bool(1);
  int rc = pd_set(d, &k, &t);
  if (rc) die(d, "set done", rc);
  pd_enc_free(enc);
  printf("max_commit_ms %.1f\n", worst);
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
  if (strcmp(cmd, "commits") == 0) {
    commits(d, n);
    pd_close(d);
    return 0;
  }
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
