/* testutil.c - see testutil.h. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *tu_tmpdir(void) {
  static char dirs[8][4096];
  static int next;
  char *buf = dirs[next++ % 8];
  const char *base = getenv("PD_TEST_TMP");
  if (!base || !*base) base = "/tmp";
  mkdir(base, 0700);
  snprintf(buf, 4096, "%s/pdtest-XXXXXX", base);
  if (!mkdtemp(buf)) fail_msg("mkdtemp in %s failed", base);
  return buf;
}

const char *tu_path(const char *dir, const char *name) {
  static char paths[8][4096];
  static int next;
  char *buf = paths[next++ % 8];
  snprintf(buf, 4096, "%s/%s", dir, name);
  return buf;
}

void tu_rmdir(const char *dir) {
  DIR *dp = opendir(dir);
  if (!dp) return;
  struct dirent *e;
  char p[4096];
  while ((e = readdir(dp))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    unlink(p);
  }
  closedir(dp);
  rmdir(dir);
}

uint64_t tu_file_hash(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return 0;
  uint64_t h = 1469598103934665603ULL;
  unsigned char buf[8192];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    for (ssize_t i = 0; i < n; i++) h = (h ^ buf[i]) * 1099511628211ULL;
  close(fd);
  return h;
}

void tu_write_file(const char *path, const void *p, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail_msg("cannot write %s", path);
  if (len && write(fd, p, len) != (ssize_t)len) fail_msg("short write to %s", path);
  close(fd);
}

pid_t tu_fork(tu_child_fn fn, void *arg) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) fail_msg("fork failed");
  if (pid == 0) _exit(fn(arg));
  return pid;
}

int64_t tu_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tu_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

int tu_wait(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  if (!WIFEXITED(status)) return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return WEXITSTATUS(status);
}

int tu_run_child(tu_child_fn fn, void *arg) { return tu_wait(tu_fork(fn, arg)); }

pd_dict *tu_open(const char *path, const char *name) {
  pd_options o = PD_OPTIONS_INIT;
  o.name = name;
  pd_dict *d = NULL;
  int rc = pd_open(&d, path, &o);
  if (rc != PD_OK) fail_msg("pd_open(%s, %s) -> %d: %s", path, name ? name : "(default)", rc, pd_errmsg(NULL));
  return d;
}

int tu_incr_counter(const char *path, int n) {
  pd_dict *d = NULL;
  if (pd_open(&d, path, NULL) != PD_OK) return 1;
  pd_val k = pd_text("counter", 7), by = pd_int(1);
  for (int i = 0; i < n; i++)
    if (pd_incr(d, &k, &by, NULL) != PD_OK) {
      fprintf(stderr, "incr: %s\n", pd_errmsg(d));
      pd_close(d);
      return 2;
    }
  pd_close(d);
  return 0;
}

off_t tu_wal_bytes(const char *path) {
  char wal[4200];
  struct stat st;
  snprintf(wal, sizeof wal, "%s-wal", path);
  if (stat(wal, &st) != 0) fail_msg("no WAL at %s", wal);
  return st.st_size;
}

void *tu_sqlite_sym(const char *name) {
  static void *lib;
  if (!lib) lib = dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_GLOBAL);
  if (!lib) fail_msg("cannot load libsqlite3.so.0: %s", dlerror());
  void *f = dlsym(lib, name);
  if (!f) fail_msg("libsqlite3.so.0 has no %s", name);
  return f;
}

static void *sql_open(const char *path) {
  int (*open_v2)(const char *, void **, int, const char *) =
      (int (*)(const char *, void **, int, const char *))tu_sqlite_sym("sqlite3_open_v2");
  void *db = NULL;
  if (open_v2(path, &db, 0x2 /* SQLITE_OPEN_READWRITE */, NULL) != 0) {
    ((int (*)(void *))tu_sqlite_sym("sqlite3_close"))(db);
    return NULL;
  }
  return db;
}

int tu_sql(const char *path, const char *sql) {
  int (*exec)(void *, const char *, void *, void *, char **) =
      (int (*)(void *, const char *, void *, void *, char **))tu_sqlite_sym("sqlite3_exec");
  void *db = sql_open(path);
  if (!db) return 1;
  int rc = exec(db, sql, NULL, NULL, NULL);
  ((int (*)(void *))tu_sqlite_sym("sqlite3_close"))(db);
  return rc;
}

int64_t tu_sql_int(const char *path, const char *sql) {
  int (*prepare)(void *, const char *, int, void **, const char **) =
      (int (*)(void *, const char *, int, void **, const char **))tu_sqlite_sym(
          "sqlite3_prepare_v2");
  int (*step)(void *) = (int (*)(void *))tu_sqlite_sym("sqlite3_step");
  int64_t (*column)(void *, int) = (int64_t(*)(void *, int))tu_sqlite_sym("sqlite3_column_int64");
  void *db = sql_open(path), *st = NULL;
  if (!db) fail_msg("tu_sql_int: cannot open %s", path);
  if (prepare(db, sql, -1, &st, NULL) != 0 || step(st) != 100 /* SQLITE_ROW */)
    fail_msg("tu_sql_int: no row from %s", sql);
  int64_t v = column(st, 0);
  ((int (*)(void *))tu_sqlite_sym("sqlite3_finalize"))(st);
  ((int (*)(void *))tu_sqlite_sym("sqlite3_close"))(db);
  return v;
}

pd_val tu_key_of(int i, char *buf, size_t cap) {
  int len = snprintf(buf, cap, "key-%d", i);
  switch (i % 3) {
  case 0: return pd_int(i);
  case 1: return pd_text(buf, (size_t)len);
  default: return pd_bytes(buf, (size_t)len);
  }
}
