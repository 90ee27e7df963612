/*
 * commands.h - one function per subcommand, each in its own cmd_<name>.c.
 * Each returns a CLI_EXIT_* code and has already reported any error.
 * main.c's command table says which arguments and options each one takes.
 */
#ifndef PERMADICT_CLI_COMMANDS_H
#define PERMADICT_CLI_COMMANDS_H

#include "cli.h"

int cmd_get(const cli_args *args);
int cmd_set(const cli_args *args);
int cmd_del(const cli_args *args);
int cmd_keys(const cli_args *args);
int cmd_dump(const cli_args *args);
int cmd_load(const cli_args *args);
int cmd_namespaces(const cli_args *args);
int cmd_stats(const cli_args *args);
int cmd_check(const cli_args *args);
int cmd_watch(const cli_args *args);

#endif
