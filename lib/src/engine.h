/*
 * engine.h - the storage engine behind the public API.
 *
 * The public-API files (items.c, atomic_ops.c, iter.c, namespaces.c,
 * changes.c, transactions.c, maintenance.c, dict_open.c) never talk to a
 * database directly: they check arguments, keep the handle's rules (one
 * thread, fork, write scopes, the read cache) and call d->engine. The SQLite
 * engine (engine_sqlite_*.c over backend_sqlite.c) is the only one today; a
 * second one, e.g. a client for a networked server, provides the same
 * operations and nothing in permadict.h changes.
 *
 * The contract every engine keeps:
 *   - Values handed out (get, scan pages, change lists) are copies in memory
 *     the caller owns (d->out, the page, the list), never the engine's.
 *   - Writes happen only between write_begin and write_commit/_rollback, a
 *     transaction that excludes every other writer of the namespace. Inside
 *     it, each set/delete/clear bumps the namespace version by one, keeps the
 *     count exact and logs the change (FORMAT.md 5); the engine may batch the
 *     namespace row update, the change log rows and, inside an explicit
 *     transaction, the sets themselves, but must have written them by
 *     write_commit, and every read inside the transaction (get, count,
 *     version, changes, scan) includes pending changes. A held write that
 *     fails when it is written was reported done: the engine then gives up
 *     the whole transaction (pd__txn_abandon).
 *   - A write to a dropped namespace answers PD_EGONE and writes nothing.
 *   - No read transaction stays open when an operation returns, so a call
 *     always sees every commit that completed before it began.
 *   - Errors are PD codes with d's message set.
 *
 * SQLite-specific on purpose: watch.c (inotify on the -wal file) and the
 * SQLite fields of struct pd_dict. Another engine brings its own wait.
 */
#ifndef PD_ENGINE_H
#define PD_ENGINE_H

#include "internal.h"

/* One row of a scan page. A row whose key or value cannot be decoded keeps
 * rc = PD_EDECODE and the reason at msg_at in the page buffer. */
typedef struct pd__row {
  pd_val key;
  pd_val value;
  int rc;
  size_t msg_at;
} pd__row;

/* Rows of one page; their bytes live in buf (owned by the iterator). */
typedef struct pd__page {
  pd__buf buf;
  pd__row *rows;
  size_t n, cap;
} pd__page;

/* Makes room for one more row; PD_OK or PD_ENOMEM. */
int pd__page_reserve(pd__page *p);

/* One page of a key-ordered scan: keys in [lo, hi) (NULL: unbounded),
 * strictly after the engine's cursor once one exists, at most limit rows. */
typedef struct pd__scan {
  const pd_val *lo;
  const pd_val *hi;
  size_t limit;
  int values;
} pd__scan;

/* Changes after a version, oldest first; key bytes live in buf. */
typedef struct pd__change_list {
  pd__buf buf;
  pd_change *rows;
  size_t n, cap;
} pd__change_list;

typedef struct pd__engine_ops {
  const char *name;

  /* Opens d->path with d->opts and attaches namespace d->name (creating it
   * when allowed), setting d->ns_id. On failure nothing stays open. */
  int (*connect)(pd_dict *d);
  /* Lets the connection go; in a forked child without touching it. */
  void (*disconnect)(pd_dict *d);

  /* Reads: *found says whether key exists; its value is copied into d->out.
   * out may be NULL (contains). */
  int (*get)(pd_dict *d, const pd_val *key, pd_val *out, int *found);
  /* The namespace's entry count and change counter; a dropped namespace
   * counts 0 and its version answers PD_EGONE. */
  int (*count)(pd_dict *d, int64_t *out);
  int (*version)(pd_dict *d, int64_t *out);

  /* Writes, inside a write transaction; *partial is set once something was
   * written. value is a checked scalar or PD_PACKED document. */
  int (*put)(pd_dict *d, const pd_val *key, const pd_val *value, int *partial);
  /* put for a key that get has just found in this write transaction, with
   * nothing written in between: read-modify-write operations (atomic_ops.c)
   * rewrite the entry get found instead of looking the key up again. */
  int (*replace_found)(pd_dict *d, const pd_val *key, const pd_val *value, int *partial);
  /* PD_OK, PD_ENOTFOUND (no such key) or PD_EGONE. */
  int (*remove)(pd_dict *d, const pd_val *key, int *partial);
  int (*clear)(pd_dict *d, int *partial);
  /* Deletes namespace name with its items and log: PD_OK or PD_ENOTFOUND. */
  int (*drop_namespace)(pd_dict *d, const char *name, int *partial);

  /* The write transaction: begin waits up to the timeout for exclusivity
   * (PD_EBUSY after) and checks the file is still the one opened. */
  int (*write_begin)(pd_dict *d);
  int (*write_commit)(pd_dict *d);
  /* Idempotent; also drops pending (unflushed) namespace changes and log
   * rows. */
  void (*write_rollback)(pd_dict *d);
  /* Nonzero while the engine still holds a transaction (it may have ended
   * one by itself after an error). */
  int (*txn_active)(pd_dict *d);

  /* One page of a scan (see pd__scan). *cursor is the engine's position:
   * NULL before the first page, the last key of each full page (a short
   * page is the last, so it need not move it), freed with scan_cursor_free. */
  int (*scan_page)(pd_dict *d, const pd__scan *req, void **cursor, pd__page *page);
  void (*scan_cursor_free)(void *cursor);

  /* All namespace names, sorted (free with pd_free_names). */
  int (*namespaces)(pd_dict *d, char ***out, size_t *count);
  /* Changes after since, consistent with the version (PD_ERESYNC when the
   * log does not reach back, FORMAT.md 5). */
  int (*changes)(pd_dict *d, int64_t since, pd__change_list *out);

  int (*stats)(pd_dict *d, pd_stats *out);
  /* Structural and format checks: PD_OK or PD_ECORRUPT naming the problem. */
  int (*check)(pd_dict *d);

  /* Read cache support (read_cache.c): fills *out with a token that changes
   * whenever anything is committed to the file by anyone, and returns 1; or
   * returns 0 when no such cheap token exists (then nothing is cached). A
   * token taken before a read describes data at least that new. */
  int (*commit_stamp)(pd_dict *d, pd__stamp *out);
} pd__engine_ops;

extern const pd__engine_ops pd__engine_sqlite;

#endif /* PD_ENGINE_H */
