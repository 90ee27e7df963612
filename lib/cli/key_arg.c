/* key_arg.c - see key_arg.h. */
#include "key_arg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "json_value.h"
#include "report.h"

/* Strict decimal: optional '-', digits, nothing else (strtoll alone would
 * accept spaces, '+', and stop quietly at the first non-digit). */
static int parse_int64(const char *text, int64_t *out) {
  const char *p = text[0] == '-' ? text + 1 : text;
  if (*p == '\0')
    return -1;
  for (; *p; p++)
    if (*p < '0' || *p > '9')
      return -1;
  errno = 0;
  long long v = strtoll(text, NULL, 10);
  if (errno == ERANGE)
    return -1;
  *out = (int64_t)v;
  return 0;
}

int key_refused(const pd_val *key, char *why, size_t cap) {
  if (key->kind == PD_INT) return 0;
  if (key->u.s.len > PD_MAX_KEY_BYTES) {
    snprintf(why, cap, "is %zu bytes long; the limit is %d bytes", key->u.s.len,
             PD_MAX_KEY_BYTES);
    return 1;
  }
  if (key->kind == PD_TEXT && !pd_utf8_valid(key->u.s.ptr, key->u.s.len)) {
    snprintf(why, cap, "is not valid UTF-8");
    return 2;
  }
  return 0;
}

/* A text or bytes key the library would refuse is a usage error, found
 * before the file is opened (a mistyped key must not create a file). */
static int key_storable(const pd_val *key, const char *what) {
  char why[96];
  int refused = key_refused(key, why, sizeof why);
  if (!refused) return CLI_EXIT_OK;
  return cli_fail(CLI_EXIT_USAGE, NULL, "%s %s%s", what, why,
                  refused == 2 ? " (give a bytes key with --hex-key)" : "");
}

int key_arg_prefix(key_arg *out, const cli_args *args, const char *cmd) {
  memset(out, 0, sizeof *out);
  if (args->prefix) return key_arg_parse(out, args, args->prefix, "--prefix");
  if (args->options & CLI_OPT_HEX_KEY)
    return cli_fail(CLI_EXIT_USAGE, NULL, "--hex-key does not apply to %s without --prefix", cmd);
  return CLI_EXIT_OK;
}

int key_arg_parse(key_arg *out, const cli_args *args, const char *text,
                  const char *what) {
  memset(out, 0, sizeof *out);
  if (args->options & CLI_OPT_INT_KEY) {
    int64_t i;
    if (parse_int64(text, &i) != 0)
      return cli_fail(CLI_EXIT_USAGE, NULL,
                      "%s '%.100s' is not a 64-bit integer (--int-key)", what,
                      text);
    out->key = pd_int(i);
    return CLI_EXIT_OK;
  }
  if (args->options & CLI_OPT_HEX_KEY) {
    size_t len;
    int rc = hex_decode(text, &out->owned, &len);
    if (rc == -2)
      return cli_fail(CLI_EXIT_ERROR, NULL, "out of memory");
    if (rc != 0)
      return cli_fail(CLI_EXIT_USAGE, NULL,
                      "%s '%.100s' is not hexadecimal bytes (--hex-key)", what,
                      text);
    out->key = pd_bytes(out->owned, len);
    int ex = key_storable(&out->key, what);
    if (ex != CLI_EXIT_OK)
      key_arg_free(out);
    return ex;
  }
  out->key = pd_text(text, strlen(text));
  return key_storable(&out->key, what);
}

void key_arg_free(key_arg *k) {
  free(k->owned);
  k->owned = NULL;
}

void key_describe(const pd_val *key, char *buf, size_t size) {
  buf[0] = '\0';
  if (key->kind == PD_INT) {
    snprintf(buf, size, "%" PRId64, key->u.i);
    return;
  }
  /* Cut before formatting so a 4 KiB key costs nothing. */
  size_t shown = key->u.s.len > 60 ? 60 : key->u.s.len;
  const char *cut = shown < key->u.s.len ? "..." : "";
  if (key->kind == PD_BYTES) {
    char *hex = hex_encode(key->u.s.ptr, shown);
    snprintf(buf, size, "0x%s%s", hex ? hex : "?", cut);
    free(hex);
    return;
  }
  if (key->kind == PD_TEXT) {
    /* Cutting may split a UTF-8 sequence; back up to a character start. */
    const unsigned char *s = key->u.s.ptr;
    while (shown > 0 && shown < key->u.s.len && (s[shown] & 0xC0) == 0x80)
      shown--;
    json_t *j = json_stringn(key->u.s.ptr, shown);
    char *quoted = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    snprintf(buf, size, "%s%s", quoted ? quoted : "?", cut);
    free(quoted);
    json_decref(j);
  }
}
