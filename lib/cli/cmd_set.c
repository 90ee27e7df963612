/*
 * cmd_set.c - `permadict set FILE KEY VALUE`: VALUE is JSON (see
 * json_value.h), or plain text with --text. A VALUE that is not valid JSON,
 * or not a value permadict can hold, is a usage error: nothing is written.
 */
#include <string.h>

#include "commands.h"
#include "json_value.h"
#include "key_arg.h"
#include "open_dict.h"
#include "report.h"

/* Turn the VALUE argument into a value built in enc. */
static int value_from_argument(const cli_args *args, const char *text,
                               pd_enc *enc, pd_val *out) {
  const char *file = args->pos[0];
  if (args->options & CLI_OPT_TEXT) {
    *out = pd_text(text, strlen(text));
    if (!pd_utf8_valid(text, out->u.s.len))
      return cli_fail(CLI_EXIT_USAGE, file,
                      "VALUE is not valid UTF-8, so it cannot be stored as text (--text)");
    return CLI_EXIT_OK;
  }
  jv_error err;
  json_t *j = jv_parse(text, strlen(text), &err);
  if (!j && err.not_json)
    return cli_fail(CLI_EXIT_USAGE, file,
                    "VALUE is not JSON: %s (to store it as text, use --text)",
                    err.text);
  if (!j)
    return cli_fail(CLI_EXIT_USAGE, file, "VALUE: %s", err.text);
  int rc = jv_to_value(j, enc, out, &err);
  json_decref(j);
  if (rc == PD_ENOMEM)
    return cli_fail(CLI_EXIT_ERROR, file, "%s", err.text);
  if (rc != PD_OK)
    return cli_fail(CLI_EXIT_USAGE, file, "VALUE: %s", err.text);
  return CLI_EXIT_OK;
}

int cmd_set(const cli_args *args) {
  const char *file = args->pos[0];
  key_arg key;
  int ex = key_arg_parse(&key, args, args->pos[1], "KEY");
  if (ex != CLI_EXIT_OK)
    return ex;
  pd_enc *enc = NULL;
  int rc = pd_enc_new(&enc);
  if (rc != PD_OK) {
    key_arg_free(&key);
    return cli_fail_pd(file, rc, NULL);
  }
  pd_val value;
  /* Check VALUE before opening: a typo must not create a file. */
  ex = value_from_argument(args, args->pos[2], enc, &value);
  pd_dict *d = NULL;
  if (ex == CLI_EXIT_OK)
    ex = cli_open(&d, args, file, CLI_OPEN_WRITE);
  if (ex == CLI_EXIT_OK) {
    rc = pd_set(d, &key.key, &value);
    if (rc != PD_OK)
      ex = cli_fail_pd(file, rc, pd_errmsg(d));
  }
  pd_close(d);
  pd_enc_free(enc);
  key_arg_free(&key);
  return ex;
}
