/*
 * fuzz_program.h - what every fuzz target shares: CHECK, which aborts so
 * that libFuzzer records the input, and the input read as a program of
 * bytes and spans (the targets that interpret their input as calls).
 */
#ifndef FUZZ_PROGRAM_H
#define FUZZ_PROGRAM_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond))                                                               \
      abort();                                                                 \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct program {
  const uint8_t *p;
  size_t n;
} program;

/* The next byte of the program, 0 past its end. */
static inline uint8_t take_byte(program *pg) {
  if (pg->n == 0)
    return 0;
  pg->n--;
  return *pg->p++;
}

/* Up to want bytes of the program as a span (fewer at its end). */
static inline const uint8_t *take_span(program *pg, size_t want, size_t *got) {
  const uint8_t *s = pg->p;
  *got = want < pg->n ? want : pg->n;
  pg->p += *got;
  pg->n -= *got;
  return s;
}

#endif
