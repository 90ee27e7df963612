/* schema.c - the file format's schema and identity (FORMAT.md sections 1-2). */
#include "internal.h"

/* Kept byte for byte as in docs/FORMAT.md section 2. */
static const char schema_sql[] =
    "PRAGMA application_id = 1885696621;"
    "PRAGMA user_version = 2;"
    "BEGIN;"
    "CREATE TABLE permadict_namespaces ("
    "  id      INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name    TEXT NOT NULL UNIQUE"
    ");"
    "CREATE TABLE permadict_items ("
    "  id    INTEGER PRIMARY KEY,"
    "  ns    INTEGER NOT NULL,"
    "  key   NOT NULL,"
    "  type  INTEGER NOT NULL,"
    "  value,"
    "  UNIQUE (ns, key)"
    ");"
    "CREATE TABLE permadict_changes ("
    "  ns      INTEGER NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  op      INTEGER NOT NULL,"
    "  key,"
    "  count   INTEGER NOT NULL,"
    "  PRIMARY KEY (ns, version)"
    ") WITHOUT ROWID;"
    "COMMIT;";

int pd__schema_create(sqlite3 *db) {
  return sqlite3_exec(db, schema_sql, NULL, NULL, NULL);
}
