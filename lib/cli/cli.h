/*
 * cli.h - what the parts of the permadict command-line tool share: the parsed
 * command line, the exit codes, and the signature every command has.
 */
#ifndef PERMADICT_CLI_H
#define PERMADICT_CLI_H

#include <stddef.h>

/* Exit codes, the contract with shell scripts (docs/CLI.md). */
enum {
  CLI_EXIT_OK = 0,
  CLI_EXIT_NOTFOUND = 1, /* key (or namespace) absent */
  CLI_EXIT_USAGE = 2,    /* the command line cannot be understood */
  CLI_EXIT_ERROR = 3     /* anything else: file, format, I/O, bad input... */
};

/* Options a command may accept; main.c refuses the others. */
enum {
  CLI_OPT_INT_KEY = 1u << 0,
  CLI_OPT_HEX_KEY = 1u << 1,
  CLI_OPT_TEXT = 1u << 2,
  CLI_OPT_PREFIX = 1u << 3,
  CLI_OPT_JSON = 1u << 4,
  CLI_OPT_KEY_KIND = CLI_OPT_INT_KEY | CLI_OPT_HEX_KEY
};

/* The command line after parsing. Strings point into argv. */
typedef struct cli_args {
  const char *command;
  const char *namespace_name; /* never NULL: "default" unless -n given */
  unsigned options;           /* CLI_OPT_* flags that were given */
  const char *prefix;         /* --prefix, or NULL */
  char **pos;                 /* positional arguments after the command */
  int npos;
} cli_args;

typedef int (*cli_command_fn)(const cli_args *args);

#endif /* PERMADICT_CLI_H */
