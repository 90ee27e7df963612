/*
 * testutil.h - helpers shared by the C test programs: temporary directories,
 * file hashing, child processes. Include after <cmocka.h>'s prerequisites
 * (stdarg.h, stddef.h, setjmp.h, stdint.h), which this header pulls in.
 */
#ifndef PD_TESTUTIL_H
#define PD_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>

#include "permadict.h"

/* A fresh directory under $PD_TEST_TMP (or /tmp), made with mkdtemp. The
 * returned string is static per call site use: copy it if you keep two. */
const char *tu_tmpdir(void);
/* dir/name in a static rotating buffer (8 slots). */
const char *tu_path(const char *dir, const char *name);
/* Removes dir and everything in it (one level deep, as tests make). */
void tu_rmdir(const char *dir);

/* A 64-bit FNV-1a hash of a whole file's bytes (and 0 if it is missing);
 * compare before and after to prove a file was not modified. */
uint64_t tu_file_hash(const char *path);
/* Writes len bytes to path (creating or truncating it). */
void tu_write_file(const char *path, const void *p, size_t len);

/* CLOCK_MONOTONIC in milliseconds, and a sleep of ms through signals. */
int64_t tu_now_ms(void);
void tu_sleep_ms(int ms);

/* Runs fn(arg) in a forked child and returns its exit status (0 = success).
 * The child exits with fn's return value without running atexit handlers. */
typedef int (*tu_child_fn)(void *arg);
pid_t tu_fork(tu_child_fn fn, void *arg);
int tu_wait(pid_t pid);
int tu_run_child(tu_child_fn fn, void *arg);

/* Runs sql on the file at path through SQLite directly (loaded with dlopen,
 * so tests need not link it), to plant rows the library would never write.
 * Returns SQLite's result code. */
int tu_sql(const char *path, const char *sql);
/* The first column of the first row of sql (fails the test without one). */
int64_t tu_sql_int(const char *path, const char *sql);

/* The size of path's WAL (path + "-wal"); fails the test when there is none. */
off_t tu_wal_bytes(const char *path);

/* A function of libsqlite3, loaded with dlopen (the tests link only
 * libpermadict); fails the test when it cannot be found. */
void *tu_sqlite_sym(const char *name);

/* Key i: ints, texts and bytes in turn ("key-<i>", built in buf, which a
 * caller may reuse: a library that kept the pointer instead of a copy shows
 * the wrong key). */
pd_val tu_key_of(int i, char *buf, size_t cap);

/* Opens path/name with the defaults (create on), asserting success. */
pd_dict *tu_open(const char *path, const char *name);

/* For a child process: opens path and adds 1 to the key "counter" n times,
 * one pd_incr each; 0 on success, nonzero (after printing why) otherwise. */
int tu_incr_counter(const char *path, int n);

/* Assert a PD result, printing pd_errmsg on failure. */
#define TU_OK(d, expr)                                                  \
  do {                                                                  \
    int tu_rc_ = (expr);                                                \
    if (tu_rc_ != PD_OK)                                                \
      fail_msg("%s -> %d (%s): %s", #expr, tu_rc_, pd_errstr(tu_rc_),   \
               pd_errmsg(d));                                           \
  } while (0)

#endif /* PD_TESTUTIL_H */
