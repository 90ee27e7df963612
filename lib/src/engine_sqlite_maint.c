/*
 * engine_sqlite_maint.c - the SQLite engine's statistics and checks
 * (pd_stats_get and pd_check).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "backend.h"
#include "engine.h"

static int query_int(pd_dict *d, const char *sql, int64_t bind, int64_t *out) {
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(d->db, sql, -1, &st, NULL);
  if (src == SQLITE_OK) {
    if (sqlite3_bind_parameter_count(st) > 0) sqlite3_bind_int64(st, 1, bind);
    src = pd__step(d, st);
  }
  *out = src == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  return src == SQLITE_ROW || src == SQLITE_DONE ? PD_OK : pd__sqlite_err(d, src, sql);
}

/* The count carried by the newest change log row of namespace n (none:
 * NULL); a newest row that is not a log row of n counts as none. */
#define NEWEST_COUNT_SQL                                                  \
  "(SELECT value FROM permadict_rows WHERE id = "                         \
  PD__NEWEST_ROW_ID_SQL("(n.slot << " PD__STR(PD__SLOT_SHIFT) ")")        \
  " AND ns = n.id AND type < 0)"

static int64_t file_size(const char *path, const char *suffix) {
  char p[4096];
  struct stat st;
  snprintf(p, sizeof p, "%s%s", path, suffix);
  return stat(p, &st) == 0 ? (int64_t)st.st_size : 0;
}

int pd__sq_stats(pd_dict *d, pd_stats *out) {
  int opened = 0;
  int64_t v = 0;
  int rc = pd__sq_ns_flush(d);
  if (!rc) rc = pd__sq_read_begin(d, &opened);
  int exists = 0; /* dropped: count and version read as 0 */
  out->count = out->version = 0;
  if (!rc) rc = pd__sq_ns_stored(d, &out->count, &out->version, &exists);
  if (!rc) rc = query_int(d, "SELECT count(*) FROM permadict_namespaces", 0, &out->namespaces);
  if (!rc) rc = query_int(d, "PRAGMA page_size", 0, &out->page_size);
  if (!rc) rc = query_int(d, "PRAGMA page_count", 0, &out->page_count);
  if (!rc) rc = query_int(d, "PRAGMA freelist_count", 0, &out->freelist_count);
  if (!rc) rc = query_int(d, "PRAGMA user_version", 0, &v);
  pd__sq_read_end(d, opened);
  out->format_version = (int)v;
  if (!d->memory) {
    out->file_bytes = file_size(d->real_path, "");
    out->wal_bytes = file_size(d->real_path, "-wal");
  } else {
    out->file_bytes = out->page_size * out->page_count;
  }
  return rc;
}

/* SQLite's own structural check; the first problem becomes the message. */
static int integrity(pd_dict *d) {
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(d->db, "PRAGMA integrity_check", -1, &st, NULL);
  if (src == SQLITE_OK) src = pd__step(d, st);
  int rc = PD_OK;
  if (src == SQLITE_ROW) {
    const char *res = (const char *)sqlite3_column_text(st, 0);
    if (!res || strcmp(res, "ok") != 0)
      rc = pd__err(d, PD_ECORRUPT, "'%s' fails the integrity check: %s", d->path,
                   res ? res : "(no result)");
  } else {
    rc = pd__sqlite_err(d, src, "checking integrity");
    if (rc != PD_EBUSY && rc != PD_ENOMEM) rc = PD_ECORRUPT;
  }
  sqlite3_finalize(st);
  return rc;
}

/* Every namespace's stored count equals its entries; every row belongs to
 * a namespace and lies in its slot (FORMAT.md 2). */
static int counts(pd_dict *d) {
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(
      d->db,
      "SELECT n.name, " NEWEST_COUNT_SQL ", "
      "(SELECT count(*) FROM permadict_rows i WHERE i.ns = n.id AND i.id & 1 = 0) "
      "FROM permadict_namespaces n "
      "UNION ALL SELECT NULL, 0, count(*) FROM permadict_rows i "
      "LEFT JOIN permadict_namespaces n ON n.id = i.ns "
      "WHERE n.id IS NULL OR i.id >> " PD__STR(PD__SLOT_SHIFT) " != n.slot",
      -1, &st, NULL);
  int rc = PD_OK;
  while (src == SQLITE_OK || src == SQLITE_ROW) {
    src = pd__step(d, st);
    if (src != SQLITE_ROW) break;
    int64_t stored = sqlite3_column_int64(st, 1), real = sqlite3_column_int64(st, 2);
    const char *name = (const char *)sqlite3_column_text(st, 0);
    if (!name && real) {
      rc = pd__err(d, PD_ECORRUPT, "'%s' holds %" PRId64 " rows outside their namespace",
                   d->path, real);
      break;
    }
    if (name && stored != real) {
      rc = pd__err(d, PD_ECORRUPT,
                   "namespace '%s' of '%s' records %" PRId64 " entries but holds %" PRId64,
                   name, d->path, stored, real);
      break;
    }
  }
  if (!rc && src != SQLITE_DONE) rc = pd__sqlite_err(d, src, "checking counts");
  sqlite3_finalize(st);
  return rc;
}

/* A change log row (odd rowid) of the row st is on: what a reader of the
 * log needs (pd__column_log_row), and an integer count. */
static int log_row_check(sqlite3_stmt *st, pd__buf *buf, char *why, size_t cap) {
  pd_change_op op;
  pd_val key;
  int rc = pd__column_log_row(st, 0, buf, &op, &key, why, cap);
  if (rc == PD_OK && sqlite3_column_type(st, 2) != SQLITE_INTEGER) {
    snprintf(why, cap, "change log row without an integer count");
    rc = PD_EDECODE;
  }
  return rc;
}

/* Every key and value of every namespace decodes (FORMAT.md 3 and 4), and
 * every change log row has a known op and a count (5). */
static int decodable(pd_dict *d) {
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(d->db,
                               "SELECT i.key, i.type, i.value, n.name, i.id FROM permadict_rows i "
                               "JOIN permadict_namespaces n ON n.id = i.ns",
                               -1, &st, NULL);
  pd__buf buf = {0};
  int rc = PD_OK;
  while (src == SQLITE_OK || src == SQLITE_ROW) {
    src = pd__step(d, st);
    if (src != SQLITE_ROW) break;
    char why[256], kb[128];
    pd_val key, val;
    buf.len = 0;
    if (sqlite3_column_int64(st, 4) & 1) { /* a log row; entries' types are checked below */
      rc = log_row_check(st, &buf, why, sizeof why);
      if (rc == PD_ENOMEM) {
        rc = pd__err(d, rc, "out of memory checking values");
        break;
      }
      if (rc == PD_OK) continue;
      rc = pd__err(d, PD_ECORRUPT, "namespace '%s' of '%s', change log at version %lld: %s",
                   (const char *)sqlite3_column_text(st, 3), d->path,
                   (long long)((sqlite3_column_int64(st, 4) & PD__SLOT_ROWIDS_MINUS_1) >> 1),
                   why);
      break;
    }
    rc = pd__column_key(st, 0, &buf, &key, why, sizeof why);
    if (rc == PD_OK) rc = pd__column_value(st, 1, &buf, &val, why, sizeof why);
    pd__val_fix(&key, &buf); /* only now: reading the value may move buf */
    if (rc == PD_ENOMEM) {
      rc = pd__err(d, rc, "out of memory checking values");
      break;
    }
    if (rc) {
      rc = pd__err(d, PD_ECORRUPT, "namespace '%s' of '%s', key %s: %s",
                   (const char *)sqlite3_column_text(st, 3), d->path,
                   key.kind == PD_NULL ? "(unreadable)" : pd__key_describe(&key, kb, sizeof kb),
                   why);
      break;
    }
  }
  if (!rc && src != SQLITE_DONE) rc = pd__sqlite_err(d, src, "checking values");
  sqlite3_finalize(st);
  pd__buf_free(&buf);
  return rc;
}

/* Every namespace name is one (FORMAT.md 2): listing them checks each. */
static int names(pd_dict *d) {
  char **list = NULL;
  size_t n = 0;
  int rc = pd__sq_namespaces(d, &list, &n);
  pd_free_names(list, n);
  return rc;
}

int pd__sq_check(pd_dict *d) {
  int opened = 0;
  int rc = pd__sq_ns_flush(d);
  if (!rc) rc = pd__sq_read_begin(d, &opened);
  if (!rc) rc = integrity(d);
  if (!rc) rc = names(d);
  if (!rc) rc = counts(d);
  if (!rc) rc = decodable(d);
  pd__sq_read_end(d, opened);
  return rc;
}
