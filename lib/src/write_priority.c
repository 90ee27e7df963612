/*
 * write_priority.c - a writer that has waited long for the write lock gets
 * it next.
 *
 * Why: SQLite's write lock has no queue. Waiters poll it (busy.c), and the
 * writer that just committed, already running, takes it again before a
 * sleeping waiter wakes up to look. With 4 processes incrementing one key on
 * 2 cores (bench/incr.py), two of them took turns while the other two slept
 * through 25-60 polls in a row: the slowest increments waited 30-75 ms.
 *
 * How: a writer that has waited URGENT_US claims priority in a few words of
 * shared memory (a POSIX shared memory object named after the file's device
 * and inode, so nothing is put beside the database). While a claim stands,
 * every other permadict writer refrains: it neither starts a transaction nor
 * polls the lock, but sleeps on the claim (a futex) until the claim ends.
 * Each writer that releases the lock while a claim stands wakes the claimant
 * at once. Having the lock, the claimant gives up its claim, which wakes the
 * writers that refrained. One claim at a time: a second urgent writer
 * refrains like the rest, then claims.
 *
 * Why not serve every waiter in turn: a ticket lock in front of SQLite's
 * (tried) hands the lock to a sleeping process at every commit; on 2 cores
 * with 4 processes that cut throughput from 37,000 to 15,000 increments a
 * second. Priority only past URGENT_US keeps the fast path of a writer that
 * writes again at once; a claim is served in 40 us (median) to a few ms
 * (behind a commit or a checkpoint that holds the lock that long).
 *
 * Why URGENT_US is 10 ms: the waiting itself does not shrink (the lock is
 * busy all the time, so each of 4 processes waits about 3/4 of it), it is
 * only cut into shorter spells. Below 10 ms there were so many spells over
 * 1 ms that p99 passed 1 ms (2 ms: p99 2.2 ms; 5 ms: 3.5-4.1 ms); at 13-15
 * ms a spell plus the wait behind a long commit passed 20 ms (max 17-33 ms).
 * Measured with bench/incr.py, 4 processes, mixed languages, 3 runs each.
 *
 * Exclusion is still SQLite's alone: the claim only orders, so whatever goes
 * wrong with it costs time, never data. The claimant renews its claim each
 * time it wakes; one not renewed for STALE_US (its process killed or
 * stopped) is cleared by whoever sees it. Without the shared memory (no
 * /dev/shm, an object that is not ours, no permission) a handle polls as
 * before. The object is created at a handle's first write and removed by a
 * handle whose close leaves no -wal (SQLite removes it when its
 * last connection closes); a process killed first leaves its 24 bytes in
 * /dev/shm for the next one, like a lock file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

#include "internal.h"

#define URGENT_US 10000
#define STALE_US 100000
/* How many times a handle finds the object not yet made ready by its
 * creator before it gives up on it and only polls. */
#define NOT_READY_TRIES 100
#define PRIORITY_MAGIC 0x70647770u /* "pdwp" */

typedef struct priority_shared {
  _Atomic uint32_t magic;
  _Atomic uint32_t claim;    /* the standing claim's number, 0 if none (a futex) */
  _Atomic uint32_t released; /* bumped by each release while a claim stands (a futex) */
  _Atomic uint32_t claims;   /* numbers claims */
  _Atomic int64_t renewed_us; /* CLOCK_MONOTONIC when the claimant last woke */
} priority_shared;

struct pd__write_priority {
  priority_shared *shared;
  uint32_t claim;         /* ours, 0 if we hold none */
  uint32_t released_seen; /* released before SQLite's lock was last tried */
};

#ifdef __linux__

static void object_name(const pd_dict *d, char *name, size_t cap) {
  snprintf(name, cap, "/permadict-writers-%llx-%llx", (unsigned long long)d->file_dev,
           (unsigned long long)d->file_ino);
}

static void futex_wait(_Atomic uint32_t *addr, uint32_t seen, int64_t us) {
  if (us <= 0) return;
  struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
  pd__gate_pause(); /* let fork() through meanwhile, as pd__sleep_us does */
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT, seen, &ts, NULL, 0);
  pd__gate_resume();
}

static void futex_wake_all(_Atomic uint32_t *addr) {
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* An existing object is ours only if it is a regular file of our size,
 * owned by us or by the database file's owner (anyone else could plant
 * one that makes every writer stand back). */
static int object_is_ours(const struct stat *os, const struct stat *db) {
  return S_ISREG(os->st_mode) && os->st_size == sizeof(priority_shared) &&
         (os->st_uid == geteuid() || os->st_uid == db->st_uid);
}

enum { MAPPED, NOT_READY, UNUSABLE };

/* Maps the file's object, creating it with the file's read and write
 * permissions (everyone who may write the file may claim). NOT_READY: it
 * exists but its creator has not yet marked it ours (try again later). An
 * object that is not ours is never written. */
static int map_object(const pd_dict *d, priority_shared **out) {
  struct stat db;
  if (!d->real_path || stat(d->real_path, &db) != 0) return UNUSABLE; /* ":memory:": no file */
  char name[64];
  object_name(d, name, sizeof name);
  int created = 1;
  int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0) {
    if (fchmod(fd, db.st_mode & 0666) != 0 || ftruncate(fd, sizeof(priority_shared)) != 0) {
      /* Ours and unusable: left empty, every later writer would take it
       * for one not yet ready, and give up on it. */
      shm_unlink(name);
      close(fd);
      return UNUSABLE;
    }
  } else {
    created = 0;
    /* O_NONBLOCK: an open of a FIFO planted under the name must not hang. */
    fd = shm_open(name, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
    if (fd < 0) return UNUSABLE;
    struct stat os;
    int known = fstat(fd, &os) == 0;
    if (known && S_ISREG(os.st_mode) && os.st_size == 0) {
      close(fd); /* just created, not yet sized */
      return NOT_READY;
    }
    if (!known || !object_is_ours(&os, &db)) {
      close(fd);
      return UNUSABLE;
    }
  }
  void *p = mmap(NULL, sizeof(priority_shared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return UNUSABLE;
  priority_shared *s = p;
  if (created) atomic_store(&s->magic, PRIORITY_MAGIC);
  uint32_t magic = atomic_load(&s->magic);
  if (magic != PRIORITY_MAGIC) {
    munmap(p, sizeof(priority_shared));
    return magic == 0 ? NOT_READY : UNUSABLE;
  }
  *out = s;
  return MAPPED;
}

static pd__write_priority *attach(pd_dict *d) {
  if (d->wp || d->wp_unusable) return d->wp;
  priority_shared *shared = NULL;
  int got = map_object(d, &shared);
  pd__write_priority *w = got == MAPPED ? calloc(1, sizeof *w) : NULL;
  if (!w) {
    if (shared) munmap(shared, sizeof(priority_shared));
    if (got != NOT_READY || ++d->wp_not_ready >= NOT_READY_TRIES) d->wp_unusable = 1;
    return NULL;
  }
  w->shared = shared;
  d->wp = w;
  return w;
}

/* A claim is stale when not renewed for STALE_US; one renewed in the future
 * (a clock not ours, or garbage) is stale too. Written so that no value of
 * renewed overflows. */
static int is_stale(int64_t renewed, int64_t now) {
  return renewed < now - STALE_US || renewed > now + STALE_US;
}

/* The standing claim, or 0; a stale one is cleared. */
static uint32_t standing_claim(priority_shared *s, int64_t now) {
  uint32_t c = atomic_load(&s->claim);
  if (c && is_stale(atomic_load(&s->renewed_us), now) &&
      atomic_compare_exchange_strong(&s->claim, &c, 0)) {
    futex_wake_all(&s->claim);
    return 0;
  }
  return c;
}

static int try_claim(pd__write_priority *w) {
  priority_shared *s = w->shared;
  uint32_t number = atomic_fetch_add(&s->claims, 1) + 1;
  if (!number) number = 1;
  atomic_store(&s->renewed_us, pd__now_us()); /* before anyone can see the claim as stale */
  uint32_t none = 0;
  if (!atomic_compare_exchange_strong(&s->claim, &none, number)) return 0;
  w->claim = number;
  return 1;
}

static void give_up_claim(pd__write_priority *w) {
  if (!w->claim) return;
  uint32_t mine = w->claim;
  w->claim = 0;
  if (atomic_compare_exchange_strong(&w->shared->claim, &mine, 0))
    futex_wake_all(&w->shared->claim);
}

/* Sleeps while claim c stands, until until_us at the latest. */
static void refrain(priority_shared *s, uint32_t c, int64_t until_us) {
  for (;;) {
    int64_t now = pd__now_us();
    if (now >= until_us || standing_claim(s, now) != c) return;
    int64_t renewed = atomic_load(&s->renewed_us);
    int64_t stale_at = (renewed < now ? renewed : now) + STALE_US + 1;
    futex_wait(&s->claim, c, (stale_at < until_us ? stale_at : until_us) - now);
  }
}

void pd__write_priority_before_begin(pd_dict *d) {
  d->in_write_begin = 1;
  if (d->wp_unusable) return; /* it never will be: no clock to read */
  d->write_wait_from_us = pd__now_us();
  /* Attached at the first write, not the first wait: a writer that never
   * had to wait is the one that must stand back for a claim. */
  pd__write_priority *w = attach(d);
  if (!w) return;
  uint32_t c = standing_claim(w->shared, d->write_wait_from_us);
  if (c) refrain(w->shared, c, pd__call_deadline(d));
  w->released_seen = atomic_load(&w->shared->released);
}

void pd__write_priority_wait(pd_dict *d, int64_t wait_us) {
  pd__write_priority *w = attach(d); /* the object may not have been ready at the begin */
  if (!w) {
    pd__sleep_us(wait_us);
    return;
  }
  priority_shared *s = w->shared;
  int64_t now = pd__now_us();
  /* Cleared while this process did not run for STALE_US: claim again. */
  if (w->claim && atomic_load(&s->claim) != w->claim) w->claim = 0;
  if (w->claim) { /* ours: renew it; the next release wakes us */
    atomic_store(&s->renewed_us, now);
    futex_wait(&s->released, w->released_seen, wait_us);
  } else {
    uint32_t c = standing_claim(s, now);
    int64_t urgent_at = d->write_wait_from_us + URGENT_US;
    if (!c && now >= urgent_at && !try_claim(w)) c = atomic_load(&s->claim);
    if (c) refrain(s, c, pd__call_deadline(d));
    else if (now < urgent_at) /* so no claim was tried */
      pd__sleep_us(now + wait_us < urgent_at ? wait_us : urgent_at - now);
  }
  w->released_seen = atomic_load(&s->released);
}

void pd__write_priority_after_begin(pd_dict *d) {
  d->in_write_begin = 0;
  if (d->wp) give_up_claim(d->wp);
}

void pd__write_priority_released(pd_dict *d) {
  pd__write_priority *w = d->wp;
  if (!w || !atomic_load(&w->shared->claim)) return; /* nobody to wake */
  atomic_fetch_add(&w->shared->released, 1);
  futex_wake_all(&w->shared->released);
}

void pd__write_priority_forget_object(pd_dict *d) {
  if (!d->real_path || !d->file_ino) return; /* no file: no object */
  char wal[PATH_MAX];
  if (snprintf(wal, sizeof wal, "%s-wal", d->real_path) >= (int)sizeof wal) return;
  struct stat st;
  if (stat(wal, &st) == 0 || errno != ENOENT) return; /* other connections remain */
  char name[64];
  object_name(d, name, sizeof name);
  int fd = shm_open(name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
  if (fd < 0) return;
  uint32_t magic = 0; /* only ours is removed */
  struct stat db, os;
  if (stat(d->real_path, &db) == 0 && fstat(fd, &os) == 0 && object_is_ours(&os, &db) &&
      pread(fd, &magic, sizeof magic, 0) == (ssize_t)sizeof magic && magic == PRIORITY_MAGIC)
    shm_unlink(name);
  close(fd);
}

#else /* no futexes: waiters poll (busy.c) */

void pd__write_priority_before_begin(pd_dict *d) { d->in_write_begin = 1; }
void pd__write_priority_wait(pd_dict *d, int64_t wait_us) {
  (void)d;
  pd__sleep_us(wait_us);
}
void pd__write_priority_after_begin(pd_dict *d) { d->in_write_begin = 0; }
void pd__write_priority_released(pd_dict *d) { (void)d; }
void pd__write_priority_forget_object(pd_dict *d) { (void)d; }

#endif

/* Every BEGIN gives its claim up before it returns, so none is held here
 * but one inherited by a child of fork() mid-wait: that one is the parent's. */
void pd__write_priority_detach(pd_dict *d) {
  if (d->wp) {
    munmap(d->wp->shared, sizeof(priority_shared));
    free(d->wp);
  }
  d->wp = NULL;
  d->wp_unusable = 0;
  d->wp_not_ready = 0;
  d->in_write_begin = 0;
}
