/* cmd_del.c - `permadict del FILE KEY`: exit 1 when there was no such key. */
#include "commands.h"
#include "key_arg.h"
#include "open_dict.h"
#include "report.h"

int cmd_del(const cli_args *args) {
  const char *file = args->pos[0];
  key_arg key;
  int ex = key_arg_parse(&key, args, args->pos[1], "KEY");
  if (ex != CLI_EXIT_OK)
    return ex;
  pd_dict *d;
  ex = cli_open(&d, args, file, CLI_OPEN_WRITE);
  if (ex == CLI_EXIT_OK) {
    int rc = pd_delete(d, &key.key);
    if (rc == PD_ENOTFOUND) {
      char desc[200];
      key_describe(&key.key, desc, sizeof desc);
      ex = cli_fail(CLI_EXIT_NOTFOUND, file,
                    "key %s not found in namespace '%s'", desc,
                    args->namespace_name);
    } else if (rc != PD_OK) {
      ex = cli_fail_pd(file, rc, pd_errmsg(d));
    }
    pd_close(d);
  }
  key_arg_free(&key);
  return ex;
}
