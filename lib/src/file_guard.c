/*
 * file_guard.c - everything that happens to the file before and around
 * SQLite: the type pre-check, atomic creation, the header check, sidecar and
 * identity checks.
 *
 * FORMAT.md 1: a file that is not a permadict file is refused and never
 * modified. SQLite would happily "recover" a hot journal or switch a foreign
 * database to WAL, so its header is checked before any statement runs.
 *
 * The database file itself is never opened here. POSIX record locks belong
 * to the (process, inode) pair and close() of ANY descriptor on the inode
 * drops all of them ("How To Corrupt", 2.2): a pre-check with open() and
 * close() would silently drop the SHARED lock that every WAL connection
 * already open in this process holds, and another process could then
 * checkpoint and delete the -wal those connections still write into. So the
 * type is checked with stat(), SQLite opens the file (which only opens it:
 * no lock, no write until the first statement), and the header is read
 * through SQLite's own file handle; a refused connection is closed by
 * SQLite, whose unix VFS defers closing a descriptor while other connections
 * of the process hold locks on the inode.
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

/* Checks the 100-byte SQLite header h of path (size bytes long). */
static int header_check(const char *path, const unsigned char *h, sqlite3_int64 size,
                        pd__file_info *info, char *msg, size_t cap) {
  if (size == 0) {
    snprintf(msg, cap, "'%s' is empty (zero bytes): not an SQLite database", path);
    return PD_ENOTADB;
  }
  if (size < 100 || memcmp(h, sqlite_magic, 16) != 0) {
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
  /* Versions 1 and 2 only ever came from development builds before the
   * first release (1 kept count and version in the namespace row, 2 kept
   * the change log in a table of its own: FORMAT.md 2 and 5). */
  if (user_version < PD__FORMAT_VERSION) {
    snprintf(msg, cap,
             "'%s' has permadict format version %u, older than this library's "
             "version %d (written by a development build; not converted)",
             path, user_version, PD__FORMAT_VERSION);
    return PD_EFORMAT;
  }
  /* FORMAT.md 1 and 3: key order is SQLite's, bytewise on UTF-8. A file
   * another writer made in UTF-16 would order its text keys by UTF-16
   * bytes (U+FF5A before "a"), and no index can be read in the order the
   * format promises. */
  uint32_t encoding = be32(h + 56);
  if (encoding != SQLITE_UTF8) {
    snprintf(msg, cap,
             "'%s' stores text as %s (SQLite text encoding %u); a permadict file "
             "stores it as UTF-8",
             path, encoding == SQLITE_UTF16LE   ? "UTF-16le"
                   : encoding == SQLITE_UTF16BE ? "UTF-16be"
                                                : "an unknown encoding",
             encoding);
    return PD_EFORMAT;
  }
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

const char *pd__sqlite_file_name(const char *path, char *buf, size_t cap) {
  if (strncmp(path, "file:", 5) != 0) return path;
  return (size_t)snprintf(buf, cap, "./%s", path) < cap ? buf : NULL;
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
 * (which checkpoints the WAL into it) and moved into place by a rename that
 * never replaces an existing file, so when two processes race, one wins and the
 * other opens the winner's complete file. A reader can therefore never see
 * a half-made or zero-byte permadict file.
 */
static int create_atomically(const char *path, char *msg, size_t cap) {
  char tmp[4096], name_buf[4096];
  const char *name = pd__sqlite_file_name(path, name_buf, sizeof name_buf);
  if (!name || (size_t)snprintf(tmp, sizeof tmp, "%s.pdtmp-XXXXXX", name) >= sizeof tmp) {
    snprintf(msg, cap, "path '%s' is too long", path);
    return PD_EINVALID;
  }
  int fd = mkstemp(tmp);
  if (fd < 0) {
    int e = errno;
    snprintf(msg, cap, "cannot create '%s': %s%s", path, strerror(e),
             e == ENOENT ? " (its directory does not exist)" : "");
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

  /* A rename that never replaces, rather than link() and unlink(): between
   * those two the file has two links, and an open racing in then is
   * refused (pd__file_prepare). link() serves filesystems whose rename
   * cannot promise not to replace. */
  int rc = PD_OK, e = 0;
  if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) != 0) {
    e = errno;
    if (e == EINVAL || e == ENOSYS || e == ENOTSUP) e = link(tmp, path) != 0 ? errno : 0;
  }
  if (e != 0 && e != EEXIST) { /* EEXIST: another process won the race */
    snprintf(msg, cap, "cannot create '%s': %s", path, strerror(e));
    rc = e == EACCES || e == EROFS ? PD_EREADONLY : e == ENOSPC ? PD_EFULL : PD_EIO;
  }
  remove_sqlite_files(tmp);
  if (rc == PD_OK) fsync_parent_dir(path);
  return rc;
}

/* stat() says ENOENT both for a missing path and for a link to a missing
 * target. Creating would be wrong for the link either way: link() refuses
 * to replace it (EEXIST, taken for a lost race, forever), and following it
 * would make a file wherever the link points. */
static int dangling_symlink(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

int pd__file_prepare(const char *path, int readonly, int create, int durable,
                     pd__file_info *info, char *msg, size_t cap) {
  (void)durable; /* creation always syncs: it happens once per file */
  for (int attempt = 0; attempt < 3; attempt++) {
    struct stat st;
    if (stat(path, &st) != 0) {
      int e = errno;
      if (e == ENOENT && dangling_symlink(path)) {
        snprintf(msg, cap,
                 "'%s' is a symbolic link whose target does not exist%s", path,
                 create && !readonly ? " (a file is never created through a link)" : "");
        return PD_ENOTFOUND;
      }
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
    /* Before SQLite opens it: opening a FIFO read-only would block until a
     * writer came, and a directory or device is never ours. */
    if (!S_ISREG(st.st_mode)) {
      snprintf(msg, cap, "'%s' is not a regular file", path);
      return PD_EINVALID;
    }
    /* SQLite finds a database's -wal and -shm by the name it was opened
     * with: processes opening one file by two hard links would each commit
     * to a WAL of their own, unseen by the others, and the checkpoints of
     * both would overwrite each other's pages ("How To Corrupt", 2.5;
     * measured: 6,000 of 12,000 increments lost). SQLite itself only logs a
     * warning. A symbolic link is fine: SQLite resolves it. */
    if (st.st_nlink > 1) {
      snprintf(msg, cap,
               "'%s' has %lu hard links: SQLite finds a file's -wal and -shm by "
               "name, so processes using different names would lose each "
               "other's commits; give it one name (symbolic links are fine)",
               path, (unsigned long)st.st_nlink);
      return PD_EINVALID;
    }
    info->dev = st.st_dev;
    info->ino = st.st_ino;
    return PD_OK;
  }
  snprintf(msg, cap, "file '%s' keeps disappearing while being created", path);
  return PD_EIO;
}

int pd__file_header_check(sqlite3 *db, const char *path, pd__file_info *info, char *msg,
                          size_t cap) {
  sqlite3_file *f = NULL;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK || !f ||
      !f->pMethods) {
    snprintf(msg, cap, "cannot read '%s': SQLite did not open the file", path);
    return PD_EIO;
  }
  sqlite3_int64 size = 0;
  unsigned char h[100];
  memset(h, 0, sizeof h);
  int src = f->pMethods->xFileSize(f, &size);
  /* A short read is a short header: zero-filled, and refused below. */
  if (src == SQLITE_OK && size > 0) src = f->pMethods->xRead(f, h, (int)sizeof h, 0);
  if (src != SQLITE_OK && src != SQLITE_IOERR_SHORT_READ) {
    snprintf(msg, cap, "cannot read '%s': %s", path, sqlite3_errstr(src));
    return PD_EIO;
  }
  int rc = header_check(path, h, size, info, msg, cap);
  if (rc) return rc;
  /* The header read is only worth something if it came from the file that
   * was checked: a path swapped between stat() and SQLite's open is caught
   * here, before any statement can touch the other file. */
  if (!pd__path_is(path, info->dev, info->ino)) {
    snprintf(msg, cap, "file '%s' was replaced while being opened", path);
    return PD_EGONE;
  }
  return PD_OK;
}

int pd__path_is(const char *path, dev_t dev, ino_t ino) {
  struct stat st;
  return stat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
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
