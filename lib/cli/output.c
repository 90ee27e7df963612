/* output.c - see output.h. */
#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "json_value.h"
#include "report.h"

/* The errno of the first failed write to stdout. stdio keeps only a flag,
 * and by exit errno has long been overwritten: a closed pipe was reported
 * as a full disk. */
static int first_write_errno;

int cli_stdout_failed(void) {
  if (!first_write_errno)
    first_write_errno = errno;
  return -1;
}

int cli_print_json_line(json_t *j) {
  if (!j)
    return -1;
  int rc = json_dumpf(j, stdout, JV_DUMP_FLAGS);
  json_decref(j);
  if (rc != 0 || fputc('\n', stdout) == EOF)
    return cli_stdout_failed();
  return 0;
}

int cli_finish_stdout(void) {
  /* A full disk or closed pipe must not look like success to a script
   * that redirected a dump into a file. */
  errno = 0;
  if (fflush(stdout) != 0 || ferror(stdout)) {
    int e = first_write_errno ? first_write_errno : errno;
    return cli_fail(CLI_EXIT_ERROR, "stdout", "write failed: %s",
                    e ? strerror(e) : "an earlier write to it failed (disk full?)");
  }
  return CLI_EXIT_OK;
}
