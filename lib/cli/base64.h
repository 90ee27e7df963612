/*
 * base64.h - standard base64 (RFC 4648 section 4, with padding), the form
 * bytes take inside JSON: {"$bytes": "<base64>"}.
 */
#ifndef PERMADICT_CLI_BASE64_H
#define PERMADICT_CLI_BASE64_H

#include <stddef.h>

/* A new NUL-terminated string (free() it) holding the base64 of len bytes,
 * or NULL when out of memory. */
char *base64_encode(const void *data, size_t len);

/* Decode text (exactly len chars, no whitespace, padded to a multiple of 4)
 * into a new buffer *out (free() it; non-NULL even for zero bytes) of
 * *out_len bytes. Returns 0, or -1 with *why saying what is wrong (bad
 * length, a character outside the alphabet, misplaced '='), or -2 when out
 * of memory. */
int base64_decode(const char *text, size_t len, unsigned char **out,
                  size_t *out_len, const char **why);

#endif
