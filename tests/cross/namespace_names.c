/*
 * namespace_names - hostile namespace names are stored safely (as data, not
 * SQL) or refused with a clear error, and the schema never changes: quotes,
 * SQL injection, 10,000 characters, the name of SQLite's own table, an empty
 * name, invalid UTF-8. (A zero byte cannot pass through a C string; the
 * bindings test that case.)
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "cross_util.h"

static char *schema_of(const char *path) {
  sqlite3 *db;
  sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
  sqlite3_stmt *st;
  sqlite3_prepare_v2(db, "SELECT group_concat(type || name || ifnull(sql, ''), ';') FROM "
                         "(SELECT * FROM sqlite_master ORDER BY name)", -1, &st, NULL);
  sqlite3_step(st);
  char *s = strdup((const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return s;
}

static void try_name(const char *path, const char *label, const char *name, int must_store) {
  pd_options o = PD_OPTIONS_INIT;
  o.name = name;
  pd_dict *d = NULL;
  int rc = pd_open(&d, path, &o);
  if (must_store) {
    XU_CHECK(rc == PD_OK, "%s: refused: %s: %s", label, pd_errstr(rc), pd_errmsg(NULL));
  } else {
    XU_CHECK(rc == PD_EINVALID || rc == PD_ETOOBIG, "%s: got %s: %s", label, pd_errstr(rc),
             pd_errmsg(NULL));
    XU_CHECK(rc == PD_OK || strlen(pd_errmsg(NULL)) > 0, "%s: refused without a message", label);
  }
  if (rc != PD_OK) return;
  pd_val k = pd_text("k", 1), v = pd_text(label, strlen(label)), got;
  XU_RC(pd_set(d, &k, &v), PD_OK, d, label);
  XU_CHECK(strcmp(pd_name(d), name) == 0, "%s: pd_name differs", label);
  pd_close(d);
  d = NULL;
  rc = pd_open(&d, path, &o);
  XU_RC(rc, PD_OK, NULL, label);
  if (rc != PD_OK) return;
  XU_RC(pd_get(d, &k, &got), PD_OK, d, label);
  XU_CHECK(got.kind == PD_TEXT && got.u.s.len == strlen(label) &&
               memcmp(got.u.s.ptr, label, got.u.s.len) == 0,
           "%s: namespace holds another namespace's value", label);
  char **names;
  size_t n;
  int found = 0;
  XU_RC(pd_namespaces(d, &names, &n), PD_OK, d, "namespaces");
  for (size_t i = 0; i < n; i++) found |= strcmp(names[i], name) == 0;
  pd_free_names(names, n);
  XU_CHECK(found, "%s: not listed by pd_namespaces", label);
  pd_close(d);
}

int main(void) {
  const char *path = xu_path("names.pd");
  pd_dict *d = xu_open(path, NULL);
  pd_close(d);
  char *before = schema_of(path);

  try_name(path, "single quote", "it's", 1);
  try_name(path, "double quote", "say \"hi\"", 1);
  try_name(path, "sql injection", "\"; DROP TABLE permadict_items; --", 1);
  try_name(path, "sql injection 2", "x'); DROP TABLE permadict_namespaces; --", 1);
  try_name(path, "sqlite_master", "sqlite_master", 1);
  try_name(path, "permadict_items", "permadict_items", 1);
  try_name(path, "empty name", "", 0);
  char *long_name = malloc(10001);
  memset(long_name, 'n', 10000);
  long_name[10000] = 0;
  try_name(path, "10,000 characters", long_name, 0);
  long_name[255] = 0;
  try_name(path, "exactly 255 bytes", long_name, 1);
  long_name[255] = 'n';
  long_name[256] = 0;
  try_name(path, "256 bytes", long_name, 0);
  free(long_name);
  try_name(path, "invalid UTF-8", "bad\xff\xfe", 0);

  char *after = schema_of(path);
  XU_CHECK(strcmp(before, after) == 0, "schema changed:\n%s\n--\n%s", before, after);
  d = xu_open(path, NULL);
  XU_RC(pd_check(d), PD_OK, d, "check");
  pd_close(d);
  free(before);
  free(after);
  return xu_finish();
}
