/* schema.c - the file format's schema and identity (FORMAT.md sections 1-2). */
#include "internal.h"

/* Kept byte for byte as in docs/FORMAT.md section 2. */
static const char schema_sql[] =
    "PRAGMA application_id = 1885696621;"
    "PRAGMA user_version = 3;"
    "BEGIN;"
    "CREATE TABLE permadict_namespaces ("
    "  id    INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name  TEXT NOT NULL UNIQUE,"
    "  slot  INTEGER NOT NULL UNIQUE"
    ");"
    "CREATE TABLE permadict_rows ("
    "  id    INTEGER PRIMARY KEY,"
    "  ns    INTEGER NOT NULL,"
    "  key,"
    "  type  INTEGER NOT NULL,"
    "  value"
    ");"
    "CREATE UNIQUE INDEX permadict_rows_key ON permadict_rows (ns, key) WHERE id & 1 = 0;"
    "CREATE VIEW permadict_items AS"
    "  SELECT ns, key, type, value FROM permadict_rows WHERE id & 1 = 0;"
    "CREATE VIEW permadict_changes AS"
    "  SELECT ns, (id & 17592186044415) >> 1 AS version, -type AS op, key, value AS count"
    "  FROM permadict_rows WHERE id & 1 = 1;"
    "COMMIT;";
_Static_assert(PD__SLOT_SHIFT == 44, "schema_sql's 17592186044415 is 2^44 - 1");

int pd__schema_create(sqlite3 *db) {
  return sqlite3_exec(db, schema_sql, NULL, NULL, NULL);
}
