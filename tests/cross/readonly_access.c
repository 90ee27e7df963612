/*
 * readonly_access - a read-only file, and a read-only directory, seen by an
 * unprivileged user (root ignores permissions, so when run as root the
 * checks run in a child that drops to nobody, 65534, the way
 * `setpriv --reuid=65534 --regid=65534 --clear-groups` does): reads work where
 * SQLite allows, and every write fails with PD_EREADONLY and a message; the
 * file is not changed.
 */
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cross_util.h"

static void check_as_user(const char *path, const char *label) {
  pd_dict *d = NULL;
  pd_options o = PD_OPTIONS_INIT;
  int rc = pd_open(&d, path, &o);
  if (rc == PD_OK) {
    pd_val k = pd_text("new", 3), v = pd_int(1);
    rc = pd_set(d, &k, &v);
    XU_CHECK(rc == PD_EREADONLY, "%s: write got %s: %s", label, pd_errstr(rc), pd_errmsg(d));
    pd_close(d);
  } else {
    XU_CHECK(rc == PD_EREADONLY, "%s: read-write open got %s: %s", label, pd_errstr(rc),
             pd_errmsg(NULL));
  }
  o.readonly = 1;
  d = NULL;
  rc = pd_open(&d, path, &o);
  /* SQLite can read a WAL database read-only when its -shm exists or the WAL
   * is empty; where it cannot, the refusal must be a clear error. */
  if (rc == PD_OK) {
    pd_val k = pd_text("old", 3), v;
    rc = pd_get(d, &k, &v);
    XU_CHECK(rc == PD_OK && v.kind == PD_INT && v.u.i == 42, "%s: read got %s: %s", label,
             pd_errstr(rc), pd_errmsg(d));
    rc = pd_set(d, &k, &k);
    XU_CHECK(rc == PD_EREADONLY, "%s: write on read-only handle got %s", label, pd_errstr(rc));
    pd_close(d);
  } else {
    printf("note: %s: read-only open refused: %s: %s\n", label, pd_errstr(rc), pd_errmsg(NULL));
    XU_CHECK(rc == PD_EREADONLY || rc == PD_EIO, "%s: read-only open got %s", label,
             pd_errstr(rc));
  }
}

static void make(const char *path) {
  pd_dict *d = xu_open(path, NULL);
  pd_val k = pd_text("old", 3), v = pd_int(42);
  XU_RC(pd_set(d, &k, &v), PD_OK, d, "setup");
  pd_close(d);
}

int main(void) {
  const char *dir = xu_tmpdir();
  chmod(dir, 0755);
  char rodir[4200], file_in_rodir[4300];
  snprintf(rodir, sizeof rodir, "%s/rodir", dir);
  snprintf(file_in_rodir, sizeof file_in_rodir, "%s/dict.pd", rodir);
  const char *rofile = xu_path("rofile.pd");
  mkdir(rodir, 0755);
  make(rofile);
  make(file_in_rodir);
  int as_root = geteuid() == 0;
  /* Read-only file in a directory the user may write; read-only directory
   * with a file the user may not write either (owner is someone else). */
  chmod(rofile, 0444);
  chmod(file_in_rodir, as_root ? 0644 : 0444);
  chmod(rodir, 0555);
  if (as_root) {
    chmod(dir, 0777); /* nobody may create -wal/-shm next to rofile.pd */
    chown(rofile, 65534, 65534);
  }
  size_t n0;
  unsigned char *before = xu_read_file(file_in_rodir, &n0);

  pid_t pid = fork();
  if (pid == 0) {
    if (as_root && (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
                    setresuid(65534, 65534, 65534) != 0))
      _exit(XU_SKIP);
    if (as_root) chmod(rofile, 0444); /* as its owner now, still read-only */
    check_as_user(rofile, "read-only file");
    check_as_user(file_in_rodir, "read-only directory");
    fflush(stdout);
    _exit(xu_failures ? 1 : 0);
  }
  int st;
  waitpid(pid, &st, 0);
  chmod(rodir, 0755);
  int code = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
  if (code == XU_SKIP) xu_skip("running as root but cannot drop to uid 65534");
  if (code != 0) xu_failures++;
  size_t n1;
  unsigned char *after = xu_read_file(file_in_rodir, &n1);
  XU_CHECK(n0 == n1 && memcmp(before, after, n0) == 0, "file in read-only directory changed");
  free(before);
  free(after);
  return xu_finish();
}
