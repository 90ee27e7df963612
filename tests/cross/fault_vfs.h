/*
 * fault_vfs.h - an SQLite VFS shim that fails a chosen I/O call.
 *
 * fault_vfs_install() registers a VFS wrapping the default one ("unix") and
 * makes it the default, so a pd_open() after it goes through the shim. Each
 * xWrite, xTruncate and xSync of every file it opened (database, WAL,
 * journal) is counted per kind once armed; the Nth call of the armed kind
 * fails with SQLITE_IOERR_WRITE / _TRUNCATE / _FSYNC, and with persistent set
 * so does every later one, until fault_vfs_disarm(). Every xSync is also
 * counted by thread, to tell which thread synced.
 */
#ifndef PD_CROSS_FAULT_VFS_H
#define PD_CROSS_FAULT_VFS_H

enum fault_kind { FAULT_WRITE, FAULT_TRUNCATE, FAULT_SYNC };

int fault_vfs_install(void);
void fault_vfs_arm(enum fault_kind kind, int nth, int persistent);
void fault_vfs_disarm(void);
/* How many faults fired since the last arm. */
int fault_vfs_fired(void);
/* xSync calls through the shim since install: by the calling thread, and by
 * every thread (armed or not). */
int fault_vfs_syncs_here(void);
int fault_vfs_syncs_all(void);

#endif
