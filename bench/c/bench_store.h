/* bench_store.h - what the C workload asks of every store it compares.
 *
 * Each store (raw SQLite, LMDB, permadict) fills in one bench_store table.
 * Functions return 0 on success, 1 for "key absent" where that applies, and
 * -1 on error (then errmsg says why). get and iterate fold what they read into
 * *sink so the compiler cannot skip the read and the value really is touched. */
#ifndef BENCH_STORE_H
#define BENCH_STORE_H

#include <stdint.h>

#include "bench_data.h"

typedef struct bench_store {
  const char *name;     /* as printed in the report */
  const char *variant;  /* how it is configured, for the report's notes */
  void *(*open)(const char *path, char *err, size_t errlen);
  void (*close)(void *h);
  int (*get)(void *h, const char *key, uint64_t *sink);
  int (*contains)(void *h, const char *key);
  int (*set)(void *h, const char *key, const bench_value *v);
  int (*del)(void *h, const char *key);
  int (*begin)(void *h);
  int (*commit)(void *h);
  int (*count)(void *h, int64_t *out);
  int (*iterate)(void *h, uint64_t *items, uint64_t *sink);
  const char *(*errmsg)(void *h);
  /* Bracket a run of reads (may be NULL): the "one read transaction"
   * variants use it to hold a snapshot across many gets. */
  int (*reads_begin)(void *h);
  int (*reads_end)(void *h);
  void (*remove)(const char *path); /* delete every file of the store */
} bench_store;

extern const bench_store bench_store_sqlite;
extern const bench_store bench_store_sqlite_readtxn;
extern const bench_store bench_store_sqlite_permadict_layout;
extern const bench_store bench_store_lmdb;
#ifdef BENCH_HAVE_PERMADICT
extern const bench_store bench_store_permadict;
#endif

/* The store named name, or NULL. */
const bench_store *bench_store_find(const char *name);

/* Removes path and SQLite's -wal and -shm files next to it. */
void bench_remove_sqlite_files(const char *path);

#endif
