/* bench_memory.c - does iterating over a big store keep memory flat?
 *
 * usage: bench_memory STORE PATH N fill|iterate
 * "fill" stores N entries (16-byte keys, 100-byte text values) in one
 * transaction. "iterate" opens the store, notes the peak RSS, walks every
 * entry and prints one JSON line with the peak RSS growth. Filling happens in
 * another process so that its memory does not hide the iteration's. Note that
 * pages of a memory-mapped file count in RSS too (LMDB, SQLite with mmap). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_clock.h"
#include "bench_data.h"
#include "bench_store.h"

static long peak_rss_kib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static void *open_or_die(const bench_store *store, const char *path) {
  char err[512];
  void *h = store->open(path, err, sizeof err);
  if (!h) {
    fprintf(stderr, "bench_memory: open %s\n", err);
    exit(1);
  }
  return h;
}

static int fill(const bench_store *store, const char *path, size_t n) {
  bench_data data;
  store->remove(path);
  void *h = open_or_die(store, path);
  /* Keys are formatted here in chunks to avoid holding n of them at once. */
  if (bench_data_init(&data, 1) != 0) return 1;
  if (store->begin(h) != 0) goto fail;
  for (size_t i = 0; i < n; i++) {
    char key[64];
    snprintf(key, sizeof key, "key:%012zu", i);
    bench_value v = bench_value_of(&data, BENCH_TEXT100, i);
    if (store->set(h, key, &v) != 0) goto fail;
  }
  if (store->commit(h) != 0) goto fail;
  store->close(h);
  bench_data_free(&data);
  return 0;
fail:
  fprintf(stderr, "bench_memory: fill %s: %s\n", store->name, store->errmsg(h));
  return 1;
}

static int iterate(const bench_store *store, const char *path, size_t n) {
  void *h = open_or_die(store, path);
  uint64_t items = 0, sink = 0;
  long before = peak_rss_kib();
  int64_t t0 = bench_now_ns();
  if (store->iterate(h, &items, &sink) != 0) {
    fprintf(stderr, "bench_memory: iterate %s: %s\n", store->name, store->errmsg(h));
    return 1;
  }
  int64_t ns = bench_now_ns() - t0;
  long after = peak_rss_kib();
  if (items != n) {
    fprintf(stderr, "bench_memory: %s saw %llu items, expected %zu\n", store->name,
            (unsigned long long)items, n);
    return 1;
  }
  printf("{\"suite\":\"memory\",\"lang\":\"c\",\"store\":\"%s\",\"entries\":%zu,"
         "\"rss_before_mib\":%.2f,\"rss_growth_mib\":%.2f,\"us_per_item\":%.4f,"
         "\"checksum\":%llu}\n",
         store->name, n, before / 1024.0, (after - before) / 1024.0,
         (double)ns / 1000.0 / (double)n, (unsigned long long)sink);
  store->close(h);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s STORE PATH N fill|iterate\n", argv[0]);
    return 2;
  }
  const bench_store *store = bench_store_find(argv[1]);
  size_t n = strtoul(argv[3], NULL, 10);
  if (!store || n == 0) {
    fprintf(stderr, "bench_memory: unknown store '%s' or bad N\n", argv[1]);
    return 2;
  }
  if (strcmp(argv[4], "fill") == 0) return fill(store, argv[2], n);
  if (strcmp(argv[4], "iterate") == 0) return iterate(store, argv[2], n);
  fprintf(stderr, "bench_memory: unknown mode '%s'\n", argv[4]);
  return 2;
}
