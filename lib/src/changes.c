/*
 * changes.c - the reading side of the change log (FORMAT.md section 5):
 * pd_version and pd_changes_*. (pd_wait and pd_watch_fd live in watch.c.)
 */
#include <stdlib.h>

#include "backend.h"

struct pd_changes {
  pd__buf buf;      /* key bytes */
  pd_change *rows;
  size_t n, cap, pos;
};

/* Reads the namespace's version; PD_EGONE when the namespace was dropped. */
static int read_version(pd_dict *d, int64_t *out) {
  int rc = PD_OK;
  sqlite3_stmt *st = pd__stmt(d, PD__ST_NAMESPACE_ROW, &rc);
  if (!st) return rc;
  sqlite3_bind_int64(st, 1, d->ns_id);
  int src = pd__step(d, st);
  if (src == SQLITE_ROW) *out = sqlite3_column_int64(st, 1);
  pd__stmt_done(st);
  if (src == SQLITE_DONE)
    return pd__err(d, PD_EGONE, "namespace '%s' of '%s' was dropped", d->name, d->path);
  if (src != SQLITE_ROW) return pd__sqlite_err(d, src, "reading the version");
  return PD_OK;
}

int pd_version(pd_dict *d, int64_t *out) {
  int rc = pd__enter(d);
  if (rc) return rc;
  if (!out) return pd__leave(d, pd__err(d, PD_EINVALID, "pd_version: out is NULL"));
  return pd__leave(d, read_version(d, out));
}

void pd_changes_free(pd_changes *c) {
  if (!c) return;
  pd__buf_free(&c->buf);
  free(c->rows);
  free(c);
}

static int oldest_logged(pd_dict *d, int64_t *oldest, int *any) {
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(
      d->db, "SELECT min(version) FROM permadict_changes WHERE ns = ?1", -1, &st, NULL);
  if (src == SQLITE_OK) {
    sqlite3_bind_int64(st, 1, d->ns_id);
    src = pd__step(d, st);
  }
  *any = src == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
  if (*any) *oldest = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return src == SQLITE_ROW ? PD_OK : pd__sqlite_err(d, src, "reading the change log");
}

static int load_changes(pd_dict *d, pd_changes *c, int64_t since) {
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(d->db,
                               "SELECT version, op, key FROM permadict_changes "
                               "WHERE ns = ?1 AND version > ?2 ORDER BY version",
                               -1, &st, NULL);
  if (src != SQLITE_OK) return pd__sqlite_err(d, src, "reading the change log");
  sqlite3_bind_int64(st, 1, d->ns_id);
  sqlite3_bind_int64(st, 2, since);
  int rc = PD_OK;
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
    ch->op = (pd_change_op)sqlite3_column_int(st, 1);
    ch->key = pd_null();
    if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
      char why[200];
      rc = pd__column_key(st, 2, &c->buf, &ch->key, why, sizeof why);
      if (rc == PD_ENOMEM) rc = pd__err(d, rc, "out of memory reading the change log");
      else if (rc) rc = pd__err(d, rc, "change log of '%s' at version %lld: %s", d->path,
                                (long long)ch->version, why);
      if (rc) break;
    }
    c->n++;
  }
  if (!rc && src != SQLITE_DONE) rc = pd__sqlite_err(d, src, "reading the change log");
  sqlite3_finalize(st);
  for (size_t i = 0; i < c->n; i++) pd__val_fix(&c->rows[i].key, &c->buf);
  return rc;
}

int pd_changes_open(pd_changes **out, pd_dict *d, int64_t since) {
  if (!out) return PD_EINVALID;
  *out = NULL;
  int rc = pd__enter(d);
  if (rc) return rc;
  pd_changes *c = calloc(1, sizeof *c);
  if (!c) return pd__leave(d, pd__err(d, PD_ENOMEM, "out of memory"));
  int opened = 0;
  int64_t version = 0, oldest = 0;
  int any = 0;
  /* One read transaction so version, log start and rows agree. */
  rc = pd__read_begin(d, &opened);
  if (!rc) rc = read_version(d, &version);
  if (!rc && since > version)
    rc = pd__err(d, PD_ERESYNC,
                 "asked for changes after version %lld but namespace '%s' is at %lld "
                 "(it was dropped and recreated): re-read everything",
                 (long long)since, d->name, (long long)version);
  if (!rc && since < version) {
    rc = oldest_logged(d, &oldest, &any);
    if (!rc && (!any || oldest > since + 1))
      rc = pd__err(d, PD_ERESYNC,
                   "the change log of namespace '%s' no longer reaches back to version "
                   "%lld: re-read everything",
                   d->name, (long long)since + 1);
    if (!rc) rc = load_changes(d, c, since);
  }
  pd__read_end(d, opened);
  if (rc) {
    pd_changes_free(c);
    return pd__leave(d, rc);
  }
  *out = c;
  return pd__leave(d, PD_OK);
}

int pd_changes_next(pd_changes *c, pd_change *out) {
  if (!c || !out) return PD_EINVALID;
  if (c->pos >= c->n) return PD_ITEROVER;
  *out = c->rows[c->pos++];
  return PD_OK;
}
