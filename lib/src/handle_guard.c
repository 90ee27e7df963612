/*
 * handle_guard.c - the checks every call makes before touching SQLite:
 * fork() detection and one-thread-at-a-time use of a handle.
 *
 * Caveat (permadict.h, "fork()"): a handle opened before fork() must not be
 * used in the child. A pthread_atfork child handler bumps a global
 * generation; each handle remembers the generation of its connection, so the
 * check is one memory read per call (no getpid() syscall). A stale handle
 * gets PD_EFORKED and SQLite is never called on it: closing or using the
 * inherited connection would release or confuse the parent's POSIX locks
 * (SQLite's "How To Corrupt", section 2.6).
 *
 * Caveat (permadict.h, "Threads"): a handle is used by one thread at a time.
 * One atomic exchange per call detects a second thread inside the handle and
 * answers PD_EMISUSE instead of undefined behaviour.
 */
#include <pthread.h>

#include "internal.h"

static atomic_uint fork_generation;
static pthread_once_t fork_watch_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void) {
  pd__conn_fork_child();
  atomic_fetch_add_explicit(&fork_generation, 1, memory_order_relaxed);
  pd__gate_fork_child();
}

static void fork_watch_register(void) {
  /* prepare/parent: see fork_gate.c (no fork while a call is in SQLite). */
  pthread_atfork(pd__gate_fork_prepare, pd__gate_fork_parent, on_fork_child);
}

void pd__fork_watch_install(void) {
  pthread_once(&fork_watch_once, fork_watch_register);
}

unsigned pd__fork_generation_now(void) {
  return atomic_load_explicit(&fork_generation, memory_order_relaxed);
}

int pd__enter(pd_dict *d) {
  if (!d) return PD_EINVALID;
  /* Fork first: in the child the in-use flag may be inherited set. */
  if (d->fork_generation != pd__fork_generation_now())
    return pd__err(d, PD_EFORKED,
                   "handle on '%s' was opened before fork(): use pd_reopen() "
                   "in the child process",
                   d->path);
  if (atomic_exchange_explicit(&d->in_use, 1, memory_order_acquire))
    return pd__misuse_mark(d); /* the other thread owns the message buffer */
  pd__misuse_clear(d);
  if (!d->db) {
    atomic_store_explicit(&d->in_use, 0, memory_order_release);
    return pd__err(d, PD_ERROR,
                   "handle on '%s' has no connection (a pd_reopen failed)",
                   d->path);
  }
  d->deadline_set = 0;
  d->timed_out = 0;
  pd__gate_enter();
  return PD_OK;
}

int pd__leave(pd_dict *d, int rc) {
  pd__gate_leave();
  atomic_store_explicit(&d->in_use, 0, memory_order_release);
  return rc;
}
