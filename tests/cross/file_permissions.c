/*
 * file_permissions - new files are owner-only: under umask 022 the database,
 * its -wal and its -shm are 0600. A symlink planted where the -wal goes is
 * refused (the open fails with a message) and its target is not touched.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cross_util.h"

static void mode_is_0600(const char *path) {
  struct stat st;
  XU_CHECK(lstat(path, &st) == 0, "%s missing", path);
  XU_CHECK((st.st_mode & 07777) == 0600, "%s has mode %o, want 600", path,
           (unsigned)(st.st_mode & 07777));
}

int main(void) {
  umask(022);
  const char *path = xu_path("modes.pd");
  pd_dict *d = xu_open(path, NULL);
  pd_val k = pd_int(1), v = pd_int(1);
  XU_RC(pd_set(d, &k, &v), PD_OK, d, "set");
  mode_is_0600(path);
  mode_is_0600(xu_path("modes.pd-wal"));
  mode_is_0600(xu_path("modes.pd-shm"));
  pd_close(d);

  /* Symlink attack: existing file, its -wal replaced by a link to a victim. */
  const char *victim = xu_path("victim.txt");
  xu_write_file(victim, "precious", 8);
  const char *target = xu_path("linked.pd");
  d = xu_open(target, NULL);
  pd_close(d);
  unlink(xu_path("linked.pd-wal"));
  unlink(xu_path("linked.pd-shm"));
  XU_CHECK(symlink(victim, xu_path("linked.pd-wal")) == 0, "symlink");
  d = NULL;
  pd_options o = PD_OPTIONS_INIT;
  int rc = pd_open(&d, target, &o);
  if (rc == PD_OK) {
    rc = pd_set(d, &k, &v);
    XU_CHECK(rc != PD_OK, "write went through a planted -wal symlink");
    pd_close(d);
  }
  XU_CHECK(rc != PD_OK, "planted -wal symlink accepted");
  XU_CHECK(strlen(pd_errmsg(d)) > 0, "refused without a message");
  size_t n;
  unsigned char *after = xu_read_file(victim, &n);
  XU_CHECK(after && n == 8 && memcmp(after, "precious", 8) == 0, "symlink target modified");
  free(after);
  /* A fresh file: the same refusal when the link is there before creation. */
  const char *fresh = xu_path("fresh.pd");
  XU_CHECK(symlink(victim, xu_path("fresh.pd-wal")) == 0, "symlink");
  d = NULL;
  rc = pd_open(&d, fresh, &o);
  if (rc == PD_OK) {
    rc = pd_set(d, &k, &v);
    pd_close(d);
  }
  XU_CHECK(rc != PD_OK, "planted -wal symlink accepted for a new file");
  after = xu_read_file(victim, &n);
  XU_CHECK(after && n == 8 && memcmp(after, "precious", 8) == 0, "symlink target modified");
  free(after);
  return xu_finish();
}
