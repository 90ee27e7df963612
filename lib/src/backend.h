/*
 * backend.h - the SQLite engine's private interface: prepared statements
 * kept per handle, stepping with busy retries, the mapping of keys and
 * values onto columns (FORMAT.md sections 3 and 4; backend_sqlite.c), and
 * the engine operations (engine_sqlite_*.c) gathered into pd__engine_sqlite
 * by engine_sqlite.c. Only the SQLite engine and watch.c include this.
 */
#ifndef PD_BACKEND_H
#define PD_BACKEND_H

#include "internal.h"

/* The handle's prepared statement id (prepared on first use), or NULL with
 * d's message set; *rc gets the code. */
sqlite3_stmt *pd__stmt(pd_dict *d, pd__stmt_id id, int *rc);
/* pd__stmt for a statement whose SQL is built by its user (the scan pages):
 * prepares sql into slot id unless one is kept there already. */
sqlite3_stmt *pd__stmt_of_sql(pd_dict *d, pd__stmt_id id, const char *sql, int *rc);
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

/* Reads a change log row's (key, type) columns at col, col+1 (FORMAT.md 5)
 * likewise: PD_EDECODE with msg unless type is -1..-3 (minus the op) and the
 * key is one pd__column_key reads, present exactly unless the op is a clear.
 * On PD_OK *op is the op and *key the key (PD_NULL for a clear). */
int pd__column_log_row(sqlite3_stmt *st, int col, pd__buf *buf, pd_change_op *op,
                       pd_val *key, char *msg, size_t msgcap);

/* ------------------------------------------ engine operations (engine.h) */

struct pd__page;
struct pd__scan;
struct pd__change_list;

int pd__sq_connect(pd_dict *d);
void pd__sq_disconnect(pd_dict *d);
int pd__sq_commit_stamp(pd_dict *d, pd__stamp *out);
int pd__sq_get(pd_dict *d, const pd_val *key, pd_val *out, int *found);
int pd__sq_count(pd_dict *d, int64_t *out);
int pd__sq_version(pd_dict *d, int64_t *out);
int pd__sq_put(pd_dict *d, const pd_val *key, const pd_val *store, int *partial);
int pd__sq_replace_found(pd_dict *d, const pd_val *key, const pd_val *store, int *partial);
int pd__sq_remove(pd_dict *d, const pd_val *key, int *partial);
int pd__sq_clear(pd_dict *d, int *partial);
int pd__sq_drop_namespace(pd_dict *d, const char *name, int *partial);
int pd__sq_write_begin(pd_dict *d);
int pd__sq_write_commit(pd_dict *d);
void pd__sq_rollback(pd_dict *d);
int pd__sq_txn_active(pd_dict *d);
int pd__sq_scan_page(pd_dict *d, const struct pd__scan *req, void **cursor,
                     struct pd__page *page);
void pd__sq_scan_cursor_free(void *cursor);
int pd__sq_namespaces(pd_dict *d, char ***out, size_t *count);
int pd__sq_changes(pd_dict *d, int64_t since, struct pd__change_list *out);
int pd__sq_stats(pd_dict *d, pd_stats *out);
int pd__sq_check(pd_dict *d);

/* Helpers shared by the engine files. */
/* A read transaction for calls that read several statements consistently
 * (nothing when a transaction is already open). Ended before returning. */
int pd__sq_read_begin(pd_dict *d, int *opened);
void pd__sq_read_end(pd_dict *d, int opened);
/* engine_sqlite_log.c: the transaction's pending change log rows. add
 * queues one (key NULL: a clear); flush writes all and prunes old ones;
 * discard drops them (rollback); free releases the memory (disconnect). */
int pd__sq_log_add(pd_dict *d, int64_t version, int64_t count, int op, const pd_val *key);
int pd__sq_log_flush(pd_dict *d);
/* Row r's key (its bytes in log_keys, valid until the next row is queued);
 * kind PD_NULL for a clear. */
pd_val pd__sq_log_key(const pd_dict *d, const pd__log_row *r);
/* *found: whether version v's log row is stored. */
int pd__sq_logged(pd_dict *d, int64_t v, int *found);
/* Whether the pending rows' keys have grown past PD__LOG_HOLD_KEY_BYTES. */
int pd__sq_log_must_flush(const pd_dict *d);
void pd__sq_log_discard(pd_dict *d);
void pd__sq_log_free(pd_dict *d);
/* Writes the held sets, then the pending change log rows (no-op when there
 * are none; held sets always have rows): the door before anything in the
 * transaction reads the count, version or log. */
int pd__sq_ns_flush(pd_dict *d);
/* engine_sqlite_sets.c: an explicit transaction's held sets. holdable: the
 * set may wait (inside pd_begin, small enough); hold copies its value, and
 * its log row must follow, which gives it its version and key (should that
 * fail, pd__write_end gives the transaction up); flush writes the held ones,
 * giving the transaction up when that fails (pd__txn_abandon); discard
 * drops them (rollback); free releases the memory (disconnect). upsert_one
 * writes one set at once as version's change; *added: its key was new. */
int pd__sq_set_hold(pd_dict *d, const pd_val *value);
int pd__sq_sets_write(pd_dict *d);
void pd__sq_sets_discard(pd_dict *d);
void pd__sq_sets_free(pd_dict *d);
int pd__sq_upsert_one(pd_dict *d, int64_t version, const pd_val *key, const pd_val *value,
                      int *added);
/* Inline: every put asks (pd__sq_put), and outside pd_begin the answer is
 * always no. */
static inline int pd__sq_set_holdable(const pd_dict *d, const pd_val *key, const pd_val *value) {
  size_t bytes = (pd__val_has_bytes(key) ? key->u.s.len : 0) +
                 (pd__val_has_bytes(value) ? value->u.s.len : 0);
  /* Outside pd_begin a set is a write scope of its own: written at once. */
  return d->in_txn && bytes <= PD__SET_HOLD_BYTES;
}
static inline int pd__sq_sets_flush(pd_dict *d) { return d->set_n ? pd__sq_sets_write(d) : PD_OK; }
/* FORMAT.md 2 and 5: the rowid of the newest row in the slot whose first
 * rowid is base (SQL), which is the newest change log row, carrying the
 * namespace's count and version (NULL when it has none). */
#define PD__NEWEST_ROW_ID_SQL(base)                                          \
  "(SELECT id FROM permadict_rows WHERE id BETWEEN " base " AND " base       \
  " + " PD__STR(PD__SLOT_ROWIDS_MINUS_1) " ORDER BY id DESC LIMIT 1)"
#define PD__SLOT_ROWIDS_MINUS_1 17592186044415
_Static_assert(PD__SLOT_ROWIDS_MINUS_1 == (INT64_C(1) << PD__SLOT_SHIFT) - 1,
               "a slot holds 2^PD__SLOT_SHIFT rowids");
/* PD_ECORRUPT, naming namespace name, unless slot is a valid slot. */
int pd__sq_slot_check(pd_dict *d, const char *name, int64_t slot);
/* The rowids of FORMAT.md 2: a key added at version v is entry base + 2v,
 * and version v's change log row is the next one, base + 2v + 1. v must be
 * a version, 0 .. PD__VERSION_MAX: callers refuse anything else first (a
 * negative since of pd_changes_open made 2v overflow). */
static inline int64_t pd__entry_rowid(const pd_dict *d, int64_t v) {
  return d->ns_base + 2 * v;
}
static inline int64_t pd__log_rowid(const pd_dict *d, int64_t v) {
  return pd__entry_rowid(d, v) + 1;
}
/* The namespace's stored (count, version), FORMAT.md 5; *exists 0 when it
 * was dropped. Pending log rows are not written first. */
int pd__sq_ns_stored(pd_dict *d, int64_t *count, int64_t *version, int *exists);
/* Forgets the namespace state of a write transaction (begin, rollback). */
void pd__sq_ns_forget(pd_dict *d);

#endif /* PD_BACKEND_H */
