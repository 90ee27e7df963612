/*
 * watch_peer.c - the C side of the cross-language watch tests
 * (tests/python/test_watch.py, tests/lua/watch.lua): a writer whose changes
 * Python and Lua watchers must see, and a watcher that must see theirs.
 *
 *   watch_peer FILE set KEY VALUE    store text VALUE at text KEY
 *   watch_peer FILE del KEY          delete KEY
 *   watch_peer FILE clear            delete everything, one change
 *   watch_peer FILE txn PREFIX N     set PREFIX0..PREFIX<N-1> in one transaction
 *   watch_peer FILE watch COUNT MS   print "ready V", then for each wake-up
 *                                    "wake V" and one "change V OP KEY" line per
 *                                    change, until COUNT changes were seen
 *                                    (exit 0) or MS ms pass without one (exit 3)
 *
 * Any failure prints the core's message to stderr and exits 1; usage errors 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "permadict.h"

static pd_val text(const char *s) { return pd_text(s, strlen(s)); }

static int fail(pd_dict *d, const char *what, int rc) {
  fprintf(stderr, "watch_peer: %s: %s (%s)\n", what, pd_errmsg(d), pd_errstr(rc));
  return 1;
}

static int usage(void) {
  fputs("usage: watch_peer FILE set KEY VALUE | del KEY | clear | txn PREFIX N | "
        "watch COUNT MS\n",
        stderr);
  return 2;
}

static const char *op_name(pd_change_op op) {
  switch (op) {
  case PD_CHANGE_SET: return "set";
  case PD_CHANGE_DELETE: return "delete";
  case PD_CHANGE_CLEAR: return "clear";
  }
  return "unknown";
}

/* Prints the changes after *since and advances it; returns how many. */
static long print_changes(pd_dict *d, int64_t *since) {
  pd_changes *c = NULL;
  int rc = pd_changes_open(&c, d, *since);
  if (rc) {
    fail(d, "pd_changes_open", rc);
    return -1;
  }
  pd_change ch;
  long n = 0;
  while ((rc = pd_changes_next(c, &ch)) == PD_OK) {
    printf("change %lld %s ", (long long)ch.version, op_name(ch.op));
    if (ch.key.kind == PD_TEXT)
      fwrite(ch.key.u.s.ptr, 1, ch.key.u.s.len, stdout);
    else if (ch.key.kind == PD_INT)
      printf("%lld", (long long)ch.key.u.i);
    else
      fputs("-", stdout);
    putchar('\n');
    *since = ch.version;
    n++;
  }
  pd_changes_free(c);
  if (rc != PD_ITEROVER) {
    fail(d, "pd_changes_next", rc);
    return -1;
  }
  return n;
}

static int watch(pd_dict *d, long want, int ms) {
  int64_t since;
  int rc = pd_version(d, &since);
  if (rc) return fail(d, "pd_version", rc);
  printf("ready %lld\n", (long long)since);
  fflush(stdout);
  long seen = 0;
  while (seen < want) {
    int64_t v;
    rc = pd_wait(d, since, ms, &v);
    if (rc == PD_ETIMEOUT) {
      printf("timeout %lld\n", (long long)v);
      fflush(stdout);
      return 3;
    }
    if (rc) return fail(d, "pd_wait", rc);
    printf("wake %lld\n", (long long)v);
    long n = print_changes(d, &since);
    if (n < 0) return 1;
    seen += n;
    fflush(stdout);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) return usage();
  const char *cmd = argv[2];
  pd_dict *d = NULL;
  pd_options opts = PD_OPTIONS_INIT;
  opts.timeout_ms = 30000;
  int rc = pd_open(&d, argv[1], &opts);
  if (rc) return fail(NULL, "pd_open", rc);
  int status = 0;
  if (strcmp(cmd, "set") == 0 && argc == 5) {
    pd_val k = text(argv[3]), v = text(argv[4]);
    rc = pd_set(d, &k, &v);
    if (rc) status = fail(d, "pd_set", rc);
  } else if (strcmp(cmd, "del") == 0 && argc == 4) {
    pd_val k = text(argv[3]);
    rc = pd_delete(d, &k);
    if (rc) status = fail(d, "pd_delete", rc);
  } else if (strcmp(cmd, "clear") == 0 && argc == 3) {
    rc = pd_clear(d);
    if (rc) status = fail(d, "pd_clear", rc);
  } else if (strcmp(cmd, "txn") == 0 && argc == 5) {
    long n = strtol(argv[4], NULL, 10);
    rc = pd_begin(d);
    for (long i = 0; rc == PD_OK && i < n; i++) {
      char key[256];
      snprintf(key, sizeof key, "%s%ld", argv[3], i);
      pd_val k = text(key), v = pd_int(i);
      rc = pd_set(d, &k, &v);
    }
    if (rc == PD_OK) rc = pd_commit(d);
    if (rc) status = fail(d, "transaction", rc);
  } else if (strcmp(cmd, "watch") == 0 && argc == 5) {
    status = watch(d, strtol(argv[3], NULL, 10), (int)strtol(argv[4], NULL, 10));
  } else {
    status = usage();
  }
  pd_close(d);
  return status;
}
