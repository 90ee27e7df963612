/*
 * watch.c - pd_wait and pd_watch_fd: learning that another process changed
 * the namespace, without spinning.
 *
 * How a wait works (Linux):
 *   - Each handle lazily gets one inotify instance (non-blocking, close-on-
 *     exec) watching the database's -wal file and the main file for
 *     IN_MODIFY. A commit in WAL mode always write()s frames to the -wal; a
 *     checkpoint, or a commit in rollback-journal mode, writes the main file.
 *     Paths are watched, never opened: opening and closing a database file
 *     ourselves would drop SQLite's POSIX locks ("How To Corrupt", 2.6).
 *   - Order matters: arm the watch, drain old events, THEN read the version.
 *     A commit after the read leaves an event behind, so poll() returns at
 *     once; a commit before it is seen by the read. Nothing falls between.
 *   - A woken watcher may read the version before the writer has published
 *     its commit: SQLite writes the WAL frames (our event) and only then
 *     updates the wal-index header in the -shm, through mmap, which inotify
 *     does not report; with synchronous=FULL an fsync sits in between. So
 *     after an event that did not yet show a new version, the wait "settles":
 *     it re-reads the version with a short back-off (25 us doubling to 4 ms)
 *     for SETTLE_US after the last event, still waking at once on a new one.
 *     An idle watcher gets no events and sleeps in the kernel.
 *   - A commit can take longer than that between its frames and its header:
 *     an fsync of the WAL on a slow disk (durable), or a writer descheduled
 *     under load (measured: a 400 ms fsync left a waiter asleep until its
 *     timeout, and one without a timeout for ever). So a writer whose COMMIT
 *     took SLOW_COMMIT_US or more touches the main file's times once it is
 *     published: IN_ATTRIB, which every waiter watches, wakes them to read
 *     the version again. Quick commits, nearly all, pay one clock read.
 *   - The settle state lives in the handle, not in one call: the events a
 *     call drained may belong to a commit that becomes visible only after it
 *     returned (with another commit's version), and the next call must still
 *     re-check. For pd_watch_fd users the same holds between event-loop
 *     wake-ups, so the descriptor handed out is an epoll set holding the
 *     inotify instance and a one-shot timerfd: pd_wait(d, since, 0, &v)
 *     drains both and, while settling, arms the timer for the next re-check,
 *     which makes the descriptor readable again a moment later.
 *   - The version read is one SELECT in its own short read transaction: a
 *     few microseconds, and no read transaction is left open while sleeping
 *     (it would stop checkpoints).
 *
 * Without inotify (no instances left, no watches left, not Linux) the wait
 * falls back to a bounded poll loop (1 ms doubling to 50 ms) and the set pd_watch_fd
 * hands out holds a periodic timerfd instead, so "readable when the file may have
 * changed" still holds. A ":memory:" dict can only change through its own
 * handle, which the waiting thread holds, so there is nothing to watch.
 *
 * fork(): the inotify file description is shared with a child. The child's
 * handle answers PD_EFORKED before reaching this file, so it never reads
 * (and steals) the parent's events; watch_free only closes the child's
 * descriptor, which leaves the parent's instance alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"

#if defined(__linux__)
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#define PD_HAVE_INOTIFY 1
#else
#define PD_HAVE_INOTIFY 0
#endif

/* How long after an event the version is re-checked before sleeping again. */
#define SETTLE_US 250000
/* A commit that took this long may have been published after its waiters
 * stopped re-checking: its writer wakes them once more (pd__watch_commit_done). */
#define SLOW_COMMIT_US (SETTLE_US / 2)
#define SETTLE_FIRST_US 25
#define SETTLE_CAP_US 4000
/* The poll fallback's back-off. */
#define POLL_FIRST_US 1000
#define POLL_CAP_US 50000
/* Period of the fallback descriptor pd_watch_fd hands out. */
#define FALLBACK_TICK_NS 20000000L

typedef enum watch_kind {
  WATCH_INOTIFY, /* fd is an inotify instance */
  WATCH_POLL,    /* no kernel notification: a poll loop */
  WATCH_MEMORY   /* ":memory:": nothing to watch */
} watch_kind;

typedef struct watch_state {
  watch_kind kind;
  int fd;      /* the inotify instance, or -1 */
  int timer;   /* timerfd for pd_watch_fd users (settle re-checks, or the
                  poll fallback's period), or -1 */
  int epfd;    /* what pd_watch_fd hands out: fd and timer in one set, or -1 */
  int64_t settle_until; /* re-check the version until then (monotonic us) */
  int64_t settle_step;  /* the next re-check's delay */
  int wd_main; /* watch on the main file, or -1 */
  int wd_wal;  /* watch on the -wal file, or -1 */
  int wd_dir;  /* watch on the directory while the -wal is missing, or -1 */
  char *wal_path;
  char *dir_path;
  const char *wal_name; /* points into wal_path: the -wal's own file name */
} watch_state;

static void watch_state_free(pd_dict *d) {
  watch_state *w = d->watch;
  if (!w) return;
  if (w->fd >= 0) close(w->fd);
  if (w->timer >= 0) close(w->timer);
  if (w->epfd >= 0) close(w->epfd);
  free(w->wal_path);
  free(w->dir_path);
  free(w);
  d->watch = NULL;
}

/* ------------------------------------------------------------ inotify */

#if PD_HAVE_INOTIFY
static int paths_make(pd_dict *d, watch_state *w) {
  size_t n = strlen(d->real_path);
  w->wal_path = malloc(n + 5);
  w->dir_path = malloc(n + 2);
  if (!w->wal_path || !w->dir_path) return PD_ENOMEM;
  memcpy(w->wal_path, d->real_path, n);
  memcpy(w->wal_path + n, "-wal", 5);
  const char *slash = strrchr(w->wal_path, '/');
  if (slash) {
    size_t dn = (size_t)(slash - w->wal_path);
    memcpy(w->dir_path, w->wal_path, dn ? dn : 1);
    w->dir_path[dn ? dn : 1] = 0;
    w->wal_name = slash + 1;
  } else { /* realpath() is absolute; stay correct anyway */
    strcpy(w->dir_path, ".");
    w->wal_name = w->wal_path;
  }
  return PD_OK;
}

/* Watches the -wal; while it does not exist, watches the directory for its
 * creation instead. Returns 0, or -1 when inotify refused (out of watches). */
static int wal_arm(watch_state *w) {
  w->wd_wal = inotify_add_watch(w->fd, w->wal_path,
                                IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW);
  if (w->wd_wal >= 0) {
    if (w->wd_dir >= 0) {
      inotify_rm_watch(w->fd, w->wd_dir);
      w->wd_dir = -1;
    }
    return 0;
  }
  if (errno != ENOENT) return -1;
  if (w->wd_dir < 0) {
    w->wd_dir = inotify_add_watch(w->fd, w->dir_path, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
    if (w->wd_dir < 0) return -1;
  }
  /* It may have appeared between the two calls. */
  w->wd_wal = inotify_add_watch(w->fd, w->wal_path,
                                IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW);
  return 0;
}

/* Sets w up as an inotify watch; 0, or -1 to fall back to polling. */
static int inotify_setup(pd_dict *d, watch_state *w) {
  w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (w->fd < 0) return -1;
  /* IN_ATTRIB: the file's link count drops when it is deleted or a file is
   * renamed over it, which ends a wait with PD_EGONE (version_read). It also
   * fires on chmod or touch: a spurious wake-up, which re-reads the version
   * and sleeps again. */
  w->wd_main = inotify_add_watch(w->fd, d->real_path,
                                 IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF |
                                     IN_DONT_FOLLOW);
  if (w->wd_main < 0 || wal_arm(w) != 0) {
    close(w->fd);
    w->fd = -1;
    return -1;
  }
  w->kind = WATCH_INOTIFY;
  return 0;
}

/* Reads every pending event. Returns how many there were, and re-arms the
 * -wal watch when the file went away or (re)appeared. */
static int inotify_drain(watch_state *w) {
  /* Aligned as inotify(7) asks. */
  char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
  int events = 0, rearm = 0;
  for (;;) {
    ssize_t n = read(w->fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break; /* EAGAIN: drained */
    for (char *p = buf; p < buf + n;) {
      const struct inotify_event *ev = (const struct inotify_event *)p;
      events++;
      if (ev->wd == w->wd_wal && (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))) {
        if (ev->mask & IN_IGNORED) w->wd_wal = -1;
        rearm = 1;
      } else if (ev->wd == w->wd_dir && ev->len && strcmp(ev->name, w->wal_name) == 0) {
        rearm = 1;
      } else if (ev->mask & IN_Q_OVERFLOW) {
        rearm = 1; /* events were lost: look at everything again */
      }
      p += sizeof *ev + ev->len;
    }
  }
  if (rearm) {
    if (w->wd_wal >= 0) inotify_rm_watch(w->fd, w->wd_wal);
    w->wd_wal = -1;
    wal_arm(w); /* on failure the main-file watch and the settle re-checks remain */
  }
  return events;
}
#endif /* PD_HAVE_INOTIFY */

/* The handle's watch state, made on first use. PD_ENOMEM is the only
 * failure: without inotify the state says WATCH_POLL. */
static int watch_get(pd_dict *d, watch_state **out) {
  if (d->watch) {
    *out = d->watch;
    return PD_OK;
  }
  watch_state *w = calloc(1, sizeof *w);
  if (!w) return pd__err(d, PD_ENOMEM, "pd_wait: out of memory");
  w->fd = w->timer = w->epfd = w->wd_main = w->wd_wal = w->wd_dir = -1;
  w->kind = d->memory ? WATCH_MEMORY : WATCH_POLL;
  d->watch = w;
  d->watch_free = watch_state_free;
#if PD_HAVE_INOTIFY
  if (!d->memory) {
    if (paths_make(d, w) != PD_OK) {
      watch_state_free(d);
      d->watch_free = NULL;
      return pd__err(d, PD_ENOMEM, "pd_wait: out of memory");
    }
    inotify_setup(d, w);
  }
#endif
  *out = w;
  return PD_OK;
}

/* Empties w's descriptors. An inotify event starts (or extends) the settle
 * period; returns the number of events read. */
static int watch_drain(watch_state *w) {
  int events = 0;
#if PD_HAVE_INOTIFY
  if (w->timer >= 0) {
    uint64_t ticks;
    while (read(w->timer, &ticks, sizeof ticks) == (ssize_t)sizeof ticks) {
    }
  }
  if (w->kind == WATCH_INOTIFY) events = inotify_drain(w);
#endif
  if (events > 0) {
    w->settle_until = pd__now_us() + SETTLE_US;
    w->settle_step = SETTLE_FIRST_US;
  }
  return events;
}

/* The delay before the next settle re-check, or -1 when not settling. */
static int64_t settle_next(watch_state *w, int64_t now) {
  if (now >= w->settle_until) return -1;
  int64_t step = w->settle_step;
  w->settle_step = step * 2 < SETTLE_CAP_US ? step * 2 : SETTLE_CAP_US;
  return step;
}

/* For pd_watch_fd users: make the set readable again when the next settle
 * re-check is due (inotify), or leave the periodic timer running (poll). */
static void timer_rearm(watch_state *w) {
#if PD_HAVE_INOTIFY
  if (w->timer < 0 || w->kind != WATCH_INOTIFY) return;
  struct itimerspec its = {{0, 0}, {0, 0}};
  int64_t step = settle_next(w, pd__now_us());
  if (step > 0) {
    its.it_value.tv_sec = (time_t)(step / 1000000);
    its.it_value.tv_nsec = (long)(step % 1000000) * 1000;
  }
  timerfd_settime(w->timer, 0, &its, NULL); /* all zero disarms */
#else
  (void)w;
#endif
}

/* --------------------------------------------------------------- waits */

/* The namespace's version, read in a short read transaction of its own. */
static int version_read(pd_dict *d, int64_t *out) {
  /* Each read gets the handle's whole busy timeout, however long the wait. */
  d->deadline_set = 0;
  d->timed_out = 0;
  /* A file deleted, renamed or replaced is out of this handle's reach: its
   * writes get PD_EGONE, and a wait on it would wait for ever. */
  int rc = pd__file_identity_check(d);
  if (rc) return rc;
  int exists = 0;
  rc = pd__sq_ns_stored(d, NULL, out, &exists);
  if (!rc && !exists)
    rc = pd__err(d, PD_EGONE, "pd_wait: namespace '%s' of '%s' was dropped", d->name,
                 d->path);
  return rc;
}

/* Sleeps until fd is readable or us microseconds pass (us < 0: no limit).
 * Returns 1 when readable, 0 otherwise (timeout or a signal). */
static int fd_block(int fd, int64_t us) {
  struct pollfd p = {fd, POLLIN, 0};
  struct timespec ts, *tsp = NULL;
  if (us >= 0) {
    ts.tv_sec = (time_t)(us / 1000000);
    ts.tv_nsec = (long)(us % 1000000) * 1000;
    tsp = &ts;
  }
  pd__gate_pause(); /* let fork() through while this call sleeps */
#if defined(__linux__)
  int n = ppoll(&p, 1, tsp, NULL);
#else
  int n = poll(&p, 1, tsp ? (int)((us + 999) / 1000) : -1);
#endif
  pd__gate_resume();
  return n > 0;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* The waiting loop proper; d is entered and w made. */
static int wait_loop(pd_dict *d, watch_state *w, int64_t since, int timeout_ms,
                     int64_t *version) {
  int64_t deadline = timeout_ms < 0 ? INT64_MAX : pd__now_us() + (int64_t)timeout_ms * 1000;
  int64_t poll_step = POLL_FIRST_US;
  watch_drain(w); /* armed already: drain, then read (see the top comment) */
  for (;;) {
    int64_t v = 0;
    int rc = version_read(d, &v);
    if (rc) return rc;
    if (version) *version = v;
    if (v > since) return PD_OK;
    int64_t now = pd__now_us();
    if (now >= deadline) return PD_ETIMEOUT;
    int64_t left = deadline == INT64_MAX ? -1 : deadline - now;
    if (w->kind == WATCH_INOTIFY) {
      int64_t nap = left, step = settle_next(w, now);
      if (step > 0) nap = nap < 0 ? step : min64(nap, step);
      if (fd_block(w->fd, nap)) watch_drain(w);
    } else {
      int64_t nap = left < 0 ? poll_step : min64(left, poll_step);
      poll_step = min64(poll_step * 2, POLL_CAP_US);
      watch_drain(w);
      pd__sleep_us(nap);
    }
  }
}

/* ":memory:": nothing but this handle can change it, and the thread holding
 * the handle is the one waiting, so the version cannot move meanwhile. */
static int wait_memory(pd_dict *d, int64_t since, int timeout_ms, int64_t *version) {
  int64_t v = 0;
  int rc = version_read(d, &v);
  if (rc) return rc;
  if (version) *version = v;
  if (v > since) return PD_OK;
  if (timeout_ms < 0)
    return pd__err(d, PD_EMISUSE,
                   "pd_wait: waiting forever on a ':memory:' dict would never "
                   "return (only its own handle can change it)");
  pd__sleep_us((int64_t)timeout_ms * 1000);
  return PD_ETIMEOUT;
}

int pd_wait(pd_dict *d, int64_t since, int timeout_ms, int64_t *version) {
  int rc = pd__enter(d);
  if (rc) return rc;
  /* Inside a transaction the version is frozen at its snapshot, and the
   * write lock it holds keeps every other writer out: it could never end. */
  if (d->in_txn)
    return pd__leave(d, pd__err(d, PD_EMISUSE,
                                "pd_wait: a transaction is open on '%s'; commit or roll "
                                "back before waiting for other processes",
                                d->path));
  if (d->memory) {
    rc = wait_memory(d, since, timeout_ms, version);
  } else {
    watch_state *w = NULL; /* set by watch_get on success */
    rc = watch_get(d, &w);
    if (rc == PD_OK) {
      rc = wait_loop(d, w, since, timeout_ms, version);
      timer_rearm(w);
    }
  }
  /* Both ways of waiting end here, so a timeout never leaves the message
   * of some earlier call in place. */
  if (rc == PD_ETIMEOUT)
    pd__err(d, PD_ETIMEOUT, "pd_wait: no change after version %lld of '%s' within %d ms",
            (long long)since, d->path, timeout_ms);
  return pd__leave(d, rc);
}

void pd__watch_commit_done(pd_dict *d, int64_t started_us) {
  if (d->memory || pd__now_us() - started_us < SLOW_COMMIT_US) return;
  /* By path, never through a descriptor of ours (see the top comment);
   * best effort: a waiter missing this wakes at its timeout as before. */
  utimensat(AT_FDCWD, d->real_path, NULL, 0);
}

/* ------------------------------------------------------ pd_watch_fd */

/* Builds the set pd_watch_fd hands out: the inotify instance (if any) and
 * a timerfd, periodic on the poll fallback, one-shot for settle re-checks.
 * ":memory:" gets an empty set, which is never readable: nothing else can
 * change that dict. */
static int watch_set_make(pd_dict *d, watch_state *w) {
#if PD_HAVE_INOTIFY
  const char *what = "an epoll set";
  w->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (w->epfd < 0) goto fail;
  if (w->kind == WATCH_MEMORY) return PD_OK;
  struct epoll_event ev = {.events = EPOLLIN};
  if (w->fd >= 0) {
    ev.data.fd = w->fd;
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->fd, &ev) != 0) goto fail;
  }
  what = "a timerfd";
  w->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (w->timer < 0) goto fail;
  ev.data.fd = w->timer;
  if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->timer, &ev) != 0) goto fail;
  if (w->kind == WATCH_POLL) {
    struct itimerspec its = {{0, FALLBACK_TICK_NS}, {0, FALLBACK_TICK_NS}};
    if (timerfd_settime(w->timer, 0, &its, NULL) != 0) goto fail;
  } else {
    timer_rearm(w);
  }
  /* Not read by anyone, but event loops expect non-blocking descriptors. */
  int flags = fcntl(w->epfd, F_GETFL);
  if (flags >= 0) fcntl(w->epfd, F_SETFL, flags | O_NONBLOCK);
  return PD_OK;
fail:;
  int e = errno;
  if (w->timer >= 0) close(w->timer);
  if (w->epfd >= 0) close(w->epfd);
  w->timer = w->epfd = -1;
  return pd__err(d, PD_EIO, "pd_watch_fd: cannot create %s for '%s': %s", what, d->path,
                 strerror(e));
#else
  (void)w;
  return pd__err(d, PD_ERROR, "pd_watch_fd: not supported on this system");
#endif
}

int pd_watch_fd(pd_dict *d, int *fd) {
  int rc = pd__enter(d);
  if (rc) return rc;
  if (!fd) return pd__leave(d, pd__err(d, PD_EINVALID, "pd_watch_fd: fd is NULL"));
  *fd = -1;
  watch_state *w = NULL; /* set by watch_get on success */
  rc = watch_get(d, &w);
  if (rc == PD_OK && w->epfd < 0) rc = watch_set_make(d, w);
  if (rc == PD_OK) *fd = w->epfd;
  return pd__leave(d, rc);
}
