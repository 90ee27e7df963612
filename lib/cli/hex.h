/*
 * hex.h - bytes as hexadecimal, the command-line form of a bytes key
 * (--hex-key) and how `keys` prints one.
 */
#ifndef PERMADICT_CLI_HEX_H
#define PERMADICT_CLI_HEX_H

#include <stddef.h>

/* Decode text (upper or lower case, even length, nothing else) into a new
 * buffer *out (free() it; non-NULL even when empty). Returns 0, -1 when text
 * is not hex, -2 when out of memory. */
int hex_decode(const char *text, unsigned char **out, size_t *out_len);

/* A new lower-case hex string of len bytes (free() it), or NULL. */
char *hex_encode(const void *data, size_t len);

#endif
