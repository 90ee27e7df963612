/* fault_vfs.c - see fault_vfs.h. Only the three counted methods differ from
 * the wrapped VFS; everything else is passed straight through. */
#include "fault_vfs.h"

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct shim_file {
  sqlite3_file base;  /* must be first: SQLite sees a shim_file */
  sqlite3_file *real; /* the wrapped VFS's file, allocated after us */
} shim_file;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs shim_vfs;
static sqlite3_io_methods shim_methods;

static int armed, armed_kind, armed_nth, armed_persistent, calls, fired;

void fault_vfs_arm(enum fault_kind kind, int nth, int persistent) {
  armed_kind = kind;
  armed_nth = nth;
  armed_persistent = persistent;
  calls = 0;
  fired = 0;
  armed = 1;
}

static _Thread_local int syncs_here;
static atomic_int syncs_all;

int fault_vfs_syncs_here(void) { return syncs_here; }
int fault_vfs_syncs_all(void) { return atomic_load(&syncs_all); }

void fault_vfs_disarm(void) { armed = 0; }
int fault_vfs_fired(void) { return fired; }

/* 1 when this call of kind must fail. */
static int should_fail(int kind) {
  if (!armed || kind != armed_kind) return 0;
  calls++;
  if (calls == armed_nth || (armed_persistent && calls > armed_nth)) {
    fired++;
    return 1;
  }
  return 0;
}

#define REAL(f) (((shim_file *)(f))->real)

static int shim_close(sqlite3_file *f) {
  int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
  return rc;
}
static int shim_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off) {
  return REAL(f)->pMethods->xRead(REAL(f), p, n, off);
}
static int shim_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off) {
  if (should_fail(FAULT_WRITE)) return SQLITE_IOERR_WRITE;
  return REAL(f)->pMethods->xWrite(REAL(f), p, n, off);
}
static int shim_truncate(sqlite3_file *f, sqlite3_int64 size) {
  if (should_fail(FAULT_TRUNCATE)) return SQLITE_IOERR_TRUNCATE;
  return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int shim_sync(sqlite3_file *f, int flags) {
  syncs_here++;
  atomic_fetch_add(&syncs_all, 1);
  if (should_fail(FAULT_SYNC)) return SQLITE_IOERR_FSYNC;
  return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int shim_file_size(sqlite3_file *f, sqlite3_int64 *out) {
  return REAL(f)->pMethods->xFileSize(REAL(f), out);
}
static int shim_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int shim_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int shim_check_reserved(sqlite3_file *f, int *out) {
  return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int shim_file_control(sqlite3_file *f, int op, void *arg) {
  return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int shim_sector_size(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int shim_device_chars(sqlite3_file *f) {
  return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int shim_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **pp) {
  return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, pp);
}
static int shim_shm_lock(sqlite3_file *f, int off, int n, int flags) {
  return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void shim_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int shim_shm_unmap(sqlite3_file *f, int del) {
  return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int shim_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp) {
  return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}
static int shim_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p) {
  return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static int shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
                     int *out_flags) {
  (void)vfs;
  shim_file *s = (shim_file *)f;
  s->real = (sqlite3_file *)(s + 1);
  memset(s->real, 0, (size_t)real_vfs->szOsFile);
  int rc = real_vfs->xOpen(real_vfs, name, s->real, flags, out_flags);
  /* SQLite calls xClose only when pMethods is set; keep ours NULL on failure. */
  f->pMethods = s->real->pMethods ? &shim_methods : NULL;
  return rc;
}

static int shim_delete(sqlite3_vfs *v, const char *name, int sync) {
  (void)v;
  return real_vfs->xDelete(real_vfs, name, sync);
}
static int shim_access(sqlite3_vfs *v, const char *name, int flags, int *out) {
  (void)v;
  return real_vfs->xAccess(real_vfs, name, flags, out);
}
static int shim_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out) {
  (void)v;
  return real_vfs->xFullPathname(real_vfs, name, n, out);
}
static void *shim_dlopen(sqlite3_vfs *v, const char *name) {
  (void)v;
  return real_vfs->xDlOpen(real_vfs, name);
}
static void shim_dlerror(sqlite3_vfs *v, int n, char *out) {
  (void)v;
  real_vfs->xDlError(real_vfs, n, out);
}
static void (*shim_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void) {
  (void)v;
  return real_vfs->xDlSym(real_vfs, h, sym);
}
static void shim_dlclose(sqlite3_vfs *v, void *h) {
  (void)v;
  real_vfs->xDlClose(real_vfs, h);
}
static int shim_randomness(sqlite3_vfs *v, int n, char *out) {
  (void)v;
  return real_vfs->xRandomness(real_vfs, n, out);
}
static int shim_sleep(sqlite3_vfs *v, int us) {
  (void)v;
  return real_vfs->xSleep(real_vfs, us);
}
static int shim_current_time(sqlite3_vfs *v, double *out) {
  (void)v;
  return real_vfs->xCurrentTime(real_vfs, out);
}
static int shim_last_error(sqlite3_vfs *v, int n, char *out) {
  (void)v;
  return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}
static int shim_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *out) {
  (void)v;
  return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

int fault_vfs_install(void) {
  real_vfs = sqlite3_vfs_find(NULL);
  if (!real_vfs) return SQLITE_ERROR;
  shim_methods = (sqlite3_io_methods){
      3, shim_close, shim_read, shim_write, shim_truncate, shim_sync, shim_file_size,
      shim_lock, shim_unlock, shim_check_reserved, shim_file_control, shim_sector_size,
      shim_device_chars, shim_shm_map, shim_shm_lock, shim_shm_barrier, shim_shm_unmap,
      shim_fetch, shim_unfetch};
  shim_vfs = (sqlite3_vfs){2, (int)sizeof(shim_file) + real_vfs->szOsFile,
                           real_vfs->mxPathname, NULL, "pd_fault", NULL, shim_open,
                           shim_delete, shim_access, shim_full_pathname, shim_dlopen,
                           shim_dlerror, shim_dlsym, shim_dlclose, shim_randomness,
                           shim_sleep, shim_current_time, shim_last_error,
                           shim_current_time_int64, NULL, NULL, NULL};
  return sqlite3_vfs_register(&shim_vfs, 1);
}
