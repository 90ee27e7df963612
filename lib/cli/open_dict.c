/* open_dict.c - see open_dict.h. */
#include "open_dict.h"

#include <unistd.h>

#include "report.h"

int cli_open(pd_dict **out, const cli_args *args, const char *file,
             cli_open_mode mode) {
  pd_options opts = PD_OPTIONS_INIT;
  opts.name = args->namespace_name;
  opts.readonly = mode == CLI_OPEN_READ;
  opts.create = mode == CLI_OPEN_WRITE;
  int rc = pd_open(out, file, &opts);
  if (rc == PD_OK)
    return CLI_EXIT_OK;
  *out = NULL;
  return cli_open_failed(file, rc, mode);
}

int cli_open_failed(const char *file, int rc, cli_open_mode mode) {
  /* PD_ENOTFOUND is also the code for a missing file; exit 1 is for
   * absent keys and namespaces only, a missing file is an error (3). A
   * writing command creates a missing file, so there the file is missing
   * for a reason the library names (no such directory, a dangling link). */
  if (rc == PD_ENOTFOUND && access(file, F_OK) != 0) {
    if (mode == CLI_OPEN_READ)
      return cli_fail(CLI_EXIT_ERROR, file,
                      "no such file (this command never creates one)");
    return cli_fail_pd_exit(CLI_EXIT_ERROR, file, rc, pd_errmsg(NULL));
  }
  return cli_fail_pd(file, rc, pd_errmsg(NULL));
}
