/*
 * file_gone - the database file deleted, renamed or replaced while a handle
 * is open: writes fail with PD_EGONE and a message naming the file, never
 * going silently into a file nobody can see; the replacement is not written.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cross_util.h"

static void expect_gone(pd_dict *d, const char *what) {
  pd_val k = pd_text("late", 4), v = pd_int(1);
  int rc = pd_set(d, &k, &v);
  XU_CHECK(rc == PD_EGONE, "%s: write got %s: %s", what, pd_errstr(rc), pd_errmsg(d));
  XU_CHECK(rc != PD_EGONE || strstr(pd_errmsg(d), pd_path(d)) != NULL ||
               strstr(pd_errmsg(d), "gone") || strstr(pd_errmsg(d), "deleted") ||
               strstr(pd_errmsg(d), "renamed") || strstr(pd_errmsg(d), "replaced"),
           "%s: message does not say what happened: %s", what, pd_errmsg(d));
  rc = pd_begin(d);
  if (rc == PD_OK) {
    rc = pd_set(d, &k, &v);
    if (rc == PD_OK) rc = pd_commit(d);
    else pd_rollback(d);
  }
  XU_CHECK(rc == PD_EGONE, "%s: transaction got %s", what, pd_errstr(rc));
}

static pd_dict *fresh(const char *path) {
  unlink(path);
  pd_dict *d = xu_open(path, NULL);
  pd_val k = pd_text("early", 5), v = pd_int(1);
  XU_RC(pd_set(d, &k, &v), PD_OK, d, "setup");
  return d;
}

int main(void) {
  const char *path = xu_path("gone.pd"), *other = xu_path("other.pd");
  pd_dict *d = fresh(path);
  unlink(path);
  expect_gone(d, "deleted");
  pd_close(d);

  d = fresh(path);
  XU_CHECK(rename(path, other) == 0, "rename");
  expect_gone(d, "renamed");
  pd_close(d);

  /* Replaced: another permadict file moved into place. */
  unlink(other);
  pd_dict *o = xu_open(other, NULL);
  pd_close(o);
  d = fresh(path);
  XU_CHECK(rename(other, path) == 0, "rename over");
  expect_gone(d, "replaced");
  pd_close(d);
  d = xu_open(path, NULL);
  pd_val k = pd_text("late", 4);
  XU_RC(pd_contains(d, &k), PD_ENOTFOUND, d, "the replacement file was written through the old handle");
  pd_close(d);
  return xu_finish();
}
