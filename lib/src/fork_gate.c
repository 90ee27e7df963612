/*
 * fork_gate.c - fork() never happens while a permadict call is inside SQLite.
 *
 * Why: SQLite's unix VFS keeps process-wide mutexes (the big VFS lock, the
 * per-file lock and shared-memory mutexes, the allocator's). If one thread is
 * inside SQLite when another calls fork(), the child inherits those mutexes
 * locked by a thread that does not exist there, and its first pd_open blocks
 * forever. So every call that enters SQLite holds this gate for reading, and
 * a pthread_atfork prepare handler takes it for writing: fork() waits for the
 * calls in flight, which are short because every sleep inside a call (busy
 * back-off, pd_wait) opens the gate while it sleeps (pd__gate_pause).
 *
 * Writers are preferred so a stream of calls from other threads cannot starve
 * fork(); a per-thread depth keeps nested entries from read-locking twice,
 * which a writer-preferring lock would turn into a deadlock.
 */
#include <pthread.h>

#include "internal.h"

static pthread_rwlock_t gate;
static pthread_once_t gate_once = PTHREAD_ONCE_INIT;
static _Thread_local int gate_depth;
/* Set by the prepare handler when this thread took the gate for fork(). */
static _Thread_local int gate_held_for_fork;

static void gate_init(void) {
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setkind_np(&attr,
                                PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&gate, &attr);
  pthread_rwlockattr_destroy(&attr);
}

static void gate_ensure(void) { pthread_once(&gate_once, gate_init); }

void pd__gate_enter(void) {
  gate_ensure();
  if (gate_depth++ == 0) pthread_rwlock_rdlock(&gate);
}

void pd__gate_leave(void) {
  if (gate_depth > 0 && --gate_depth == 0) pthread_rwlock_unlock(&gate);
}

void pd__gate_pause(void) {
  if (gate_depth > 0) pthread_rwlock_unlock(&gate);
}

void pd__gate_resume(void) {
  if (gate_depth > 0) pthread_rwlock_rdlock(&gate);
}

int pd__gate_try_hold(void) {
  gate_ensure();
  return pthread_rwlock_tryrdlock(&gate) == 0;
}

void pd__gate_release_hold(void) { pthread_rwlock_unlock(&gate); }

void pd__gate_fork_prepare(void) {
  gate_ensure();
  /* A thread forking from inside a call (a callback) already holds the gate
   * for reading: waiting for itself would never end, so it goes through. */
  if (gate_depth > 0) return;
  pthread_rwlock_wrlock(&gate);
  gate_held_for_fork = 1;
}

void pd__gate_fork_parent(void) {
  if (!gate_held_for_fork) return;
  gate_held_for_fork = 0;
  pthread_rwlock_unlock(&gate);
}

void pd__gate_fork_child(void) {
  if (!gate_held_for_fork) return;
  gate_held_for_fork = 0;
  /* The child's thread has a new thread id, and glibc unlocks a write lock
   * only for the id that took it: start the child with a fresh gate instead
   * (no other thread exists here to hold it). */
  gate_init();
}
