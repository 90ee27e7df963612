/*
 * dict_open.c - pd_open, pd_close, pd_reopen and the handle's accessors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backend.h"

#define DEFAULT_TIMEOUT_MS 5000
/* Page cache per connection: 4 MiB (negative = KiB). */
#define CACHE_PRAGMA "PRAGMA cache_size = -8192"

/* Copies the open failure message of d into this thread's open message. */
static int open_fail(pd_dict *d, int rc) {
  pd__open_err_set("%s", d->errmsg);
  return rc;
}

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

/* Looks the namespace up; creates it when allowed. */
static int namespace_attach(pd_dict *d) {
  static const char find_sql[] = "SELECT id FROM permadict_namespaces WHERE name = ?1";
  for (int pass = 0; pass < 2; pass++) {
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(d->db, find_sql, -1, &st, NULL);
    if (src == SQLITE_OK) sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC);
    if (src == SQLITE_OK) src = pd__step(d, st);
    if (src == SQLITE_ROW) {
      d->ns_id = sqlite3_column_int64(st, 0);
      sqlite3_finalize(st);
      return PD_OK;
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE) return pd__sqlite_err(d, src, "looking up the namespace");
    if (pass == 1) break;
    if (d->opts.readonly || !d->opts.create)
      return pd__err(d, PD_ENOTFOUND, "namespace '%s' does not exist in '%s'%s",
                     d->name, d->path,
                     d->opts.readonly ? " (a read-only open never creates it)" : "");
    int rc = pd__exec(d, "BEGIN IMMEDIATE");
    if (rc) return rc;
    st = NULL;
    src = sqlite3_prepare_v2(d->db,
                             "INSERT OR IGNORE INTO permadict_namespaces (name) VALUES (?1)",
                             -1, &st, NULL);
    if (src == SQLITE_OK) sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC);
    if (src == SQLITE_OK) src = pd__step(d, st);
    sqlite3_finalize(st);
    if (src != SQLITE_DONE) {
      rc = pd__sqlite_err(d, src, "creating the namespace");
      sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
      return rc;
    }
    rc = pd__exec(d, "COMMIT");
    if (rc) {
      sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
      return rc;
    }
  }
  return pd__err(d, PD_ERROR, "namespace '%s' vanished while being created", d->name);
}

/* Checks identity again through SQLite (the header pre-check read only the
 * main file; a newer format may be recorded in the WAL). */
static int identity_via_sqlite(pd_dict *d) {
  int64_t app = 0, ver = 0;
  int rc = pragma_int(d, "PRAGMA application_id", &app);
  if (!rc) rc = pragma_int(d, "PRAGMA user_version", &ver);
  if (rc) return rc;
  if ((uint32_t)app != PD__APPLICATION_ID)
    return pd__err(d, PD_EFORMAT, "'%s' is not a permadict file (application_id 0x%08x)",
                   d->path, (unsigned)app);
  if (ver > PD__FORMAT_VERSION)
    return pd__err(d, PD_EFORMAT,
                   "'%s' has permadict format version %lld, newer than this "
                   "library's version %d",
                   d->path, (long long)ver, PD__FORMAT_VERSION);
  return PD_OK;
}

/* Opens d->db on d->path with d->opts and attaches the namespace. On
 * failure d->db is NULL and d->errmsg says why. */
static int connect(pd_dict *d) {
  pd__file_info info = {0};
  int rc;
  d->memory = strcmp(d->path, ":memory:") == 0;
  if (!d->memory) {
    rc = pd__file_prepare(d->path, d->opts.readonly, d->opts.create, d->opts.durable,
                          &info, d->errmsg, sizeof d->errmsg);
    if (rc) return rc;
    free(d->real_path);
    d->real_path = realpath(d->path, NULL);
    if (!d->real_path) return pd__err(d, PD_ENOMEM, "cannot resolve '%s'", d->path);
    rc = pd__file_sidecars_check(d->real_path, d->errmsg, sizeof d->errmsg);
    if (rc) return rc;
    d->file_dev = info.dev;
    d->file_ino = info.ino;
  }
  /* Caveat "Threads": NOMUTEX, since a handle serves one thread at a time
   * (enforced by pd__enter). Never SQLITE_OPEN_CREATE on a file: it exists
   * and was checked; if it vanished since, failing beats making an empty one. */
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (d->memory) flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY;
  else flags |= d->opts.readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  int src = sqlite3_open_v2(d->path, &d->db, flags, NULL);
  if (src != SQLITE_OK) {
    rc = pd__sqlite_err(d, src, "opening");
    sqlite3_close(d->db);
    d->db = NULL;
    return rc;
  }
  sqlite3_extended_result_codes(d->db, 1);
  pd__busy_install(d);
  if (!d->memory) {
    /* The checked file must be the one SQLite opened. */
    struct stat st;
    if (stat(d->real_path, &st) != 0 || st.st_dev != info.dev || st.st_ino != info.ino) {
      rc = pd__err(d, PD_EGONE, "file '%s' was replaced while being opened", d->path);
      goto fail;
    }
  }
  /* Caveat "Durability": in WAL mode synchronous=NORMAL survives a process
   * crash but may lose the last commits on power failure; durable asks for
   * FULL (an fsync per commit). Caveat "Network filesystems": WAL needs
   * shared memory between processes, so nothing here tries to make remote
   * filesystems work. No mmap_size: measured no gain for gets here, and a
   * mapping adds SIGBUS exposure if another program truncates the file. */
  rc = pd__exec(d, d->opts.durable ? "PRAGMA synchronous = FULL"
                                   : "PRAGMA synchronous = NORMAL");
  if (!rc) rc = pd__exec(d, CACHE_PRAGMA);
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
  rc = namespace_attach(d);
  if (rc) goto fail;
  d->fork_generation = pd__fork_generation_now();
  return PD_OK;
fail:
  pd__stmts_finalize(d);
  sqlite3_close_v2(d->db);
  d->db = NULL;
  return rc;
}

static void handle_free(pd_dict *d) {
  pd__buf_free(&d->out);
  free(d->path);
  free(d->real_path);
  free(d->name);
  free(d);
}

int pd_open(pd_dict **out, const char *path, const pd_options *opts) {
  static const pd_options defaults = PD_OPTIONS_INIT;
  char msg[PD__ERRMSG_CAP];
  if (!out) {
    pd__open_err_set("pd_open: out is NULL");
    return PD_EINVALID;
  }
  *out = NULL;
  pd__fork_watch_install();
  if (!opts) opts = &defaults;
  if (opts->version != PD_OPTIONS_VERSION) {
    pd__open_err_set("pd_open: unknown pd_options version %u (expected %d)",
                     opts->version, PD_OPTIONS_VERSION);
    return PD_EINVALID;
  }
  if (!path || !*path) {
    pd__open_err_set("pd_open: path is %s", path ? "empty" : "NULL");
    return PD_EINVALID;
  }
  const char *name = opts->name ? opts->name : "default";
  int rc = pd__name_check(name, msg, sizeof msg);
  if (rc) {
    pd__open_err_set("opening '%s': %s", path, msg);
    return rc;
  }
  pd_dict *d = calloc(1, sizeof *d);
  if (!d || !(d->path = strdup(path)) || !(d->name = strdup(name))) {
    if (d) handle_free(d);
    pd__open_err_set("opening '%s': out of memory", path);
    return PD_ENOMEM;
  }
  d->opts = *opts;
  d->opts.name = d->name;
  if (d->opts.timeout_ms < 0) d->opts.timeout_ms = DEFAULT_TIMEOUT_MS;
  atomic_init(&d->in_use, 0);
  rc = connect(d);
  if (rc) {
    open_fail(d, rc);
    handle_free(d);
    return rc;
  }
  d->errmsg[0] = 0;
  *out = d;
  return PD_OK;
}

/* Lets go of d's connection. In a child after fork() the inherited
 * connection is deliberately leaked, never closed (caveat "fork()"). */
static void disconnect(pd_dict *d) {
  if (d->watch_free) d->watch_free(d);
  d->watch = NULL;
  d->watch_free = NULL;
  if (d->db && d->fork_generation == pd__fork_generation_now()) {
    pd__stmts_finalize(d);
    /* Closing rolls back an open transaction. */
    sqlite3_close_v2(d->db);
  }
  memset(d->stmts, 0, sizeof d->stmts);
  d->db = NULL;
  d->in_txn = 0;
  d->txn_failed_rc = 0;
}

void pd_close(pd_dict *d) {
  if (!d) return;
  disconnect(d);
  handle_free(d);
}

int pd_reopen(pd_dict *d) {
  if (!d) return PD_EINVALID;
  int forked = d->fork_generation != pd__fork_generation_now();
  /* In a forked child the inherited flag means nothing: no other thread. */
  if (!forked && atomic_exchange(&d->in_use, 1)) return PD_EMISUSE;
  atomic_store(&d->in_use, 1);
  disconnect(d);
  d->deadline_set = 0;
  d->timed_out = 0;
  int rc = connect(d);
  if (rc == PD_OK) d->errmsg[0] = 0;
  atomic_store(&d->in_use, 0);
  return rc;
}

const char *pd_path(const pd_dict *d) { return d ? d->path : NULL; }

const char *pd_name(const pd_dict *d) { return d ? d->name : NULL; }
