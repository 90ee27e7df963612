/*
 * wal_checkpointer.c - a thread of the handle's own runs its checkpoints, so
 * that no call waits for one.
 *
 * Why: a checkpoint costs two fdatasyncs (the WAL's, then the database's),
 * 4-25 ms under load, and the commit that took the WAL past
 * CHECKPOINT_FRAMES (wal_checkpoint.c) used to pay them inside its caller's
 * call: a third of the time of a 100,000-key transaction, and the slowest
 * calls of processes contending for one key. Committed data never waits for
 * a checkpoint: with synchronous=NORMAL the checkpoint is when the WAL is
 * first synced, so moving it to a thread changes nothing about durability
 * (and durable=1 syncs each commit itself, as before).
 *
 * The thread has an SQLite connection of its own: one connection serialises
 * its users, so a checkpoint on the handle's would stall the handle's calls
 * just the same. The thread starts with the handle's first checkpoint (a
 * handle that only reads never starts one), opens its connection then, on
 * the same file only (checked by identity: a file put in its place since is
 * not ours to checkpoint), sleeps between checkpoints, and is stopped by
 * pd_close and pd_reopen, which wait for a checkpoint in progress and close
 * its connection. When the
 * thread cannot start, the commit checkpoints itself, as before.
 *
 * fork(): inside SQLite the thread holds the fork gate like any call, so a
 * child never inherits SQLite's mutexes locked by it; but it never waits for
 * the gate, since pd_close and pd_reopen stop it from inside the gate (a
 * thread that waited for a pending fork() there would deadlock with them),
 * and its start and end happen inside the gate of the call that starts or
 * stops it, out of every fork(). A child has no thread,
 * and the handle is unusable there until pd_reopen (PD_EFORKED); pd_reopen
 * and pd_close then leave the inherited checkpointer alone like the
 * inherited connection: its connection is never closed (caveat "fork()"),
 * and its mutex may be locked by the thread that is not there.
 * Every signal is blocked in the thread, so the process's signal handlers
 * run in its own threads, as they expect (CPython's do).
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "internal.h"

/* How long the thread lets a fork() go first before trying again. */
#define GATE_RETRY_US 1000

struct pd__checkpointer {
  /* The handle, for its file's path and identity and its durable option:
   * fixed while the thread lives (set before it starts; pd_reopen changes
   * them only after stopping it), so the thread reads them unlocked. */
  const pd_dict *d;
  pthread_t thread;
  pthread_mutex_t lock; /* guards frames, stop and started */
  pthread_cond_t wake;
  int frames;           /* a checkpoint asked for, of a WAL this long; 0: none */
  int stop;
  int started;          /* the thread runs */
  unsigned generation;  /* the fork generation it was started in */
  /* The thread's alone: */
  sqlite3 *db;
  pd__sleep_budget budget;
};

static int same_file(const pd__checkpointer *c) {
  return pd__path_is(c->d->real_path, c->d->file_dev, c->d->file_ino);
}

static int busy_handler(void *arg, int attempt) {
  pd__checkpointer *c = arg;
  return pd__budget_retry(&c->budget, attempt);
}

/* The thread's connection on the handle's file, or NULL. */
static sqlite3 *connect_same_file(pd__checkpointer *c) {
  char name_buf[4100];
  const char *name = pd__sqlite_file_name(c->d->real_path, name_buf, sizeof name_buf);
  if (!name || !same_file(c)) return NULL;
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(name, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  /* Opening reads nothing yet: a second look after it closes the window in
   * which another file could have been renamed into place. */
  if (rc == SQLITE_OK && !same_file(c)) rc = SQLITE_CANTOPEN;
  if (rc == SQLITE_OK) sqlite3_busy_handler(db, busy_handler, c);
  /* The checkpoint's syncs follow synchronous. (The WAL's size limit needs
   * no setting here: SQLite applies it in the first commit after a restart,
   * and this connection never commits.) Reading the schema's version opens
   * the WAL: until then a checkpoint does nothing. */
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(db, pd__synchronous_pragma(c->d->opts.durable), NULL, NULL, NULL);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, "PRAGMA schema_version", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    sqlite3_close_v2(db);
    return NULL;
  }
  return db;
}

static void *run(void *arg) {
  pd__checkpointer *c = arg;
  pthread_mutex_lock(&c->lock);
  c->started = 1;
  pthread_cond_broadcast(&c->wake);
  for (;;) {
    while (!c->stop && !c->frames) pthread_cond_wait(&c->wake, &c->lock);
    if (c->stop) break;
    /* Never waits for the gate (see pd__gate_try_hold): a fork() is due,
     * so it goes first, and the checkpoint is tried again after it. */
    if (!pd__gate_try_hold()) {
      pthread_mutex_unlock(&c->lock);
      pd__sleep_us(GATE_RETRY_US);
      pthread_mutex_lock(&c->lock);
      continue;
    }
    int frames = c->frames;
    c->frames = 0;
    pthread_mutex_unlock(&c->lock);
    if (!c->db) c->db = connect_same_file(c); /* NULL: tried again at the next one */
    if (c->db) pd__checkpoint_run(c->db, frames, &c->budget);
    pd__gate_release_hold();
    pthread_mutex_lock(&c->lock);
  }
  pthread_mutex_unlock(&c->lock);
  return NULL;
}

static pd__checkpointer *start(pd_dict *d) {
  pd__checkpointer *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->d = d;
  c->generation = pd__fork_generation_now();
  pthread_mutex_init(&c->lock, NULL);
  pthread_cond_init(&c->wake, NULL);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread inherits the mask */
  int rc = pthread_create(&c->thread, NULL, run, c);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    free(c);
    return NULL;
  }
  /* The caller holds the fork gate: waiting here until the thread runs
   * keeps its start (the sanitizers' allocator sets up its memory then, and
   * is not fork-safe) out of every fork(). */
  pthread_mutex_lock(&c->lock);
  while (!c->started) pthread_cond_wait(&c->wake, &c->lock);
  pthread_mutex_unlock(&c->lock);
  return c;
}

int pd__checkpointer_request(pd_dict *d, int frames) {
  if (!d->checkpointer && !(d->checkpointer = start(d))) return 0;
  pd__checkpointer *c = d->checkpointer;
  pthread_mutex_lock(&c->lock);
  c->frames = frames;
  pthread_cond_signal(&c->wake);
  pthread_mutex_unlock(&c->lock);
  return 1;
}

void pd__checkpointer_stop(pd_dict *d) {
  pd__checkpointer *c = d->checkpointer;
  d->checkpointer = NULL;
  /* Its own generation, not d's: a child's pd_reopen that failed after its
   * connection started a thread leaves d with the parent's. */
  if (!c || c->generation != pd__fork_generation_now()) return; /* inherited: left alone */
  pthread_mutex_lock(&c->lock);
  c->stop = 1;
  pthread_cond_signal(&c->wake);
  pthread_mutex_unlock(&c->lock);
  pthread_join(c->thread, NULL); /* with the gate held: its end is out of every fork() */
  sqlite3_close_v2(c->db);
  pthread_cond_destroy(&c->wake);
  pthread_mutex_destroy(&c->lock);
  free(c);
}
