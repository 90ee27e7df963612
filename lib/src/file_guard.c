/*
 * file_guard.c - everything that happens to the file before and around
 * SQLite: the header pre-check, atomic creation, sidecar and identity checks.
 *
 * FORMAT.md 1: a file that is not a permadict file is refused and never
 * modified. SQLite would happily "recover" a hot journal or switch a foreign
 * database to WAL, so the header is read here with plain read() and SQLite
 * only ever opens files that passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static const char sqlite_magic[16] = "SQLite format 3";

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static ssize_t read_full(int fd, void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) break;
    got += (size_t)r;
  }
  return (ssize_t)got;
}

/* Checks the 100-byte SQLite header of an open file. */
static int header_check(const char *path, int fd, const struct stat *st,
                        pd__file_info *info, char *msg, size_t cap) {
  unsigned char h[100];
  if (!S_ISREG(st->st_mode)) {
    snprintf(msg, cap, "'%s' is not a regular file", path);
    return PD_EINVALID;
  }
  if (st->st_size == 0) {
    snprintf(msg, cap, "'%s' is empty (zero bytes): not an SQLite database", path);
    return PD_ENOTADB;
  }
  ssize_t n = read_full(fd, h, sizeof h);
  if (n < 0) {
    snprintf(msg, cap, "cannot read '%s': %s", path, strerror(errno));
    return PD_EIO;
  }
  if (n < (ssize_t)sizeof h || memcmp(h, sqlite_magic, 16) != 0) {
    snprintf(msg, cap, "'%s' is not an SQLite database (bad header)", path);
    return PD_ENOTADB;
  }
  uint32_t app = be32(h + 68), user_version = be32(h + 60);
  if (app != PD__APPLICATION_ID) {
    snprintf(msg, cap,
             "'%s' is not a permadict file (application_id 0x%08x, expected 0x%08x)",
             path, app, PD__APPLICATION_ID);
    return PD_EFORMAT;
  }
  if (user_version > PD__FORMAT_VERSION) {
    snprintf(msg, cap,
             "'%s' has permadict format version %u, newer than this library's "
             "version %d",
             path, user_version, PD__FORMAT_VERSION);
    return PD_EFORMAT;
  }
  if (user_version < 1) {
    snprintf(msg, cap, "'%s' has unknown permadict format version %u", path,
             user_version);
    return PD_EFORMAT;
  }
  info->dev = st->st_dev;
  info->ino = st->st_ino;
  info->wal = h[18] == 2 && h[19] == 2;
  return PD_OK;
}

static void remove_sqlite_files(const char *base) {
  static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
  char p[4096];
  for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
    snprintf(p, sizeof p, "%s%s", base, suffix[i]);
    unlink(p);
  }
}

static void fsync_path(const char *path, int flags) {
  int fd = open(path, flags | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

static void fsync_parent_dir(const char *path) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash) snprintf(dir, sizeof dir, ".");
  else if (slash == dir) dir[1] = 0;
  else *slash = 0;
  fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

/*
 * FORMAT.md 1: new files are created whole or not at all. The schema is built
 * in a temporary file next to the target (mkstemp gives mode 0600), closed
 * (which checkpoints the WAL into it) and link()ed into place: link() never
 * replaces an existing file, so when two processes race, one wins and the
 * other opens the winner's complete file. A reader can therefore never see
 * a half-made or zero-byte permadict file.
 */
static int create_atomically(const char *path, char *msg, size_t cap) {
  char tmp[4096];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.pdtmp-XXXXXX", path) >= sizeof tmp) {
    snprintf(msg, cap, "path '%s' is too long", path);
    return PD_EINVALID;
  }
  int fd = mkstemp(tmp);
  if (fd < 0) {
    int e = errno;
    snprintf(msg, cap, "cannot create a file next to '%s': %s", path, strerror(e));
    return e == EACCES || e == EROFS || e == EPERM ? PD_EREADONLY
           : e == ENOSPC || e == EDQUOT            ? PD_EFULL
           : e == ENOENT || e == ENOTDIR           ? PD_ENOTFOUND
                                                   : PD_EIO;
  }
  fchmod(fd, 0600);
  close(fd);

  sqlite3 *db = NULL;
  int src = sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if (src == SQLITE_OK) src = pd__schema_create(db);
  if (src == SQLITE_OK)
    src = sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
  if (src != SQLITE_OK) {
    snprintf(msg, cap, "creating '%s': %s", path,
             db ? sqlite3_errmsg(db) : sqlite3_errstr(src));
    sqlite3_close(db);
    remove_sqlite_files(tmp);
    return pd__map_sqlite_code(src);
  }
  /* Closing the only connection checkpoints and removes the -wal. */
  src = sqlite3_close(db);
  fsync_path(tmp, O_RDONLY);

  int rc = PD_OK;
  if (link(tmp, path) != 0) {
    int e = errno;
    if (e == EPERM || e == ENOTSUP || e == ENOSYS) {
      /* Filesystems without hard links: rename, still never replacing. */
      if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) != 0)
        e = errno;
      else
        e = 0;
    }
    if (e != 0 && e != EEXIST) { /* EEXIST: another process won the race */
      snprintf(msg, cap, "cannot create '%s': %s", path, strerror(e));
      rc = e == EACCES || e == EROFS ? PD_EREADONLY : e == ENOSPC ? PD_EFULL : PD_EIO;
    }
  }
  remove_sqlite_files(tmp);
  if (rc == PD_OK) fsync_parent_dir(path);
  return rc;
}

int pd__file_prepare(const char *path, int readonly, int create, int durable,
                     pd__file_info *info, char *msg, size_t cap) {
  (void)durable; /* creation always syncs: it happens once per file */
  for (int attempt = 0; attempt < 3; attempt++) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
      int e = errno;
      if (e == ENOENT && create && !readonly) {
        int rc = create_atomically(path, msg, cap);
        if (rc != PD_OK) return rc;
        continue; /* ours or the winner's: check it like any other file */
      }
      if (e == ENOENT) {
        snprintf(msg, cap, "file '%s' does not exist%s", path,
                 readonly ? " (read-only open never creates it)" : "");
        return PD_ENOTFOUND;
      }
      snprintf(msg, cap, "cannot open '%s': %s", path, strerror(e));
      return e == EACCES || e == EPERM ? PD_EREADONLY : PD_EIO;
    }
    struct stat st;
    int rc;
    if (fstat(fd, &st) != 0) {
      snprintf(msg, cap, "cannot stat '%s': %s", path, strerror(errno));
      rc = PD_EIO;
    } else {
      rc = header_check(path, fd, &st, info, msg, cap);
    }
    close(fd);
    return rc;
  }
  snprintf(msg, cap, "file '%s' keeps disappearing while being created", path);
  return PD_EIO;
}

int pd__file_sidecars_check(const char *real_path, char *msg, size_t cap) {
  static const char *const suffix[] = {"-wal", "-shm"};
  for (int i = 0; i < 2; i++) {
    char p[4096];
    struct stat st;
    snprintf(p, sizeof p, "%s%s", real_path, suffix[i]);
    if (lstat(p, &st) != 0) continue; /* absent: SQLite creates it */
    if (S_ISLNK(st.st_mode) || !S_ISREG(st.st_mode)) {
      snprintf(msg, cap,
               "refusing to open: '%s' is %s, which would redirect SQLite's writes",
               p, S_ISLNK(st.st_mode) ? "a symbolic link" : "not a regular file");
      return PD_EINVALID;
    }
  }
  return PD_OK;
}

int pd__file_identity_check(pd_dict *d) {
  if (d->memory) return PD_OK;
  struct stat st;
  if (stat(d->real_path, &st) != 0) {
    if (errno == ENOENT)
      return pd__err(d, PD_EGONE, "file '%s' was deleted or renamed while open", d->path);
    return pd__err(d, PD_EIO, "cannot stat '%s': %s", d->path, strerror(errno));
  }
  if (st.st_dev != d->file_dev || st.st_ino != d->file_ino)
    return pd__err(d, PD_EGONE, "file '%s' was replaced by another file while open",
                   d->path);
  return PD_OK;
}
