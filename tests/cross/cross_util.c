/* cross_util.c - see cross_util.h. */
#include "cross_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int xu_failures;
static char tmpdir[4096];

const char *xu_tmpdir(void) {
  if (tmpdir[0]) return tmpdir;
  const char *base = getenv("PD_TEST_TMP");
  if (!base || !*base) base = "/tmp";
  mkdir(base, 0777);
  snprintf(tmpdir, sizeof tmpdir, "%s/cross-XXXXXX", base);
  if (!mkdtemp(tmpdir)) {
    perror(tmpdir);
    exit(2);
  }
  return tmpdir;
}

const char *xu_path(const char *name) {
  static char ring[8][4200];
  static int next;
  char *p = ring[next++ & 7];
  snprintf(p, sizeof ring[0], "%s/%s", xu_tmpdir(), name);
  return p;
}

pd_dict *xu_open(const char *path, const char *ns) {
  pd_options o = PD_OPTIONS_INIT;
  o.name = ns;
  pd_dict *d = NULL;
  int rc = pd_open(&d, path, &o);
  if (rc != PD_OK) {
    printf("FAIL: pd_open %s: %s: %s\n", path, pd_errstr(rc), pd_errmsg(NULL));
    exit(1);
  }
  return d;
}

unsigned char *xu_read_file(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return NULL;
  struct stat st;
  fstat(fd, &st);
  unsigned char *b = malloc((size_t)st.st_size + 1);
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t r = read(fd, b + got, (size_t)st.st_size - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  *len = got;
  return b;
}

void xu_write_file(const char *path, const void *p, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, p, len) != (ssize_t)len) {
    perror(path);
    exit(2);
  }
  close(fd);
}

int xu_exists(const char *path) { return access(path, F_OK) == 0; }

int xu_finish(void) {
  if (tmpdir[0] && !getenv("PD_KEEP_TMP")) {
    char cmd[4200 + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
  }
  if (xu_failures) printf("%d check(s) failed\n", xu_failures);
  else printf("ok\n");
  return xu_failures ? 1 : 0;
}

void xu_skip(const char *why) {
  printf("SKIPPED: %s\n", why);
  fflush(stdout);
  exit(XU_SKIP);
}
