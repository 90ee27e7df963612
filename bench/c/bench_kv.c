/* bench_kv.c - the single-process workload for one C store.
 *
 * usage: bench_kv STORE DIR KEYS RUNS BUDGET_MS KINDS
 *   KINDS: comma-separated value kinds (text100,int,bytes1k,map); the first
 *   gets every operation, the others the core three (set_txn, get_hit,
 *   iterate) to keep the run short.
 * Reads are measured warm: get_first is the first read of each key on a
 * freshly opened handle; get_hit, get_miss and contains each follow an
 * untimed pass over all their keys, as a long-running process re-reading its
 * data would see them (read caches of every store warm).
 * Prints one JSON line per (run, kind, operation): microseconds per op.
 *
 * Each timed loop stops at the key count or once BUDGET_MS has passed,
 * whichever comes first; slow operations are thus sampled, fast ones cover
 * every key. A failed call or a wrong answer stops that operation: it is
 * reported as an "error" line (never as a time, which would be the speed of
 * failing) and the run goes on with the next operation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_clock.h"
#include "bench_data.h"
#include "bench_store.h"

typedef struct ctx {
  const bench_store *store;
  void *h;
  const bench_data *data;
  bench_kind kind;
  const char *path;
  int64_t budget_ns;
  int run;
  uint64_t sink;
  char err[600]; /* the first failure of the current operation, or "" */
} ctx;

static void die(ctx *c, const char *what) {
  if (c->err[0]) return;
  snprintf(c->err, sizeof c->err, "%s: %s", what,
           c->h ? c->store->errmsg(c->h) : "(no handle)");
  fprintf(stderr, "bench_kv: %s on %s: %s\n", c->store->name, bench_kind_name(c->kind),
          c->err);
}

static void json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') putchar('\\');
    putchar((unsigned char)*s < 0x20 ? ' ' : *s);
  }
  putchar('"');
}

static void emit(ctx *c, const char *op, size_t ops, int64_t ns) {
  if (c->err[0]) {
    printf("{\"suite\":\"kv\",\"lang\":\"c\",\"store\":\"%s\",\"kind\":\"%s\","
           "\"op\":\"%s\",\"run\":%d,\"error\":",
           c->store->name, bench_kind_name(c->kind), op, c->run);
    json_string(c->err);
    printf("}\n");
    fflush(stdout);
    c->err[0] = 0;
    return;
  }
  printf("{\"suite\":\"kv\",\"lang\":\"c\",\"store\":\"%s\",\"kind\":\"%s\","
         "\"op\":\"%s\",\"run\":%d,\"ops\":%zu,\"us\":%.4f}\n",
         c->store->name, bench_kind_name(c->kind), op, c->run, ops,
         ops ? (double)ns / 1000.0 / (double)ops : 0.0);
  fflush(stdout);
}

/* One timed loop body per operation; i indexes the shuffled order. */
typedef void (*step_fn)(ctx *c, size_t i);

static void step_get_hit(ctx *c, size_t i) {
  if (c->store->get(c->h, bench_key(c->data, c->data->order[i]), &c->sink) != 0)
    die(c, "get of a present key");
}
static void step_get_miss(ctx *c, size_t i) {
  if (c->store->get(c->h, bench_miss(c->data, c->data->order[i]), &c->sink) != 1)
    die(c, "get of an absent key");
}
static void step_contains(ctx *c, size_t i) {
  if (c->store->contains(c->h, bench_key(c->data, c->data->order[i])) != 0)
    die(c, "contains of a present key");
}
static void step_overwrite(ctx *c, size_t i) {
  size_t k = c->data->order[i];
  bench_value v = bench_value_of(c->data, c->kind, k + 1);
  if (c->store->set(c->h, bench_key(c->data, k), &v) != 0) die(c, "overwrite");
}
static void step_set_fresh(ctx *c, size_t i) {
  bench_value v = bench_value_of(c->data, c->kind, i);
  if (c->store->set(c->h, bench_fresh(c->data, i), &v) != 0) die(c, "set of a new key");
}
static void step_delete(ctx *c, size_t i) {
  if (c->store->del(c->h, bench_key(c->data, c->data->order[i])) != 0)
    die(c, "delete of a present key");
}
static void step_count(ctx *c, size_t i) {
  int64_t n;
  (void)i;
  if (c->store->count(c->h, &n) != 0) die(c, "count");
  else if (n != (int64_t)c->data->n) {
    char what[96];
    snprintf(what, sizeof what, "count returned %lld, expected %zu", (long long)n, c->data->n);
    die(c, what);
  }
}
static void step_open(ctx *c, size_t i) {
  char err[512];
  (void)i;
  void *h = c->store->open(c->path, err, sizeof err);
  if (!h) {
    die(c, err);
    return;
  }
  c->store->close(h);
}

/* Runs step for i = 0.. until max or the time budget; returns ops done. */
static size_t timed(ctx *c, step_fn step, size_t max, int64_t *ns) {
  int64_t t0 = bench_now_ns(), deadline = t0 + c->budget_ns;
  size_t i = 0;
  while (i < max) {
    size_t stop = i + 64 < max ? i + 64 : max;
    for (; i < stop && !c->err[0]; i++) step(c, i);
    if (c->err[0] || bench_now_ns() > deadline) break;
  }
  *ns = bench_now_ns() - t0;
  return i;
}

static void measure(ctx *c, const char *op, step_fn step, size_t max, int in_txn,
                    int reads) {
  int64_t ns, t0 = bench_now_ns();
  size_t ops;
  if (in_txn && c->store->begin(c->h) != 0) {
    die(c, "begin");
    emit(c, op, 0, 0);
    return;
  }
  if (reads && c->store->reads_begin && c->store->reads_begin(c->h) != 0)
    die(c, "read transaction");
  ops = timed(c, step, max, &ns);
  if (reads && c->store->reads_end && c->store->reads_end(c->h) != 0)
    die(c, "end of read transaction");
  if (in_txn && c->store->commit(c->h) != 0) die(c, "commit");
  /* A transaction's commit is part of what its operations cost. */
  if (in_txn) ns = bench_now_ns() - t0;
  emit(c, op, ops, ns);
}

/* The untimed pass before a warm read measurement: every key once, in the
 * same order and read transaction as the timed pass, so every store's caches
 * (permadict's read cache, SQLite's page cache, the OS's) hold the data. A
 * failure here is reported as the operation's error by the timed pass. */
static void warm_up(ctx *c, step_fn step, size_t n) {
  if (c->store->reads_begin && c->store->reads_begin(c->h) != 0) die(c, "read transaction");
  for (size_t i = 0; i < n && !c->err[0]; i++) step(c, i);
  if (c->store->reads_end && c->store->reads_end(c->h) != 0) die(c, "end of read transaction");
}

static void measure_warm(ctx *c, const char *op, step_fn step, size_t n) {
  warm_up(c, step, n);
  measure(c, op, step, n, 0, 1);
}

static void measure_iterate(ctx *c) {
  uint64_t items = 0;
  int64_t t0 = bench_now_ns();
  if (c->store->reads_begin && c->store->reads_begin(c->h) != 0) die(c, "read transaction");
  if (c->store->iterate(c->h, &items, &c->sink) != 0) die(c, "iterate");
  if (c->store->reads_end && c->store->reads_end(c->h) != 0) die(c, "end of read");
  int64_t ns = bench_now_ns() - t0;
  if (items != c->data->n) {
    char what[96];
    snprintf(what, sizeof what, "iterate saw %llu items, expected %zu",
             (unsigned long long)items, c->data->n);
    die(c, what);
  }
  emit(c, "iterate", (size_t)items, ns);
}

static void reopen(ctx *c) {
  char err[512];
  if (c->h) c->store->close(c->h);
  c->h = c->store->open(c->path, err, sizeof err);
  if (!c->h) {
    fprintf(stderr, "bench_kv: open %s\n", err);
    exit(1);
  }
}

static void one_kind(ctx *c, int all_ops) {
  size_t n = c->data->n;
  c->store->remove(c->path);
  reopen(c);
  /* Fill the store: this is the "set inside one transaction" figure. The
   * budget does not apply, the later operations need every key. */
  int64_t budget = c->budget_ns;
  c->budget_ns = INT64_MAX / 2;
  {
    int64_t t0 = bench_now_ns();
    if (c->store->begin(c->h) != 0) die(c, "begin");
    for (size_t i = 0; i < n && !c->err[0]; i++) {
      bench_value v = bench_value_of(c->data, c->kind, i);
      if (c->store->set(c->h, bench_key(c->data, i), &v) != 0) die(c, "set in transaction");
    }
    if (!c->err[0] && c->store->commit(c->h) != 0) die(c, "commit");
    int failed = c->err[0] != 0;
    emit(c, "set_txn", n, bench_now_ns() - t0);
    if (failed) { /* the other operations need every key */
      c->store->close(c->h);
      c->h = NULL;
      c->store->remove(c->path);
      c->budget_ns = budget;
      return;
    }
  }
  c->budget_ns = budget;
  if (all_ops) {
    c->store->close(c->h);
    c->h = NULL;
    measure(c, "open", step_open, 1000, 0, 0);
    reopen(c);
    measure(c, "len", step_count, n, 0, 0);
  }
  if (all_ops) {
    reopen(c); /* a fresh handle: nothing read yet */
    measure(c, "get_first", step_get_hit, n, 0, 1);
  }
  measure_warm(c, "get_hit", step_get_hit, n);
  if (all_ops) {
    measure_warm(c, "get_miss", step_get_miss, n);
    measure_warm(c, "contains", step_contains, n);
  }
  measure_iterate(c);
  if (all_ops) {
    measure(c, "overwrite_txn", step_overwrite, n, 1, 0);
    /* A longer sample: see AUTOCOMMIT_BUDGET_FACTOR in bench_data.h. */
    int64_t budget = c->budget_ns;
    c->budget_ns = budget * AUTOCOMMIT_BUDGET_FACTOR;
    measure(c, "set_autocommit", step_set_fresh, n, 0, 0);
    c->budget_ns = budget;
    measure(c, "delete_txn", step_delete, n, 1, 0);
  }
  c->store->close(c->h);
  c->h = NULL;
  c->store->remove(c->path);
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: %s STORE DIR KEYS RUNS BUDGET_MS KINDS\n", argv[0]);
    return 2;
  }
  const bench_store *store = bench_store_find(argv[1]);
  if (!store) {
    fprintf(stderr, "bench_kv: unknown store '%s'\n", argv[1]);
    return 2;
  }
  size_t n = strtoul(argv[3], NULL, 10);
  int runs = atoi(argv[4]);
  int64_t budget_ms = atoll(argv[5]);
  bench_kind kinds[4];
  int nkinds = 0;
  char *list = strdup(argv[6]);
  for (char *tok = strtok(list, ","); tok && nkinds < 4; tok = strtok(NULL, ",")) {
    if (bench_kind_parse(tok, &kinds[nkinds]) != 0) {
      fprintf(stderr, "bench_kv: unknown value kind '%s'\n", tok);
      return 2;
    }
    nkinds++;
  }
  free(list);
  if (n < 1 || runs < 1 || budget_ms < 1 || nkinds < 1) {
    fprintf(stderr, "bench_kv: KEYS, RUNS, BUDGET_MS and KINDS must be positive\n");
    return 2;
  }
  bench_data data;
  if (bench_data_init(&data, n) != 0) {
    fprintf(stderr, "bench_kv: out of memory for %zu keys\n", n);
    return 1;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/c-%s.db", argv[2], store->name);
  ctx c;
  memset(&c, 0, sizeof c);
  c.store = store;
  c.data = &data;
  c.path = path;
  c.budget_ns = budget_ms * 1000000;
  for (int r = 0; r < runs; r++) {
    c.run = r;
    for (int k = 0; k < nkinds; k++) {
      c.kind = kinds[k];
      one_kind(&c, k == 0);
    }
  }
  fprintf(stderr, "bench_kv: %s done (checksum %llu)\n", store->name,
          (unsigned long long)c.sink);
  bench_data_free(&data);
  return 0;
}
