/*
 * hostile_files - files that are not permadict files are refused with a clear
 * error and left byte for byte as they were (no -wal or -shm appears either):
 * random bytes, a zero-byte file, another application's SQLite database, a
 * permadict file of a newer format version, one whose text is UTF-16, and a
 * truncated permadict file (which may open but must then fail pd_check, never
 * crash).
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cross_util.h"

static void sql(const char *path, const char *stmt) {
  sqlite3 *db;
  sqlite3_open(path, &db);
  char *err = NULL;
  if (sqlite3_exec(db, stmt, NULL, NULL, &err) != SQLITE_OK) {
    printf("setup SQL failed: %s\n", err);
    exit(2);
  }
  sqlite3_close(db);
}

static void refused(const char *name, const char *path, int want1, int want2) {
  size_t n0, n1;
  unsigned char *before = xu_read_file(path, &n0);
  for (int ro = 0; ro <= 1; ro++) {
    pd_options o = PD_OPTIONS_INIT;
    o.readonly = ro;
    pd_dict *d = NULL;
    int rc = pd_open(&d, path, &o);
    XU_CHECK(rc == want1 || rc == want2, "%s (readonly=%d): got %s: %s", name, ro,
             pd_errstr(rc), pd_errmsg(NULL));
    XU_CHECK(d == NULL, "%s: failed open returned a handle", name);
    XU_CHECK(strlen(pd_errmsg(NULL)) > 0, "%s: no message", name);
    pd_close(d);
  }
  unsigned char *after = xu_read_file(path, &n1);
  XU_CHECK(after && n0 == n1 && memcmp(before, after, n0) == 0, "%s: file bytes changed", name);
  char side[4200];
  snprintf(side, sizeof side, "%s-wal", path);
  XU_CHECK(!xu_exists(side), "%s: a -wal file appeared", name);
  snprintf(side, sizeof side, "%s-shm", path);
  XU_CHECK(!xu_exists(side), "%s: a -shm file appeared", name);
  free(before);
  free(after);
}

int main(void) {
  unsigned char junk[8192];
  srand(7);
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)rand();
  xu_write_file(xu_path("random.bin"), junk, sizeof junk);
  refused("random bytes", xu_path("random.bin"), PD_ENOTADB, PD_ENOTADB);

  xu_write_file(xu_path("empty.bin"), "", 0);
  refused("zero-byte file", xu_path("empty.bin"), PD_ENOTADB, PD_ENOTADB);

  xu_write_file(xu_path("text.txt"), "hello, not a database\n", 22);
  refused("text file", xu_path("text.txt"), PD_ENOTADB, PD_ENOTADB);

  sql(xu_path("other.db"), "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
  refused("another application's SQLite file", xu_path("other.db"), PD_EFORMAT, PD_EFORMAT);

  sql(xu_path("otherid.db"), "PRAGMA application_id = 1234; CREATE TABLE t(x);");
  refused("SQLite file with another application id", xu_path("otherid.db"), PD_EFORMAT,
          PD_EFORMAT);

  /* A permadict file whose user_version says "newer". */
  pd_dict *d = xu_open(xu_path("newer.pd"), NULL);
  pd_close(d);
  sql(xu_path("newer.pd"), "PRAGMA user_version = 99; PRAGMA journal_mode = DELETE;");
  refused("newer format version", xu_path("newer.pd"), PD_EFORMAT, PD_EFORMAT);

  /* Another writer following FORMAT.md made this file UTF-16, whose key
   * order is not the one the format promises (U+FF5A would come before "a").
   * It has the application id, user_version, tables, index and default
   * namespace of a permadict file, but not the views (permadict_items,
   * permadict_changes) lib/src/schema.c creates: the refusal asserted here
   * is about the text encoding, read from the SQLite file header. */
  sql(xu_path("utf16.pd"),
      "PRAGMA encoding = 'UTF-16le'; PRAGMA application_id = 1885696621; "
      "PRAGMA user_version = 3; "
      "CREATE TABLE permadict_namespaces (id INTEGER PRIMARY KEY AUTOINCREMENT, "
      "name TEXT NOT NULL UNIQUE, slot INTEGER NOT NULL UNIQUE); "
      "CREATE TABLE permadict_rows (id INTEGER PRIMARY KEY, ns INTEGER NOT NULL, key, "
      "type INTEGER NOT NULL, value); "
      "CREATE UNIQUE INDEX permadict_rows_key ON permadict_rows (ns, key) WHERE id & 1 = 0; "
      "INSERT INTO permadict_namespaces (name, slot) VALUES ('default', 0);");
  refused("UTF-16 text encoding", xu_path("utf16.pd"), PD_EFORMAT, PD_EFORMAT);
  XU_CHECK(strstr(pd_errmsg(NULL), "UTF-16") != NULL, "UTF-16 file: message does not say why: %s",
           pd_errmsg(NULL));

  /* Truncated: a real file cut in half (header kept). */
  d = xu_open(xu_path("full.pd"), NULL);
  for (int i = 0; i < 2000; i++) {
    pd_val k = pd_int(i), v = pd_text("some value to fill pages", 24);
    pd_set(d, &k, &v);
  }
  pd_close(d);
  sql(xu_path("full.pd"), "PRAGMA journal_mode = DELETE;");
  size_t n;
  unsigned char *whole = xu_read_file(xu_path("full.pd"), &n);
  xu_write_file(xu_path("truncated.pd"), whole, n / 2);
  size_t n0;
  unsigned char *before = xu_read_file(xu_path("truncated.pd"), &n0);
  pd_options o = PD_OPTIONS_INIT;
  o.readonly = 1;
  int rc = pd_open(&d, xu_path("truncated.pd"), &o);
  if (rc == PD_OK) {
    rc = pd_check(d);
    XU_CHECK(rc == PD_ECORRUPT, "truncated file passes pd_check (%s)", pd_errstr(rc));
    pd_close(d);
  } else {
    XU_CHECK(rc == PD_ECORRUPT || rc == PD_ENOTADB, "truncated: open got %s: %s",
             pd_errstr(rc), pd_errmsg(NULL));
  }
  size_t n1;
  unsigned char *after = xu_read_file(xu_path("truncated.pd"), &n1);
  XU_CHECK(n0 == n1 && memcmp(before, after, n0) == 0, "truncated file changed by a read-only open");
  free(whole);
  free(before);
  free(after);
  return xu_finish();
}
