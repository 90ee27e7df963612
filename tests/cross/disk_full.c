/*
 * disk_full - the file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) stands in
 * for a full disk: a write that crosses it fails with PD_EFULL or PD_EIO and a
 * message, its transaction is rolled back, everything committed before stays,
 * and once room is back the same handle writes again.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "cross_util.h"

#define CHUNK (256 * 1024)

int main(void) {
  const char *path = xu_path("full.pd");
  pd_dict *d = xu_open(path, NULL);
  for (int i = 0; i < 10; i++) {
    pd_val k = pd_int(i), v = pd_int(i * 10);
    XU_RC(pd_set(d, &k, &v), PD_OK, d, "setup");
  }
  struct rlimit old;
  getrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit lim = old;
  lim.rlim_cur = 2 * 1024 * 1024; /* 2 MiB: a few chunks fit, then the WAL is full */
  if (setrlimit(RLIMIT_FSIZE, &lim) != 0) xu_skip("cannot lower RLIMIT_FSIZE");

  unsigned char *blob = malloc(CHUNK);
  memset(blob, 0xab, CHUNK);
  int failed_at = -1, rc = PD_OK;
  for (int i = 0; i < 64 && failed_at < 0; i++) {
    /* Transactions of two chunks, so a failure can land half way through. */
    rc = pd_begin(d);
    for (int j = 0; rc == PD_OK && j < 2; j++) {
      pd_val k = pd_int(1000 + 2 * i + j), v = pd_bytes(blob, CHUNK);
      rc = pd_set(d, &k, &v);
    }
    if (rc == PD_OK) rc = pd_commit(d);
    if (rc != PD_OK) {
      failed_at = i;
      XU_CHECK(rc == PD_EFULL || rc == PD_EIO, "full: got %s: %s", pd_errstr(rc), pd_errmsg(d));
      XU_CHECK(strlen(pd_errmsg(d)) > 0, "no message");
      if (pd_in_transaction(d)) XU_RC(pd_rollback(d), PD_OK, d, "rollback after full");
    }
  }
  XU_CHECK(failed_at >= 0, "the size limit never fired: the test proved nothing");
  setrlimit(RLIMIT_FSIZE, &old);

  /* Still the same handle: data intact, failed transaction absent, writes work. */
  for (int i = 0; i < 10; i++) {
    pd_val k = pd_int(i), v;
    XU_RC(pd_get(d, &k, &v), PD_OK, d, "committed key after full");
    XU_CHECK(v.kind == PD_INT && v.u.i == i * 10, "key %d changed", i);
  }
  for (int i = 0; failed_at >= 0 && i < failed_at; i++)
    for (int j = 0; j < 2; j++) {
      pd_val k = pd_int(1000 + 2 * i + j);
      XU_RC(pd_contains(d, &k), PD_OK, d, "chunk committed before the limit");
    }
  for (int j = 0; failed_at >= 0 && j < 2; j++) {
    pd_val k = pd_int(1000 + 2 * failed_at + j);
    XU_RC(pd_contains(d, &k), PD_ENOTFOUND, d, "chunk of the failed transaction");
  }
  pd_val k = pd_text("after", 5), v = pd_int(1);
  XU_RC(pd_set(d, &k, &v), PD_OK, d, "write once room is back");
  XU_RC(pd_check(d), PD_OK, d, "pd_check");
  pd_close(d);
  d = xu_open(path, NULL);
  XU_RC(pd_check(d), PD_OK, d, "pd_check after reopen");
  XU_RC(pd_contains(d, &k), PD_OK, d, "write after full survives reopen");
  pd_close(d);
  free(blob);
  return xu_finish();
}
