/*
 * engine_sqlite.c - the SQLite engine's operation table (engine.h). The
 * operations live in engine_sqlite_open.c (connect, commit stamp),
 * engine_sqlite_items.c, engine_sqlite_txn.c, engine_sqlite_scan.c and
 * engine_sqlite_maint.c, over the statement layer in backend_sqlite.c.
 */
#include "backend.h"
#include "engine.h"

const pd__engine_ops pd__engine_sqlite = {
    .name = "sqlite",
    .connect = pd__sq_connect,
    .disconnect = pd__sq_disconnect,
    .get = pd__sq_get,
    .count = pd__sq_count,
    .version = pd__sq_version,
    .put = pd__sq_put,
    .replace_found = pd__sq_replace_found,
    .remove = pd__sq_remove,
    .clear = pd__sq_clear,
    .drop_namespace = pd__sq_drop_namespace,
    .write_begin = pd__sq_write_begin,
    .write_commit = pd__sq_write_commit,
    .write_rollback = pd__sq_rollback,
    .txn_active = pd__sq_txn_active,
    .scan_page = pd__sq_scan_page,
    .scan_cursor_free = pd__sq_scan_cursor_free,
    .namespaces = pd__sq_namespaces,
    .changes = pd__sq_changes,
    .stats = pd__sq_stats,
    .check = pd__sq_check,
    .commit_stamp = pd__sq_commit_stamp,
};
