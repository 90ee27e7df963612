/* bench_data.c - builds the workload's keys and values once, before timing. */
#include "bench_data.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_BYTES (256 * 1024)
#define MAP_STRIDE 96

/* xorshift64*: fixed seed so every store and every run sees the same data. */
static uint64_t next_random(uint64_t *state) {
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * 0x2545F4914F6CDD1DULL;
}

/* A small nested map: {"id": i, "name": "user-i", "pos": {"x": .., "y": ..},
 * "tags": ["alpha", "beta"]}, keys already in canonical (bytewise) order. */
static size_t pack_map(unsigned char *out, size_t cap, size_t i) {
  msgpack_sbuffer sbuf;
  msgpack_packer pk;
  char name[32];
  int name_len = snprintf(name, sizeof name, "user-%zu", i);

  msgpack_sbuffer_init(&sbuf);
  msgpack_packer_init(&pk, &sbuf, msgpack_sbuffer_write);
  msgpack_pack_map(&pk, 4);
  msgpack_pack_str_with_body(&pk, "id", 2);
  msgpack_pack_int64(&pk, (int64_t)i);
  msgpack_pack_str_with_body(&pk, "name", 4);
  msgpack_pack_str_with_body(&pk, name, (size_t)name_len);
  msgpack_pack_str_with_body(&pk, "pos", 3);
  msgpack_pack_map(&pk, 2);
  msgpack_pack_str_with_body(&pk, "x", 1);
  msgpack_pack_double(&pk, (double)i * 0.5);
  msgpack_pack_str_with_body(&pk, "y", 1);
  msgpack_pack_double(&pk, -2.25);
  msgpack_pack_str_with_body(&pk, "tags", 4);
  msgpack_pack_array(&pk, 2);
  msgpack_pack_str_with_body(&pk, "alpha", 5);
  msgpack_pack_str_with_body(&pk, "beta", 4);

  size_t len = sbuf.size;
  if (len > cap) {
    fprintf(stderr, "bench_data: packed map of %zu bytes exceeds %zu\n", len, cap);
    exit(1);
  }
  memcpy(out, sbuf.data, len);
  msgpack_sbuffer_destroy(&sbuf);
  return len;
}

static void format_keys(char *dst, const char *prefix, size_t n) {
  char tmp[64];
  size_t digits = BENCH_KEY_LEN - strlen(prefix);
  for (size_t i = 0; i < n; i++) {
    snprintf(tmp, sizeof tmp, "%s%0*zu", prefix, (int)digits, i);
    memcpy(dst + i * BENCH_KEY_LEN, tmp, BENCH_KEY_LEN);
  }
}

int bench_data_init(bench_data *d, size_t n) {
  uint64_t rng = 0x9E3779B97F4A7C15ULL;
  memset(d, 0, sizeof *d);
  d->n = n;
  d->keys = malloc(n * BENCH_KEY_LEN);
  d->misses = malloc(n * BENCH_KEY_LEN);
  d->fresh = malloc(n * BENCH_KEY_LEN);
  d->order = malloc(n * sizeof *d->order);
  d->pool_len = POOL_BYTES;
  d->pool = malloc(POOL_BYTES);
  d->map_stride = MAP_STRIDE;
  d->maps = malloc(n * MAP_STRIDE);
  d->map_len = malloc(n * sizeof *d->map_len);
  if (!d->keys || !d->misses || !d->fresh || !d->order || !d->pool || !d->maps ||
      !d->map_len) {
    bench_data_free(d);
    return -1;
  }
  format_keys(d->keys, "key:", n);
  format_keys(d->misses, "miss:", n);
  format_keys(d->fresh, "new:", n);
  for (size_t i = 0; i < n; i++) d->order[i] = i;
  for (size_t i = n; i > 1; i--) { /* Fisher-Yates */
    size_t j = (size_t)(next_random(&rng) % i);
    size_t t = d->order[i - 1];
    d->order[i - 1] = d->order[j];
    d->order[j] = t;
  }
  /* The first half of the pool is printable text, the second raw bytes. */
  for (size_t i = 0; i < POOL_BYTES / 2; i++)
    d->pool[i] = (unsigned char)('a' + next_random(&rng) % 26);
  for (size_t i = POOL_BYTES / 2; i < POOL_BYTES; i++)
    d->pool[i] = (unsigned char)next_random(&rng);
  for (size_t i = 0; i < n; i++)
    d->map_len[i] = pack_map(d->maps + i * MAP_STRIDE, MAP_STRIDE, i);
  return 0;
}

void bench_data_free(bench_data *d) {
  free(d->keys);
  free(d->misses);
  free(d->fresh);
  free(d->order);
  free(d->pool);
  free(d->maps);
  free(d->map_len);
  memset(d, 0, sizeof *d);
}

bench_value bench_value_of(const bench_data *d, bench_kind kind, size_t i) {
  bench_value v;
  size_t half = d->pool_len / 2;
  memset(&v, 0, sizeof v);
  v.kind = kind;
  switch (kind) {
  case BENCH_TEXT100:
    v.ptr = d->pool + (i * 7919) % (half - 100);
    v.len = 100;
    break;
  case BENCH_INT:
    v.i = (int64_t)i * 1000003;
    break;
  case BENCH_BYTES1K:
    v.ptr = d->pool + half + (i * 7919) % (half - 1024);
    v.len = 1024;
    break;
  case BENCH_MAP:
    v.ptr = d->maps + (i % d->n) * d->map_stride;
    v.len = d->map_len[i % d->n];
    break;
  }
  return v;
}

static const char *const kind_names[] = {"text100", "int", "bytes1k", "map"};

const char *bench_kind_name(bench_kind kind) { return kind_names[kind]; }

int bench_kind_parse(const char *name, bench_kind *out) {
  for (int k = 0; k < 4; k++) {
    if (strcmp(name, kind_names[k]) == 0) {
      *out = (bench_kind)k;
      return 0;
    }
  }
  return -1;
}
