/*
 * internal.h - the pd_dict handle and the helpers shared by the storage core.
 *
 * Not installed. Every file in lib/src may include it. The rules a public
 * call follows are:
 *
 *   rc = pd__enter(d);            fork and thread checks, resets the busy deadline
 *   if (rc) return rc;
 *   ... work, errors through pd__err() / pd__sqlite_err() ...
 *   return pd__leave(d, rc);
 *
 * Writes go through a write scope (transactions.c): pd__write_begin() opens
 * BEGIN IMMEDIATE unless the caller already holds an explicit transaction,
 * pd__write_end() commits or rolls back what it opened.
 */
#ifndef PD_INTERNAL_H
#define PD_INTERNAL_H

#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <sqlite3.h>

#include "permadict.h"

/* The format this library writes and the newest it can read (FORMAT.md 1). */
#define PD__APPLICATION_ID 0x7065726DU
#define PD__FORMAT_VERSION 3

/* Value type codes of an entry's permadict_rows.type (FORMAT.md section 4);
 * a change log row's type is minus its pd_change_op. */
enum {
  PD__TYPE_NULL = 0,
  PD__TYPE_BOOL = 1,
  PD__TYPE_INT = 2,
  PD__TYPE_FLOAT = 3,
  PD__TYPE_TEXT = 4,
  PD__TYPE_BYTES = 5,
  PD__TYPE_PACKED = 6
};

/* The change log keeps this many versions per namespace (FORMAT.md 5) and is
 * pruned lazily, once every PD__CHANGES_PRUNE_EVERY versions. */
#define PD__CHANGES_KEEP 10000
#define PD__CHANGES_PRUNE_EVERY 256

/* FORMAT.md 2: namespace slot s owns the rowids s << PD__SLOT_SHIFT and up,
 * 2v for the entry first set at version v, 2v + 1 for version v's change
 * log row; so slots run 0 .. PD__SLOT_MAX and versions 1 .. PD__VERSION_MAX. */
#define PD__SLOT_SHIFT 44
#define PD__SLOT_MAX ((INT64_C(1) << (63 - PD__SLOT_SHIFT)) - 1)
#define PD__VERSION_MAX ((INT64_C(1) << (PD__SLOT_SHIFT - 1)) - 1)
#define PD__STR_(x) #x
#define PD__STR(x) PD__STR_(x)

#define PD__ERRMSG_CAP 512
/* Messages show at most this many bytes of a key (keys can be 4 KiB). */
#define PD__KEY_SHOWN_BYTES 40

/* An engine's "nothing committed since" token (engine.h, commit_stamp). */
#define PD__STAMP_BYTES 48
typedef struct pd__stamp {
  unsigned char b[PD__STAMP_BYTES];
} pd__stamp;
/* Fields of SQLite's WAL-index header, which is the SQLite engine's stamp
 * (walformat.html 2.1; native byte order): iChange, bumped by every header
 * write; mxFrame, the frames in the WAL. */
#define PD__STAMP_ICHANGE 8
#define PD__STAMP_MXFRAME 16
static inline uint32_t pd__stamp_field(const pd__stamp *s, size_t at) {
  uint32_t v;
  memcpy(&v, s->b + at, sizeof v);
  return v;
}

struct pd__engine_ops;
typedef struct pd__cache pd__cache;
typedef struct pd__conn_entry pd__conn_entry;
typedef struct pd__checkpointer pd__checkpointer;
typedef struct pd__write_priority pd__write_priority;
/* How long a wait may sleep in all (busy.c); budget_us 0: no such limit. */
typedef struct pd__sleep_budget {
  int64_t budget_us, slept_us;
} pd__sleep_budget;

/* ------------------------------------------------------------- buffers */

/* A growable byte buffer; memory handed out through pd_val lives here. */
typedef struct pd__buf {
  unsigned char *data;
  size_t len;
  size_t cap;
} pd__buf;

int pd__buf_reserve(pd__buf *b, size_t extra);
/* Appends len bytes; returns the offset where they start or (size_t)-1. */
size_t pd__buf_append(pd__buf *b, const void *p, size_t len);
void pd__buf_free(pd__buf *b);
/* Whether v's bytes lie inside b: memory of a value returned earlier, which
 * the next read into b overwrites or moves. */
int pd__buf_holds(const pd__buf *b, const pd_val *v);
/* Values copied into a buffer that may still grow hold offsets in u.s.ptr;
 * this turns the offset into a pointer once the buffer will not move. */
void pd__val_fix(pd_val *v, const pd__buf *buf);
/* *out = *v, with v's bytes copied into b in that offset form; PD_ENOMEM if
 * b cannot grow. */
int pd__val_keep(pd__buf *b, const pd_val *v, pd_val *out);
/* Whether v's content is bytes at u.s (text, bytes, packed). */
static inline int pd__val_has_bytes(const pd_val *v) {
  return v->kind == PD_TEXT || v->kind == PD_BYTES || v->kind == PD_PACKED;
}

/* ---------------------------------------------------------- statements */

/* Statements prepared once per handle (lazily, on first use) and reused. */
typedef enum pd__stmt_id {
  PD__ST_GET,
  PD__ST_CONTAINS,
  PD__ST_UPSERT_ITEM,
  PD__ST_INSERT_NEW_ITEMS_BATCH,
  PD__ST_NEW_ENTRIES,
  PD__ST_REPLACE_FOUND,
  PD__ST_DELETE_ITEM,
  PD__ST_CLEAR_ITEMS,
  PD__ST_LOG_CHANGE,
  PD__ST_LOG_CHANGES_BATCH,
  PD__ST_PRUNE_CHANGES,
  PD__ST_LOGGED,
  PD__ST_NAMESPACE_ROW,
  PD__ST_BEGIN_IMMEDIATE,
  PD__ST_BEGIN_READ,
  PD__ST_COMMIT,
  PD__ST_ROLLBACK,
  /* Scan pages (engine_sqlite_scan.c): one statement for each combination
   * of values or not, the lower bound (none, inclusive, after the cursor,
   * after NULL keys) and the upper bound (none, exclusive); SQL built on
   * first use. */
  PD__ST_SCAN_,
  PD__ST_SCAN_LAST_ = PD__ST_SCAN_ + 2 * 4 * 2 - 1,
  PD__ST_COUNT_
} pd__stmt_id;

/* ------------------------------------------------------------ the handle */

/* Change log rows written in batches of this many by one statement. */
#define PD__LOG_BATCH 64
/* A write transaction holds its change log rows in the handle until COMMIT
 * (or until something reads the log), at most this many: beyond it the
 * oldest are dropped, since pruning would delete them anyway. Their key
 * bytes are capped too, so a transaction of huge keys flushes early. */
#define PD__LOG_HOLD (2 * PD__CHANGES_KEEP)
#define PD__LOG_HOLD_KEY_BYTES (8u << 20)

/* An explicit transaction's sets wait in the handle and are written this
 * many to a statement (engine_sqlite_sets.c); a set whose key and value
 * take more than PD__SET_HOLD_BYTES is written at once. */
#define PD__SET_BATCH 64
#define PD__SET_HOLD_BYTES 16384

/* One change log row not yet written (engine_sqlite_log.c); its key bytes
 * live in pd_dict.log_keys at key_at. key_kind is PD_NULL for a clear. */
typedef struct pd__log_row {
  int64_t version;
  int64_t count; /* the namespace's entries right after this change */
  int op;
  pd_kind key_kind;
  int64_t key_int;
  size_t key_at, key_len;
} pd__log_row;

struct pd_dict {
  const struct pd__engine_ops *engine; /* engine.h: every storage access */
  sqlite3 *db;           /* SQLite engine: NULL after a failed reopen */
  char *path;            /* as given to pd_open */
  char *real_path;       /* absolute, for identity checks after a chdir */
  char *name;            /* namespace name */
  pd_options opts;       /* copy; opts.name points at name */
  int64_t ns_id;         /* permadict_namespaces.id of the namespace */
  int64_t ns_base;       /* its slot << PD__SLOT_SHIFT: first rowid it owns */
  int memory;            /* ":memory:": no file checks, no WAL */
  int file_only;         /* in no namespace: pd__open_file_only */

  /* File identity recorded at open; compared before each write scope so a
   * file deleted, renamed or replaced while open gives PD_EGONE. */
  dev_t file_dev;
  ino_t file_ino;

  /* fork() detection: the global generation when this connection was opened. */
  unsigned fork_generation;
  /* One thread at a time: set by pd__enter, cleared by pd__leave. */
  atomic_int in_use;

  /* Explicit transaction state (pd_begin). txn_failed_rc is nonzero when an
   * operation failed halfway inside it and the whole transaction was rolled
   * back; the caller must then pd_rollback (pd_commit reports the failure). */
  int in_txn;
  int txn_failed_rc;

  /* SQLite engine, inside a write transaction: the namespace's version and
   * count (FORMAT.md 5: carried by its newest change log row) are read once
   * (ns_known, which also proves the namespace was not dropped), or carried
   * from our own last commit (carry_* below), then kept here: nobody else
   * can write while we hold the lock. Forgotten by every BEGIN and ROLLBACK. */
  int ns_known;
  int64_t version;       /* the namespace version including pending changes */
  int64_t count;         /* its entries, pending changes included */
  /* The rowid of the entry the engine's last get found, 0 if it found none
   * (no entry has rowid 0: versions start at 1): a read-modify-write
   * rewrites that row without a second index lookup. */
  int64_t found_rowid;
  /* Change log rows of this write transaction not yet written: written
   * (PD__LOG_BATCH to a statement) before COMMIT and before anything reads
   * the log, dropped by ROLLBACK. log_dropped_to: the newest version whose
   * row was dropped unwritten (engine_sqlite_log.c), 0 if none; log_since:
   * the version when the transaction began or last flushed its rows. */
  pd__log_row *log_rows;
  size_t log_n, log_cap;
  pd__buf log_keys;
  int64_t log_dropped_to;
  int64_t log_since;
  /* Sets of this explicit transaction not yet written (engine_sqlite_sets.c):
   * their log rows, which give their versions and keys, are the newest
   * set_n of log_rows, whose counts (and count) leave out the entries they
   * add until they are written. */
  pd_val held_values[PD__SET_BATCH]; /* bytes in set_bytes (pd__val_fix) */
  size_t set_n;
  pd__buf set_bytes;
  int sets_mostly_old; /* most keys of the last full batch existed */
  /* The version and count our last commit left, valid while the commit
   * stamp is still carry_stamp, which was proved to be that commit's own:
   * the next write transaction then need not read them again
   * (engine_sqlite_txn.c). begin_stamp: the stamp when the current write
   * transaction took the lock; begin_changes: sqlite3_total_changes64 then,
   * which tells whether it wrote anything. */
  int carry_set, begin_stamp_set;
  int64_t carry_version, carry_count, begin_changes;
  pd__stamp carry_stamp, begin_stamp;

  /* SQLite engine: the WAL-index header (first 96 bytes of the -shm) as
   * mapped by SQLite itself for this connection, or NULL (":memory:", not
   * WAL, unmappable): the read cache's commit stamp. */
  const volatile unsigned char *shm;

  /* The read cache of get/contains/count (read_cache.c); NULL when off. */
  pd__cache *cache;

  /* This connection's entry in fork_locks.c's registry, NULL if none;
   * fork_write_blocked: the file's write lock is held by a connection
   * inherited inside a transaction (fork_locks.c), so writes fail. */
  pd__conn_entry *conn_entry;
  int fork_write_blocked;

  /* Busy handling: deadline of the current call, set on its first wait. */
  int deadline_set;
  int64_t deadline_us;
  int timed_out;         /* the busy handler gave up in this call */
  /* Priority for a writer that has waited long (write_priority.c): NULL
   * until this handle first writes; wp_unusable: its shared memory could
   * not be mapped (or was not ready NOT_READY_TRIES times, which
   * wp_not_ready counts), so the handle only
   * polls.
   * in_write_begin: a BEGIN IMMEDIATE is running, whose waits go there,
   * waiting since write_wait_from_us. */
  pd__write_priority *wp;
  int wp_unusable;
  int wp_not_ready;
  int in_write_begin;
  int64_t write_wait_from_us;
  /* A wait of the library's own (wal_checkpoint.c) that gives up once the
   * handler has slept this long, whatever the call's deadline. */
  pd__sleep_budget sleep_budget;

  /* WAL frames when this connection last asked for a checkpoint
   * (wal_checkpoint.c; its thread runs it). */
  int ckpt_frames;
  /* The thread that runs them (wal_checkpointer.c), NULL until the first. */
  pd__checkpointer *checkpointer;
  /* The WAL opened read-only to start its write-back (wal_writeback.c):
   * -1 not yet, -2 could not be opened. */
  int wal_fd;

  sqlite3_stmt *stmts[PD__ST_COUNT_];

  pd__buf out;           /* memory behind pd_val results on this handle */
  /* item_checks.c: the canonical forms of a document being stored and of
   * a compare-and-swap's expected document */
  pd_enc *canon_enc, *canon_expected_enc;

  char errmsg[PD__ERRMSG_CAP];
  int sqlite_errcode;
  /* A "key ... not found" message not yet written into errmsg (errors.c):
   * misses of get and contains are common and take well under a
   * microsecond, formatting their message took a third of that. The key's
   * first PD__KEY_SHOWN_BYTES + 1 bytes are kept to write it when asked. */
  int notfound_pending;
  pd_kind notfound_kind;
  int64_t notfound_int;
  size_t notfound_len;
  char notfound_key[PD__KEY_SHOWN_BYTES + 1];

  /* Hook for watch.c (pd_wait / pd_watch_fd): its private state, freed by
   * watch_free when the handle closes or reopens. */
  void *watch;
  void (*watch_free)(pd_dict *d);
};

/* ------------------------------------------------------ entering a call */

/* The fork generation, bumped by a pthread_atfork child handler. */
unsigned pd__fork_generation_now(void);
/* fork_locks.c */
int pd__conn_register(pd_dict *d);
void pd__conn_unregister(pd_dict *d, int closed);
void pd__conn_fork_child(void);
int pd__conn_write_blocked(const pd_dict *d);
/* PD_EFORKED with its message when d->fork_write_blocked, else PD_OK. */
int pd__fork_write_check(pd_dict *d);
void pd__fork_watch_install(void);

/* fork_gate.c: calls inside SQLite hold the gate; fork() waits for them.
 * pd__enter/pd__leave and pd_open/close/reopen take it; code that sleeps
 * inside a call pauses it around the sleep. */
void pd__gate_enter(void);
void pd__gate_leave(void);
void pd__gate_pause(void);
void pd__gate_resume(void);
/* For the library's own thread (wal_checkpointer.c): takes the gate for
 * reading only if that needs no wait (1 if taken), and holds it through
 * sleeps, which pd__gate_pause leaves alone; so that thread never waits for
 * a fork(), and a call that waits for the thread inside the gate cannot
 * deadlock with a fork() waiting for that call. */
int pd__gate_try_hold(void);
void pd__gate_release_hold(void);
void pd__gate_fork_prepare(void);
void pd__gate_fork_parent(void);
void pd__gate_fork_child(void);

/* PD_OK or PD_EINVALID (NULL d), PD_EFORKED, PD_EMISUSE (another thread in
 * the handle; see pd__misuse_mark), PD_ERROR (the handle has no connection
 * after a failed reopen). Never touches SQLite. */
int pd__enter(pd_dict *d);
/* Clears the in-use flag and returns rc unchanged. */
int pd__leave(pd_dict *d, int rc);

/* ---------------------------------------------------------------- errors */

/* Sets d's message (printf-style) and returns code. */
int pd__err(pd_dict *d, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Maps an SQLite result to a PD_E code, sets the message "<what>: <sqlite
 * message> (file '<path>')" and records the extended code. */
int pd__sqlite_err(pd_dict *d, int src, const char *what);
int pd__map_sqlite_code(int src);
/* Returns PD_ENOTFOUND with the message "key <key> not found", written
 * only when pd_errmsg asks for it. */
int pd__err_not_found(pd_dict *d, const pd_val *key);
/* Writes a pending not-found message into errmsg now. */
void pd__errmsg_settle(pd_dict *d);
/* A second thread caught inside d: the message buffer belongs to the first
 * one, so this thread remembers (thread-locally) that its last call on d
 * failed that way and pd_errmsg(d) answers it with fixed text. Any call of
 * this thread that gets into d clears the mark. Returns PD_EMISUSE. */
int pd__misuse_mark(const pd_dict *d);
void pd__misuse_clear(const pd_dict *d);
/* A read-only handle on the file at path in no namespace, for listing
 * namespaces (dict_open.c); failures as pd_open's. */
int pd__open_file_only(pd_dict **out, const char *path);

/* This thread's pd_open message (pd_errmsg(NULL)). */
void pd__open_err_set(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
const char *pd__open_err_get(void);

/* A short printable form of a key for messages: 42, 'text', b'\x00..' */
const char *pd__key_describe(const pd_val *key, char *buf, size_t cap);

/* ------------------------------------------------------------ busy waits */

void pd__busy_install(pd_dict *d);
/* wal_checkpoint.c: checkpoints at most once per 3000 new WAL frames. */
void pd__checkpoint_install(pd_dict *d);
/* Checkpoints db's WAL, frames long when it was asked for; a RESTART that
 * follows waits within *budget (set here; the connection's busy handler
 * must honour it through pd__budget_retry). */
void pd__checkpoint_run(sqlite3 *db, int frames, pd__sleep_budget *budget);
/* wal_checkpointer.c: 1 if d's checkpoint thread took the checkpoint of a
 * WAL frames long, 0 if there is none (then the caller runs it). */
int pd__checkpointer_request(pd_dict *d, int frames);
/* Stops d's checkpoint thread, waiting for a checkpoint in progress; with
 * the fork gate held, so that the thread's end never overlaps a fork(). */
void pd__checkpointer_stop(pd_dict *d);
/* The PRAGMA synchronous of a connection to a file opened with durable
 * (engine_sqlite_open.c, caveat "Durability"). */
const char *pd__synchronous_pragma(int durable);
/* wal_writeback.c: from the WAL hook of a commit that asked for no checkpoint. */
void pd__wal_writeback_init(pd_dict *d);
void pd__wal_writeback_after_commit(pd_dict *d, sqlite3 *db, int frames);
void pd__wal_writeback_close(pd_dict *d);
/* wal_write_buffer.c: the name of the VFS that gathers WAL writes, to open
 * files with, or NULL (then the default VFS) if it could not be registered
 * or the program has made another VFS its default since. */
const char *pd__wal_buffer_vfs(void);
/* wal_reserve.c: disk blocks reserved ahead of a WAL's writes, through a
 * descriptor of our own (fd -1: none, or reserving has ended). */
typedef struct {
  int fd;
  sqlite3_int64 from, to; /* the last reservation */
} pd__wal_reserve;
void pd__wal_reserve_open(pd__wal_reserve *r, const char *path, int writer);
void pd__wal_reserve_ahead(pd__wal_reserve *r, sqlite3_int64 off, sqlite3_int64 end);
void pd__wal_reserve_close(pd__wal_reserve *r);
int64_t pd__now_us(void);
/* Sleeps us microseconds (through signals), letting fork() through
 * meanwhile (fork_gate.c): every sleep inside a call goes through here or
 * through write_priority.c's futex waits, which do the same. */
void pd__sleep_us(int64_t us);
/* Called after SQLITE_BUSY*: sleeps a little (or, waiting for the write
 * lock, as write_priority.c says: up to the deadline while another writer's
 * claim stands) and returns 1 to retry, or 0 once the handle's timeout has
 * passed. */
int pd__busy_retry(pd_dict *d, int attempt);
/* The same for a wait within b: 1 to retry, 0 once b is slept out. */
int pd__budget_retry(pd__sleep_budget *b, int attempt);
/* The current call's deadline (now + timeout), set at its first wait. */
int64_t pd__call_deadline(pd_dict *d);
/* write_priority.c, around the BEGIN IMMEDIATE of a write transaction:
 * before_begin lets a writer that has waited long go first; wait replaces
 * busy.c's sleep while the BEGIN runs; after_begin ends its claim, if any.
 * released: this connection has just released the write lock. detach
 * unmaps the shared memory; forget_object, after a close, removes the file's
 * object when the file has no connection left. */
void pd__write_priority_before_begin(pd_dict *d);
void pd__write_priority_wait(pd_dict *d, int64_t wait_us);
void pd__write_priority_after_begin(pd_dict *d);
void pd__write_priority_released(pd_dict *d);
void pd__write_priority_detach(pd_dict *d);
void pd__write_priority_forget_object(pd_dict *d);
/* The PD_EBUSY message naming the file and the timeout. */
int pd__busy_err(pd_dict *d, const char *what);

/* --------------------------------------------------------- read cache */

/* read_cache.c: a bounded per-handle cache of reads, trusted only while the
 * engine's commit stamp is unchanged. cache_kib as in pd_options. */
int pd__cache_new(pd_dict *d, int cache_kib);
void pd__cache_free(pd_dict *d);
/* Forgets everything, O(1): after any write, begin, commit or rollback. */
void pd__cache_invalidate(pd_dict *d);
/* get/contains/count through the cache when it can be trusted, else through
 * the engine (filling the cache). Same contract as the engine's get/count. */
int pd__read_item(pd_dict *d, const pd_val *key, pd_val *out, int *found);
int pd__read_count(pd_dict *d, int64_t *out);

/* --------------------------------------------------- SQLite access layer */

/* See backend.h. */

/* --------------------------------------------------------------- schema */

/* Creates the FORMAT.md schema, application_id and user_version on db. */
int pd__schema_create(sqlite3 *db);

/* ---------------------------------------------------- write scopes etc. */

/* Opens a write scope: nothing inside an explicit transaction, else BEGIN
 * IMMEDIATE (retried to the timeout) plus the file identity check. */
int pd__write_begin(pd_dict *d, int *opened);
/* Closes a scope: commit when rc is PD_OK, else roll back. Inside an
 * explicit transaction a failure with partial writes (partial nonzero)
 * rolls the whole transaction back (see txn_failed_rc). Returns rc or the
 * commit's error. */
int pd__write_end(pd_dict *d, int opened, int rc, int partial);
/* Gives up the explicit transaction after rc, a failure that leaves part of
 * it undone (or written): rolls it back, so that pd_commit reports rc and
 * commits nothing, and says so in the message. Returns rc. */
int pd__txn_abandon(pd_dict *d, int rc);
/* Checks the handle may write at all (read-only, failed transaction). */
int pd__write_allowed(pd_dict *d);

/* Whether the file at d->path is still the one opened (PD_OK or PD_EGONE). */
int pd__file_identity_check(pd_dict *d);

/* watch.c: after a commit whose COMMIT began at started_us, wakes the
 * waiters of every process when it took so long that they may have stopped
 * looking for it (see watch.c, "settles"). */
void pd__watch_commit_done(pd_dict *d, int64_t started_us);

/* What the header pre-check learnt about an existing permadict file. */
typedef struct pd__file_info {
  dev_t dev;
  ino_t ino;
  int wal;               /* header says journal mode WAL */
} pd__file_info;

/* file_guard.c: checks with stat() alone (and, when allowed, atomically
 * creates) the file at path before SQLite may open it: a regular file; sets
 * info->dev/ino. Never opens the file (closing a descriptor would drop this
 * process's locks on it). PD code with msg set on failure. */
int pd__file_prepare(const char *path, int readonly, int create, int durable,
                     pd__file_info *info, char *msg, size_t msgcap);
/* Right after sqlite3_open_v2 and before any statement: reads the header
 * through SQLite's own file handle, refuses a file that is not a permadict
 * file of a format we read, sets info->wal, and checks path is still the
 * inode info->dev/ino. PD code with msg set on failure. */
int pd__file_header_check(sqlite3 *db, const char *path, pd__file_info *info,
                          char *msg, size_t msgcap);
/* 1 if path names the inode dev/ino now (stat() follows it), else 0. */
int pd__path_is(const char *path, dev_t dev, ino_t ino);
/* Refuses a -wal or -shm sidecar that is a symbolic link or not a regular
 * file (it would redirect SQLite's writes elsewhere). */
int pd__file_sidecars_check(const char *real_path, char *msg, size_t msgcap);
/* file_guard.c: the name to give sqlite3_open_v2 for the file at path: path
 * itself, or "./path" when it starts with "file:", which an SQLite built with
 * SQLITE_USE_URI (Debian's is) reads as a URI: "file:a.db" would open a.db,
 * and "?mode=" or "?nolock=1" would change how. NULL when it does not fit. */
const char *pd__sqlite_file_name(const char *path, char *buf, size_t cap);

/* item_checks.c: argument checks shared by items.c and atomic_ops.c. */
/* Checks a key; PD_OK or the codec's code with d's message naming it. */
int pd__key_ok(pd_dict *d, const pd_val *key);
/* Checks a value for storing (pd__value_check, size limit) and gives its
 * stored form in *store. */
int pd__value_prepare(pd_dict *d, const pd_val *key, const pd_val *value,
                      pd_val *store);
/* A compare-and-swap's expected value as stored values are compared: a
 * packed document in its canonical form (*out may live in d). */
int pd__expected_prepare(pd_dict *d, const pd_val *expected, pd_val *out);

/* Validates a namespace name (1..255 bytes, valid UTF-8, no NUL byte):
 * PD_OK, or PD_EINVALID / PD_ETOOBIG with msg set. */
int pd__name_check(const char *name, char *msg, size_t msgcap);

#endif /* PD_INTERNAL_H */
