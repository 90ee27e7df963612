/* bench_data.h - the keys and values of the workload, the same for every store.
 *
 * Keys are 16-byte text ("key:000000000042"); absent keys ("miss:...") and
 * fresh keys ("new:...") have the same length. Values come in four kinds;
 * every value is prepared before timing starts so that no formatting cost
 * lands inside a measured loop. */
#ifndef BENCH_DATA_H
#define BENCH_DATA_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_KEY_LEN 16

/* Autocommit sets run this many times the time budget of other operations
 * (in every language's harness): a WAL checkpoint, with its fdatasyncs,
 * comes every few thousand frames and costs milliseconds, so a 200 ms sample
 * held 1 or 2 of them, or 9 of a store that checkpoints more often, and its
 * mean moved by 10-15% from run to run on the luck of where they fell. */
#define AUTOCOMMIT_BUDGET_FACTOR 5

typedef enum bench_kind {
  BENCH_TEXT100 = 0, /* 100 bytes of ASCII text */
  BENCH_INT = 1,     /* a signed 64-bit integer */
  BENCH_BYTES1K = 2, /* 1024 bytes of binary data */
  BENCH_MAP = 3      /* a small nested map, as canonical MessagePack */
} bench_kind;

typedef struct bench_value {
  bench_kind kind;
  int64_t i;       /* BENCH_INT */
  const void *ptr; /* the other kinds */
  size_t len;
} bench_value;

typedef struct bench_data {
  size_t n;
  char *keys;     /* n * BENCH_KEY_LEN, present keys */
  char *misses;   /* n * BENCH_KEY_LEN, keys never stored */
  char *fresh;    /* n * BENCH_KEY_LEN, keys stored only by set_autocommit */
  size_t *order;  /* a fixed random permutation of 0..n-1 */
  unsigned char *pool;  /* random bytes and text the values point into */
  size_t pool_len;
  unsigned char *maps;  /* n packed maps, map_stride bytes apart */
  size_t *map_len;
  size_t map_stride;
} bench_data;

int bench_data_init(bench_data *data, size_t n);
void bench_data_free(bench_data *data);

static inline const char *bench_key(const bench_data *d, size_t i) {
  return d->keys + i * BENCH_KEY_LEN;
}
static inline const char *bench_miss(const bench_data *d, size_t i) {
  return d->misses + i * BENCH_KEY_LEN;
}
static inline const char *bench_fresh(const bench_data *d, size_t i) {
  return d->fresh + i * BENCH_KEY_LEN;
}

/* The value number i of the given kind (i may exceed n: values repeat). */
bench_value bench_value_of(const bench_data *d, bench_kind kind, size_t i);

const char *bench_kind_name(bench_kind kind);
int bench_kind_parse(const char *name, bench_kind *out);

#endif
