/*
 * permadict.h - a dictionary in one SQLite file, shared safely by many processes.
 *
 * This is the one public header of libpermadict. Everything here is the stable
 * ABI; nothing in it points into SQLite's memory and no SQLite type leaks out.
 *
 * Conventions (after libgit2 and SQLite):
 *   - Functions return an int: PD_OK (0) or a negative PD_E... code.
 *     pd_errmsg(handle) says what went wrong on that handle, naming the key,
 *     file or value concerned; pd_errstr(code) gives fixed text for a code.
 *   - Output parameters come first after the handle and are named out.
 *   - Every free/close function accepts NULL.
 *   - Memory returned through a pd_val (text, bytes, packed documents) belongs
 *     to the object that returned it and stays valid only until the next call
 *     on that same object (handle, iterator, decoder or change list). Copy what
 *     you keep.
 *
 * Caveats (read these, as you would LMDB's):
 *   - Threads: a pd_dict may be used by one thread at a time. Threads may share
 *     a handle if they serialise their calls *and* their use of returned memory
 *     (the Python binding does this with a lock per handle). Two threads inside
 *     the same handle at once get PD_EMISUSE instead of undefined behaviour.
 *     Separate handles, even on the same file, are fully independent.
 *     A handle that writes starts one thread of its own, with its own SQLite
 *     connection, at its first WAL checkpoint (every 3,000 pages written): it
 *     copies the WAL back into the file so no call waits for that. It blocks
 *     every signal, sleeps between checkpoints, and pd_close() and
 *     pd_reopen() stop it (waiting for a checkpoint in progress).
 *   - fork(): a handle opened before fork() must not be used in the child. Any
 *     call on it there returns PD_EFORKED and never touches the inherited
 *     SQLite connection (closing it would break the parent's locks, see
 *     SQLite's "How To Corrupt", section 2.6). pd_reopen() gives the child a
 *     fresh connection on the same file and options; pd_close() in the child
 *     frees the handle without touching the connection. fork() itself
 *     waits (through a pthread_atfork handler) until no other thread is
 *     inside a permadict call that holds SQLite's process-wide mutexes, so a
 *     child never inherits them locked; sleeps inside calls (busy back-off,
 *     pd_wait) do not delay fork(). Code that uses SQLite directly, outside
 *     permadict, in another thread is not covered by this. The child takes
 *     the file locks its inherited connections are recorded as holding, so
 *     the connections it opens (pd_reopen, pd_open) lock the file for real
 *     and keep working after the parent closes. A child forked while a
 *     write transaction was open cannot write that file: its writes return
 *     PD_EFORKED (the inherited write lock cannot be released there).
 *   - Network filesystems are not supported (SQLite's WAL needs shared memory).
 *   - Durability: by default a commit survives a process crash but the last
 *     commits may be lost on power failure; set options.durable for
 *     synchronous=FULL.
 */
#ifndef PERMADICT_H
#define PERMADICT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PERMADICT_VERSION_MAJOR 0
#define PERMADICT_VERSION_MINOR 1
#define PERMADICT_VERSION_PATCH 0
/* X*1000000 + Y*1000 + Z, as SQLITE_VERSION_NUMBER. */
#define PERMADICT_VERSION_NUMBER                                           \
  (PERMADICT_VERSION_MAJOR * 1000000 + PERMADICT_VERSION_MINOR * 1000 +    \
   PERMADICT_VERSION_PATCH)
#define PERMADICT_VERSION_STRING "0.1.0"

#if defined(PERMADICT_STATIC)
#define PD_API
#elif defined(__GNUC__)
#define PD_API __attribute__((visibility("default")))
#else
#define PD_API
#endif

/* Header-only helpers; "unused" keeps strict builds quiet where they are not called. */
#if defined(__GNUC__)
#define PD_INLINE static inline __attribute__((unused))
#else
#define PD_INLINE static inline
#endif

/* ---------------------------------------------------------------- versions */

/* The library's PERMADICT_VERSION_NUMBER and PERMADICT_VERSION_STRING. */
PD_API int pd_libversion_number(void);
PD_API const char *pd_libversion(void);

/* Nonzero when the header a program was compiled with and the library it
 * runs with agree on the ABI (same major version, library minor >= header). */
#define PD_VERSION_COMPATIBLE()                                              \
  (pd_libversion_number() / 1000000 == PERMADICT_VERSION_MAJOR &&            \
   pd_libversion_number() / 1000 >= PERMADICT_VERSION_NUMBER / 1000)

/* ------------------------------------------------------------------ errors */

enum {
  PD_OK = 0,
  PD_ERROR = -1,      /* generic error (see pd_errmsg) */
  PD_ENOTFOUND = -2,  /* key or namespace absent */
  PD_ITEROVER = -3,   /* iteration finished: not an error */
  PD_EBUSY = -4,      /* the file stayed locked for the whole busy timeout */
  PD_ETIMEOUT = -5,   /* pd_wait: no change before the timeout */
  PD_EREADONLY = -6,  /* write on a read-only handle, file or directory */
  PD_EFORMAT = -7,    /* SQLite file of another application or newer format */
  PD_ENOTADB = -8,    /* not an SQLite database (or an empty file) */
  PD_ECORRUPT = -9,   /* the database file is damaged */
  PD_EDECODE = -10,   /* a stored value cannot be decoded */
  PD_ETOOBIG = -11,   /* key, value, name or nesting over the limits */
  PD_EINVALID = -12,  /* bad argument or value (message names it) */
  PD_ETYPE = -13,     /* stored value of the wrong kind (pd_incr on text) */
  PD_EFORKED = -14,   /* handle inherited across fork(): see caveats */
  PD_ENOMEM = -15,    /* out of memory */
  PD_EIO = -16,       /* operating-system I/O error */
  PD_EFULL = -17,     /* disk or file-size limit full; or a namespace used
                         all its versions, a file all its namespaces */
  PD_EMISUSE = -18,   /* API misuse: nested begin, commit without begin... */
  PD_ERESYNC = -19,   /* pd_changes_open: the change log no longer reaches
                         back that far; re-read everything */
  PD_EGONE = -20      /* the file was deleted, renamed or replaced while open,
                         or the namespace was dropped */
};

/* Fixed English text for a code; never NULL. */
PD_API const char *pd_errstr(int code);

/* ------------------------------------------------------------------ values */

/* The kind of a key, a value, or an item inside a packed document. */
typedef enum pd_kind {
  PD_NULL = 0,
  PD_BOOL = 1,
  PD_INT = 2,     /* signed 64-bit */
  PD_FLOAT = 3,   /* IEEE double, NaN and infinities included */
  PD_TEXT = 4,    /* UTF-8, may contain zero bytes; validated on write */
  PD_BYTES = 5,
  PD_LIST = 6,    /* only from the decoder: u.n items follow */
  PD_MAP = 7,     /* only from the decoder: u.n key/value pairs follow */
  PD_PRIVATE = 8, /* a language-private value: tag + opaque payload */
  PD_PACKED = 9   /* a whole encoded list, map or private value */
} pd_kind;

/*
 * One value. Keys are pd_val of kind PD_INT, PD_TEXT or PD_BYTES, and the
 * kind is part of the key: 1, "1" and b"1" are three keys.
 *
 * Lists, maps and private values travel as PD_PACKED documents: build one
 * with a pd_enc, read one with a pd_dec. A value returned by pd_get is
 * therefore either a scalar or PD_PACKED.
 */
typedef struct pd_val {
  pd_kind kind;
  int tag; /* PD_PRIVATE: which language's format, 1..127 (docs/FORMAT.md) */
  union {
    int b;      /* PD_BOOL: 0 or 1 */
    int64_t i;  /* PD_INT */
    double f;   /* PD_FLOAT */
    struct {
      const void *ptr;
      size_t len;
    } s;        /* PD_TEXT, PD_BYTES, PD_PRIVATE payload, PD_PACKED document */
    size_t n;   /* PD_LIST items or PD_MAP pairs (decoder only) */
  } u;
} pd_val;

/* Limits, enforced with PD_ETOOBIG; see docs/FORMAT.md. */
#define PD_MAX_KEY_BYTES 4096                /* text or bytes key length */
#define PD_MAX_VALUE_BYTES (64 * 1024 * 1024) /* a stored value, encoded */
#define PD_MAX_DEPTH 32                      /* nested lists/maps */
#define PD_MAX_NAME_BYTES 255                /* namespace name */

/* Private tags registered in docs/FORMAT.md. */
#define PD_TAG_PYTHON_PICKLE 1

/* Constructors for the common cases (no allocation). */
PD_INLINE pd_val pd_null(void) {
  pd_val v = {PD_NULL, 0, {0}};
  return v;
}
PD_INLINE pd_val pd_bool(int b) {
  pd_val v = {PD_BOOL, 0, {0}};
  v.u.b = b ? 1 : 0;
  return v;
}
PD_INLINE pd_val pd_int(int64_t i) {
  pd_val v = {PD_INT, 0, {0}};
  v.u.i = i;
  return v;
}
PD_INLINE pd_val pd_float(double f) {
  pd_val v = {PD_FLOAT, 0, {0}};
  v.u.f = f;
  return v;
}
PD_INLINE pd_val pd_text(const char *s, size_t len) {
  pd_val v = {PD_TEXT, 0, {0}};
  v.u.s.ptr = s;
  v.u.s.len = len;
  return v;
}
PD_INLINE pd_val pd_bytes(const void *p, size_t len) {
  pd_val v = {PD_BYTES, 0, {0}};
  v.u.s.ptr = p;
  v.u.s.len = len;
  return v;
}

/* --------------------------------------------------------------- encoding */

/*
 * A pd_enc builds one value, depth first: call pd_enc_list(n) or
 * pd_enc_map(n) and then give exactly n items (a map: n keys each followed by
 * its value). Map keys must be PD_INT, PD_TEXT or PD_BYTES and distinct; the
 * encoder sorts them, so equal maps always encode to the same bytes.
 * pd_enc_finish() hands back the result: a scalar pd_val when the top level
 * was a scalar, else a PD_PACKED document. Its memory belongs to the encoder
 * until the next call on it. A failed call leaves the encoder in error: read
 * pd_enc_errmsg() and pd_enc_reset() it.
 */
typedef struct pd_enc pd_enc;

PD_API int pd_enc_new(pd_enc **out);
PD_API void pd_enc_free(pd_enc *enc);
PD_API void pd_enc_reset(pd_enc *enc);
PD_API int pd_enc_null(pd_enc *enc);
PD_API int pd_enc_bool(pd_enc *enc, int b);
PD_API int pd_enc_int(pd_enc *enc, int64_t i);
PD_API int pd_enc_float(pd_enc *enc, double f);
PD_API int pd_enc_text(pd_enc *enc, const char *s, size_t len);
PD_API int pd_enc_bytes(pd_enc *enc, const void *p, size_t len);
PD_API int pd_enc_private(pd_enc *enc, int tag, const void *p, size_t len);
PD_API int pd_enc_list(pd_enc *enc, size_t n);
PD_API int pd_enc_map(pd_enc *enc, size_t n);
/* Append any pd_val, PD_PACKED included (its content is inlined). */
PD_API int pd_enc_val(pd_enc *enc, const pd_val *v);
PD_API int pd_enc_finish(pd_enc *enc, pd_val *out);
PD_API const char *pd_enc_errmsg(const pd_enc *enc);

/*
 * A pd_dec walks a PD_PACKED document depth first. pd_dec_start() checks the
 * whole document first (structure, UTF-8, depth, key kinds) and fails with
 * PD_EDECODE naming the problem, so a walk that starts never fails halfway.
 * pd_dec_next() then yields each item: a PD_LIST of u.n is followed by its n
 * items, a PD_MAP of u.n by n key/value pairs; PD_ITEROVER at the end.
 * Item memory belongs to the decoder until the next pd_dec_start/free.
 */
typedef struct pd_dec pd_dec;

PD_API int pd_dec_new(pd_dec **out);
PD_API void pd_dec_free(pd_dec *dec);
PD_API int pd_dec_start(pd_dec *dec, const pd_val *packed);
PD_API int pd_dec_next(pd_dec *dec, pd_val *out);
PD_API const char *pd_dec_errmsg(const pd_dec *dec);

/* Nonzero when p[0..len) is text permadict accepts: valid UTF-8, zero bytes
 * allowed, no surrogates or overlong forms. For bindings of languages whose
 * strings do not tell text from bytes (Lua), so they choose exactly as the
 * core checks. */
PD_API int pd_utf8_valid(const void *p, size_t len);

/* Nonzero when a and b are the same value: same kind and same stored form
 * (1 and 1.0 differ; NaN equals NaN; packed documents compare bytewise,
 * which is exact because encoding is canonical). */
PD_API int pd_val_equal(const pd_val *a, const pd_val *b);

/* ------------------------------------------------------- opening and closing */

typedef struct pd_dict pd_dict;

#define PD_OPTIONS_VERSION 2
typedef struct pd_options {
  unsigned int version; /* PD_OPTIONS_VERSION (1 is still accepted) */
  const char *name;     /* namespace; NULL means "default" */
  int readonly;         /* nonzero: no writes, file never created */
  int create;           /* nonzero: create file and namespace if missing */
  int timeout_ms;       /* how long to wait for a lock; <0 means 5000 */
  int durable;          /* nonzero: synchronous=FULL (else NORMAL) */
  /* Since version 2. Memory for the handle's read cache of pd_get,
   * pd_contains and pd_count results, in KiB: 0 means the default (32768),
   * <0 turns it off. The cache never returns anything older than the last
   * commit by anyone (it is checked against the WAL index on every call);
   * values over 4 KiB are not cached. It only grows with what is read:
   * 100,000 keys of 100-byte values take about 18 MiB. Apart from it,
   * SQLite's page cache of a handle grows to 16 MiB with the pages the
   * handle reads and writes. A handle that may write also holds a
   * descriptor of its own on the -wal file, to reserve disk blocks up to 4
   * MiB ahead of its writes (the file's size stays what was written). */
  int cache_kib;
} pd_options;
#define PD_OPTIONS_INIT {PD_OPTIONS_VERSION, NULL, 0, 1, -1, 0, 0}

/*
 * Open the namespace opts->name of the file at path (":memory:" gives a
 * private in-memory dict). opts may be NULL for the defaults. On success
 * *out is a handle to pd_close(); on failure *out is NULL, the code says
 * why and pd_errmsg(NULL) gives this thread's message for it. A file that
 * is not a permadict file is never modified. path is a file name, never an
 * SQLite URI.
 */
PD_API int pd_open(pd_dict **out, const char *path, const pd_options *opts);

/* Close; NULL is a no-op. Rolls back an open transaction. */
PD_API void pd_close(pd_dict *d);

/* After fork(): drop the inherited connection without touching it and open
 * the same file and namespace afresh, with the same options. The file is
 * found by the absolute path it had when first opened, so a relative path
 * still names it after a chdir(). A descriptor
 * pd_watch_fd gave before is closed: ask for the new one. Called in the
 * process that opened d, it works too, and rolls back an open transaction
 * as pd_close does. */
PD_API int pd_reopen(pd_dict *d);

/* The message of the last failed call on d; with d NULL, of this thread's
 * last failed pd_open. Valid until the next call on d. Never NULL. */
PD_API const char *pd_errmsg(const pd_dict *d);
/* SQLite's extended result code behind the last error on d, or 0. */
PD_API int pd_sqlite_errcode(const pd_dict *d);

PD_API const char *pd_path(const pd_dict *d);
PD_API const char *pd_name(const pd_dict *d);

/* ----------------------------------------------------------------- items */

/* PD_OK and *out set, or PD_ENOTFOUND. */
PD_API int pd_get(pd_dict *d, const pd_val *key, pd_val *out);
/* A PD_PACKED value is stored in canonical form (docs/FORMAT.md 4.1): one
 * built elsewhere in another valid form is re-encoded, so equal values
 * always have equal bytes. */
PD_API int pd_set(pd_dict *d, const pd_val *key, const pd_val *value);
/* PD_OK if a key was deleted, PD_ENOTFOUND if there was none. */
PD_API int pd_delete(pd_dict *d, const pd_val *key);
/* PD_OK if present, PD_ENOTFOUND if not. */
PD_API int pd_contains(pd_dict *d, const pd_val *key);
/* Number of entries, O(1). */
PD_API int pd_count(pd_dict *d, int64_t *out);
PD_API int pd_clear(pd_dict *d);

/* --------------------------------------------------------- atomic updates */

/* Add by (PD_INT or PD_FLOAT) to the number at key (absent counts as 0) and
 * store it; *out (may be NULL) receives the new value. int+int stays int
 * (overflow is PD_EINVALID), anything with a float gives a float. A stored
 * value that is not a number gives PD_ETYPE and is left as it was. */
PD_API int pd_incr(pd_dict *d, const pd_val *key, const pd_val *by,
                   pd_val *out);
/* Store value only if key is absent; *inserted (may be NULL) says which. */
PD_API int pd_set_if_absent(pd_dict *d, const pd_val *key,
                            const pd_val *value, int *inserted);
/* Read and delete in one step; PD_ENOTFOUND if absent (a read-only handle
 * answers that too, and PD_EREADONLY for a key that is there). */
PD_API int pd_pop(pd_dict *d, const pd_val *key, pd_val *out);
/* Store value and return what was there: *found (may be NULL) is 0 and
 * *old is PD_NULL when the key was absent. */
PD_API int pd_get_and_set(pd_dict *d, const pd_val *key, const pd_val *value,
                          pd_val *old, int *found);
/* If the stored value equals expected (pd_val_equal; NULL means "absent"),
 * store desired (NULL means delete) and set *swapped to 1; else change
 * nothing and set *swapped to 0. */
PD_API int pd_compare_and_swap(pd_dict *d, const pd_val *key,
                               const pd_val *expected, const pd_val *desired,
                               int *swapped);

/* ----------------------------------------------------------- transactions */

/* Start a write transaction (BEGIN IMMEDIATE, retried with microsecond
 * back-off until the timeout: PD_EBUSY only after it). Reads inside see the
 * transaction's own writes; nothing is visible to others before pd_commit.
 * Transactions do not nest (PD_EMISUSE).
 * Inside a transaction a small pd_set may be held in the handle and written
 * with others (64 to a statement) by a later call of the transaction. If
 * writing it fails (out of memory, an I/O error, a full disk), that later
 * call returns the error and the whole transaction is rolled back, as after
 * any failure halfway through an operation: further writes answer
 * PD_EMISUSE until pd_rollback, and pd_commit commits nothing and returns
 * the error. */
PD_API int pd_begin(pd_dict *d);
PD_API int pd_commit(pd_dict *d);
PD_API int pd_rollback(pd_dict *d);
/* Nonzero inside a transaction. */
PD_API int pd_in_transaction(const pd_dict *d);

/* -------------------------------------------------------------- iteration */

#define PD_ITER_OPTIONS_VERSION 1
typedef struct pd_iter_options {
  unsigned int version; /* PD_ITER_OPTIONS_VERSION */
  int values;           /* nonzero: pd_iter_next also returns values */
  const pd_val *prefix; /* PD_TEXT/PD_BYTES: only keys of that kind that
                           start with these bytes; NULL: all keys */
  const pd_val *start;  /* first key, inclusive; NULL: from the first */
  const pd_val *end;    /* last key, exclusive; NULL: to the last */
  size_t page_size;     /* rows fetched per page; 0: 16, then twice as
                           many each page, up to 256 */
} pd_iter_options;
#define PD_ITER_OPTIONS_INIT {PD_ITER_OPTIONS_VERSION, 0, NULL, NULL, NULL, 0}

/*
 * Keys come in key order: integers (numerically), then text (by UTF-8
 * bytes), then bytes (bytewise). The iterator reads a page at a time in a
 * short read transaction and holds none between pages, so memory stays
 * bounded, writers are never blocked, and keys deleted meanwhile are not
 * returned unless their page was already read (a page of up to page_size
 * keys is a consistent snapshot, the whole walk is not). It sees each key
 * once. The dict must outlive its iterators.
 */
typedef struct pd_iter pd_iter;

PD_API int pd_iter_open(pd_iter **out, pd_dict *d, const pd_iter_options *opts);
/* PD_OK with key (and value if asked) set, PD_ITEROVER at the end. A stored
 * value that cannot be read gives PD_EDECODE naming the key; the next call
 * goes on past it. */
PD_API int pd_iter_next(pd_iter *it, pd_val *key, pd_val *value);
PD_API void pd_iter_free(pd_iter *it);

/* ------------------------------------------------------------- namespaces */

/* All namespaces of d's file, sorted; free with pd_free_names. A stored name
 * that is not a valid one (another writer's damage) gives PD_ECORRUPT. */
PD_API int pd_namespaces(pd_dict *d, char ***out, size_t *count);
/* All namespaces of the permadict file at path, sorted, without opening any
 * of them (a file need not have "default"); never creates or writes the
 * file. Free with pd_free_names. On failure the message is this thread's
 * pd_errmsg(NULL), as for pd_open. */
PD_API int pd_file_namespaces(const char *path, char ***out, size_t *count);
PD_API void pd_free_names(char **names, size_t count);
/* Delete a namespace and everything in it. Handles open on it then see it
 * empty and their writes fail with PD_EGONE. */
PD_API int pd_drop_namespace(pd_dict *d, const char *name);

/* ------------------------------------------------------ changes, watching */

/* The namespace's change counter: it grows with every committed change. */
PD_API int pd_version(pd_dict *d, int64_t *out);

typedef enum pd_change_op {
  PD_CHANGE_SET = 1,
  PD_CHANGE_DELETE = 2,
  PD_CHANGE_CLEAR = 3 /* key is PD_NULL */
} pd_change_op;

typedef struct pd_change {
  int64_t version; /* the counter after this change */
  pd_change_op op;
  pd_val key;
} pd_change;

/* The changes committed after version since, oldest first, from a bounded
 * log (docs/FORMAT.md). PD_ERESYNC when the log no longer reaches back to
 * since: re-read everything and carry on from pd_version(). since is a
 * version, 0 or more (PD_EINVALID otherwise). A damaged log row (an unknown
 * op, a missing or unreadable key) is PD_EDECODE naming its version. */
typedef struct pd_changes pd_changes;
PD_API int pd_changes_open(pd_changes **out, pd_dict *d, int64_t since);
PD_API int pd_changes_next(pd_changes *c, pd_change *out);
PD_API void pd_changes_free(pd_changes *c);

/* Block until the version exceeds since, up to timeout_ms (0: just look,
 * <0: forever). PD_OK with *version (may be NULL) set, or PD_ETIMEOUT. An
 * idle wait sleeps in the kernel (inotify on the WAL), not in a poll loop.
 * PD_EGONE at once when the file is deleted, renamed or replaced (this
 * handle can neither see nor make its changes any more) or the namespace is
 * dropped. */
PD_API int pd_wait(pd_dict *d, int64_t since, int timeout_ms, int64_t *version);

/* A file descriptor, owned by d, that becomes readable when the file may
 * have changed; for select/epoll/libuv/asyncio. When it is readable call
 * pd_wait(d, since, 0, &v), which also drains it. pd_close and pd_reopen
 * close it. */
PD_API int pd_watch_fd(pd_dict *d, int *fd);

/* ------------------------------------------------------------ maintenance */

typedef struct pd_stats {
  int64_t count;      /* entries in this namespace */
  int64_t version;    /* this namespace's change counter */
  int64_t namespaces; /* namespaces in the file */
  int64_t page_size;
  int64_t page_count;
  int64_t freelist_count;
  int64_t file_bytes;
  int64_t wal_bytes;
  int format_version; /* PRAGMA user_version of the file */
} pd_stats;

PD_API int pd_stats_get(pd_dict *d, pd_stats *out);
/* PRAGMA integrity_check plus the library's own invariants (namespace names,
 * stored counts, decodable values): PD_OK or PD_ECORRUPT with the first
 * problem in errmsg. */
PD_API int pd_check(pd_dict *d);

#ifdef __cplusplus
}
#endif
#endif /* PERMADICT_H */
