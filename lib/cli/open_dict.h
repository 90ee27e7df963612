/*
 * open_dict.h - how every command opens its file: reading commands never
 * create or write (readonly=1, create=0); writing ones create the file and
 * namespace when missing.
 */
#ifndef PERMADICT_CLI_OPEN_DICT_H
#define PERMADICT_CLI_OPEN_DICT_H

#include "cli.h"
#include "permadict.h"

typedef enum cli_open_mode { CLI_OPEN_READ, CLI_OPEN_WRITE } cli_open_mode;

/* Open file at the namespace args names. Returns CLI_EXIT_OK with *out set,
 * or reports the failure (one line naming the file) and returns its exit
 * code with *out NULL. */
int cli_open(pd_dict **out, const cli_args *args, const char *file,
             cli_open_mode mode);

/* Reports a failed open of file (pd_open or pd_file_namespaces, whose
 * message is pd_errmsg(NULL)) and returns the exit code for it. */
int cli_open_failed(const char *file, int rc, cli_open_mode mode);

#endif
