/* cmd_namespaces.c - `permadict namespaces FILE`: one name per line, sorted.
 * Opens no namespace, so a file without "default" lists too; -n is
 * accepted and has nothing to select. */
#include <stdio.h>
#include <unistd.h>

#include "commands.h"
#include "permadict.h"
#include "report.h"

int cmd_namespaces(const cli_args *args) {
  const char *file = args->pos[0];
  char **names = NULL;
  size_t count = 0;
  int rc = pd_file_namespaces(file, &names, &count);
  if (rc != PD_OK) {
    /* As cli_open: a missing file is an error (3), not an absent name (1). */
    if (rc == PD_ENOTFOUND && access(file, F_OK) != 0)
      return cli_fail(CLI_EXIT_ERROR, file, "no such file (this command never creates one)");
    return cli_fail_pd(file, rc, pd_errmsg(NULL));
  }
  for (size_t i = 0; i < count; i++)
    puts(names[i]);
  pd_free_names(names, count);
  return CLI_EXIT_OK;
}
