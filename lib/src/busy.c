/*
 * busy.c - waiting for a locked file.
 *
 * SQLite's own busy_timeout sleeps in whole milliseconds, which turns a
 * lock held for microseconds by another writer into a millisecond stall.
 * Our handler backs off from 5 us, doubling to about 500 us, with jitter so
 * competing processes do not wake in step, and gives up at the handle's
 * deadline (timeout_ms from the first wait of the current call). The same
 * back-off drives the retry loops in pd__step around results the handler is
 * never asked about (SQLITE_BUSY_SNAPSHOT, _RECOVERY, a busy BEGIN). A wait
 * for the write lock goes through write_priority.c, which may wake it
 * early or make it stand back for a writer that has waited longer.
 */
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

#define BACKOFF_FIRST_US 5
#define BACKOFF_CAP_US 500

int64_t pd__now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void pd__sleep_us(int64_t us) {
  struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
  pd__gate_pause(); /* let fork() through while this call sleeps */
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  pd__gate_resume();
}

/* Cheap per-thread jitter; quality does not matter, only decorrelation. */
static unsigned jitter(void) {
  static _Thread_local unsigned state;
  if (!state) state = (unsigned)pd__now_us() | 1u;
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

/* The back-off before retry number attempt, with jitter. */
static int64_t backoff_us(int attempt) {
  int64_t wait = BACKOFF_FIRST_US;
  for (int i = 0; i < attempt && wait < BACKOFF_CAP_US; i++) wait *= 2;
  if (wait > BACKOFF_CAP_US) wait = BACKOFF_CAP_US;
  return wait / 2 + (int64_t)(jitter() % (unsigned)(wait / 2 + 1)) + 1;
}

/* Counts only time asleep: the work between waits (a checkpoint's copying
 * and syncing) does not use up the budget. */
int pd__budget_retry(pd__sleep_budget *b, int attempt) {
  int64_t left = b->budget_us - b->slept_us;
  if (left <= 0) return 0;
  int64_t wait = backoff_us(attempt);
  if (wait > left) wait = left;
  pd__sleep_us(wait);
  b->slept_us += wait;
  return 1;
}

int64_t pd__call_deadline(pd_dict *d) {
  if (!d->deadline_set) {
    d->deadline_set = 1;
    d->deadline_us = pd__now_us() + (int64_t)d->opts.timeout_ms * 1000;
  }
  return d->deadline_us;
}

int pd__busy_retry(pd_dict *d, int attempt) {
  if (d->sleep_budget.budget_us > 0) return pd__budget_retry(&d->sleep_budget, attempt);
  int64_t deadline = pd__call_deadline(d);
  int64_t now = pd__now_us();
  if (now >= deadline) {
    d->timed_out = 1;
    return 0;
  }
  int64_t wait = backoff_us(attempt);
  if (now + wait > deadline) wait = deadline - now;
  if (d->in_write_begin) pd__write_priority_wait(d, wait); /* waiting for the write lock */
  else if (wait > 0) pd__sleep_us(wait);
  return 1;
}

static int busy_handler(void *arg, int attempt) {
  return pd__busy_retry((pd_dict *)arg, attempt);
}

void pd__busy_install(pd_dict *d) { sqlite3_busy_handler(d->db, busy_handler, d); }

int pd__busy_err(pd_dict *d, const char *what) {
  int ext = d->db ? sqlite3_extended_errcode(d->db) : SQLITE_BUSY;
  if ((ext & 0xff) != SQLITE_BUSY && (ext & 0xff) != SQLITE_LOCKED) ext = SQLITE_BUSY;
  pd__err(d, PD_EBUSY, "%s: file '%s' stayed locked for the whole timeout of %d ms",
          what, d->path, d->opts.timeout_ms);
  d->sqlite_errcode = ext;
  return PD_EBUSY;
}
