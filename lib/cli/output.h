/*
 * output.h - writing results to stdout, one JSON value per line.
 */
#ifndef PERMADICT_CLI_OUTPUT_H
#define PERMADICT_CLI_OUTPUT_H

#include <jansson.h>

/* Write j and a newline to stdout; takes the reference to j (which may be
 * NULL when building it failed: then nothing is written). Returns 0, or -1
 * when stdout could not be written (main reports that once at exit). */
int cli_print_json_line(json_t *j);

/* Call right after a write to stdout failed, while errno still says why:
 * keeps that reason for cli_finish_stdout. Returns -1. */
int cli_stdout_failed(void);

/* Report a failure to write stdout, if there was one: flushes stdout and
 * returns CLI_EXIT_ERROR after one line on stderr, else CLI_EXIT_OK. */
int cli_finish_stdout(void);

#endif
