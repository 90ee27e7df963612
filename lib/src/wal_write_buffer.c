/*
 * wal_write_buffer.c - a VFS over SQLite's default one that gathers a
 * connection's WAL writes in a buffer and hands them to the kernel a
 * buffer at a time.
 *
 * Why: SQLite writes each WAL frame with two pwrite calls, its 24-byte
 * header and then its page, and on this machine a call costs more than the
 * bytes it copies. A loop of pwrite calls writing 35,000 frames (what
 * 100,000 sets of 1 KiB values make) took 4.9 us a frame that way and 1.5
 * us in 128 KiB writes on a new file, 2.7 against 0.7 us over an existing
 * one (ext4). In the library (bench_kv, 2 interleaved runs against the
 * build before): set inside a transaction 4.55-4.61 -> 3.10-3.17 us with
 * 1 KiB values, 1.39-1.41 -> 1.20-1.22 with 100 bytes; autocommit set
 * 26.1-27.0 -> 24.1-24.5 us.
 *
 * The buffer may only hold what nobody else can need yet:
 *  - Other connections learn of frames from the WAL-index header, which a
 *    commit rewrites after writing its frames (walformat.html 2.1). A commit
 *    ends with its commit frame, whose header carries the database size
 *    (fileformat2.html 4.1; 0 in every other frame). The write of that
 *    frame's page writes the whole buffer before it returns, and if that
 *    fails, the write fails: SQLite then rolls back and publishes nothing.
 *  - This connection reads back frames it spilled during a long
 *    transaction: a read inside the buffer is answered from it, one across
 *    its edge writes it first. A sync, truncate or size does the same.
 *  - Whatever is left when the write lock is released belongs to no commit
 *    (a spilled transaction rolled back, or a failed commit) and is
 *    dropped: nobody will ever read it, and once the lock is released
 *    another writer may restart the WAL and reuse those offsets, which a
 *    later write of ours would overwrite. The write lock is released through
 *    the database file's xShmLock, so the database file is wrapped too, and
 *    each WAL knows its database file (sqlite3_database_file_object).
 *  - At a commit that rewrote frames in place, SQLite recomputes the
 *    checksum of every frame from the first rewritten one on
 *    (walRewriteChecksums): it reads each whole frame and writes its header
 *    back, two calls a frame. Such a read, while this connection holds the
 *    write lock, fills the buffer with the frames that follow instead (a
 *    read-ahead window), and their new headers are written into it and go
 *    to the file when the window moves on. Nobody else can change the WAL
 *    while the lock is held, and the rewrite ends with the commit frame's
 *    header, the one with a database size, whose write writes the window
 *    before it returns: after it SQLite publishes the commit without
 *    another call here. Recovery (walIndexRecover) reads whole frames under
 *    the write lock too, and gets the same read-ahead.
 * So the file always reads as if every write had gone straight to it, for
 * everyone who may read it. Only main database and WAL files are wrapped;
 * every other file SQLite opens is the default VFS's own.
 */
#include <pthread.h>
#include <string.h>

#include "internal.h"

/* A frame header's size, and where it keeps the database size after a
 * commit (fileformat2.html 4.1). */
#define FRAME_HEADER_BYTES 24
#define COMMIT_SIZE_AT 4
/* The most the default VFS writes in one call: its pwrite wrapper
 * (seekAndWriteFd in os_unix.c) keeps only the low 17 bits of the count,
 * since SQLite itself never writes more than a 64 KiB page at once. */
#define BUFFER_BYTES 0x1ffff
/* SQLite's WAL_WRITE_LOCK: the first of the WAL-index's locks. */
#define WRITE_LOCK 0

typedef struct wal_file wal_file;

/* Both wrappers start with the file SQLite sees, then the default VFS's
 * file they wrap (real_of reads it from either). */

typedef struct {
  sqlite3_file base;
  sqlite3_file *real;
  wal_file *wal;     /* this connection's WAL, while it is open */
  int write_locked;  /* this connection holds the WAL's write lock */
  int readonly;      /* opened read-only (its WAL is opened read-write anyway) */
} main_file;

struct wal_file {
  sqlite3_file base;
  sqlite3_file *real;
  main_file *main;
  unsigned char *buf; /* BUFFER_BYTES, from the first write on */
  sqlite3_int64 start; /* the file offset of buf[0] */
  int len;
  int commit_header; /* the last write was a commit frame's header */
  /* buf holds a read-ahead of the file, not writes to make; only its part
   * from dirty_from to dirty_to has been written into since. */
  int window;
  int dirty_from, dirty_to;
  pd__wal_reserve reserve; /* blocks ahead of the writes (wal_reserve.c) */
};

#define ROUND8(n) (((n) + 7) & ~(size_t)7)
#define WRAPPER_BYTES \
  ROUND8(sizeof(main_file) > sizeof(wal_file) ? sizeof(main_file) : sizeof(wal_file))

static sqlite3_file *real_of(sqlite3_file *f) { return ((main_file *)f)->real; }

/* ---- the WAL: writes gathered ---- */

/* The buffer, allocated at first use; 0 without memory. */
static int has_buffer(wal_file *w) {
  return w->buf || (w->buf = sqlite3_malloc(BUFFER_BYTES)) != NULL;
}

static void empty(wal_file *w) {
  w->len = 0;
  w->window = 0;
}

/* Writes what the buffer holds that the file does not, and empties it. */
static int flush(wal_file *w) {
  int from = w->window ? w->dirty_from : 0, to = w->window ? w->dirty_to : w->len;
  int rc = SQLITE_OK;
  if (to > from) {
    pd__wal_reserve_ahead(&w->reserve, w->start + from, w->start + to);
    rc = w->real->pMethods->xWrite(w->real, w->buf + from, to - from, w->start + from);
  }
  /* Kept on failure: these frames may belong to a transaction that goes
   * on, and a later commit must write them or fail. */
  if (rc == SQLITE_OK) empty(w);
  return rc;
}

/* The header of a transaction's last frame carries the database size. */
static int is_commit_header(const void *p, int amt) {
  const unsigned char *size = (const unsigned char *)p + COMMIT_SIZE_AT;
  return amt == FRAME_HEADER_BYTES && (size[0] | size[1] | size[2] | size[3]);
}

/* Copies a write into the buffer if it starts inside it or right after it
 * and fits; 0 if it does not. */
static int take(wal_file *w, const void *p, int amt, sqlite3_int64 off) {
  if (!has_buffer(w)) return 0;
  if (!w->len) w->start = off;
  if (off < w->start || off > w->start + w->len) return 0;
  sqlite3_int64 at = off - w->start;
  if (at + amt > BUFFER_BYTES) return 0;
  memcpy(w->buf + at, p, (size_t)amt);
  if (at + amt > w->len) w->len = (int)(at + amt);
  return 1;
}

/* A header rewritten inside the read-ahead window goes into it; 0 if the
 * write is anything else. */
static int take_into_window(wal_file *w, const void *p, int amt, sqlite3_int64 off) {
  if (amt != FRAME_HEADER_BYTES || off < w->start || off + amt > w->start + w->len) return 0;
  int at = (int)(off - w->start);
  memcpy(w->buf + at, p, (size_t)amt);
  if (at < w->dirty_from) w->dirty_from = at;
  if (at + amt > w->dirty_to) w->dirty_to = at + amt;
  return 1;
}

static int wal_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 off) {
  wal_file *w = (wal_file *)f;
  if (w->window) {
    if (take_into_window(w, p, amt, off))
      return is_commit_header(p, amt) ? flush(w) : SQLITE_OK;
    int rc = flush(w);
    if (rc != SQLITE_OK) return rc;
  }
  int is_header = amt == FRAME_HEADER_BYTES;
  int ends_commit = w->commit_header && !is_header;
  w->commit_header = is_commit_header(p, amt);
  int rc = SQLITE_OK;
  if (!take(w, p, amt, off)) {
    rc = flush(w);
    if (rc == SQLITE_OK && !take(w, p, amt, off))
      rc = w->real->pMethods->xWrite(w->real, p, amt, off);
  }
  if (rc == SQLITE_OK && ends_commit) rc = flush(w);
  return rc;
}

/* A read of one whole frame, header and page (a page is a power of two
 * from 512 to 65536 bytes; frames start after the 32-byte WAL header). */
static int is_frame_read(int amt, sqlite3_int64 off) {
  int page = amt - FRAME_HEADER_BYTES;
  return page >= 512 && page <= 65536 && (page & (page - 1)) == 0 && off >= 32 &&
         (off - 32) % amt == 0;
}

/* Answers a whole-frame read from a window of the frames that follow. */
static int read_ahead(wal_file *w, void *p, int amt, sqlite3_int64 off) {
  sqlite3_int64 size;
  int rc = flush(w);
  if (rc == SQLITE_OK) rc = w->real->pMethods->xFileSize(w->real, &size);
  if (rc != SQLITE_OK) return rc;
  sqlite3_int64 n = BUFFER_BYTES / amt * amt;
  if (n > size - off) n = (size - off) / amt * amt;
  /* Past the end: the default VFS's short read. */
  if (n < amt) return w->real->pMethods->xRead(w->real, p, amt, off);
  /* Otherwise a window, or a failure for SQLite to handle (the commit
   * fails): read alone, the rewritten headers would be gathered by take,
   * and the commit frame's, which no page write follows, never written. */
  if (!has_buffer(w)) return SQLITE_IOERR_NOMEM;
  rc = w->real->pMethods->xRead(w->real, w->buf, (int)n, off);
  if (rc != SQLITE_OK) return rc;
  w->window = 1;
  w->start = off;
  w->len = (int)n;
  w->dirty_from = w->len;
  w->dirty_to = 0;
  memcpy(p, w->buf, (size_t)amt);
  return SQLITE_OK;
}

static int wal_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 off) {
  wal_file *w = (wal_file *)f;
  if (w->len && off < w->start + w->len && off + amt > w->start) {
    if (off >= w->start && off + amt <= w->start + w->len) {
      memcpy(p, w->buf + (off - w->start), (size_t)amt);
      return SQLITE_OK;
    }
    int rc = flush(w);
    if (rc != SQLITE_OK) return rc;
  }
  if (w->main && w->main->write_locked && is_frame_read(amt, off))
    return read_ahead(w, p, amt, off);
  return w->real->pMethods->xRead(w->real, p, amt, off);
}

static int wal_close(sqlite3_file *f) {
  wal_file *w = (wal_file *)f;
  /* Nothing left here belongs to a commit (see the top of the file). */
  if (w->main) w->main->wal = NULL;
  sqlite3_free(w->buf);
  pd__wal_reserve_close(&w->reserve);
  return w->real->pMethods->xClose(w->real);
}

/* ---- calls passed on unchanged (the database file's, and the WAL's rest) ---- */

static int pass_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 off) {
  return real_of(f)->pMethods->xRead(real_of(f), p, amt, off);
}
static int pass_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 off) {
  return real_of(f)->pMethods->xWrite(real_of(f), p, amt, off);
}
static int pass_truncate(sqlite3_file *f, sqlite3_int64 size) {
  return real_of(f)->pMethods->xTruncate(real_of(f), size);
}
static int pass_sync(sqlite3_file *f, int flags) {
  return real_of(f)->pMethods->xSync(real_of(f), flags);
}
static int pass_file_size(sqlite3_file *f, sqlite3_int64 *size) {
  return real_of(f)->pMethods->xFileSize(real_of(f), size);
}
static int pass_lock(sqlite3_file *f, int level) {
  return real_of(f)->pMethods->xLock(real_of(f), level);
}
static int pass_unlock(sqlite3_file *f, int level) {
  return real_of(f)->pMethods->xUnlock(real_of(f), level);
}
static int pass_check_reserved(sqlite3_file *f, int *out) {
  return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}
static int pass_file_control(sqlite3_file *f, int op, void *arg) {
  return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}
static int pass_sector_size(sqlite3_file *f) {
  return real_of(f)->pMethods->xSectorSize(real_of(f));
}
static int pass_device(sqlite3_file *f) {
  return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}
static int pass_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out) {
  return real_of(f)->pMethods->xShmMap(real_of(f), region, size, extend, out);
}
static void pass_shm_barrier(sqlite3_file *f) { real_of(f)->pMethods->xShmBarrier(real_of(f)); }
static int pass_shm_unmap(sqlite3_file *f, int delete_flag) {
  return real_of(f)->pMethods->xShmUnmap(real_of(f), delete_flag);
}
static int pass_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **out) {
  return real_of(f)->pMethods->xFetch(real_of(f), off, amt, out);
}
static int pass_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p) {
  return real_of(f)->pMethods->xUnfetch(real_of(f), off, p);
}

/* ---- the WAL's calls that need its buffer written first ---- */

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size) {
  int rc = flush((wal_file *)f);
  return rc ? rc : pass_truncate(f, size);
}

static int wal_sync(sqlite3_file *f, int flags) {
  int rc = flush((wal_file *)f);
  return rc ? rc : pass_sync(f, flags);
}

static int wal_file_size(sqlite3_file *f, sqlite3_int64 *size) {
  int rc = flush((wal_file *)f);
  return rc ? rc : pass_file_size(f, size);
}

/* ---- the database file: its write-lock release drops the WAL's buffer ---- */

static int main_shm_lock(sqlite3_file *f, int ofst, int n, int flags) {
  main_file *m = (main_file *)f;
  int releases = ofst == WRITE_LOCK && flags == (SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE);
  if (releases) {
    m->write_locked = 0;
    if (m->wal) {
      empty(m->wal);
      m->wal->commit_header = 0;
    }
  }
  int rc = m->real->pMethods->xShmLock(m->real, ofst, n, flags);
  if (rc == SQLITE_OK && ofst == WRITE_LOCK && flags == (SQLITE_SHM_LOCK | SQLITE_SHM_EXCLUSIVE))
    m->write_locked = 1;
  return rc;
}

static int main_close(sqlite3_file *f) {
  main_file *m = (main_file *)f;
  if (m->wal) m->wal->main = NULL;
  return m->real->pMethods->xClose(m->real);
}

static const sqlite3_io_methods main_methods = {
    3,           main_close,     pass_read,         pass_write,          pass_truncate,
    pass_sync,   pass_file_size, pass_lock,         pass_unlock,         pass_check_reserved,
    pass_file_control,           pass_sector_size,  pass_device,         pass_shm_map,
    main_shm_lock,               pass_shm_barrier,  pass_shm_unmap,      pass_fetch,
    pass_unfetch};

static const sqlite3_io_methods wal_methods = {
    1,        wal_close,     wal_read,  wal_write,   wal_truncate,        wal_sync,
    wal_file_size,           pass_lock, pass_unlock, pass_check_reserved, pass_file_control,
    pass_sector_size,        pass_device, NULL,      NULL,                NULL,
    NULL,     NULL,          NULL};

/* ---- the VFS ---- */

static sqlite3_vfs buffered_vfs;

static sqlite3_vfs *real_vfs(void) { return (sqlite3_vfs *)buffered_vfs.pAppData; }

static int buffered_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
                         int *out_flags) {
  (void)vfs;
  sqlite3_vfs *rv = real_vfs();
  main_file *db = NULL;
  if (flags & SQLITE_OPEN_WAL) {
    sqlite3_file *owner = sqlite3_database_file_object(name);
    if (owner && owner->pMethods == &main_methods) db = (main_file *)owner;
  }
  if (!(flags & SQLITE_OPEN_MAIN_DB) && !db) return rv->xOpen(rv, name, f, flags, out_flags);
  /* The default VFS's file sits after the wrapper (buffered_vfs.szOsFile). */
  sqlite3_file *real = (sqlite3_file *)((char *)f + WRAPPER_BYTES);
  memset(f, 0, WRAPPER_BYTES);
  int rc = rv->xOpen(rv, name, real, flags, out_flags);
  if (!real->pMethods) return rc;
  if (rc == SQLITE_OK && real->pMethods->iVersion < 3) {
    /* A default VFS without shared memory or fetch: not one to wrap. */
    real->pMethods->xClose(real);
    return SQLITE_CANTOPEN;
  }
  if (db) {
    wal_file *w = (wal_file *)f;
    w->real = real;
    w->main = db;
    db->wal = w;
    pd__wal_reserve_open(&w->reserve, name, rc == SQLITE_OK && !db->readonly);
    f->pMethods = &wal_methods;
  } else {
    ((main_file *)f)->real = real;
    ((main_file *)f)->readonly = (flags & SQLITE_OPEN_READONLY) != 0;
    f->pMethods = &main_methods;
  }
  return rc;
}

static int v_delete(sqlite3_vfs *v, const char *name, int sync_dir) {
  (void)v;
  return real_vfs()->xDelete(real_vfs(), name, sync_dir);
}
static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out) {
  (void)v;
  return real_vfs()->xAccess(real_vfs(), name, flags, out);
}
static int v_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out) {
  (void)v;
  return real_vfs()->xFullPathname(real_vfs(), name, n, out);
}
static void *v_dl_open(sqlite3_vfs *v, const char *name) {
  (void)v;
  return real_vfs()->xDlOpen(real_vfs(), name);
}
static void v_dl_error(sqlite3_vfs *v, int n, char *out) {
  (void)v;
  real_vfs()->xDlError(real_vfs(), n, out);
}
static void (*v_dl_sym(sqlite3_vfs *v, void *lib, const char *sym))(void) {
  (void)v;
  return real_vfs()->xDlSym(real_vfs(), lib, sym);
}
static void v_dl_close(sqlite3_vfs *v, void *lib) {
  (void)v;
  real_vfs()->xDlClose(real_vfs(), lib);
}
static int v_randomness(sqlite3_vfs *v, int n, char *out) {
  (void)v;
  return real_vfs()->xRandomness(real_vfs(), n, out);
}
static int v_sleep(sqlite3_vfs *v, int us) {
  (void)v;
  return real_vfs()->xSleep(real_vfs(), us);
}
static int v_current_time(sqlite3_vfs *v, double *out) {
  (void)v;
  return real_vfs()->xCurrentTime(real_vfs(), out);
}
static int v_last_error(sqlite3_vfs *v, int n, char *out) {
  (void)v;
  return real_vfs()->xGetLastError(real_vfs(), n, out);
}
static int v_current_time64(sqlite3_vfs *v, sqlite3_int64 *out) {
  (void)v;
  return real_vfs()->xCurrentTimeInt64(real_vfs(), out);
}

static int registered;

static void register_vfs(void) {
  sqlite3_vfs *rv = sqlite3_vfs_find(NULL);
  if (!rv || rv->iVersion < 2 || !rv->xCurrentTimeInt64) return;
  sqlite3_vfs v = {2,
                   (int)(WRAPPER_BYTES + (size_t)rv->szOsFile),
                   rv->mxPathname,
                   NULL,
                   "permadict-wal-buffer",
                   rv,
                   buffered_open,
                   v_delete,
                   v_access,
                   v_full_pathname,
                   v_dl_open,
                   v_dl_error,
                   v_dl_sym,
                   v_dl_close,
                   v_randomness,
                   v_sleep,
                   v_current_time,
                   v_last_error,
                   v_current_time64,
                   NULL,
                   NULL,
                   NULL};
  buffered_vfs = v;
  registered = sqlite3_vfs_register(&buffered_vfs, 0) == SQLITE_OK;
}

const char *pd__wal_buffer_vfs(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, register_vfs);
  /* A program that has made another VFS its default since gets that one,
   * unbuffered: its choice is not to be bypassed. */
  return registered && sqlite3_vfs_find(NULL) == real_vfs() ? buffered_vfs.zName : NULL;
}
