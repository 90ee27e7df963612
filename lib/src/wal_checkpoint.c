/*
 * wal_checkpoint.c - when a connection checkpoints the WAL.
 *
 * SQLite's default (wal_autocheckpoint = 1000) checkpoints after every
 * commit that leaves the WAL at 1000 frames or more. When several processes
 * write all the time, the WAL often cannot be restarted (another connection
 * still reads an older part of it), so it stays over the threshold and every
 * single commit runs a checkpoint with two fdatasyncs: measured with 4
 * processes incrementing one key, 13,000 fdatasyncs for 20,000 commits. This
 * hook checkpoints (PASSIVE: it never waits for a lock) once the WAL has
 * grown by CHECKPOINT_FRAMES since this connection's last checkpoint, so a
 * WAL that cannot restart costs one checkpoint per CHECKPOINT_FRAMES frames,
 * not one per commit (237 fdatasyncs; throughput +15%, p95 1.1 -> 0.11 ms,
 * p98 2.5 -> 0.27 ms).
 * CHECKPOINT_FRAMES is 3000 rather than SQLite's 1000: a checkpoint's cost is
 * mostly its two fdatasyncs, so fewer, larger ones cost less in all. Measured
 * on format 2 (bench/incr.py, 4 C processes, 3 runs each): p99 1.8-2.5 ms ->
 * 0.18-0.32 ms, throughput 27,300-28,400 -> 28,200-29,200/s; and 20,000
 * autocommit sets of new keys into 100,000: 88-96 -> 78-83 us a set. The
 * price is the single slowest call, the one that runs the checkpoint: max
 * 43-47 ms -> 48-92 ms for increments, 18-19 ms -> 37-43 ms for sets.
 * Single-writer behaviour is otherwise unchanged: the WAL restarts, the
 * frame count drops, and the next checkpoint again comes at CHECKPOINT_FRAMES.
 * (Those figures predate wal_writeback.c, which has the disk write the WAL
 * back between checkpoints, so that their syncs find less to wait for.)
 *
 * A PASSIVE checkpoint never restarts the WAL itself: the next writer does,
 * and only if, when it started reading, every frame had been copied back.
 * Under a steady stream of commits from several processes that moment
 * rarely comes, and the WAL grew without bound: 165 MB after 20,000
 * increments by 4 processes (bench/incr.py); a lookup of a page that is not
 * in the newest part of the WAL then searches the WAL index's hash tables,
 * one per 4,096 frames, all the way back (p50 25 us an increment). So once
 * the WAL has kept growing to RESTART_FRAMES, a checkpoint that copied every
 * frame is followed by a RESTART checkpoint: it takes the write lock, copies
 * the frames committed while the first one ran (now only the last few of
 * them: below), and waits for readers to leave the WAL, so the next writer
 * starts it again from the beginning. It holds the write lock throughout,
 * and its copy and two syncs then took 13-25 ms
 * (instrumented build, 4 processes), about as long as the checkpointing
 * call's own stall; it sleeps RESTART_SLEEP_US at most waiting for the lock
 * and for readers, leaving the restart to the next checkpoint. Measured with
 * 4 C processes, 5,000 increments each (bench/incr.py, 2 runs each): WAL
 * 156-165 MB -> 29-44 MB, p50 25 -> 20 us, throughput 29,000-35,100 ->
 * 37,500/s.
 *
 * The frames committed while that first checkpoint ran (1,300-1,600 of
 * them, about 17 ms' worth) were then copied and synced with the write lock
 * held: the RESTART held it 4-14 ms, and every writer waited that long. So
 * PASSIVE rounds copy them first, without the lock, each round the fewer
 * frames committed during the one before, until a round finds fewer than
 * CATCH_UP_FRAMES (CATCH_UP_ROUNDS at most); the RESTART is left with the
 * last few. Measured (instrumented build, bench/incr.py, 4 processes, one
 * run each): RESTART 4.4-14.3 ms -> 1.1-3.8 ms.
 *
 * Restarting reuses the WAL file from its beginning and never shrinks it, so
 * while any handle keeps the file open (the last close deletes the WAL) it
 * keeps the size of its largest burst: a worker that once committed 80 MB in
 * one transaction kept an 80 MB WAL for good. journal_size_limit has SQLite
 * cut it back to 64 MiB (WAL_SIZE_PRAGMA) at the first commit after a
 * restart. The limit is above the 30-59 MB that 4 processes committing
 * nonstop reach (test_wal_size.c), so steady use never pays for shrinking
 * and growing the file again (an fdatasync that must also write the file's new size).
 *
 * The hook decides when; the handle's checkpoint thread (wal_checkpointer.c)
 * runs it, so that "the single slowest call" above no longer waits for it.
 * Only when that thread cannot start does the committing call run it itself.
 */
#include "internal.h"

#define CHECKPOINT_FRAMES 3000
#define RESTART_FRAMES (2 * CHECKPOINT_FRAMES)
#define RESTART_SLEEP_US 5000
#define CATCH_UP_FRAMES 100
#define CATCH_UP_ROUNDS 3

#define WAL_SIZE_PRAGMA "PRAGMA journal_size_limit = 67108864" /* 64 MiB */

/* PASSIVE rounds after a checkpoint that copied all in_wal frames (see
 * above). 1 if the last round too copied every frame, so that a RESTART is
 * left only the frames committed since. */
static int catch_up(sqlite3 *db, int in_wal) {
  for (int round = 0; round < CATCH_UP_ROUNDS; round++) {
    int before = in_wal, copied = 0;
    if (sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, &in_wal, &copied) !=
            SQLITE_OK ||
        copied != in_wal)
      return 0; /* a reader still needs older frames: a RESTART would wait for it */
    if (in_wal - before < CATCH_UP_FRAMES) break;
  }
  return 1;
}

void pd__checkpoint_run(sqlite3 *db, int frames, pd__sleep_budget *budget) {
  /* Best effort, like SQLite's own auto-checkpoint: a checkpoint that
   * cannot run now is retried after the next CHECKPOINT_FRAMES. */
  int in_wal = 0, copied = 0;
  int rc = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, &in_wal, &copied);
  /* Only after a complete copy: a RESTART that first had to copy much
   * would hold the write lock for its two syncs of all of it. It sleeps
   * RESTART_SLEEP_US at most waiting for the write lock and for readers
   * (the budget counts only the sleeping: its copy and syncs, 4-20 ms under
   * load, used up a 2 ms deadline of wall time before it came to wait for
   * readers, and it gave up nearly every time). */
  if (rc == SQLITE_OK && frames >= RESTART_FRAMES && copied == in_wal && catch_up(db, in_wal)) {
    budget->budget_us = RESTART_SLEEP_US;
    budget->slept_us = 0;
    sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_RESTART, NULL, NULL);
    budget->budget_us = 0;
  }
}

static int wal_hook(void *arg, sqlite3 *db, const char *schema, int frames) {
  pd_dict *d = arg;
  (void)schema; /* only "main": nothing is ever attached */
  if (frames < d->ckpt_frames) d->ckpt_frames = 0; /* the WAL restarted */
  if (frames - d->ckpt_frames >= CHECKPOINT_FRAMES) {
    d->ckpt_frames = frames;
    if (!pd__checkpointer_request(d, frames)) pd__checkpoint_run(db, frames, &d->sleep_budget);
  } else {
    pd__wal_writeback_after_commit(d, db, frames); /* wal_writeback.c */
  }
  return SQLITE_OK;
}

void pd__checkpoint_install(pd_dict *d) {
  d->ckpt_frames = 0;
  sqlite3_wal_hook(d->db, wal_hook, d);
  /* Best effort: it only sets this connection's limit, and without it the
   * WAL is merely larger than it needs to be. */
  sqlite3_exec(d->db, WAL_SIZE_PRAGMA, NULL, NULL, NULL);
}
