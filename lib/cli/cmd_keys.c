/*
 * cmd_keys.c - `permadict keys FILE [--prefix P] [--json]`: one key per line
 * in key order. Plain lines give each key the form the command line takes
 * back: text as is, integers in decimal (as --int-key reads them), bytes in
 * hex (as --hex-key reads them). --json prints each key in the lossless JSON mapping instead,
 * for keys whose kind matters or that hold a newline.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "hex.h"
#include "json_value.h"
#include "key_arg.h"
#include "open_dict.h"
#include "output.h"
#include "report.h"

static int print_plain_key(const pd_val *key) {
  switch (key->kind) {
  case PD_INT:
    return printf("%" PRId64 "\n", key->u.i) < 0 ? cli_stdout_failed() : 0;
  case PD_TEXT:
    if (fwrite(key->u.s.ptr, 1, key->u.s.len, stdout) != key->u.s.len ||
        fputc('\n', stdout) == EOF)
      return cli_stdout_failed();
    return 0;
  case PD_BYTES: {
    char *hex = hex_encode(key->u.s.ptr, key->u.s.len);
    int rc = hex ? (printf("%s\n", hex) < 0 ? cli_stdout_failed() : 0) : -1;
    free(hex);
    return rc;
  }
  default:
    return -1;
  }
}

static int list_keys(pd_dict *d, const cli_args *args, const pd_val *prefix) {
  const char *file = args->pos[0];
  pd_iter_options io = PD_ITER_OPTIONS_INIT;
  io.prefix = prefix;
  pd_iter *it = NULL;
  int rc = pd_iter_open(&it, d, &io);
  if (rc != PD_OK)
    return cli_fail_pd(file, rc, pd_errmsg(d));
  int ex = CLI_EXIT_OK;
  pd_val key;
  while ((rc = pd_iter_next(it, &key, NULL)) == PD_OK) {
    if (args->options & CLI_OPT_JSON) {
      jv_error err;
      json_t *j = jv_from_key(&key, &err);
      if (!j) {
        ex = cli_fail(CLI_EXIT_ERROR, file, "%s", err.text);
        break;
      }
      if (cli_print_json_line(j) != 0)
        break;
    } else if (print_plain_key(&key) != 0) {
      break; /* stdout failed: reported at exit */
    }
  }
  if (rc != PD_OK && rc != PD_ITEROVER && ex == CLI_EXIT_OK)
    ex = cli_fail_pd(file, rc, pd_errmsg(d));
  pd_iter_free(it);
  return ex;
}

int cmd_keys(const cli_args *args) {
  const char *file = args->pos[0];
  key_arg prefix;
  int ex = key_arg_prefix(&prefix, args, "keys");
  if (ex != CLI_EXIT_OK)
    return ex;
  pd_dict *d;
  ex = cli_open(&d, args, file, CLI_OPEN_READ);
  if (ex == CLI_EXIT_OK) {
    ex = list_keys(d, args, args->prefix ? &prefix.key : NULL);
    pd_close(d);
  }
  key_arg_free(&prefix);
  return ex;
}
