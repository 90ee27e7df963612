/*
 * fork_locks.c - a child process holds the file locks its inherited SQLite
 * connections are believed to hold.
 *
 * Why: SQLite's unix VFS keeps, per process, one record of the POSIX locks
 * held on each file (by inode), shared by every connection to it. fork()
 * copies that record into the child, but the kernel gives the child none of
 * the locks: POSIX locks are not inherited. The inherited connection is
 * never touched in the child (permadict.h, caveat "fork()"), yet it stays in
 * the record, so a connection the child opens on the same file (pd_reopen,
 * pd_open) finds its SHARED lock on the database and its lock on the
 * -shm's "dead man switch" byte already "held" and never asks the kernel.
 * Once the parent closes, the child holds no lock at all: another process
 * that opens and closes the file then believes it is the last user,
 * checkpoints and deletes the -wal under the child, and the child's later
 * commits are lost. So the child takes exactly those two read locks, at
 * fork, for every file an inherited connection has open: the record is true
 * again, and every connection opened later builds on real locks.
 *
 * The locks are taken through descriptors opened here and never closed:
 * closing any descriptor of a file drops all of the process's locks on it
 * (file_guard.c). They are close-on-exec, so a child that execs lets go of
 * them with everything else. A connection that held more at fork() (the
 * write lock of an open transaction) cannot be made whole: that lock is
 * exclusive, and the record says this process holds it, so SQLite would let
 * no connection of the child write the file. pd__conn_write_blocked tells
 * at connect, and pd__fork_write_check, run before each of the engine's two
 * BEGIN IMMEDIATEs (a write transaction, creating a namespace), fails it at
 * once with PD_EFORKED instead of waiting out its timeout.
 *
 * Every handle's SQLite connection on a file is registered here while it is
 * open, and forever once a child has inherited it: the record of a
 * grandchild holds it too. (A checkpoint thread's connection is not: the
 * handle's own, registered, is open on the same file for the thread's
 * whole life, and a child never inherits the thread.)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* SQLite's lock bytes (os_unix.c; fixed, as every SQLite version sharing a
 * file must agree on them): the database's SHARED range, and the -shm's
 * "dead man switch", read-locked by every process that has it mapped. */
#define DB_SHARED_FIRST (0x40000000 + 2)
#define DB_SHARED_SIZE 510
#define SHM_DMS_BYTE 128

/* A lock not granted at once is retried for up to 20 ms: another process
 * holds these bytes for writing only during a recovery or a last close. */
#define LOCK_TRIES 200
#define LOCK_RETRY_NS 100000

struct pd__conn_entry {
  struct pd__conn_entry *next, *prev;
  sqlite3 *db;
  dev_t dev;
  ino_t ino;
  int db_fd, shm_fd; /* ours, for the child's locks; -1 until needed */
  int held_write;    /* inherited inside a write transaction */
  char *db_path, *shm_path;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pd__conn_entry *registry;

int pd__conn_register(pd_dict *d) {
  pd__conn_entry *e = calloc(1, sizeof *e);
  size_t n = strlen(d->real_path);
  char *paths = e ? malloc(2 * n + 6) : NULL;
  if (!paths) {
    free(e);
    return pd__err(d, PD_ENOMEM, "out of memory opening '%s'", d->path);
  }
  e->db_path = paths;
  memcpy(e->db_path, d->real_path, n + 1);
  e->shm_path = paths + n + 1;
  memcpy(e->shm_path, d->real_path, n);
  memcpy(e->shm_path + n, "-shm", 5);
  e->db = d->db;
  e->dev = d->file_dev;
  e->ino = d->file_ino;
  e->db_fd = e->shm_fd = -1;
  pthread_mutex_lock(&registry_lock);
  e->next = registry;
  if (registry) registry->prev = e;
  registry = e;
  pthread_mutex_unlock(&registry_lock);
  d->conn_entry = e;
  return PD_OK;
}

void pd__conn_unregister(pd_dict *d, int closed) {
  pd__conn_entry *e = d->conn_entry;
  d->conn_entry = NULL;
  if (!e || !closed) return; /* a leaked connection stays in SQLite's record */
  pthread_mutex_lock(&registry_lock);
  if (e->prev) e->prev->next = e->next;
  else registry = e->next;
  if (e->next) e->next->prev = e->prev;
  pthread_mutex_unlock(&registry_lock);
  free(e->db_path);
  free(e);
}

/* Read-locks [start, start + len) of the file at path through *fd (opened
 * on first use), if that file is still the inode the connection opened;
 * 0 if it is not (or cannot be opened). */
static int read_lock(int *fd, const char *path, const pd__conn_entry *e, off_t start,
                     off_t len, int check_identity) {
  if (*fd < 0) {
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) return 0;
  }
  struct stat st;
  if (check_identity && (fstat(*fd, &st) != 0 || st.st_dev != e->dev || st.st_ino != e->ino))
    return 0; /* replaced since: the connection's inode is not this one */
  struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
  for (int i = 0; i < LOCK_TRIES; i++) {
    if (fcntl(*fd, F_SETLK, &fl) == 0 || (errno != EAGAIN && errno != EACCES)) return 1;
    struct timespec ts = {0, LOCK_RETRY_NS};
    nanosleep(&ts, NULL);
  }
  return 1;
}

/* Runs in the child right after fork(), with one thread: only
 * async-signal-safe calls (open, fstat, fcntl, nanosleep), no allocation. */
void pd__conn_fork_child(void) {
  pthread_mutex_init(&registry_lock, NULL); /* no other thread holds it here */
  for (pd__conn_entry *e = registry; e; e = e->next) {
    if (!sqlite3_get_autocommit(e->db)) e->held_write = 1; /* a field read */
    /* The -shm only when the database is still the connection's: a -shm
     * beside a replaced file belongs to that file's users. */
    if (read_lock(&e->db_fd, e->db_path, e, DB_SHARED_FIRST, DB_SHARED_SIZE, 1))
      read_lock(&e->shm_fd, e->shm_path, e, SHM_DMS_BYTE, 1, 0);
  }
}

int pd__conn_write_blocked(const pd_dict *d) {
  int blocked = 0;
  pthread_mutex_lock(&registry_lock);
  for (const pd__conn_entry *e = registry; e && !blocked; e = e->next)
    blocked = e->held_write && e->dev == d->file_dev && e->ino == d->file_ino;
  pthread_mutex_unlock(&registry_lock);
  return blocked;
}

int pd__fork_write_check(pd_dict *d) {
  if (!d->fork_write_blocked) return PD_OK;
  return pd__err(d, PD_EFORKED,
                 "cannot write '%s' in this process: it was forked while a write "
                 "transaction on the file was open, and the lock that transaction "
                 "held cannot be released here (fork outside transactions)",
                 d->path);
}
