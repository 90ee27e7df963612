/*
 * errors.c - per-handle messages, this thread's pd_open message, and the
 * mapping from SQLite result codes to PD_E codes.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* pd_open has no handle to carry its message, so it lives per thread. */
static _Thread_local char open_msg[PD__ERRMSG_CAP];

int pd__err(pd_dict *d, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d->errmsg, sizeof d->errmsg, fmt, ap);
  va_end(ap);
  d->sqlite_errcode = 0;
  d->notfound_pending = 0;
  return code;
}

int pd__err_not_found(pd_dict *d, const pd_val *key) {
  d->notfound_kind = key->kind;
  if (key->kind == PD_INT) {
    d->notfound_int = key->u.i;
  } else if (key->kind == PD_TEXT || key->kind == PD_BYTES) {
    /* One byte past what is shown, so the message still ends in "..." */
    size_t n = key->u.s.len < sizeof d->notfound_key ? key->u.s.len : sizeof d->notfound_key;
    memcpy(d->notfound_key, key->u.s.ptr, n);
    d->notfound_len = n;
  }
  /* Every later message clears the flag (pd__err, pd__sqlite_err,
   * pd_reopen), so while it is set this is still the last error. */
  d->sqlite_errcode = 0;
  d->notfound_pending = 1;
  return PD_ENOTFOUND;
}

void pd__errmsg_settle(pd_dict *d) {
  if (!d->notfound_pending) return;
  d->notfound_pending = 0;
  pd_val k = {.kind = d->notfound_kind};
  if (k.kind == PD_INT) {
    k.u.i = d->notfound_int;
  } else {
    k.u.s.ptr = d->notfound_key;
    k.u.s.len = d->notfound_len;
  }
  char kb[128];
  snprintf(d->errmsg, sizeof d->errmsg, "key %s not found",
           pd__key_describe(&k, kb, sizeof kb));
}

int pd__map_sqlite_code(int src) {
  switch (src) {
  case SQLITE_OK: return PD_OK;
  case SQLITE_READONLY_DBMOVED: return PD_EGONE;
  default: break;
  }
  switch (src & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED: return PD_EBUSY;
  case SQLITE_READONLY:
  case SQLITE_PERM: return PD_EREADONLY;
  case SQLITE_NOTADB: return PD_ENOTADB;
  case SQLITE_CORRUPT: return PD_ECORRUPT;
  case SQLITE_NOMEM: return PD_ENOMEM;
  case SQLITE_IOERR:
  case SQLITE_CANTOPEN:
  case SQLITE_PROTOCOL: return PD_EIO;
  case SQLITE_FULL: return PD_EFULL;
  case SQLITE_TOOBIG: return PD_ETOOBIG;
  case SQLITE_MISUSE: return PD_EMISUSE;
  case SQLITE_RANGE:
  case SQLITE_MISMATCH:
  case SQLITE_CONSTRAINT: return PD_EINVALID;
  case SQLITE_ERROR: return PD_ERROR;
  default: return PD_ERROR;
  }
}

/* SQLite ends a transaction by itself on some errors (I/O, out of memory,
 * a full disk), also in a statement that only reads. An explicit
 * transaction it ended is given up here, whatever the call (transactions.c):
 * writing on would commit each write alone, and what the handle still holds
 * of it (held sets, log rows) would be written by the next read. */
static int txn_end_note(pd_dict *d, int rc) {
  if (d->in_txn && d->db && sqlite3_get_autocommit(d->db)) return pd__txn_abandon(d, rc);
  return rc;
}

int pd__sqlite_err(pd_dict *d, int src, const char *what) {
  /* Busy only surfaces once the handle's whole timeout has passed. */
  if ((src & 0xff) == SQLITE_BUSY) return txn_end_note(d, pd__busy_err(d, what));
  int ext = d->db ? sqlite3_extended_errcode(d->db) : src;
  /* The step result is authoritative; the connection's code may be stale. */
  if ((ext & 0xff) != (src & 0xff)) ext = src;
  const char *why = d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(src);
  if ((src & 0xff) != (ext & 0xff) || !why) why = sqlite3_errstr(src);
  snprintf(d->errmsg, sizeof d->errmsg, "%s: %s (file '%s')", what, why,
           d->path);
  d->sqlite_errcode = ext;
  d->notfound_pending = 0;
  return txn_end_note(d, pd__map_sqlite_code(ext));
}

void pd__open_err_set(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(open_msg, sizeof open_msg, fmt, ap);
  va_end(ap);
}

const char *pd__open_err_get(void) { return open_msg; }

/*
 * A thread that finds another thread inside a handle must not write the
 * handle's message buffer (the other thread owns it and may be reading it).
 * It remembers, in its own thread-local slot, that its last call on that
 * handle failed this way; pd_errmsg(d) and pd_sqlite_errcode(d) asked from
 * that thread answer with fixed text and 0, while the owner thread still
 * sees the handle's own message. The mark goes away as soon as this thread
 * gets into the handle again (pd__enter), so it never outlives the "last
 * failed call" it describes. Only the address is compared, never followed.
 */
static _Thread_local const pd_dict *misuse_handle;

static const char misuse_msg[] =
    "the handle is in use by another thread: a pd_dict may be used by one thread at "
    "a time (serialise calls on it, or open one handle per thread)";

int pd__misuse_mark(const pd_dict *d) {
  misuse_handle = d;
  return PD_EMISUSE;
}

void pd__misuse_clear(const pd_dict *d) {
  if (misuse_handle == d) misuse_handle = NULL;
}

const char *pd_errmsg(const pd_dict *d) {
  if (!d) return open_msg;
  if (misuse_handle == d) return misuse_msg;
  /* The handle is the caller's, writable; the API says const because
   * asking for the message changes nothing the caller can observe. Never
   * written while a call of another thread is inside the handle: the
   * buffer is that thread's then. */
  if (!atomic_load_explicit(&d->in_use, memory_order_acquire))
    pd__errmsg_settle((pd_dict *)d);
  return d->errmsg;
}

int pd_sqlite_errcode(const pd_dict *d) {
  if (!d || misuse_handle == d) return 0;
  return d->sqlite_errcode;
}
