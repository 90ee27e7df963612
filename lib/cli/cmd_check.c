/*
 * cmd_check.c - `permadict check FILE`: SQLite's integrity check plus the
 * library's own invariants (pd_check). Prints "ok" and exits 0, or exits 3
 * with the first problem on stderr.
 */
#include <stdio.h>

#include "commands.h"
#include "open_dict.h"
#include "report.h"

int cmd_check(const cli_args *args) {
  const char *file = args->pos[0];
  pd_dict *d;
  int ex = cli_open(&d, args, file, CLI_OPEN_READ);
  if (ex != CLI_EXIT_OK)
    return ex;
  int rc = pd_check(d);
  if (rc == PD_OK)
    puts("ok");
  else
    ex = cli_fail(CLI_EXIT_ERROR, file, "check failed: %s", pd_errmsg(d));
  pd_close(d);
  return ex;
}
