/* output.c - see output.h. */
#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "json_value.h"
#include "report.h"

int cli_print_json_line(json_t *j) {
  if (!j)
    return -1;
  int rc = json_dumpf(j, stdout, JV_DUMP_FLAGS);
  json_decref(j);
  if (rc != 0 || fputc('\n', stdout) == EOF)
    return -1;
  return 0;
}

int cli_finish_stdout(void) {
  /* A full disk or closed pipe must not look like success to a script
   * that redirected a dump into a file. */
  errno = 0;
  if (fflush(stdout) != 0 || ferror(stdout))
    /* stdio keeps no errno for an earlier failed write, only its flag. */
    return cli_fail(CLI_EXIT_ERROR, "stdout", "write failed: %s",
                    errno ? strerror(errno) : "an earlier write to it failed (disk full?)");
  return CLI_EXIT_OK;
}
