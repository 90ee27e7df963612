/* bench_clock.h - the clocks every C benchmark reads.
 *
 * Monotonic time measures durations; realtime is only used to line up events
 * across processes (a writer's commit and a watcher's wake-up, the common
 * start of the increment workers), where both sides must read the same clock. */
#ifndef BENCH_CLOCK_H
#define BENCH_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t bench_realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleep until the realtime clock reaches at_ns, so that several processes
 * started one after the other begin their work together. */
static inline void bench_sleep_until_realtime(int64_t at_ns) {
  struct timespec ts;
  ts.tv_sec = (time_t)(at_ns / 1000000000);
  ts.tv_nsec = (long)(at_ns % 1000000000);
  while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) != 0) {
  }
}

#endif
