/*
 * cross_util.h - small helpers shared by the fault and hostile-input programs
 * of tests/cross: a scratch directory, checks that count failures instead of
 * stopping, and file snapshots to prove a refused file was left untouched.
 *
 * Every program exits 0 when all checks held, 1 when one failed, and
 * XU_SKIP (77, ctest's SKIP_RETURN_CODE) when it cannot run here, saying why.
 */
#ifndef PD_CROSS_UTIL_H
#define PD_CROSS_UTIL_H

#include <stddef.h>
#include <stdio.h>

#include "permadict.h"

#define XU_SKIP 77

extern int xu_failures;

/* A fresh directory under $PD_TEST_TMP (or /tmp), removed by xu_finish(). */
const char *xu_tmpdir(void);
/* dir/name in a static ring of buffers (valid for the next 7 calls). */
const char *xu_path(const char *name);

#define XU_CHECK(cond, ...)                                                      \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stdout, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
      fprintf(stdout, __VA_ARGS__);                                              \
      fputc('\n', stdout);                                                       \
      xu_failures++;                                                             \
    }                                                                            \
  } while (0)

/* rc must be want; the message says which call and what pd_errmsg said. */
#define XU_RC(rc, want, d, what)                                                 \
  XU_CHECK((rc) == (want), "%s: got %s (%d), want %s: %s", what, pd_errstr(rc),  \
           (rc), pd_errstr(want), pd_errmsg(d))

pd_dict *xu_open(const char *path, const char *ns);

/* Whole file content (malloc'd, *len set) or NULL if it cannot be read. */
unsigned char *xu_read_file(const char *path, size_t *len);
void xu_write_file(const char *path, const void *p, size_t len);
int xu_exists(const char *path);

/* Removes the scratch directory (unless PD_KEEP_TMP is set), prints the
 * verdict and returns the exit code. */
int xu_finish(void);
/* Prints "SKIPPED: why" and exits XU_SKIP. */
void xu_skip(const char *why);

#endif
