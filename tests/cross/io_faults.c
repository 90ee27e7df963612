/*
 * io_faults - I/O errors injected through the fault VFS shim.
 *
 * For each kind (write, truncate, sync), once and persistently, and for
 * N = 1, 2, ... until a whole workload runs without the fault firing:
 * a fresh file gets 20 committed keys, the fault is armed at the Nth call,
 * then a workload of single sets, 5-key transactions, deletes and increments
 * runs and the handle is closed (closing checkpoints, which writes too). Then:
 *   - every failing call returned PD_EIO or PD_EFULL with a message;
 *   - after a one-time fault the same handle worked again (the next step of
 *     the workload succeeded);
 *   - reopened without faults, pd_check passes, the 20 keys are intact, every
 *     step that returned PD_OK is visible and every step that failed left no
 *     trace (transactions all or nothing).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cross_util.h"
#include "fault_vfs.h"

#define STEPS 24
#define BASE_KEYS 20
#define MAX_N 400

static pd_val key_of(char *buf, size_t cap, const char *fmt, int a, int b) {
  int n = snprintf(buf, cap, fmt, a, b);
  return pd_text(buf, (size_t)n);
}

/* Step s: 0 mod 4 -> set "s:<s>", 1 -> transaction of "t:<s>:0..4",
 * 2 -> delete base key "base:<s/4>", 3 -> incr "counter" by 1. */
static int run_step(pd_dict *d, int s) {
  char b[64];
  pd_val v = pd_int(s);
  switch (s % 4) {
  case 0: {
    pd_val k = key_of(b, sizeof b, "s:%d", s, 0);
    return pd_set(d, &k, &v);
  }
  case 1: {
    int rc = pd_begin(d);
    for (int i = 0; rc == PD_OK && i < 5; i++) {
      pd_val k = key_of(b, sizeof b, "t:%d:%d", s, i);
      rc = pd_set(d, &k, &v);
    }
    if (rc == PD_OK) return pd_commit(d);
    if (pd_in_transaction(d)) pd_rollback(d);
    return rc;
  }
  case 2: {
    pd_val k = key_of(b, sizeof b, "base:%d", s / 4, 0);
    return pd_delete(d, &k);
  }
  default: {
    pd_val k = pd_text("counter", 7), by = pd_int(1);
    return pd_incr(d, &k, &by, NULL);
  }
  }
}

/* The effect of step s is visible (1), absent (0), or partial (-1). */
static int step_visible(pd_dict *d, int s) {
  char b[64];
  switch (s % 4) {
  case 0: {
    pd_val k = key_of(b, sizeof b, "s:%d", s, 0);
    return pd_contains(d, &k) == PD_OK;
  }
  case 1: {
    int n = 0;
    for (int i = 0; i < 5; i++) {
      pd_val k = key_of(b, sizeof b, "t:%d:%d", s, i);
      n += pd_contains(d, &k) == PD_OK;
    }
    return n == 5 ? 1 : n == 0 ? 0 : -1;
  }
  case 2: {
    pd_val k = key_of(b, sizeof b, "base:%d", s / 4, 0);
    return pd_contains(d, &k) == PD_ENOTFOUND;
  }
  default:
    return 0; /* the counter is checked as a total */
  }
}

static int one_run(const char *path, enum fault_kind kind, int nth, int persistent) {
  static const char *kinds[] = {"write", "truncate", "sync"};
  char where[96];
  snprintf(where, sizeof where, "%s fault at call %d (%s)", kinds[kind], nth,
           persistent ? "persistent" : "once");
  unlink(path);
  pd_dict *d = xu_open(path, NULL);
  for (int i = 0; i < BASE_KEYS; i++) {
    char b[32];
    pd_val k = key_of(b, sizeof b, "base:%d", i, 0), v = pd_int(i);
    XU_RC(pd_set(d, &k, &v), PD_OK, d, "setup set");
  }
  int ok[STEPS] = {0}, after_fault = 0, counter = 0;
  fault_vfs_arm(kind, nth, persistent);
  for (int s = 0; s < STEPS; s++) {
    int fired_before = fault_vfs_fired();
    int rc = run_step(d, s);
    ok[s] = rc == PD_OK;
    if (rc == PD_OK && s % 4 == 3) counter++;
    if (rc != PD_OK) {
      XU_CHECK(rc == PD_EIO || rc == PD_EFULL, "%s: step %d returned %s: %s", where, s,
               pd_errstr(rc), pd_errmsg(d));
      XU_CHECK(strlen(pd_errmsg(d)) > 0, "%s: step %d failed without a message", where, s);
      XU_CHECK(fault_vfs_fired() > 0, "%s: step %d failed before any fault: %s", where, s,
               pd_errmsg(d));
      /* A step may fail only if a fault fired during it or the fault is persistent. */
      XU_CHECK(fault_vfs_fired() > fired_before || persistent,
               "%s: step %d failed although no fault fired during it: %s %s", where, s,
               pd_errstr(rc), pd_errmsg(d));
    } else if (fault_vfs_fired() && !persistent) {
      after_fault++;
    }
  }
  /* After a one-time fault the same handle must work again. */
  int probe_ok = -1;
  if (fault_vfs_fired() && !persistent) {
    pd_val pk = pd_text("probe", 5), pv = pd_int(1);
    int prc = pd_set(d, &pk, &pv);
    probe_ok = prc == PD_OK;
    XU_CHECK(probe_ok, "%s: handle did not work again after the fault: %s: %s", where,
             pd_errstr(prc), pd_errmsg(d));
  }
  (void)after_fault;
  pd_close(d); /* with the fault still armed: the checkpoint on close may fail */
  int fired = fault_vfs_fired();
  fault_vfs_disarm();

  d = xu_open(path, NULL);
  XU_RC(pd_check(d), PD_OK, d, where);
  for (int s = 0; s < STEPS; s++) {
    int vis = step_visible(d, s);
    if (s % 4 == 3) continue;
    XU_CHECK(vis >= 0, "%s: step %d is half visible", where, s);
    XU_CHECK(!ok[s] || vis == 1, "%s: step %d was acknowledged but is lost", where, s);
    XU_CHECK(ok[s] || vis == 0, "%s: step %d failed but its effect is visible", where, s);
  }
  for (int i = 0; i < BASE_KEYS; i++) {
    int deleted_ok = 0;
    for (int s = 2; s < STEPS; s += 4)
      if (s / 4 == i && ok[s]) deleted_ok = 1;
    char b[32];
    pd_val k = key_of(b, sizeof b, "base:%d", i, 0);
    if (!deleted_ok) XU_RC(pd_contains(d, &k), PD_OK, d, "earlier commit kept");
  }
  if (probe_ok == 1) {
    pd_val pk = pd_text("probe", 5);
    XU_RC(pd_contains(d, &pk), PD_OK, d, "write after the fault survives");
  }
  pd_val ck = pd_text("counter", 7), cv;
  int rc = pd_get(d, &ck, &cv);
  int64_t stored = rc == PD_OK ? cv.u.i : 0;
  XU_CHECK(stored == counter, "%s: counter %lld, acknowledged increments %d", where,
           (long long)stored, counter);
  pd_close(d);
  return fired;
}

int main(void) {
  int rc = fault_vfs_install();
  if (rc != 0) {
    printf("FAIL: cannot register the fault VFS (%d)\n", rc);
    return 1;
  }
  const char *path = xu_path("faults.pd");
  int total_fired = 0, runs = 0;
  for (int kind = FAULT_WRITE; kind <= FAULT_SYNC; kind++) {
    for (int persistent = 0; persistent <= 1; persistent++) {
      int n;
      for (n = 1; n <= MAX_N; n++) {
        int fired = one_run(path, kind, n, persistent);
        runs++;
        total_fired += fired > 0;
        if (!fired) break;
        if (xu_failures > 20) return xu_finish();
      }
      XU_CHECK(n <= MAX_N, "kind %d: fault still firing at N=%d", kind, MAX_N);
      printf("kind %d %s: faults fired for N = 1..%d\n", kind, persistent ? "persistent" : "once",
             n - 1);
    }
  }
  printf("%d runs, %d with a fault\n", runs, total_fired);
  XU_CHECK(total_fired > 0, "no fault ever fired: the shim is not in the I/O path");
  return xu_finish();
}
