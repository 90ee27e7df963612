/* cmd_namespaces.c - `permadict namespaces FILE`: one name per line, sorted.
 * Opens no namespace, so a file without "default" lists too; -n is
 * accepted and has nothing to select. */
#include <stdio.h>

#include "commands.h"
#include "open_dict.h"
#include "permadict.h"

int cmd_namespaces(const cli_args *args) {
  const char *file = args->pos[0];
  char **names = NULL;
  size_t count = 0;
  int rc = pd_file_namespaces(file, &names, &count);
  if (rc != PD_OK)
    return cli_open_failed(file, rc, CLI_OPEN_READ);
  for (size_t i = 0; i < count; i++)
    puts(names[i]);
  pd_free_names(names, count);
  return CLI_EXIT_OK;
}
