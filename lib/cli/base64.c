/*
 * base64.c - strict standard base64. Strict because a dump must read back
 * exactly: text that is not canonical base64 is more likely a damaged dump
 * than something to guess about.
 */
#include "base64.h"

#include <stdint.h>
#include <stdlib.h>

static const char ALPHABET[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const void *data, size_t len) {
  const unsigned char *in = data;
  size_t out_len = (len + 2) / 3 * 4;
  char *out = malloc(out_len + 1);
  if (!out)
    return NULL;
  char *w = out;
  size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    *w++ = ALPHABET[v >> 18 & 63];
    *w++ = ALPHABET[v >> 12 & 63];
    *w++ = ALPHABET[v >> 6 & 63];
    *w++ = ALPHABET[v & 63];
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    *w++ = ALPHABET[v >> 18 & 63];
    *w++ = ALPHABET[v >> 12 & 63];
    *w++ = '=';
    *w++ = '=';
  } else if (len - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    *w++ = ALPHABET[v >> 18 & 63];
    *w++ = ALPHABET[v >> 12 & 63];
    *w++ = ALPHABET[v >> 6 & 63];
    *w++ = '=';
  }
  *w = '\0';
  return out;
}

/* The 6-bit value of an alphabet character, or -1. */
static int sextet(unsigned char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

int base64_decode(const char *text, size_t len, unsigned char **out,
                  size_t *out_len, const char **why) {
  *out = NULL;
  *out_len = 0;
  if (len % 4 != 0) {
    *why = "base64 length is not a multiple of 4";
    return -1;
  }
  size_t pad = 0;
  if (len >= 1 && text[len - 1] == '=') {
    pad++;
    if (text[len - 2] == '=')
      pad++;
  }
  size_t n = len / 4 * 3 - pad;
  unsigned char *buf = malloc(n ? n : 1);
  if (!buf)
    return -2;
  size_t w = 0;
  for (size_t i = 0; i < len; i += 4) {
    int last_group = (i + 4 == len);
    int s[4];
    for (int k = 0; k < 4; k++) {
      unsigned char c = (unsigned char)text[i + k];
      /* '=' only as the last one or two characters of the text. */
      if (c == '=' && last_group && (size_t)k >= 4 - pad) {
        s[k] = 0;
        continue;
      }
      s[k] = sextet(c);
      if (s[k] < 0) {
        free(buf);
        *why = c == '=' ? "misplaced '=' in base64"
                        : "character outside the base64 alphabet";
        return -1;
      }
    }
    uint32_t v = (uint32_t)s[0] << 18 | (uint32_t)s[1] << 12 |
                 (uint32_t)s[2] << 6 | (uint32_t)s[3];
    /* Padding leaves bits that carry no byte; canonical base64 has them 0
     * ("AB==" would read as "AA==", and not write back the same). */
    if (last_group && (pad == 2 ? (v & 0xffff) : pad == 1 ? (v & 0xff) : 0)) {
      free(buf);
      *why = "base64 is not canonical (bits after the last byte are not 0)";
      return -1;
    }
    buf[w++] = (unsigned char)(v >> 16);
    if (w < n)
      buf[w++] = (unsigned char)(v >> 8);
    if (w < n)
      buf[w++] = (unsigned char)v;
  }
  *out = buf;
  *out_len = n;
  return 0;
}
