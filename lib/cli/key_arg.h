/*
 * key_arg.h - keys as they appear on the command line and in messages.
 * A KEY argument is text unless --int-key (a signed 64-bit integer in
 * decimal) or --hex-key (bytes written as hexadecimal) is given.
 */
#ifndef PERMADICT_CLI_KEY_ARG_H
#define PERMADICT_CLI_KEY_ARG_H

#include <stddef.h>

#include "cli.h"
#include "permadict.h"

typedef struct key_arg {
  pd_val key;
  unsigned char *owned; /* bytes decoded from hex, freed by key_arg_free */
} key_arg;

/* Parse text as a key of the kind args asks for. Returns CLI_EXIT_OK or
 * reports a usage error (naming what) and returns CLI_EXIT_USAGE. `what`
 * says which argument it is, e.g. "KEY" or "--prefix". */
int key_arg_parse(key_arg *out, const cli_args *args, const char *text,
                  const char *what);
void key_arg_free(key_arg *k);

/* The --prefix option of keys and watch (cmd), parsed as key_arg_parse does;
 * *out stays empty without one, and --hex-key, which only says how to read
 * it, is then a usage error. */
int key_arg_prefix(key_arg *out, const cli_args *args, const char *cmd);

/* Whether the library would refuse key: 0 no, 1 too long, 2 text that is
 * not valid UTF-8; the reason in why ("is ... bytes long; ..."). */
int key_refused(const pd_val *key, char *why, size_t cap);

/* How messages show a key: text as a JSON string, an integer in decimal,
 * bytes as 0x<hex>; long keys are cut. Writes into buf (NUL-terminated). */
void key_describe(const pd_val *key, char *buf, size_t size);

#endif
