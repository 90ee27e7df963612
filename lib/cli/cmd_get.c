/* cmd_get.c - `permadict get FILE KEY`: print the value as one line of JSON. */
#include "commands.h"
#include "json_value.h"
#include "key_arg.h"
#include "open_dict.h"
#include "output.h"
#include "report.h"

static int print_value(pd_dict *d, const pd_val *key, const char *file,
                       const char *ns) {
  pd_val v;
  int rc = pd_get(d, key, &v);
  if (rc == PD_ENOTFOUND) {
    char desc[200];
    key_describe(key, desc, sizeof desc);
    return cli_fail(CLI_EXIT_NOTFOUND, file, "key %s not found in namespace '%s'",
                    desc, ns);
  }
  if (rc != PD_OK)
    return cli_fail_pd(file, rc, pd_errmsg(d));

  pd_dec *dec = NULL;
  rc = pd_dec_new(&dec);
  if (rc != PD_OK)
    return cli_fail_pd(file, rc, NULL);
  jv_error err;
  json_t *j = jv_from_value(&v, dec, &err);
  pd_dec_free(dec);
  if (!j) {
    char desc[200];
    key_describe(key, desc, sizeof desc);
    return cli_fail(CLI_EXIT_ERROR, file, "key %s: %s", desc, err.text);
  }
  cli_print_json_line(j); /* a write failure is reported once, at exit */
  return CLI_EXIT_OK;
}

int cmd_get(const cli_args *args) {
  const char *file = args->pos[0];
  key_arg key;
  int ex = key_arg_parse(&key, args, args->pos[1], "KEY");
  if (ex != CLI_EXIT_OK)
    return ex;
  pd_dict *d;
  ex = cli_open(&d, args, file, CLI_OPEN_READ);
  if (ex == CLI_EXIT_OK) {
    ex = print_value(d, &key.key, file, args->namespace_name);
    pd_close(d);
  }
  key_arg_free(&key);
  return ex;
}
