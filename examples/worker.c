/*
 * worker.c - the C worker of the demo (examples/README.md has the whole key
 * protocol; worker.py and worker.lua follow the same one).
 *
 *   usage: worker FILE WORKER_ID [NAMESPACE [TIMEOUT_SECONDS]]
 *          NAMESPACE defaults to "demo", TIMEOUT_SECONDS to 30.
 *
 * Started before its configuration exists, it announces itself, sleeps in
 * pd_wait, and on every new generation of "config" does a little work and
 * reports it back through the same dict; it exits when "stop" is set.
 *
 * Exit status: 0 stopped as asked, 1 no "stop" before the timeout, 2 bad
 * usage, 3 a library error, 4 a config that is not as the protocol says.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "permadict.h"

#define KEY(s) pd_text((s), strlen(s))

/* Unix time: the coordinator compares it with its own clock. */
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

static const char *worker_id = "c";

static int fail(pd_dict *d, const char *what, int rc) {
  fprintf(stderr, "  [%s] %s: %s (%s)\n", worker_id, what,
          d ? pd_errmsg(d) : pd_errmsg(NULL), pd_errstr(rc));
  pd_close(d);
  return 3;
}

/* Adds 1 to "workers.ready" and reads the version to watch from in one
 * transaction, so no write can fall between the two: the coordinator's
 * config, written after it has counted every worker, is always newer. */
static int announce(pd_dict *d, int64_t *since) {
  pd_val ready = KEY("workers.ready"), one = pd_int(1);
  int rc = pd_begin(d);
  if (rc == PD_OK) rc = pd_incr(d, &ready, &one, NULL);
  if (rc == PD_OK) rc = pd_version(d, since);
  if (rc == PD_OK) return pd_commit(d);
  pd_rollback(d);
  return rc;
}

static int text_is(const pd_val *v, const char *s) {
  return v->kind == PD_TEXT && v->u.s.len == strlen(s) &&
         memcmp(v->u.s.ptr, s, v->u.s.len) == 0;
}

/* Which of "config" and "stop" changed in (since, upto]. Changes after upto
 * are left for the next wake-up, so a wake-up is never credited with a
 * change committed after it. A resync (the bounded log no longer reaches
 * back to since) says nothing about which keys: count both as changed. */
static int keys_changed(pd_dict *d, int64_t since, int64_t upto, int *config,
                        int *stop) {
  pd_changes *c = NULL;
  int rc = pd_changes_open(&c, d, since);
  if (rc == PD_ERESYNC) {
    *config = *stop = 1;
    return PD_OK;
  }
  if (rc != PD_OK) return rc;
  pd_change ch;
  while ((rc = pd_changes_next(c, &ch)) == PD_OK && ch.version <= upto) {
    if (ch.op == PD_CHANGE_CLEAR) *config = *stop = 1;
    if (text_is(&ch.key, "config")) *config = 1;
    if (text_is(&ch.key, "stop")) *stop = 1;
  }
  pd_changes_free(c);
  return rc == PD_OK || rc == PD_ITEROVER ? PD_OK : rc;
}

/* Skips the item just read and everything nested in it. */
static int skip_nested(pd_dec *dec, const pd_val *item) {
  size_t n = item->kind == PD_LIST  ? item->u.n
             : item->kind == PD_MAP ? 2 * item->u.n
                                    : 0;
  for (size_t i = 0; i < n; i++) {
    pd_val sub;
    int rc = pd_dec_next(dec, &sub);
    if (rc == PD_OK) rc = skip_nested(dec, &sub);
    if (rc != PD_OK) return rc;
  }
  return PD_OK;
}

typedef struct config {
  int64_t generation; /* 1, 2, ... */
  int64_t n;          /* the size of the work */
  double written_at;  /* Unix time taken just before the coordinator wrote it */
} config;

/* Reads the fields the worker uses out of the "config" map; -1 if the value
 * is not a map holding an integer generation >= 1, an integer n >= 0 and a
 * number written_at. */
static int config_parse(const pd_val *value, config *out) {
  if (value->kind != PD_PACKED) return -1;
  pd_dec *dec = NULL;
  if (pd_dec_new(&dec) != PD_OK) return -1;
  pd_val top, k, v;
  int found = 0;
  int rc = pd_dec_start(dec, value);
  if (rc == PD_OK) rc = pd_dec_next(dec, &top);
  if (rc == PD_OK && top.kind == PD_MAP) {
    for (size_t i = 0; i < top.u.n && rc == PD_OK; i++) {
      rc = pd_dec_next(dec, &k);
      if (rc == PD_OK) rc = pd_dec_next(dec, &v);
      if (rc != PD_OK) break;
      if (text_is(&k, "generation") && v.kind == PD_INT && v.u.i >= 1) {
        out->generation = v.u.i;
        found |= 1;
      } else if (text_is(&k, "n") && v.kind == PD_INT && v.u.i >= 0) {
        out->n = v.u.i;
        found |= 2;
      } else if (text_is(&k, "written_at") && (v.kind == PD_FLOAT || v.kind == PD_INT)) {
        out->written_at = v.kind == PD_FLOAT ? v.u.f : (double)v.u.i;
        found |= 4;
      }
      rc = skip_nested(dec, &v);
    }
  }
  pd_dec_free(dec);
  return rc == PD_OK && found == 7 ? 0 : -1;
}

/* "A little work" whose result the coordinator can check exactly. */
static int64_t work(int64_t n) {
  int64_t sum = 0;
  for (int64_t i = 0; i < n; i++) sum += (i * i) % 1009;
  return sum;
}

/* What this worker saw of one generation, and its result, in one
 * transaction: the coordinator never sees a count without its details. */
static int report(pd_dict *d, const config *cfg, double woke_at, int64_t result) {
  char woke_key[128], n_key[128], sum_key[64], done_key[64];
  snprintf(woke_key, sizeof woke_key, "seen.%s.%" PRId64 ".woke_at", worker_id, cfg->generation);
  snprintf(n_key, sizeof n_key, "seen.%s.%" PRId64 ".n", worker_id, cfg->generation);
  snprintf(sum_key, sizeof sum_key, "results.%" PRId64 ".sum", cfg->generation);
  snprintf(done_key, sizeof done_key, "results.%" PRId64 ".done", cfg->generation);
  pd_val wk = KEY(woke_key), nk = KEY(n_key), sk = KEY(sum_key), dk = KEY(done_key);
  pd_val woke = pd_float(woke_at), n = pd_int(cfg->n), by = pd_int(result), one = pd_int(1);
  int rc = pd_begin(d);
  if (rc == PD_OK) rc = pd_set(d, &wk, &woke);
  if (rc == PD_OK) rc = pd_set(d, &nk, &n);
  if (rc == PD_OK) rc = pd_incr(d, &sk, &by, NULL);
  if (rc == PD_OK) rc = pd_incr(d, &dk, &one, NULL);
  if (rc == PD_OK) return pd_commit(d);
  pd_rollback(d);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 5) {
    fprintf(stderr, "usage: %s FILE WORKER_ID [NAMESPACE [TIMEOUT_SECONDS]]\n", argv[0]);
    return 2;
  }
  worker_id = argv[2];
  if (strlen(worker_id) == 0 || strlen(worker_id) > 40) {
    fprintf(stderr, "worker: WORKER_ID must be 1 to 40 bytes, got '%s'\n", worker_id);
    return 2;
  }
  pd_options opts = PD_OPTIONS_INIT;
  opts.name = argc > 3 ? argv[3] : "demo";
  char *end = NULL;
  long timeout_s = argc > 4 ? strtol(argv[4], &end, 10) : 30;
  if (argc > 4 && (*end != '\0' || timeout_s <= 0 || timeout_s > 86400)) {
    fprintf(stderr, "worker: TIMEOUT_SECONDS must be a whole number from 1 to 86400, got '%s'\n",
            argv[4]);
    return 2;
  }

  pd_dict *d = NULL;
  int rc = pd_open(&d, argv[1], &opts);
  if (rc != PD_OK) return fail(NULL, "opening", rc);
  int64_t since = 0;
  rc = announce(d, &since);
  if (rc != PD_OK) return fail(d, "announcing", rc);
  printf("  [%s] ready, watching from version %" PRId64 "\n", worker_id, since);
  fflush(stdout);

  int64_t last_generation = 0;
  int64_t give_up = monotonic_ms() + timeout_s * 1000;
  for (;;) {
    int64_t left = give_up - monotonic_ms();
    if (left <= 0) {
      fprintf(stderr, "  [%s] no \"stop\" within %ld s, giving up\n", worker_id, timeout_s);
      pd_close(d);
      return 1;
    }
    int64_t now_version = since;
    rc = pd_wait(d, since, left > 1000000000 ? 1000000000 : (int)left, &now_version);
    if (rc == PD_ETIMEOUT) continue;
    if (rc != PD_OK) return fail(d, "waiting", rc);
    double woke_at = unix_seconds();

    int config_changed = 0, stop_changed = 0;
    rc = keys_changed(d, since, now_version, &config_changed, &stop_changed);
    if (rc != PD_OK) return fail(d, "reading the changes", rc);
    since = now_version;

    pd_val key = KEY("config"), value;
    if (config_changed && (rc = pd_get(d, &key, &value)) != PD_ENOTFOUND) {
      if (rc != PD_OK) return fail(d, "reading config", rc);
      config cfg = {0, 0, 0.0};
      if (config_parse(&value, &cfg) != 0) {
        fprintf(stderr, "  [%s] \"config\" is not a map with integers generation and n and a "
                        "number written_at\n", worker_id);
        pd_close(d);
        return 4;
      }
      if (cfg.generation != last_generation) {
        int64_t result = work(cfg.n);
        rc = report(d, &cfg, woke_at, result);
        if (rc != PD_OK) return fail(d, "reporting", rc);
        last_generation = cfg.generation;
        printf("  [%s] saw generation %" PRId64 " (n=%" PRId64 ") %.3f ms after it was written; "
               "reported %" PRId64 "\n",
               worker_id, cfg.generation, cfg.n, (woke_at - cfg.written_at) * 1000.0, result);
        fflush(stdout);
      }
    }

    key = KEY("stop");
    if (stop_changed && (rc = pd_get(d, &key, &value)) != PD_ENOTFOUND) {
      if (rc != PD_OK) return fail(d, "reading stop", rc);
      if (value.kind == PD_BOOL && value.u.b) {
        printf("  [%s] told to stop\n", worker_id);
        pd_close(d);
        return 0;
      }
    }
  }
}
