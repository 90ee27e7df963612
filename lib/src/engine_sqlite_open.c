/*
 * engine_sqlite_open.c - the SQLite engine's connect and disconnect: opening
 * a checked file, the connection's settings, attaching the namespace, and
 * the commit stamp the read cache relies on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "engine.h"

/* Page cache per connection (negative = KiB), sized for write
 * transactions; for gets, once the read cache answers repeats, 8 MiB and
 * more measured the same. A transaction changing more pages than the cache
 * holds has SQLite write the oldest changed ones to the WAL early, and at
 * the commit the change log's rows for its last PD__CHANGES_KEEP changes go
 * into the pages of those changes' entries: pages already written, so
 * SQLite writes them again, in place, and then recomputes the checksum of
 * every WAL frame after the first one rewritten. 16 MiB keeps those pages
 * in memory for values up to about 1 KiB (3,334 pages). bench_kv, 100,000
 * keys, 3 interleaved runs against 8 MiB: set inside a transaction 2.70-2.75
 * -> 2.35-2.37 us (1 KiB values); overwrite 5.41-5.54 -> 2.69-2.83 and
 * delete 5.25-5.36 -> 2.61-2.68 us (100-byte text, whose table and index now
 * fit); but set inside a transaction 1.18-1.19 -> 1.23-1.30 us (100-byte
 * text) and iteration 0.56-0.57 -> 0.59-0.60 us an item. The memory: a
 * handle that reads or writes that much holds 16 MiB, not 8 (bench_memory,
 * iterating 1,000,000 entries: RSS growth 16.25 MiB, not 8.25). Raising
 * only the spill threshold (PRAGMA cache_spill) left clean pages no room:
 * overwrites took 7.3 us. */
#define CACHE_PRAGMA "PRAGMA cache_size = -16384"

static int pragma_int(pd_dict *d, const char *sql, int64_t *out) {
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(d->db, sql, -1, &st, NULL);
  if (src == SQLITE_OK) {
    src = pd__step(d, st);
    if (src == SQLITE_ROW) {
      *out = sqlite3_column_int64(st, 0);
      src = SQLITE_OK;
    }
  }
  int rc = src == SQLITE_OK ? PD_OK : pd__sqlite_err(d, src, sql);
  sqlite3_finalize(st);
  return rc;
}

int pd__sq_slot_check(pd_dict *d, const char *name, int64_t slot) {
  if (slot >= 0 && slot <= PD__SLOT_MAX) return PD_OK;
  return pd__err(d, PD_ECORRUPT, "namespace '%s' of '%s' has slot %lld (not 0..%lld)", name,
                 d->path, (long long)slot, (long long)PD__SLOT_MAX);
}

/* FORMAT.md 2: a new namespace takes the lowest free slot (slots of dropped
 * namespaces are reused: their rows went with them). Slot 0, which the
 * first namespace (usually the only one) gets, has the smallest rowids:
 * 1-3 byte varints in every index entry and cell instead of 7. */
static const char free_slot_sql[] =
    "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM permadict_namespaces WHERE slot = 0) THEN 0 "
    "ELSE (SELECT min(a.slot) + 1 FROM permadict_namespaces a WHERE NOT EXISTS "
    "(SELECT 1 FROM permadict_namespaces b WHERE b.slot = a.slot + 1)) END";

/* Looks the namespace up: PD_OK with ns_id and ns_base set and *found 1,
 * or *found 0 when there is none. */
static int namespace_find(pd_dict *d, int *found) {
  static const char find_sql[] = "SELECT id, slot FROM permadict_namespaces WHERE name = ?1";
  *found = 0;
  sqlite3_stmt *st = NULL;
  int src = sqlite3_prepare_v2(d->db, find_sql, -1, &st, NULL);
  if (src == SQLITE_OK) sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC);
  if (src == SQLITE_OK) src = pd__step(d, st);
  if (src == SQLITE_ROW) {
    int64_t slot = sqlite3_column_int64(st, 1);
    d->ns_id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    int rc = pd__sq_slot_check(d, d->name, slot);
    if (rc) return rc;
    d->ns_base = slot << PD__SLOT_SHIFT;
    *found = 1;
    return PD_OK;
  }
  sqlite3_finalize(st);
  return src == SQLITE_DONE ? PD_OK : pd__sqlite_err(d, src, "looking up the namespace");
}

/* Creates the namespace unless it exists and looks it up, in one write
 * transaction: a lookup after the commit could find it dropped again by
 * another process, and the open would fail though it may create. A drop
 * after this commit comes after the open, and the handle reports it as
 * such (PD_EGONE). */
static int namespace_create(pd_dict *d) {
  int rc = pd__fork_write_check(d);
  if (!rc) rc = pd__exec(d, "BEGIN IMMEDIATE");
  if (rc) return rc;
  sqlite3_stmt *st = NULL;
  int64_t slot = 0;
  int src = sqlite3_prepare_v2(d->db, free_slot_sql, -1, &st, NULL);
  if (src == SQLITE_OK) src = pd__step(d, st);
  if (src == SQLITE_ROW) {
    slot = sqlite3_column_int64(st, 0);
    src = SQLITE_DONE;
  }
  sqlite3_finalize(st);
  if (src == SQLITE_DONE && slot > PD__SLOT_MAX) {
    rc = pd__err(d, PD_EFULL, "cannot create namespace '%s': '%s' already holds %lld",
                 d->name, d->path, (long long)PD__SLOT_MAX + 1);
  } else {
    st = NULL;
    if (src == SQLITE_DONE)
      src = sqlite3_prepare_v2(
          d->db, "INSERT OR IGNORE INTO permadict_namespaces (name, slot) VALUES (?1, ?2)", -1,
          &st, NULL);
    if (src == SQLITE_OK) {
      sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC);
      sqlite3_bind_int64(st, 2, slot);
      src = pd__step(d, st);
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE) rc = pd__sqlite_err(d, src, "creating the namespace");
  }
  int found = 0;
  if (!rc) rc = namespace_find(d, &found);
  if (!rc && !found) /* INSERT OR IGNORE inserted or found it under the lock */
    rc = pd__err(d, PD_ECORRUPT, "namespace '%s' of '%s' is missing right after its creation",
                 d->name, d->path);
  if (!rc) rc = pd__exec(d, "COMMIT");
  if (rc) sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

/* Looks the namespace up; creates it when allowed. */
static int namespace_attach(pd_dict *d) {
  int found = 0;
  int rc = namespace_find(d, &found);
  if (rc || found) return rc;
  if ((d->opts.readonly || !d->opts.create) && d->memory)
    return pd__err(d, PD_ENOTFOUND,
                   "namespace '%s' does not exist in '%s': an in-memory dict "
                   "starts empty and no other handle can fill it, so opening "
                   "one %s has nothing to open",
                   d->name, d->path, d->opts.readonly ? "read-only" : "without create");
  if (d->opts.readonly || !d->opts.create)
    return pd__err(d, PD_ENOTFOUND, "namespace '%s' does not exist in '%s'%s", d->name,
                   d->path, d->opts.readonly ? " (a read-only open never creates it)" : "");
  return namespace_create(d);
}

/* Checks identity again through SQLite (the header pre-check read only the
 * main file; another format may be recorded in the WAL). */
static int identity_via_sqlite(pd_dict *d) {
  int64_t app = 0, ver = 0;
  int rc = pragma_int(d, "PRAGMA application_id", &app);
  if (!rc) rc = pragma_int(d, "PRAGMA user_version", &ver);
  if (rc) return rc;
  if ((uint32_t)app != PD__APPLICATION_ID)
    return pd__err(d, PD_EFORMAT, "'%s' is not a permadict file (application_id 0x%08x)",
                   d->path, (unsigned)app);
  if (ver != PD__FORMAT_VERSION)
    return pd__err(d, PD_EFORMAT,
                   "'%s' has permadict format version %lld, %s than this "
                   "library's version %d",
                   d->path, (long long)ver, ver > PD__FORMAT_VERSION ? "newer" : "older",
                   PD__FORMAT_VERSION);
  /* The marks alone can be copied into any file: before anything is changed
   * (a file not in WAL mode is converted next), its tables must be there. */
  int64_t tables = 0;
  rc = pragma_int(d,
                  "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
                  "('permadict_namespaces', 'permadict_rows')",
                  &tables);
  if (rc) return rc;
  if (tables != 2)
    return pd__err(d, PD_EFORMAT,
                   "'%s' carries permadict's marks but not its tables: not a permadict file",
                   d->path);
  return PD_OK;
}

/* Whether the connection runs in WAL mode. */
static int in_wal_mode(pd_dict *d) {
  sqlite3_stmt *st = NULL;
  int wal = 0;
  if (sqlite3_prepare_v2(d->db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
      pd__step(d, st) == SQLITE_ROW) {
    const char *m = (const char *)sqlite3_column_text(st, 0);
    wal = m && sqlite3_stricmp(m, "wal") == 0;
  }
  sqlite3_finalize(st);
  return wal;
}

/*
 * Finds SQLite's own mapping of the WAL-index (the -shm file, region 0) for
 * the commit stamp. The file is never opened here: closing any descriptor of
 * it would drop this process's POSIX locks on it ("How To Corrupt", 2.6).
 * xShmMap with bExtend 0 only returns a region SQLite already mapped; it is
 * called only in WAL mode, after namespace_attach ran a read, so the WAL and
 * its index are open and stay mapped until this connection closes (a switch
 * out of WAL needs an exclusive lock, which our open connection prevents).
 */
static void shm_attach(pd_dict *d) {
  d->shm = NULL;
  if (d->memory || !in_wal_mode(d)) return;
  sqlite3_file *f = NULL;
  if (sqlite3_file_control(d->db, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK ||
      !f || !f->pMethods || f->pMethods->iVersion < 2 || !f->pMethods->xShmMap)
    return;
  volatile void *region = NULL;
  if (f->pMethods->xShmMap(f, 0, 32768, 0, &region) != SQLITE_OK || !region) return;
  d->shm = (const volatile unsigned char *)region;
}

/*
 * The commit stamp (engine.h): the WAL-index header (walformat.html 2.1).
 * Every commit, checkpoint restart or recovery rewrites it with a new
 * iChange, mxFrame or salts. Writers store copy 1, then copy 0, with barriers
 * between; reading copy 0, a full barrier, then copy 1, and accepting only
 * identical copies with isInit set, gives a header no writer was halfway
 * through. Anything else answers "no stamp", so the call reads SQLite.
 */
int pd__sq_commit_stamp(pd_dict *d, pd__stamp *out) {
  const volatile unsigned char *h = d->shm;
  if (!h) return 0;
  /* Whole-block copies, as SQLite's own walIndexTryHdr reads it; the fence
   * keeps the compiler and the CPU from mixing the two. (Byte by byte
   * through the volatile pointer cost 730 instructions, half of a cached
   * get.) */
  unsigned char copy1[PD__STAMP_BYTES];
  memcpy(out->b, (const void *)h, PD__STAMP_BYTES);
  atomic_thread_fence(memory_order_seq_cst);
  memcpy(copy1, (const void *)(h + PD__STAMP_BYTES), PD__STAMP_BYTES);
  if (memcmp(out->b, copy1, PD__STAMP_BYTES) != 0) return 0;
  return out->b[12] != 0; /* isInit */
}

/* Why sqlite3_open_v2 failed on a file. The pre-check only stat()s it, so
 * this is where an unreadable file is met: the operating system's reason
 * gives the same answers the pre-check used to give. */
static int open_err(pd_dict *d, int src) {
  int e = d->db && !d->memory && (src & 0xff) == SQLITE_CANTOPEN
              ? sqlite3_system_errno(d->db)
              : 0;
  if (!e) return pd__sqlite_err(d, src, "opening");
  int rc = pd__err(d,
                   e == EACCES || e == EPERM ? PD_EREADONLY
                   : e == ENOENT             ? PD_ENOTFOUND
                                             : PD_EIO,
                   "cannot open '%s': %s", d->path, strerror(e));
  d->sqlite_errcode = src;
  return rc;
}

void pd__sq_disconnect(pd_dict *d) {
  /* In a child after fork() the inherited connection is deliberately
   * leaked, never closed (caveat "fork()"). */
  int closing = d->db && d->fork_generation == pd__fork_generation_now();
  if (closing) {
    pd__stmts_finalize(d);
    /* Closing rolls back an open transaction. */
    sqlite3_close_v2(d->db);
  }
  pd__conn_unregister(d, closing);
  pd__wal_writeback_close(d);
  memset(d->stmts, 0, sizeof d->stmts);
  d->db = NULL;
  d->shm = NULL;
  d->carry_set = d->begin_stamp_set = 0; /* stamps of this connection only */
  pd__sq_ns_forget(d);
  pd__sq_log_free(d);
  pd__sq_sets_free(d);
}

const char *pd__synchronous_pragma(int durable) {
  return durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL";
}

/* Opens d->db on d->path with d->opts and attaches the namespace. On
 * failure d->db is NULL and d->errmsg says why. */
int pd__sq_connect(pd_dict *d) {
  pd__file_info info = {0};
  int rc;
  pd__wal_writeback_init(d); /* first: disconnect closes what it opens */
  d->memory = strcmp(d->path, ":memory:") == 0;
  /* A reconnect (pd_reopen) goes to the file first opened, by its absolute
   * path: a relative one would name another file once the process (a fork
   * child, say) has changed directory since. */
  const char *path = d->real_path ? d->real_path : d->path;
  if (!d->memory) {
    rc = pd__file_prepare(path, d->opts.readonly, d->opts.create, d->opts.durable,
                          &info, d->errmsg, sizeof d->errmsg);
    if (rc) return rc;
    if (!d->real_path && !(d->real_path = realpath(d->path, NULL)))
      return pd__err(d, PD_ENOMEM, "cannot resolve '%s'", d->path);
    rc = pd__file_sidecars_check(d->real_path, d->errmsg, sizeof d->errmsg);
    if (rc) return rc;
    d->file_dev = info.dev;
    d->file_ino = info.ino;
    /* Before anything can write: creating the namespace may (fork_locks.c). */
    d->fork_write_blocked = pd__conn_write_blocked(d);
  }
  /* Caveat "Threads": NOMUTEX, since a handle serves one thread at a time
   * (enforced by pd__enter). Never SQLITE_OPEN_CREATE on a file: it exists
   * and was checked; if it vanished since, failing beats making an empty one.
   * The file is opened by SQLite only, never by us: see file_guard.c.
   * Through wal_write_buffer.c's VFS, which writes the WAL a buffer at a
   * time instead of two calls a page. */
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (d->memory) flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY;
  else flags |= d->opts.readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  char name_buf[4100];
  const char *name = d->memory ? d->path : pd__sqlite_file_name(path, name_buf, sizeof name_buf);
  if (!name) return pd__err(d, PD_EINVALID, "path '%.200s...' is too long", path);
  int src = sqlite3_open_v2(name, &d->db, flags, d->memory ? NULL : pd__wal_buffer_vfs());
  if (src != SQLITE_OK) {
    rc = open_err(d, src);
    sqlite3_close(d->db);
    d->db = NULL;
    return rc;
  }
  sqlite3_extended_result_codes(d->db, 1);
  if (!d->memory) {
    /* FORMAT.md 1: SQLite has only opened the file so far (no lock, no
     * read of the database, no write); nothing may run on it before its
     * header says it is ours. */
    rc = pd__file_header_check(d->db, path, &info, d->errmsg, sizeof d->errmsg);
    if (rc) {
      d->sqlite_errcode = 0;
      goto fail;
    }
  }
  pd__busy_install(d);
  pd__checkpoint_install(d);
  /* Caveat "Durability": in WAL mode synchronous=NORMAL survives a process
   * crash but may lose the last commits on power failure; durable asks for
   * FULL (an fsync per commit). Caveat "Network filesystems": WAL needs
   * shared memory between processes, so nothing here tries to make remote
   * filesystems work.
   * No mmap_size: a mapped file turns an I/O error, or another program
   * truncating the file, into SIGBUS in the caller's process, which a library
   * must not risk; and with the read cache answering repeated gets, the
   * measured gain of mmap for the rest was small (about 0.3 us a get).
   * temp_store = MEMORY: nothing here builds temporary tables, and the
   * multi-row statements keep no statement journal (backend_sqlite.c,
   * OR_ROLLBACK), but should SQLite need either, it stays in memory: a
   * statement journal past 64 KiB went to a temporary file (strace, 30,000
   * overwrites of random keys when 64-row statements kept one: 82,000 more
   * pwrite64 calls, about 175 a statement). When to checkpoint
   * is wal_checkpoint.c's hook, which replaces SQLite's wal_autocheckpoint. */
  rc = pd__exec(d, pd__synchronous_pragma(d->opts.durable));
  if (!rc) rc = pd__exec(d, CACHE_PRAGMA);
  if (!rc) rc = pd__exec(d, "PRAGMA temp_store = MEMORY");
  if (rc) goto fail;
  if (d->memory) {
    src = pd__schema_create(d->db);
    if (src != SQLITE_OK) {
      rc = pd__sqlite_err(d, src, "creating the schema");
      goto fail;
    }
  } else {
    rc = identity_via_sqlite(d);
    if (rc) goto fail;
    if (!info.wal && !d->opts.readonly) {
      rc = pd__exec(d, "PRAGMA journal_mode = WAL");
      if (rc) goto fail;
    }
  }
  if (!d->file_only) { /* a file-only handle only lists namespaces */
    rc = namespace_attach(d);
    if (rc) goto fail;
    shm_attach(d);
  }
  if (!d->memory) { /* fork_locks.c: a child must hold its locks */
    rc = pd__conn_register(d);
    if (rc) goto fail;
  }
  d->fork_generation = pd__fork_generation_now();
  return PD_OK;
fail:
  /* namespace_attach's commit may have started the checkpoint thread, which
   * must not outlive the handle that open_handle is about to free. */
  pd__checkpointer_stop(d);
  pd__stmts_finalize(d);
  sqlite3_close_v2(d->db);
  d->db = NULL;
  return rc;
}

