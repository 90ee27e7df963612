/*
 * wal_writeback.c - starts writing the WAL to disk early, so that a
 * checkpoint's fdatasync of it finds little left to write.
 *
 * With synchronous=NORMAL a commit only writes the WAL into the page cache;
 * the first sync is the checkpoint's (wal_checkpoint.c), which then waits
 * for every frame written since the last one (up to CHECKPOINT_FRAMES, 12
 * MB): 12-35 ms under load, in the handle's checkpoint thread (or, when that
 * cannot start, the call that happens to checkpoint). Here the commit that
 * takes the WAL past each multiple of WRITEBACK_FRAMES asks the kernel to
 * start writing it back
 * (sync_file_range with SYNC_FILE_RANGE_WRITE: it queues the writes and
 * returns, it neither waits for them nor makes anything durable), so the
 * disk works while the writers go on, as PostgreSQL's wal_writer_flush_after
 * and checkpoint_flush_after do. Nothing about durability changes: commits
 * are still durable from the checkpoint's sync on, as before.
 *
 * Measured against the build before (bench/incr.py, 5,000 increments by
 * each of 4 processes, 4 interleaved runs each):
 *   2 Python, 1 Lua, 1 C: max 76-104 -> 50-68 ms, p99 51-60 -> 192-286 us,
 *                         37,400-38,600 -> 37,900-38,900/s
 *   4 C:                  max 72-221 -> 49-63 ms, p99 50-65 -> 168-226 us,
 *                         35,700-37,600 -> 37,400-39,300/s
 * and 30,000 autocommit sets of new keys from one C process: 38.1-40.7 ->
 * 33.0-33.5 us a set (raw SQLite in the same runs: 33.6-35.1). The price is
 * the call that starts the write-back, 0.1-1 ms: the p99 above. Every 768
 * frames, from a sweep of 512-1536 (an earlier trigger, mixed processes):
 * 512 once gave a p99 of 1 ms; 1,024 and 1,536 kept the max at 43-100 ms.
 *
 * Only the commit that crosses a multiple starts it, whichever process made
 * it (the frame count before the commit is in the WAL-index header read when
 * the write lock was taken, begin_stamp), so more writers do not mean more
 * calls. The WAL is opened read-only, once per connection; no lock is ever
 * taken on it (SQLite takes none either), so closing it releases nothing.
 */
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

#define WRITEBACK_FRAMES 768

void pd__wal_writeback_init(pd_dict *d) { d->wal_fd = -1; }

void pd__wal_writeback_close(pd_dict *d) {
  if (d->wal_fd >= 0) close(d->wal_fd);
  d->wal_fd = -1;
}

void pd__wal_writeback_after_commit(pd_dict *d, sqlite3 *db, int frames) {
#ifdef SYNC_FILE_RANGE_WRITE
  /* durable: FULL syncs every commit. No stamp: which commit crossed is unknown. */
  if (d->opts.durable || d->wal_fd == -2 || !d->begin_stamp_set) return;
  uint32_t before = pd__stamp_field(&d->begin_stamp, PD__STAMP_MXFRAME);
  if ((uint32_t)frames < before) before = 0; /* this commit restarted the WAL */
  if ((uint32_t)frames / WRITEBACK_FRAMES == before / WRITEBACK_FRAMES) return;
  if (d->wal_fd < 0) {
    const char *wal = sqlite3_filename_wal(sqlite3_db_filename(db, "main"));
    d->wal_fd = wal ? open(wal, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
    if (d->wal_fd < 0) {
      d->wal_fd = -2; /* best effort: never tried again on this connection */
      return;
    }
  }
  sync_file_range(d->wal_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#else
  (void)d, (void)db, (void)frames;
#endif
}
