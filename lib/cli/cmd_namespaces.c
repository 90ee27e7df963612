/* cmd_namespaces.c - `permadict namespaces FILE`: one name per line, sorted. */
#include <stdio.h>

#include "commands.h"
#include "open_dict.h"
#include "report.h"

int cmd_namespaces(const cli_args *args) {
  const char *file = args->pos[0];
  pd_dict *d;
  int ex = cli_open(&d, args, file, CLI_OPEN_READ);
  if (ex != CLI_EXIT_OK)
    return ex;
  char **names = NULL;
  size_t count = 0;
  int rc = pd_namespaces(d, &names, &count);
  if (rc != PD_OK) {
    ex = cli_fail_pd(file, rc, pd_errmsg(d));
  } else {
    for (size_t i = 0; i < count; i++)
      puts(names[i]);
    pd_free_names(names, count);
  }
  pd_close(d);
  return ex;
}
