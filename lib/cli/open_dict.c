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
  /* PD_ENOTFOUND is also the code for a missing file; exit 1 is for
   * absent keys and namespaces only, a missing file is an error (3). */
  if (rc == PD_ENOTFOUND && access(file, F_OK) != 0)
    return cli_fail(CLI_EXIT_ERROR, file, "no such file%s",
                    mode == CLI_OPEN_READ ? " (this command never creates one)"
                                          : "");
  return cli_fail_pd(file, rc, pd_errmsg(NULL));
}
