/*
 * backend_sqlite.c - prepared statements, stepping with busy retries, and
 * keys and values to and from columns (FORMAT.md sections 3 and 4).
 *
 * Nothing read here points into SQLite's memory: every text, blob or packed
 * document is copied into a buffer owned by the handle or the iterator
 * before the statement is reset.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "codec.h"

/* 64 rows in one INSERT, for PD__LOG_BATCH change log rows and for
 * PD__SET_BATCH held sets (engine_sqlite_sets.c): ?1 is the namespace, and
 * a bare ? takes the next number, so row i binds its four columns to
 * 2 + 4i .. 5 + 4i (a log row id, type, key, count; a set id, key, type,
 * value). */
#define ROW "(?1, ?, ?, ?, ?)"
#define ROWS_4 ROW ", " ROW ", " ROW ", " ROW
#define ROWS_16 ROWS_4 ", " ROWS_4 ", " ROWS_4 ", " ROWS_4
#define ROWS_64 ROWS_16 ", " ROWS_16 ", " ROWS_16 ", " ROWS_16
_Static_assert(PD__LOG_BATCH == 64 && PD__SET_BATCH == 64, "ROWS_64 must hold a batch");
/* Both 64-row statements run inside a transaction, where SQLite gives a
 * statement that writes several rows and may stop halfway on a constraint
 * (OR ABORT, the default) a statement journal: to undo that statement
 * alone, it copies there every page the statement changes, or writes out
 * of a full cache, for the first time. With 1 KiB values the cache writes a
 * page out every 3 sets, so most sets paid a 4 KiB copy. OR ROLLBACK ends
 * the whole transaction instead, which is what a failure of these batches
 * does anyway (pd__txn_abandon), and needs no statement journal. An
 * upsert's DO UPDATE aborts whatever OR says (measured: no gain with it),
 * so the held sets' batch only inserts new keys and lets the rows of keys
 * already there do nothing (engine_sqlite_sets.c upserts those one to a
 * statement). bench_kv, 100,000 keys, 3 interleaved runs against the
 * statements without OR ROLLBACK: set inside a transaction 2.58-2.64 ->
 * 2.16-2.19 us (1 KiB values), 1.26-1.28 -> 1.17-1.18 (100-byte text),
 * 0.98-0.99 -> 0.91 (int), 1.61-1.62 -> 1.52-1.53 (small map). */
#define OR_ROLLBACK "OR ROLLBACK "
#define LOG_INSERT(OR) "INSERT " OR "INTO permadict_rows (ns, id, type, key, value) VALUES "

/* The SQL of each per-handle statement but the scan pages' (built where
 * they are used, engine_sqlite_scan.c); ?1 is always the namespace id.
 * Entries are the rows of even rowid (FORMAT.md 2): every statement on
 * them says so, which is what lets SQLite use the partial key index. (The
 * index is partial on the rowid, never updated, rather than on type: an
 * UPDATE of a column its WHERE names rewrites the index entry, one more
 * page for every overwrite.) */
static const char *const stmt_sql[PD__ST_COUNT_] = {
    [PD__ST_GET] =
        "SELECT type, value, id FROM permadict_rows WHERE ns = ?1 AND key = ?2 AND id & 1 = 0",
    [PD__ST_CONTAINS] =
        "SELECT id FROM permadict_rows WHERE ns = ?1 AND key = ?2 AND id & 1 = 0",
    /* ?5: the rowid a new entry takes (only the INSERT branch uses it). */
    [PD__ST_UPSERT_ITEM] =
        "INSERT INTO permadict_rows (id, ns, key, type, value) VALUES (?5, ?1, ?2, ?3, ?4) "
        "ON CONFLICT (ns, key) WHERE id & 1 = 0 "
        "DO UPDATE SET type = excluded.type, value = excluded.value",
    /* New keys only: a key already there does nothing (see OR_ROLLBACK). */
    [PD__ST_INSERT_NEW_ITEMS_BATCH] =
        "INSERT " OR_ROLLBACK "INTO permadict_rows (ns, id, key, type, value) VALUES " ROWS_64
        " ON CONFLICT (ns, key) WHERE id & 1 = 0 DO NOTHING",
    /* ?2 .. ?3: the rowids a batch of held sets gave new entries; the ones
     * found are the keys that were new. NOT INDEXED: a walk of the key
     * index (which the id & 1 = 0 would pick) reads every entry. */
    [PD__ST_NEW_ENTRIES] = "SELECT id FROM permadict_rows NOT INDEXED WHERE id BETWEEN ?2 "
                           "AND ?3 AND id & 1 = 0 AND ns = ?1 ORDER BY id",
    /* ?5: the rowid of an entry just found (d->found_rowid). */
    [PD__ST_REPLACE_FOUND] = "UPDATE permadict_rows SET type = ?3, value = ?4 WHERE id = ?5",
    [PD__ST_DELETE_ITEM] =
        "DELETE FROM permadict_rows WHERE ns = ?1 AND key = ?2 AND id & 1 = 0",
    [PD__ST_CLEAR_ITEMS] = "DELETE FROM permadict_rows WHERE ns = ?1 AND id & 1 = 0",
    [PD__ST_LOG_CHANGE] = LOG_INSERT("") ROW,
    [PD__ST_LOG_CHANGES_BATCH] = LOG_INSERT(OR_ROLLBACK) ROWS_64,
    /* ?2 .. ?3: the rowids of the versions to prune. */
    [PD__ST_PRUNE_CHANGES] =
        "DELETE FROM permadict_rows WHERE id BETWEEN ?2 AND ?3 AND type < 0 AND ns = ?1",
    /* ?2: the rowid of one version's log row. */
    [PD__ST_LOGGED] = "SELECT 1 FROM permadict_rows WHERE id = ?2 AND ns = ?1 AND type < 0",
    /* FORMAT.md 5: the newest change log row carries the namespace's count
     * and version; a namespace row at all means the namespace exists. ?2 is
     * the namespace's first rowid. The newest row of the slot is always a
     * log row of the namespace: the third column says whether it is one
     * (NULL when the slot is empty). */
    [PD__ST_NAMESPACE_ROW] =
        "SELECT c.value, (c.id - ?2) >> 1, "
        "c.id & 1 = 1 AND c.ns = n.id AND c.type BETWEEN -3 AND -1 "
        "FROM permadict_namespaces n "
        "LEFT JOIN permadict_rows c ON c.id = " PD__NEWEST_ROW_ID_SQL("?2")
        " WHERE n.id = ?1",
    [PD__ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [PD__ST_BEGIN_READ] = "BEGIN DEFERRED",
    [PD__ST_COMMIT] = "COMMIT",
    [PD__ST_ROLLBACK] = "ROLLBACK",
};

sqlite3_stmt *pd__stmt(pd_dict *d, pd__stmt_id id, int *rc) {
  return pd__stmt_of_sql(d, id, stmt_sql[id], rc);
}

sqlite3_stmt *pd__stmt_of_sql(pd_dict *d, pd__stmt_id id, const char *sql, int *rc) {
  sqlite3_stmt *st = d->stmts[id];
  if (st) return st;
  int src = sqlite3_prepare_v3(d->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &d->stmts[id], NULL);
  if (src != SQLITE_OK) {
    *rc = pd__sqlite_err(d, src, "preparing a statement");
    d->stmts[id] = NULL;
    return NULL;
  }
  return d->stmts[id];
}

void pd__stmt_done(sqlite3_stmt *st) {
  if (!st) return;
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}

void pd__stmts_finalize(pd_dict *d) {
  for (int i = 0; i < PD__ST_COUNT_; i++) {
    sqlite3_finalize(d->stmts[i]);
    d->stmts[i] = NULL;
  }
}

static int is_busy(int src) {
  return (src & 0xff) == SQLITE_BUSY || (src & 0xff) == SQLITE_LOCKED;
}

int pd__step(pd_dict *d, sqlite3_stmt *st) {
  for (int attempt = 0;; attempt++) {
    int src = sqlite3_step(st);
    if (!is_busy(src)) return src;
    /* BUSY_SNAPSHOT/_RECOVERY and a busy BEGIN never reach the handler, and
     * once it gives up the deadline has passed: then report busy. */
    sqlite3_reset(st);
    if (d->timed_out || !pd__busy_retry(d, attempt)) return src;
  }
}

int pd__exec(pd_dict *d, const char *sql) {
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(d->db, sql, -1, &st, NULL);
  if (src != SQLITE_OK) return pd__sqlite_err(d, src, sql);
  while ((src = pd__step(d, st)) == SQLITE_ROW) {
  }
  int rc = src == SQLITE_DONE ? PD_OK : pd__sqlite_err(d, src, sql);
  sqlite3_finalize(st);
  return rc;
}

/* SQLite binds NULL for a NULL pointer, even with length 0; an empty text or
 * blob must stay empty text or blob. */
static const char empty[1] = "";

static const void *nonnull(const void *p) { return p ? p : empty; }

int pd__bind_key(sqlite3_stmt *st, int idx, const pd_val *key) {
  switch (key->kind) {
  case PD_INT: return sqlite3_bind_int64(st, idx, key->u.i);
  case PD_TEXT:
    return sqlite3_bind_text64(st, idx, nonnull(key->u.s.ptr), key->u.s.len,
                               SQLITE_STATIC, SQLITE_UTF8);
  case PD_BYTES:
    return sqlite3_bind_blob64(st, idx, nonnull(key->u.s.ptr), key->u.s.len,
                               SQLITE_STATIC);
  default: return SQLITE_MISMATCH;
  }
}

int pd__bind_value(sqlite3_stmt *st, int idx, const pd_val *v) {
  int type, src;
  switch (v->kind) {
  case PD_NULL:
    type = PD__TYPE_NULL;
    src = sqlite3_bind_null(st, idx + 1);
    break;
  case PD_BOOL:
    type = PD__TYPE_BOOL;
    src = sqlite3_bind_int(st, idx + 1, v->u.b ? 1 : 0);
    break;
  case PD_INT:
    type = PD__TYPE_INT;
    src = sqlite3_bind_int64(st, idx + 1, v->u.i);
    break;
  case PD_FLOAT:
    /* FORMAT.md 4: NaN is stored as NULL (SQLite cannot store it). */
    type = PD__TYPE_FLOAT;
    src = isnan(v->u.f) ? sqlite3_bind_null(st, idx + 1)
                        : sqlite3_bind_double(st, idx + 1, v->u.f);
    break;
  case PD_TEXT:
    type = PD__TYPE_TEXT;
    src = sqlite3_bind_text64(st, idx + 1, nonnull(v->u.s.ptr), v->u.s.len,
                              SQLITE_STATIC, SQLITE_UTF8);
    break;
  case PD_BYTES:
  case PD_PACKED:
    type = v->kind == PD_BYTES ? PD__TYPE_BYTES : PD__TYPE_PACKED;
    src = sqlite3_bind_blob64(st, idx + 1, nonnull(v->u.s.ptr), v->u.s.len,
                              SQLITE_STATIC);
    break;
  default: return SQLITE_MISMATCH;
  }
  if (src != SQLITE_OK) return src;
  return sqlite3_bind_int(st, idx, type);
}

static const char *storage_class_name(int t) {
  switch (t) {
  case SQLITE_INTEGER: return "INTEGER";
  case SQLITE_FLOAT: return "REAL";
  case SQLITE_TEXT: return "TEXT";
  case SQLITE_BLOB: return "BLOB";
  default: return "NULL";
  }
}

/* Copies a column's bytes into buf; stores the offset in out->u.s.ptr. */
static int copy_column(sqlite3_stmt *st, int col, int as_text, pd__buf *buf,
                       pd_val *out) {
  const void *p = as_text ? (const void *)sqlite3_column_text(st, col)
                          : sqlite3_column_blob(st, col);
  size_t n = (size_t)sqlite3_column_bytes(st, col);
  if (!p && n) return PD_ENOMEM;
  size_t at = pd__buf_append(buf, p, n);
  if (at == (size_t)-1) return PD_ENOMEM;
  out->u.s.ptr = (const void *)(uintptr_t)at;
  out->u.s.len = n;
  return PD_OK;
}

int pd__column_key(sqlite3_stmt *st, int col, pd__buf *buf, pd_val *out,
                   char *msg, size_t msgcap) {
  int t = sqlite3_column_type(st, col);
  *out = pd_null();
  switch (t) {
  case SQLITE_INTEGER:
    *out = pd_int(sqlite3_column_int64(st, col));
    return PD_OK;
  case SQLITE_TEXT:
  case SQLITE_BLOB: {
    out->kind = t == SQLITE_TEXT ? PD_TEXT : PD_BYTES;
    int rc = copy_column(st, col, t == SQLITE_TEXT, buf, out);
    if (rc) return rc;
    /* FORMAT.md 3: a longer one is no key; handed out, it could be neither
     * read nor deleted (every call refuses it). */
    if (out->u.s.len > PD_MAX_KEY_BYTES) {
      snprintf(msg, msgcap, "stored %s key is %zu bytes long; the limit is %d bytes",
               t == SQLITE_TEXT ? "text" : "bytes", out->u.s.len, PD_MAX_KEY_BYTES);
      return PD_EDECODE;
    }
    if (t == SQLITE_TEXT &&
        !pd__utf8_valid(buf->data + (uintptr_t)out->u.s.ptr, out->u.s.len)) {
      snprintf(msg, msgcap, "stored text key is not valid UTF-8");
      return PD_EDECODE;
    }
    return PD_OK;
  }
  default:
    snprintf(msg, msgcap, "stored key has storage class %s", storage_class_name(t));
    return PD_EDECODE;
  }
}

int pd__column_value(sqlite3_stmt *st, int col, pd__buf *buf, pd_val *out,
                     char *msg, size_t msgcap) {
  int64_t type = sqlite3_column_int64(st, col);
  int ct = sqlite3_column_type(st, col + 1);
  int want; /* the storage class the type code requires */
  *out = pd_null();
  switch (type) {
  case PD__TYPE_NULL: want = SQLITE_NULL; break;
  case PD__TYPE_BOOL:
  case PD__TYPE_INT: want = SQLITE_INTEGER; break;
  case PD__TYPE_FLOAT: want = ct == SQLITE_NULL ? SQLITE_NULL : SQLITE_FLOAT; break;
  case PD__TYPE_TEXT: want = SQLITE_TEXT; break;
  case PD__TYPE_BYTES:
  case PD__TYPE_PACKED: want = SQLITE_BLOB; break;
  default:
    if (sqlite3_column_type(st, col) != SQLITE_INTEGER)
      snprintf(msg, msgcap, "type code of storage class %s",
               storage_class_name(sqlite3_column_type(st, col)));
    else
      snprintf(msg, msgcap, "unknown type code %lld", (long long)type);
    return PD_EDECODE;
  }
  if (ct != want || sqlite3_column_type(st, col) != SQLITE_INTEGER) {
    snprintf(msg, msgcap, "type code %lld with a value of storage class %s",
             (long long)type, storage_class_name(ct));
    return PD_EDECODE;
  }
  switch (type) {
  case PD__TYPE_NULL: return PD_OK;
  case PD__TYPE_BOOL: {
    int64_t b = sqlite3_column_int64(st, col + 1);
    if (b != 0 && b != 1) {
      snprintf(msg, msgcap, "bool stored as %lld (not 0 or 1)", (long long)b);
      return PD_EDECODE;
    }
    *out = pd_bool((int)b);
    return PD_OK;
  }
  case PD__TYPE_INT: *out = pd_int(sqlite3_column_int64(st, col + 1)); return PD_OK;
  case PD__TYPE_FLOAT:
    *out = pd_float(ct == SQLITE_NULL ? NAN : sqlite3_column_double(st, col + 1));
    return PD_OK;
  default: break;
  }
  out->kind = type == PD__TYPE_TEXT ? PD_TEXT
              : type == PD__TYPE_BYTES ? PD_BYTES : PD_PACKED;
  int rc = copy_column(st, col + 1, type == PD__TYPE_TEXT, buf, out);
  if (rc) return rc;
  const void *p = buf->data + (uintptr_t)out->u.s.ptr;
  if (type == PD__TYPE_TEXT && !pd__utf8_valid(p, out->u.s.len)) {
    snprintf(msg, msgcap, "stored text is not valid UTF-8");
    return PD_EDECODE;
  }
  if (type == PD__TYPE_PACKED) {
    char why[200];
    why[0] = 0;
    rc = pd__packed_check(p, out->u.s.len, 0, why, sizeof why);
    if (rc != PD_OK) {
      snprintf(msg, msgcap, "bad packed document: %s", why);
      return PD_EDECODE;
    }
  }
  return PD_OK;
}

int pd__column_log_row(sqlite3_stmt *st, int col, pd__buf *buf, pd_change_op *op,
                       pd_val *key, char *msg, size_t msgcap) {
  /* Compared as stored: minus INT64_MIN has no int64_t. */
  int64_t type = sqlite3_column_int64(st, col + 1);
  int keyless = sqlite3_column_type(st, col) == SQLITE_NULL;
  *key = pd_null();
  if (sqlite3_column_type(st, col + 1) != SQLITE_INTEGER) {
    snprintf(msg, msgcap, "change log row whose type has storage class %s",
             storage_class_name(sqlite3_column_type(st, col + 1)));
    return PD_EDECODE;
  }
  if (type < -PD_CHANGE_CLEAR || type > -PD_CHANGE_SET) {
    if (type == INT64_MIN)
      snprintf(msg, msgcap, "change log row of type %lld", (long long)type);
    else
      snprintf(msg, msgcap, "change log row of unknown op %lld", -(long long)type);
    return PD_EDECODE;
  }
  *op = (pd_change_op)-type;
  if (keyless != (*op == PD_CHANGE_CLEAR)) {
    snprintf(msg, msgcap, "change log row of op %d %s a key", (int)*op,
             keyless ? "without" : "with");
    return PD_EDECODE;
  }
  return keyless ? PD_OK : pd__column_key(st, col, buf, key, msg, msgcap);
}
