/*
 * sidecar_owner.c - refusing a file whose -wal and -shm belong to another.
 *
 * SQLite finds a database's -wal and -shm by name. When a file is replaced
 * (a new file renamed over it) or deleted and made again while processes
 * still have the old one open, the -wal and -shm at that name are still the
 * old file's, in use. A connection opened on the new file would adopt them:
 * it reads the old file's pages from the WAL as the new file's, and its
 * commits and checkpoints mix the two (measured: a value of the new file
 * read back as an old row's, then "row 1 missing from index"). So, before
 * SQLite opens the file, this checks whose the -shm is and refuses with
 * PD_EBUSY while another file's users hold it; once they have closed it,
 * the last of them removes the old -wal and -shm, and the open succeeds.
 *
 * How it tells: every SQLite connection in WAL mode holds a read lock on the
 * database file's SHARED range for as long as it is open, and, from after
 * taking it, a read lock on the -shm's "dead man switch" byte (os_unix.c).
 * A -shm locked by someone while nobody holds this file's SHARED range is
 * therefore held by users of another file. The locks are only looked at
 * (F_OFD_GETLK, which sees every process's locks, this one's included),
 * never taken. Looking needs a descriptor, and closing any descriptor of a
 * file drops all of this process's locks on it (file_guard.c): so when
 * connections of this process use the -shm, their registry (fork_locks.c)
 * answers instead and no descriptor is opened. A -shm nobody holds is left
 * to SQLite, which then recovers from whatever -wal is there as it always
 * does.
 *
 * That is why the old file's users clean up after themselves. SQLite does
 * not checkpoint or delete the -wal and -shm of a file renamed or deleted
 * while open: they are left at the name, where the next open would replay
 * the old file's pages into the new one. When the last connection of this
 * process to a file closes and the file has no name left (st_nlink 0: it
 * was deleted, or a file was renamed over it), nothing can ever need those
 * pages, so they are removed, once no other process maps the -shm: the
 * removal holds the -shm's dead man switch for writing, which makes an
 * opener's SQLite wait (SQLITE_BUSY) rather than map it meanwhile. A file
 * renamed away keeps a name, and its -wal holds commits it still needs:
 * that is left alone. The file is known by an O_PATH descriptor, whose close
 * drops no lock (fs/open.c: O_PATH files skip locks_remove_posix).
 *
 * A read-only connection cleans up the same way after itself: SQLite makes a
 * -wal and -shm for it when there were none (it cannot read a WAL database
 * without), and, unable to checkpoint, leaves them when it closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#ifndef F_OFD_GETLK /* Linux 3.15; older glibc headers lack the names */
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#endif

/* os_unix.c's lock bytes, as in fork_locks.c. */
#define DB_SHARED_FIRST (0x40000000 + 2)
#define DB_SHARED_SIZE 510
#define SHM_DMS_BYTE 128

/* 1 when some lock (any process, this one too) covers [start, start+len) of
 * the file at path; 0 when none, or when it cannot be looked at. */
static int locked(const char *path, off_t start, off_t len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return 0;
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  int held = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  close(fd);
  return held;
}

static int refuse(pd_dict *d) {
  return pd__err(d, PD_EBUSY,
                 "'%s' is not the file whose -wal and -shm are in use beside it: it was "
                 "replaced or deleted while other connections had it open, and opening it "
                 "now would mix the two files; it can be opened once those connections "
                 "have closed the old file",
                 d->path);
}

int pd__sidecars_owner_check(pd_dict *d) {
  char shm[4100];
  struct stat st;
  if ((size_t)snprintf(shm, sizeof shm, "%s-shm", d->real_path) >= sizeof shm ||
      lstat(shm, &st) != 0)
    return PD_OK; /* no -shm: nobody uses one */
  int shm_used, shm_other, file_used;
  pd__conn_users(shm, d->file_dev, d->file_ino, &shm_used, &shm_other, &file_used);
  if (shm_other) return refuse(d);
  if (shm_used || file_used) return PD_OK; /* this process's own users: this file's */
  if (!locked(shm, SHM_DMS_BYTE, 1)) return PD_OK;
  return locked(d->real_path, DB_SHARED_FIRST, DB_SHARED_SIZE) ? PD_OK : refuse(d);
}

void pd__sidecars_init(pd_dict *d) {
  d->path_fd = -1;
  d->made_sidecars = 0;
}

void pd__sidecars_note_absent(pd_dict *d) {
  char p[4100];
  struct stat st;
  d->made_sidecars = 0;
  if (!d->opts.readonly) return;
  snprintf(p, sizeof p, "%s-wal", d->real_path);
  if (lstat(p, &st) == 0) return;
  snprintf(p, sizeof p, "%s-shm", d->real_path);
  d->made_sidecars = lstat(p, &st) != 0;
}

void pd__sidecars_track(pd_dict *d) {
  int fd = open(d->real_path, O_PATH | O_CLOEXEC);
  struct stat st;
  if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == d->file_dev && st.st_ino == d->file_ino) {
    d->path_fd = fd;
    return;
  }
  if (fd >= 0) close(fd); /* replaced already: the open's own checks tell */
}

/* Removes the -wal and -shm beside d->real_path, unless a connection of this
 * process or another maps the -shm (or, with empty_wal_only, the -wal holds
 * anything). */
static void remove_unused(pd_dict *d, int empty_wal_only) {
  char shm[4100], wal[4100];
  if ((size_t)snprintf(shm, sizeof shm, "%s-shm", d->real_path) >= sizeof shm) return;
  snprintf(wal, sizeof wal, "%s-wal", d->real_path);
  int shm_used, shm_other, file_used;
  pd__conn_users(shm, d->file_dev, d->file_ino, &shm_used, &shm_other, &file_used);
  if (shm_used) return;
  int fd = open(shm, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return;
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = SHM_DMS_BYTE, .l_len = 1};
  struct stat st;
  if (fcntl(fd, F_OFD_SETLK, &fl) == 0 &&
      (!empty_wal_only || (lstat(wal, &st) == 0 && st.st_size == 0))) {
    unlink(wal);
    unlink(shm);
  }
  close(fd);
}

void pd__sidecars_after_close(pd_dict *d, int closed) {
  int made = d->made_sidecars;
  d->made_sidecars = 0;
  if (d->path_fd < 0) return;
  struct stat st;
  int nameless = closed && fstat(d->path_fd, &st) == 0 && st.st_nlink == 0;
  close(d->path_fd);
  d->path_fd = -1;
  if (nameless) remove_unused(d, 0);
  /* A read-only open of a file with neither had SQLite make both: with an
   * empty -wal they hold nothing, and left behind they would be this user's
   * files beside another's database (which its owner then cannot write). */
  else if (closed && made) remove_unused(d, 1);
}
