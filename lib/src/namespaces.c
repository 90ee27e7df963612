/*
 * namespaces.c - listing and dropping namespaces. Names are always bound as
 * SQL parameters, never spliced into SQL text, so any valid name is safe.
 */
#include <stdlib.h>
#include <string.h>

#include "backend.h"

void pd_free_names(char **names, size_t count) {
  if (!names) return;
  for (size_t i = 0; i < count; i++) free(names[i]);
  free(names);
}

int pd_namespaces(pd_dict *d, char ***out, size_t *count) {
  int rc = pd__enter(d);
  if (rc) return rc;
  if (!out || !count) return pd__leave(d, pd__err(d, PD_EINVALID, "pd_namespaces: out is NULL"));
  *out = NULL;
  *count = 0;
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(d->db, "SELECT name FROM permadict_namespaces ORDER BY name",
                               -1, &st, NULL);
  if (src != SQLITE_OK) return pd__leave(d, pd__sqlite_err(d, src, "listing namespaces"));
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
      const char *s = (const char *)sqlite3_column_text(st, 0);
      if (!(names[n] = strdup(s ? s : ""))) break;
      n++;
      continue;
    }
    if ((src & 0xff) == SQLITE_BUSY && n == 0 && !d->timed_out && pd__busy_retry(d, attempt)) {
      sqlite3_reset(st);
      continue;
    }
    break;
  }
  if (src == SQLITE_ROW) rc = pd__err(d, PD_ENOMEM, "out of memory listing namespaces");
  else if (src != SQLITE_DONE) rc = pd__sqlite_err(d, src, "listing namespaces");
  sqlite3_finalize(st);
  if (rc) {
    pd_free_names(names, n);
    return pd__leave(d, rc);
  }
  *out = names;
  *count = n;
  return pd__leave(d, PD_OK);
}

/* Runs sql bound with ?1 = id; returns PD code. */
static int run_with_id(pd_dict *d, const char *sql, int64_t id) {
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(d->db, sql, -1, &st, NULL);
  if (src == SQLITE_OK) {
    sqlite3_bind_int64(st, 1, id);
    src = pd__step(d, st);
  }
  sqlite3_finalize(st);
  return src == SQLITE_DONE ? PD_OK : pd__sqlite_err(d, src, "dropping a namespace");
}

int pd_drop_namespace(pd_dict *d, const char *name) {
  int rc = pd__enter(d);
  if (rc) return rc;
  char why[200];
  rc = pd__name_check(name, why, sizeof why);
  if (rc) return pd__leave(d, pd__err(d, rc, "pd_drop_namespace: %s", why));
  int opened = 0, partial = 0;
  rc = pd__write_begin(d, &opened);
  if (rc) return pd__leave(d, rc);
  sqlite3_stmt *st = NULL;
  int64_t id = 0;
  int src = sqlite3_prepare_v2(d->db, "SELECT id FROM permadict_namespaces WHERE name = ?1",
                               -1, &st, NULL);
  if (src == SQLITE_OK) {
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    src = pd__step(d, st);
    if (src == SQLITE_ROW) id = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  if (src == SQLITE_DONE)
    rc = pd__err(d, PD_ENOTFOUND, "namespace '%s' does not exist in '%s'", name, d->path);
  else if (src != SQLITE_ROW)
    rc = pd__sqlite_err(d, src, "looking up a namespace");
  /* Items, log and row go together: handles still open on the namespace
   * then read it as empty, and their writes find no row (PD_EGONE). */
  if (!rc) {
    partial = 1;
    rc = run_with_id(d, "DELETE FROM permadict_items WHERE ns = ?1", id);
  }
  if (!rc) rc = run_with_id(d, "DELETE FROM permadict_changes WHERE ns = ?1", id);
  if (!rc) rc = run_with_id(d, "DELETE FROM permadict_namespaces WHERE id = ?1", id);
  rc = pd__write_end(d, opened, rc, partial);
  return pd__leave(d, rc);
}
