/*
 * worker.c - the C worker of the demo (examples/): started before its
 * configuration exists, it sleeps in pd_wait until another process writes
 * the key "config", then reads it, does a little work and reports back
 * through the same dict.
 *
 *   usage: worker FILE [NAMESPACE] [TIMEOUT_SECONDS]
 *          NAMESPACE defaults to "demo", TIMEOUT_SECONDS to 30.
 *
 * The protocol with the coordinator (all keys are text):
 *   "workers.ready"  the worker adds 1 once it is watching; the coordinator
 *                    writes "config" only after this reaches the number of
 *                    workers it started.
 *   "config"         a map written by the coordinator: "written_at" (float,
 *                    Unix time in seconds, taken just before writing) and
 *                    optionally "n" (int: the size of the work, default 1e5).
 *   "results.done"   the worker adds 1 when its work is finished.
 *   "results.sum"    the worker adds its work's result (sum of i*i mod 1009).
 *   "seen.c.<pid>"   float: milliseconds from "written_at" to the moment this
 *                    worker woke up knowing that "config" had changed.
 *
 * Exit status: 0 done, 1 no config before the timeout, 2 bad usage,
 * 3 a library error, 4 a config without "written_at".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "permadict.h"

#define KEY(s) pd_text((s), strlen(s))

static double unix_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fail(pd_dict *d, const char *what, int rc) {
  fprintf(stderr, "c worker %d: %s: %s (%s)\n", (int)getpid(), what,
          d ? pd_errmsg(d) : pd_errmsg(NULL), pd_errstr(rc));
  return 3;
}

/* Announces the worker and returns the version it starts watching from;
 * *present says "config" was already there. One transaction, so no write
 * can fall between the announcement and the version: the coordinator's
 * config, written after it sees the count, is always newer than *since. */
static int announce(pd_dict *d, int64_t *since, int *present) {
  pd_val ready = KEY("workers.ready"), config = KEY("config"), one = pd_int(1);
  int rc = pd_begin(d);
  if (rc == PD_OK) rc = pd_incr(d, &ready, &one, NULL);
  if (rc == PD_OK) rc = pd_version(d, since);
  if (rc == PD_OK) {
    rc = pd_contains(d, &config);
    *present = rc == PD_OK;
    if (rc == PD_ENOTFOUND) rc = PD_OK;
  }
  if (rc == PD_OK) return pd_commit(d);
  pd_rollback(d);
  return rc;
}

/* Whether the changes after since touch "config" (a resync counts: the
 * log no longer says, so look at the value itself). */
static int config_changed(pd_dict *d, int64_t since, int *changed) {
  pd_changes *c = NULL;
  *changed = 0;
  int rc = pd_changes_open(&c, d, since);
  if (rc == PD_ERESYNC) {
    pd_val config = KEY("config");
    rc = pd_contains(d, &config);
    *changed = rc == PD_OK;
    return rc == PD_ENOTFOUND ? PD_OK : rc;
  }
  if (rc != PD_OK) return rc;
  pd_change ch;
  while (pd_changes_next(c, &ch) == PD_OK)
    if (ch.op == PD_CHANGE_SET && ch.key.kind == PD_TEXT && ch.key.u.s.len == 6 &&
        memcmp(ch.key.u.s.ptr, "config", 6) == 0)
      *changed = 1;
  pd_changes_free(c);
  return PD_OK;
}

/* Skips the item just read and everything nested in it. */
static int skip_nested(pd_dec *dec, const pd_val *item) {
  size_t n = item->kind == PD_LIST ? item->u.n : item->kind == PD_MAP ? 2 * item->u.n : 0;
  for (size_t i = 0; i < n; i++) {
    pd_val sub;
    int rc = pd_dec_next(dec, &sub);
    if (rc == PD_OK) rc = skip_nested(dec, &sub);
    if (rc != PD_OK) return rc;
  }
  return PD_OK;
}

static int text_is(const pd_val *v, const char *s) {
  return v->kind == PD_TEXT && v->u.s.len == strlen(s) && memcmp(v->u.s.ptr, s, v->u.s.len) == 0;
}

/* Reads "written_at" and "n" out of the config map. */
static int config_read(const pd_val *config, double *written_at, int64_t *n) {
  if (config->kind != PD_PACKED) return -1;
  pd_dec *dec = NULL;
  if (pd_dec_new(&dec) != PD_OK) return -1;
  pd_val top, k, v;
  int found = 0;
  int rc = pd_dec_start(dec, config);
  if (rc == PD_OK) rc = pd_dec_next(dec, &top);
  if (rc == PD_OK && top.kind == PD_MAP) {
    for (size_t i = 0; i < top.u.n && rc == PD_OK; i++) {
      rc = pd_dec_next(dec, &k);
      if (rc == PD_OK) rc = pd_dec_next(dec, &v);
      if (rc != PD_OK) break;
      if (text_is(&k, "written_at") && (v.kind == PD_FLOAT || v.kind == PD_INT)) {
        *written_at = v.kind == PD_FLOAT ? v.u.f : (double)v.u.i;
        found = 1;
      } else if (text_is(&k, "n") && v.kind == PD_INT && v.u.i >= 0) {
        *n = v.u.i;
      }
      rc = skip_nested(dec, &v);
    }
  }
  pd_dec_free(dec);
  return rc == PD_OK && found ? 0 : -1;
}

/* "A little work": something the coordinator can check. */
static int64_t work(int64_t n) {
  int64_t sum = 0;
  for (int64_t i = 0; i < n; i++) sum += (i * i) % 1009;
  return sum;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "usage: %s FILE [NAMESPACE] [TIMEOUT_SECONDS]\n", argv[0]);
    return 2;
  }
  pd_options opts = PD_OPTIONS_INIT;
  opts.name = argc > 2 ? argv[2] : "demo";
  int timeout_s = argc > 3 ? atoi(argv[3]) : 30;
  pid_t pid = getpid();
  pd_dict *d = NULL;
  int rc = pd_open(&d, argv[1], &opts);
  if (rc != PD_OK) return fail(NULL, "opening", rc);

  int64_t since = 0;
  int present = 0;
  rc = announce(d, &since, &present);
  if (rc != PD_OK) return fail(d, "announcing", rc);
  printf("c worker %d: watching '%s' (namespace %s) from version %" PRId64 "\n", (int)pid,
         argv[1], opts.name, since);
  fflush(stdout);

  int64_t give_up = monotonic_ms() + (int64_t)timeout_s * 1000;
  while (!present) {
    int64_t left = give_up - monotonic_ms();
    if (left <= 0) {
      fprintf(stderr, "c worker %d: no config within %d s\n", (int)pid, timeout_s);
      pd_close(d);
      return 1;
    }
    int64_t now_version = since;
    rc = pd_wait(d, since, (int)left, &now_version);
    if (rc == PD_ETIMEOUT) continue;
    if (rc != PD_OK) return fail(d, "waiting", rc);
    rc = config_changed(d, since, &present);
    if (rc != PD_OK) return fail(d, "reading the changes", rc);
    since = now_version;
  }
  double woke = unix_seconds();

  pd_val config_key = KEY("config"), config;
  rc = pd_get(d, &config_key, &config);
  if (rc != PD_OK) return fail(d, "reading config", rc);
  double written_at = 0;
  int64_t n = 100000;
  if (config_read(&config, &written_at, &n) != 0) {
    fprintf(stderr, "c worker %d: config is not a map with a number \"written_at\"\n", (int)pid);
    pd_close(d);
    return 4;
  }
  double latency_ms = (woke - written_at) * 1000.0;
  int64_t result = work(n);

  char seen[64];
  snprintf(seen, sizeof seen, "seen.c.%d", (int)pid);
  pd_val done = KEY("results.done"), sum = KEY("results.sum"), seen_key = KEY(seen);
  pd_val one = pd_int(1), by = pd_int(result), lat = pd_float(latency_ms);
  rc = pd_set(d, &seen_key, &lat);
  if (rc == PD_OK) rc = pd_incr(d, &sum, &by, NULL);
  if (rc == PD_OK) rc = pd_incr(d, &done, &one, NULL);
  if (rc != PD_OK) return fail(d, "reporting", rc);
  printf("c worker %d: saw config %.3f ms after it was written; work(%" PRId64 ") = %" PRId64
         "\n",
         (int)pid, latency_ms, n, result);
  pd_close(d);
  return 0;
}
