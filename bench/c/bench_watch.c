/* bench_watch.c - how soon a watcher in another process wakes after a
 * commit, and what an idle watcher costs.
 *
 * usage: bench_watch PATH EVENTS IDLE_MS
 * The parent writes EVENTS changes a few milliseconds apart and notes the
 * realtime at which each pd_set returned; a forked child (with its own
 * handle, opened after fork) waits with pd_wait and notes when it woke and
 * which version it saw. Then the child waits IDLE_MS with nothing changing,
 * and its CPU time over that wait (getrusage) is the idle cost. */
#include <permadict.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_clock.h"

typedef struct wake {
  int64_t version;
  int64_t at_ns;
} wake;

static void fail(const char *what, const char *why) {
  fprintf(stderr, "bench_watch: %s: %s\n", what, why);
  exit(1);
}

static int64_t cpu_ns(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
         ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static void write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w <= 0) fail("pipe", "write failed");
    c += w;
    n -= (size_t)w;
  }
}

static void read_all(int fd, void *p, size_t n) {
  char *c = p;
  while (n > 0) {
    ssize_t r = read(fd, c, n);
    if (r <= 0) fail("pipe", "read failed");
    c += r;
    n -= (size_t)r;
  }
}

/* The child: wake on every change until it has seen the last version. */
static void watcher(const char *path, int events, int idle_ms, int out) {
  pd_dict *d;
  int64_t v, last;
  wake *w = calloc((size_t)events, sizeof *w);
  int n = 0, rc;
  if (pd_open(&d, path, NULL) != PD_OK) fail(path, pd_errmsg(NULL));
  if (pd_version(d, &v) != PD_OK) fail("pd_version", pd_errmsg(d));
  last = v + events;
  write_all(out, &v, sizeof v); /* ready */
  while (v < last && n < events) {
    int64_t nv;
    rc = pd_wait(d, v, 5000, &nv);
    if (rc == PD_ETIMEOUT) fail("pd_wait", "no change within 5 s while the writer was writing");
    if (rc != PD_OK) fail("pd_wait", pd_errmsg(d));
    w[n].at_ns = bench_realtime_ns();
    w[n].version = nv;
    n++;
    v = nv;
  }
  write_all(out, &n, sizeof n);
  write_all(out, w, (size_t)n * sizeof *w);
  int64_t cpu0 = cpu_ns(), t0 = bench_now_ns();
  rc = pd_wait(d, v, idle_ms, NULL);
  int64_t cpu = cpu_ns() - cpu0, wall = bench_now_ns() - t0;
  if (rc != PD_ETIMEOUT) fail("idle pd_wait", rc == PD_OK ? "woke without a change" : pd_errmsg(d));
  write_all(out, &cpu, sizeof cpu);
  write_all(out, &wall, sizeof wall);
  pd_close(d);
  free(w);
  _exit(0);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s PATH EVENTS IDLE_MS\n", argv[0]);
    return 2;
  }
  const char *path = argv[1];
  int events = atoi(argv[2]), idle_ms = atoi(argv[3]);
  pd_dict *d;
  int fds[2];
  if (events < 1 || idle_ms < 1) fail("arguments", "EVENTS and IDLE_MS must be positive");
  if (pd_open(&d, path, NULL) != PD_OK) fail(path, pd_errmsg(NULL));
  pd_val key = pd_text("tick", 4);
  pd_val zero = pd_int(0);
  if (pd_set(d, &key, &zero) != PD_OK) fail("pd_set", pd_errmsg(d));
  if (pipe(fds) != 0) fail("pipe", "cannot create");
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    watcher(path, events, idle_ms, fds[1]);
  }
  close(fds[1]);
  /* The parent's handle was opened before fork, but only the parent uses it. */
  int64_t ready;
  read_all(fds[0], &ready, sizeof ready);
  usleep(20000); /* let the child enter its first wait */
  int64_t *commit_at = calloc((size_t)events, sizeof *commit_at);
  int64_t *version_of = calloc((size_t)events, sizeof *version_of);
  for (int i = 0; i < events; i++) {
    pd_val val = pd_int(i + 1);
    usleep(2000 + (unsigned)(i % 7) * 500);
    if (pd_set(d, &key, &val) != PD_OK) fail("pd_set", pd_errmsg(d));
    commit_at[i] = bench_realtime_ns();
    if (pd_version(d, &version_of[i]) != PD_OK) fail("pd_version", pd_errmsg(d));
  }
  int n;
  read_all(fds[0], &n, sizeof n);
  wake *w = calloc((size_t)n + 1, sizeof *w);
  read_all(fds[0], w, (size_t)n * sizeof *w);
  int64_t idle_cpu, idle_wall;
  read_all(fds[0], &idle_cpu, sizeof idle_cpu);
  read_all(fds[0], &idle_wall, sizeof idle_wall);
  int status;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("watcher", "child failed");

  /* Each commit's latency: from pd_set returning to the first wake-up that
   * saw its version. A watcher can wake before pd_set has returned (the
   * commit is visible first): that counts as zero. */
  int64_t *lat = calloc((size_t)events, sizeof *lat);
  int j = 0;
  for (int i = 0; i < events; i++) {
    while (j < n && w[j].version < version_of[i]) j++;
    if (j == n) fail("watcher", "never saw a committed version");
    int64_t l = w[j].at_ns - commit_at[i];
    lat[i] = l > 0 ? l : 0;
  }
  qsort(lat, (size_t)events, sizeof *lat, cmp_i64);
  printf("{\"suite\":\"watch\",\"lang\":\"c\",\"store\":\"permadict\",\"events\":%d,"
         "\"wakeups\":%d,\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,"
         "\"idle_ms\":%.0f,\"idle_cpu_pct\":%.4f}\n",
         events, n, lat[events / 2] / 1000.0, lat[(events * 99) / 100] / 1000.0,
         lat[events - 1] / 1000.0, idle_wall / 1e6, 100.0 * (double)idle_cpu / (double)idle_wall);
  pd_close(d);
  free(lat);
  free(w);
  free(commit_at);
  free(version_of);
  return 0;
}
