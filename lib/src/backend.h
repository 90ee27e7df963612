/*
 * backend.h - the thin layer between the storage core and SQLite: prepared
 * statements kept per handle, stepping with busy retries, and the mapping of
 * keys and values onto columns (FORMAT.md sections 3 and 4).
 */
#ifndef PD_BACKEND_H
#define PD_BACKEND_H

#include "internal.h"

/* The handle's prepared statement id (prepared on first use), or NULL with
 * d's message set; *rc gets the code. */
sqlite3_stmt *pd__stmt(pd_dict *d, pd__stmt_id id, int *rc);
/* Resets a statement and drops its bindings, so that no read transaction
 * stays open and no pointer into caller memory is kept. */
void pd__stmt_done(sqlite3_stmt *st);
void pd__stmts_finalize(pd_dict *d);

/* sqlite3_step, retried on SQLITE_BUSY/_SNAPSHOT/_RECOVERY (after a reset)
 * until the handle's timeout. Returns SQLite's code (SQLITE_ROW/DONE/...). */
int pd__step(pd_dict *d, sqlite3_stmt *st);
/* Runs sql (no results kept) with the same retries; PD code, message set. */
int pd__exec(pd_dict *d, const char *sql);

/* Binds a key (PD_INT, PD_TEXT, PD_BYTES) to parameter idx. Memory is bound
 * SQLITE_STATIC: it must live until pd__stmt_done. */
int pd__bind_key(sqlite3_stmt *st, int idx, const pd_val *key);
/* Binds a scalar or packed value as (type, value) to idx and idx+1. */
int pd__bind_value(sqlite3_stmt *st, int idx, const pd_val *value);

/*
 * Reads a key column into out, copying its bytes into buf (offsets in
 * out->u.s.ptr are made absolute by pd__val_fix). Returns PD_OK or
 * PD_EDECODE with msg set (a key of another storage class, invalid UTF-8).
 */
int pd__column_key(sqlite3_stmt *st, int col, pd__buf *buf, pd_val *out,
                   char *msg, size_t msgcap);
/* Reads the (type, value) columns at col, col+1 (FORMAT.md 4) likewise:
 * PD_EDECODE with msg for an unknown type, a storage class that does not
 * match, invalid UTF-8 or a packed document that fails pd__packed_check. */
int pd__column_value(sqlite3_stmt *st, int col, pd__buf *buf, pd_val *out,
                     char *msg, size_t msgcap);
/* Values read by pd__column_* hold buffer offsets while the buffer may still
 * grow; this turns the offset into a pointer once it will not move. */
void pd__val_fix(pd_val *v, const pd__buf *buf);

#endif /* PD_BACKEND_H */
