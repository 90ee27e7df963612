/*
 * wal_reserve.c - disk blocks for a connection's WAL writes, reserved ahead
 * of them.
 *
 * Why: a write that grows a file makes the filesystem find a block for each
 * page it adds (on ext4, delayed allocation in ext4_da_write_begin). A loop
 * of 128 KiB pwrite calls growing a file took 1.04 us a 4 KiB page, and
 * 0.72-0.75 with the blocks reserved ahead; a transaction of 100,000 sets
 * of 1 KiB values writes 34,000 pages of WAL. bench_kv, 100,000 keys, 5
 * interleaved runs against the library without it: set inside a
 * transaction 2.15-2.44 us (median 2.21) -> 1.98-2.24 (median 2.06) with
 * 1 KiB values; the 100-byte set and the autocommit set unchanged (their
 * WAL is small, or starts over on blocks it had). wal_write_buffer.c calls
 * this before each write it hands on.
 *
 * FALLOC_FL_KEEP_SIZE reserves blocks without changing the file's size, so
 * SQLite, other processes and the next recovery see the very same file;
 * the blocks past its end go when the WAL is truncated or deleted, and the
 * WAL's own later writes use them. (RocksDB reserves its WAL files the same
 * way, fallocate_with_keep_size.)
 *
 * The descriptor is one of our own, opened on the WAL's path right after
 * SQLite opened it (the default VFS does not lend its own). Closing it
 * cannot drop a lock of SQLite's: SQLite locks the database file and the
 * -shm, never the WAL file. A filesystem that cannot reserve, or a full
 * one, ends the reserving for that file: the writes go on as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

/* Reserved at a time: past the end, at most this much is held unwritten. */
#define RESERVE_BYTES ((sqlite3_int64)4 << 20)

void pd__wal_reserve_open(pd__wal_reserve *r, const char *path, int writer) {
  r->fd = -1;
  r->from = r->to = 0;
#ifdef FALLOC_FL_KEEP_SIZE
  /* A read-only connection never writes the WAL (SQLite opens it
   * read-write all the same, so its open flags do not tell). */
  if (!writer) return;
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  /* Not 0-2: like SQLite (robust_open), never hold a standard stream's
   * number, which some later output of the program might be sent to. */
  if (fd > 2) r->fd = fd;
  else if (fd >= 0) close(fd);
#else
  (void)path;
  (void)writer;
#endif
}

void pd__wal_reserve_ahead(pd__wal_reserve *r, sqlite3_int64 off, sqlite3_int64 end) {
  /* A write outside the last reservation reserves from its own offset on:
   * past the end as the WAL grows, or at its start again when it starts
   * over (where the blocks are still there unless it was truncated). */
  if (r->fd < 0 || (off >= r->from && end <= r->to)) return;
#ifdef FALLOC_FL_KEEP_SIZE
  if (fallocate(r->fd, FALLOC_FL_KEEP_SIZE, off, RESERVE_BYTES) == 0) {
    r->from = off;
    r->to = off + RESERVE_BYTES;
  } else if (errno != EINTR) {
    pd__wal_reserve_close(r);
  }
#endif
}

void pd__wal_reserve_close(pd__wal_reserve *r) {
  if (r->fd >= 0) close(r->fd);
  r->fd = -1;
}
