/* hex.c - see hex.h. */
#include "hex.h"

#include <stdlib.h>
#include <string.h>

static int nibble(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int hex_decode(const char *text, unsigned char **out, size_t *out_len) {
  size_t len = strlen(text);
  *out = NULL;
  *out_len = 0;
  if (len % 2 != 0)
    return -1;
  unsigned char *buf = malloc(len / 2 ? len / 2 : 1);
  if (!buf)
    return -2;
  for (size_t i = 0; i < len; i += 2) {
    int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) {
      free(buf);
      return -1;
    }
    buf[i / 2] = (unsigned char)(hi << 4 | lo);
  }
  *out = buf;
  *out_len = len / 2;
  return 0;
}

char *hex_encode(const void *data, size_t len) {
  static const char DIGITS[] = "0123456789abcdef";
  const unsigned char *in = data;
  char *out = malloc(2 * len + 1);
  if (!out)
    return NULL;
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = DIGITS[in[i] >> 4];
    out[2 * i + 1] = DIGITS[in[i] & 15];
  }
  out[2 * len] = '\0';
  return out;
}
