/*
 * engine_sqlite_scan.c - the SQLite engine's multi-row reads: scan pages for
 * iterators, the namespace list and the change log.
 *
 * A scan page is one SELECT ... ORDER BY key LIMIT n whose rows are copied
 * into iterator-owned memory; the statement is reset before the page is
 * handed out, so no read transaction is held between pages (writers are
 * never blocked and a WAL checkpoint is never pinned). The next page starts
 * strictly after the last key of a full page (the cursor: a duplicated
 * sqlite3_value, so even a key of a storage class permadict never writes is
 * stepped past), so keys deleted meanwhile are simply skipped, never an
 * error. A short page is the last one: the iterator asks for no other.
 * A NULL key (only a damaged file has one) sorts first and no key compares
 * greater than it, so a full page of NULL keys is followed by the page of
 * the first non-NULL keys: iteration goes on past the damage it reported.
 * (NULL keys beyond that first page cannot be told apart by key, and are
 * skipped unreported.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "engine.h"

/* Reads one row into the page; decode problems are kept for the iterator. */
static int read_row(pd__page *p, sqlite3_stmt *st, int values) {
  int rc = pd__page_reserve(p);
  if (rc) return rc;
  pd__row *r = &p->rows[p->n];
  char why[256];
  memset(r, 0, sizeof *r);
  r->value = pd_null();
  rc = pd__column_key(st, 0, &p->buf, &r->key, why, sizeof why);
  if (rc == PD_OK && values) rc = pd__column_value(st, 1, &p->buf, &r->value, why, sizeof why);
  if (rc == PD_ENOMEM) return rc;
  if (rc == PD_EDECODE) {
    r->rc = rc;
    r->msg_at = pd__buf_append(&p->buf, why, strlen(why));
    if (r->msg_at == (size_t)-1) return PD_ENOMEM;
  }
  p->n++;
  return PD_OK;
}

/* The handle's statement for one shape of page, prepared on first use and
 * kept like the single-row ones: preparing it for every page cost a quarter
 * of a full iteration's time (~65,000 instructions a page of 256). */
/* lower: 0 none, 1 from ?2, 2 after ?2 (the cursor), 3 after NULL keys. */
static sqlite3_stmt *scan_stmt(pd_dict *d, int values, int lower, int upper, int *rc) {
  int id = PD__ST_SCAN_ + (values * 4 + lower) * 2 + upper;
  if (d->stmts[id]) return d->stmts[id];
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT key%s FROM permadict_rows WHERE ns = ?1 AND id & 1 = 0%s%s "
           "ORDER BY key LIMIT ?4",
           values ? ", type, value" : "",
           lower == 3   ? " AND key IS NOT NULL"
           : lower == 2 ? " AND key > ?2"
           : lower == 1 ? " AND key >= ?2"
                        : "",
           upper ? " AND key < ?3" : "");
  return pd__stmt_of_sql(d, id, sql, rc);
}

int pd__sq_scan_page(pd_dict *d, const pd__scan *req, void **cursor, pd__page *page) {
  sqlite3_value **last = (sqlite3_value **)cursor;
  int lower = !*last ? (req->lo ? 1 : 0) : sqlite3_value_type(*last) == SQLITE_NULL ? 3 : 2;
  int rc = pd__sq_sets_flush(d); /* the transaction's held sets are items too */
  if (rc) return rc;
  sqlite3_stmt *st = scan_stmt(d, req->values != 0, lower, req->hi != NULL, &rc);
  if (!st) return rc;
  sqlite3_bind_int64(st, 1, d->ns_id);
  if (lower == 2) sqlite3_bind_value(st, 2, *last);
  else if (lower == 1) pd__bind_key(st, 2, req->lo);
  if (req->hi) pd__bind_key(st, 3, req->hi);
  sqlite3_bind_int64(st, 4, (sqlite3_int64)req->limit);

  page->buf.len = 0;
  page->n = 0;
  for (int attempt = 0;; attempt++) {
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
      if ((rc = read_row(page, st, req->values))) {
        if (rc == PD_ENOMEM) rc = pd__err(d, rc, "out of memory while iterating");
        break;
      }
      /* Only a full page has a next one; a copy of every key cost more
       * than the rest of the row's reading. */
      if (page->n < req->limit) continue;
      sqlite3_value *v = sqlite3_value_dup(sqlite3_column_value(st, 0));
      if (!v) {
        rc = pd__err(d, PD_ENOMEM, "out of memory while iterating");
        break;
      }
      sqlite3_value_free(*last);
      *last = v;
      continue;
    }
    if (src == SQLITE_DONE) break;
    if (((src & 0xff) == SQLITE_BUSY) && page->n == 0 && !d->timed_out &&
        pd__busy_retry(d, attempt)) {
      sqlite3_reset(st);
      continue;
    }
    rc = pd__sqlite_err(d, src, "iterating");
    break;
  }
  pd__stmt_done(st); /* ends the page's read transaction */
  if (rc) return rc;
  for (size_t i = 0; i < page->n; i++) {
    pd__val_fix(&page->rows[i].key, &page->buf);
    pd__val_fix(&page->rows[i].value, &page->buf);
  }
  return PD_OK;
}

void pd__sq_scan_cursor_free(void *cursor) { sqlite3_value_free(cursor); }

/* The name column of st (its id next), or NULL (out of memory, or *rc set:
 * damage). A stored name that is not a valid name (FORMAT.md 2: a BLOB, a
 * zero byte that cuts it short, ...) would be handed out as another one,
 * which opens (or creates) another namespace. */
static const char *stored_name(pd_dict *d, sqlite3_stmt *st, int *rc) {
  int text = sqlite3_column_type(st, 0) == SQLITE_TEXT; /* before any conversion */
  const char *s = (const char *)sqlite3_column_text(st, 0);
  if (!s) return NULL;
  char why[128];
  if (!text) snprintf(why, sizeof why, "a namespace name is not stored as text");
  else if (strlen(s) != (size_t)sqlite3_column_bytes(st, 0))
    snprintf(why, sizeof why, "a namespace name holds a zero byte");
  else if (pd__name_check(s, why, sizeof why) == PD_OK) return s;
  *rc = pd__err(d, PD_ECORRUPT,
                "'%s' is damaged: the name of namespace id %lld is not a valid name (%s)",
                d->path, (long long)sqlite3_column_int64(st, 1), why);
  return NULL;
}

int pd__sq_namespaces(pd_dict *d, char ***out, size_t *count) {
  int rc = pd__sq_ns_flush(d); /* nothing to do with names, but keeps rows current */
  if (rc) return rc;
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(d->db, "SELECT name, id FROM permadict_namespaces ORDER BY name",
                               -1, &st, NULL);
  if (src != SQLITE_OK) return pd__sqlite_err(d, src, "listing namespaces");
  char **names = NULL;
  size_t n = 0, cap = 0;
  for (int attempt = 0;; attempt++) {
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
      if (n == cap) {
        cap = cap ? cap * 2 : 8;
        char **grown = realloc(names, cap * sizeof *names);
        if (!grown) break;
        names = grown;
      }
      const char *s = stored_name(d, st, &rc);
      if (rc) break;
      if (!s || !(names[n] = strdup(s))) break;
      n++;
      continue;
    }
    if ((src & 0xff) == SQLITE_BUSY && n == 0 && !d->timed_out && pd__busy_retry(d, attempt)) {
      sqlite3_reset(st);
      continue;
    }
    break;
  }
  if (rc) { /* a damaged name: reported by stored_name */
  } else if (src == SQLITE_ROW) {
    rc = pd__err(d, PD_ENOMEM, "out of memory listing namespaces");
  } else if (src != SQLITE_DONE) {
    rc = pd__sqlite_err(d, src, "listing namespaces");
  }
  sqlite3_finalize(st);
  if (rc) {
    pd_free_names(names, n);
    return rc;
  }
  *out = names;
  *count = n;
  return PD_OK;
}

/* Runs sql bound with ?1 = id and ?2 = base; returns PD code. */
static int run_with_id(pd_dict *d, const char *sql, int64_t id, int64_t base) {
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(d->db, sql, -1, &st, NULL);
  if (src == SQLITE_OK) {
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_bind_parameter_count(st) > 1) sqlite3_bind_int64(st, 2, base);
    src = pd__step(d, st);
  }
  sqlite3_finalize(st);
  return src == SQLITE_DONE ? PD_OK : pd__sqlite_err(d, src, "dropping a namespace");
}

int pd__sq_drop_namespace(pd_dict *d, const char *name, int *partial) {
  int rc = pd__sq_ns_flush(d);
  if (rc) return rc;
  sqlite3_stmt *st = NULL;
  int64_t id = 0, slot = 0;
  int src = sqlite3_prepare_v2(d->db,
                               "SELECT id, slot FROM permadict_namespaces WHERE name = ?1",
                               -1, &st, NULL);
  if (src == SQLITE_OK) {
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    src = pd__step(d, st);
    if (src == SQLITE_ROW) {
      id = sqlite3_column_int64(st, 0);
      slot = sqlite3_column_int64(st, 1);
    }
  }
  sqlite3_finalize(st);
  if (src == SQLITE_DONE)
    return pd__err(d, PD_ENOTFOUND, "namespace '%s' does not exist in '%s'", name, d->path);
  if (src != SQLITE_ROW) return pd__sqlite_err(d, src, "looking up a namespace");
  rc = pd__sq_slot_check(d, name, slot);
  if (rc) return rc;
  /* Entries, log and row go together: handles still open on the namespace
   * then read it as empty, and their writes find no row (PD_EGONE). Ids are
   * AUTOINCREMENT (FORMAT.md 2), so a namespace made later never takes this
   * id over and those handles stay gone instead of writing into it; it may
   * take the slot, which is empty now, but every statement names the id. */
  *partial = 1;
  rc = run_with_id(d,
                   "DELETE FROM permadict_rows WHERE id BETWEEN ?2 AND ?2 + "
                   PD__STR(PD__SLOT_ROWIDS_MINUS_1) " AND ns = ?1",
                   id, slot << PD__SLOT_SHIFT);
  if (!rc) rc = run_with_id(d, "DELETE FROM permadict_namespaces WHERE id = ?1", id, 0);
  /* Our own namespace's row must be read again: it is gone now. */
  if (id == d->ns_id) pd__sq_ns_forget(d);
  return rc;
}

static int resync(pd_dict *d, int64_t since) {
  return pd__err(d, PD_ERESYNC,
                 "the change log of namespace '%s' no longer reaches back to version "
                 "%lld: re-read everything",
                 d->name, (long long)since + 1);
}

/* Reads the log rows after since up to version upto, which must be one
 * unbroken run (FORMAT.md 5): a hole means rows were pruned, so resync. */
static int load_changes(pd_dict *d, pd__change_list *c, int64_t since, int64_t upto) {
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(d->db,
                               "SELECT (id - ?2) >> 1, key, type FROM permadict_rows "
                               "WHERE id BETWEEN ?3 AND ?4 AND type < 0 AND ns = ?1 ORDER BY id",
                               -1, &st, NULL);
  if (src != SQLITE_OK) return pd__sqlite_err(d, src, "reading the change log");
  sqlite3_bind_int64(st, 1, d->ns_id);
  sqlite3_bind_int64(st, 2, d->ns_base);
  sqlite3_bind_int64(st, 3, pd__log_rowid(d, since + 1));
  sqlite3_bind_int64(st, 4, pd__log_rowid(d, upto));
  int rc = PD_OK;
  int64_t expect = since + 1;
  while ((src = pd__step(d, st)) == SQLITE_ROW) {
    if (c->n == c->cap) {
      size_t cap = c->cap ? c->cap * 2 : 64;
      pd_change *r = realloc(c->rows, cap * sizeof *r);
      if (!r) {
        rc = pd__err(d, PD_ENOMEM, "out of memory reading the change log");
        break;
      }
      c->rows = r;
      c->cap = cap;
    }
    pd_change *ch = &c->rows[c->n];
    ch->version = sqlite3_column_int64(st, 0);
    if (ch->version != expect++) {
      rc = resync(d, since);
      break;
    }
    char why[200];
    rc = pd__column_log_row(st, 1, &c->buf, &ch->op, &ch->key, why, sizeof why);
    if (rc == PD_ENOMEM) rc = pd__err(d, rc, "out of memory reading the change log");
    else if (rc) rc = pd__err(d, rc, "change log of '%s' at version %lld: %s", d->path,
                              (long long)ch->version, why);
    if (rc) break;
    c->n++;
  }
  if (!rc && src != SQLITE_DONE) rc = pd__sqlite_err(d, src, "reading the change log");
  if (!rc && expect != upto + 1) rc = resync(d, since);
  sqlite3_finalize(st);
  for (size_t i = 0; i < c->n; i++) pd__val_fix(&c->rows[i].key, &c->buf);
  return rc;
}

int pd__sq_changes(pd_dict *d, int64_t since, pd__change_list *c) {
  int opened = 0;
  int64_t version = 0;
  int found = 0;
  /* One read transaction so version, log start and rows agree. */
  int rc = pd__sq_read_begin(d, &opened);
  if (!rc) rc = pd__sq_version(d, &version);
  if (!rc && since > version)
    rc = pd__err(d, PD_ERESYNC,
                 "asked for changes after version %lld but namespace '%s' is at %lld, "
                 "so that version is not one of this namespace's (dropped and recreated "
                 "since, or taken from another namespace): re-read everything",
                 (long long)since, d->name, (long long)version);
  if (!rc && since < version) {
    rc = pd__sq_ns_flush(d); /* pending log rows are written; the row too */
    if (!rc) rc = pd__sq_logged(d, since + 1, &found);
    if (!rc && !found) rc = resync(d, since);
    if (!rc) rc = load_changes(d, c, since, version);
  }
  pd__sq_read_end(d, opened);
  return rc;
}
