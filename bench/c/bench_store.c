/* bench_store.c - the list of stores the C benchmarks know. */
#include "bench_store.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const bench_store *const stores[] = {
#ifdef BENCH_HAVE_PERMADICT
    &bench_store_permadict,
#endif
    &bench_store_sqlite, &bench_store_sqlite_readtxn, &bench_store_sqlite_permadict_layout,
    &bench_store_lmdb, NULL};

const bench_store *bench_store_find(const char *name) {
  for (int i = 0; stores[i]; i++)
    if (strcmp(stores[i]->name, name) == 0) return stores[i];
  return NULL;
}

void bench_remove_sqlite_files(const char *path) {
  char buf[4096];
  unlink(path);
  snprintf(buf, sizeof buf, "%s-wal", path);
  unlink(buf);
  snprintf(buf, sizeof buf, "%s-shm", path);
  unlink(buf);
  snprintf(buf, sizeof buf, "%s-journal", path);
  unlink(buf);
}
