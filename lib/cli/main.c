/*
 * main.c - the permadict command-line tool: argument parsing, the command
 * table, dispatch and exit codes (0 ok, 1 key not found, 2 usage, 3 other).
 *
 * To add a command: write int cmd_<name>(const cli_args *) in its own
 * cmd_<name>.c, declare it in commands.h, and add one row to COMMANDS (plus
 * its lines in the help text). Options that only some commands take are
 * listed per row, so a misplaced option is a usage error, not ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "output.h"
#include "permadict.h"
#include "report.h"

typedef struct cli_command {
  const char *name;
  cli_command_fn run;
  int min_args, max_args; /* positional arguments after the command name */
  unsigned options;       /* CLI_OPT_* it accepts; --namespace always */
  const char *synopsis;
} cli_command;

static const cli_command COMMANDS[] = {
    {"get", cmd_get, 2, 2, CLI_OPT_KEY_KIND, "FILE KEY"},
    {"set", cmd_set, 3, 3, CLI_OPT_KEY_KIND | CLI_OPT_TEXT, "FILE KEY VALUE"},
    {"del", cmd_del, 2, 2, CLI_OPT_KEY_KIND, "FILE KEY"},
    /* keys and watch take --hex-key for how to read --prefix; an integer
     * is never a prefix, so --int-key does not apply to them. */
    {"keys", cmd_keys, 1, 1, CLI_OPT_HEX_KEY | CLI_OPT_PREFIX | CLI_OPT_JSON,
     "FILE [--prefix P] [--json]"},
    {"dump", cmd_dump, 1, 1, 0, "FILE"},
    {"load", cmd_load, 1, 2, 0, "FILE [INPUT|-]"},
    {"namespaces", cmd_namespaces, 1, 1, 0, "FILE"},
    {"stats", cmd_stats, 1, 1, CLI_OPT_JSON, "FILE [--json]"},
    {"check", cmd_check, 1, 1, 0, "FILE"},
    {"watch", cmd_watch, 1, 1, CLI_OPT_HEX_KEY | CLI_OPT_PREFIX, "FILE [--prefix P]"},
};

static const char HELP[] =
    "Usage: permadict [OPTIONS] COMMAND FILE [ARGS]\n"
    "\n"
    "Read and change a permadict file (a dictionary in one SQLite file).\n"
    "\n"
    "Commands:\n"
    "  get FILE KEY            print the value as one line of JSON\n"
    "  set FILE KEY VALUE      store VALUE, given as JSON (--text: as plain text)\n"
    "  del FILE KEY            delete KEY (exit 1 if it was absent)\n"
    "  keys FILE               print the keys, one per line, in key order\n"
    "  dump FILE               print every item as JSON lines {\"key\": K, \"value\": V}\n"
    "  load FILE [INPUT|-]     set the items of a dump (stdin by default), all or nothing\n"
    "  namespaces FILE         print the namespaces of the file\n"
    "  stats FILE              print counts, change counter and sizes\n"
    "  check FILE              check integrity: prints ok, or exits 3 with the problem\n"
    "  watch FILE              print each change as a JSON line until interrupted\n"
    "\n"
    "Options:\n"
    "  -n, --namespace NAME    work in namespace NAME (default: \"default\")\n"
    "  --int-key               KEY is a 64-bit integer (decimal)\n"
    "  --hex-key               KEY is bytes written in hex; so is --prefix\n"
    "  --text                  set: store VALUE as plain text, not JSON\n"
    "  --prefix P              keys, watch: only keys starting with P\n"
    "  --json                  keys: each key as JSON; stats: one JSON object\n"
    "  -h, --help              show this help\n"
    "  --version               show the tool's and the library's version\n"
    "  --                      end of options (before a KEY or VALUE starting\n"
    "                          with '-' that is not a number)\n"
    "\n"
    "Keys are text unless --int-key or --hex-key is given: 1, \"1\" and bytes 31\n"
    "are three different keys. `keys` prints text as is, integers in decimal and\n"
    "bytes in hex, the forms KEY takes back; --json tells the kinds apart.\n"
    "\n"
    "Values as JSON (get, set, dump, load), lossless both ways:\n"
    "  text                  \"string\"\n"
    "  integer (64-bit)      42\n"
    "  float                 1.0, 2.5e-8 (always with '.' or an exponent)\n"
    "  NaN, inf, -inf, -0.0  {\"$float\": \"nan\"} (also \"inf\", \"-inf\", \"-0.0\")\n"
    "  bool, null            true, false, null\n"
    "  bytes                 {\"$bytes\": \"<base64>\"}\n"
    "  list                  [1, 2]\n"
    "  map, text keys        {\"a\": 1} (no key may start with '$')\n"
    "  any other map         {\"$map\": [[1, \"one\"], [{\"$bytes\": \"AA==\"}, 2]]}\n"
    "  private value         {\"$private\": [tag, \"<base64>\"]}\n"
    "In a dump, keys use the same forms (text, integer or {\"$bytes\": ...}).\n"
    "Integers beyond 64 bits are refused.\n"
    "\n"
    "Exit status: 0 ok, 1 key not found, 2 usage error, 3 any other error.\n"
    "Errors go to stderr as one line: permadict: FILE: cause\n"
    "get, keys, dump, namespaces, stats and check never create or change FILE;\n"
    "set, del and load create it when missing.\n";

static int usage_error(const char *what, const char *detail) {
  return cli_fail(CLI_EXIT_USAGE, NULL, "%s%s (see permadict --help)", what,
                  detail);
}

typedef struct option_spec {
  const char *long_name;
  char short_name;
  int takes_value;
  unsigned flag; /* CLI_OPT_*, or 0 for the ones handled specially */
} option_spec;

static const option_spec OPTIONS[] = {
    {"namespace", 'n', 1, 0},
    {"int-key", 0, 0, CLI_OPT_INT_KEY},
    {"hex-key", 0, 0, CLI_OPT_HEX_KEY},
    {"text", 0, 0, CLI_OPT_TEXT},
    {"prefix", 0, 1, CLI_OPT_PREFIX},
    {"json", 0, 0, CLI_OPT_JSON},
    {"help", 'h', 0, 0},
    {"version", 0, 0, 0},
};

/* A word that starts with '-' is an option unless it is "-" (stdin) or
 * looks like a negative number: `set f k -3` and `get f --int-key -5` work
 * without "--". */
static int is_option_word(const char *w) {
  if (w[0] != '-' || w[1] == '\0')
    return 0;
  if ((w[1] >= '0' && w[1] <= '9') || w[1] == '.')
    return 0;
  return 1;
}

static const option_spec *find_option(const char *word, const char **value) {
  *value = NULL;
  if (word[1] == '-') {
    const char *name = word + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    for (size_t i = 0; i < sizeof OPTIONS / sizeof OPTIONS[0]; i++)
      if (strlen(OPTIONS[i].long_name) == len &&
          strncmp(OPTIONS[i].long_name, name, len) == 0) {
        if (eq)
          *value = eq + 1;
        return &OPTIONS[i];
      }
    return NULL;
  }
  for (size_t i = 0; i < sizeof OPTIONS / sizeof OPTIONS[0]; i++)
    if (OPTIONS[i].short_name && OPTIONS[i].short_name == word[1]) {
      if (word[2] != '\0')
        *value = word + 2; /* -nNAME */
      return &OPTIONS[i];
    }
  return NULL;
}

typedef enum { PARSED_RUN, PARSED_HELP, PARSED_VERSION } parse_result;

/* Options may come anywhere; the other words are, in order, the command and
 * its arguments. Fills args (pos reuses argv storage). Returns a parse_result,
 * or -1 after reporting a usage error. */
static int parse_command_line(int argc, char **argv, cli_args *args,
                              int *want) {
  memset(args, 0, sizeof *args);
  args->namespace_name = "default";
  args->pos = argv + 1; /* positional words are compacted in place */
  *want = PARSED_RUN;
  int only_positional = 0;
  for (int i = 1; i < argc; i++) {
    char *w = argv[i];
    if (only_positional || !is_option_word(w)) {
      args->pos[args->npos++] = w;
      continue;
    }
    if (strcmp(w, "--") == 0) {
      only_positional = 1;
      continue;
    }
    const char *value;
    const option_spec *opt = find_option(w, &value);
    if (!opt) {
      usage_error("unknown option ", w);
      return -1;
    }
    if (opt->takes_value && !value) {
      if (i + 1 >= argc) {
        usage_error("missing value after ", w);
        return -1;
      }
      value = argv[++i];
    } else if (!opt->takes_value && value) {
      usage_error("this option takes no value: ", w);
      return -1;
    }
    args->options |= opt->flag;
    if (strcmp(opt->long_name, "namespace") == 0)
      args->namespace_name = value;
    else if (strcmp(opt->long_name, "prefix") == 0)
      args->prefix = value;
    else if (strcmp(opt->long_name, "help") == 0)
      *want = PARSED_HELP;
    else if (strcmp(opt->long_name, "version") == 0 && *want != PARSED_HELP)
      *want = PARSED_VERSION;
  }
  return 0;
}

static const cli_command *find_command(const char *name) {
  for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
    if (strcmp(COMMANDS[i].name, name) == 0)
      return &COMMANDS[i];
  return NULL;
}

static const char *option_name(unsigned flag) {
  for (size_t i = 0; i < sizeof OPTIONS / sizeof OPTIONS[0]; i++)
    if (OPTIONS[i].flag == flag)
      return OPTIONS[i].long_name;
  return "?";
}

/* Arguments and options against what the command takes. */
static int check_usage(const cli_command *cmd, const cli_args *args) {
  if (args->npos < cmd->min_args || args->npos > cmd->max_args)
    return cli_fail(CLI_EXIT_USAGE, NULL,
                    "%s takes %s (%d argument%s given; see permadict --help)",
                    cmd->name, cmd->synopsis, args->npos,
                    args->npos == 1 ? "" : "s");
  unsigned extra = args->options & ~cmd->options;
  if (extra) {
    unsigned flag = extra & -extra; /* name the first one */
    return cli_fail(CLI_EXIT_USAGE, NULL, "--%s does not apply to %s",
                    option_name(flag), cmd->name);
  }
  if ((args->options & CLI_OPT_INT_KEY) && (args->options & CLI_OPT_HEX_KEY))
    return cli_fail(CLI_EXIT_USAGE, NULL,
                    "--int-key and --hex-key exclude each other");
  if (args->namespace_name[0] == '\0')
    return cli_fail(CLI_EXIT_USAGE, NULL, "--namespace needs a name");
  /* Every command's FILE comes first. The library takes ":memory:" for a
   * private in-memory dict, which the command's exit would throw away. */
  if (strcmp(args->pos[0], ":memory:") == 0)
    return cli_fail(CLI_EXIT_USAGE, NULL,
                    "FILE ':memory:' would be an in-memory dict, gone when the "
                    "command ends; for a file of that name write ./:memory:");
  return CLI_EXIT_OK;
}

int main(int argc, char **argv) {
  /* A library older than the header this was built with lacks functions
   * we call; say so instead of failing strangely later. */
  if (!PD_VERSION_COMPATIBLE())
    return cli_fail(CLI_EXIT_ERROR, NULL,
                    "libpermadict %s does not match the version %s this tool "
                    "was built with",
                    pd_libversion(), PERMADICT_VERSION_STRING);
  cli_args args;
  int want;
  if (parse_command_line(argc, argv, &args, &want) != 0)
    return CLI_EXIT_USAGE;
  if (want == PARSED_HELP) {
    fputs(HELP, stdout);
    return cli_finish_stdout();
  }
  if (want == PARSED_VERSION) {
    printf("permadict %s (libpermadict %s)\n", PERMADICT_VERSION_STRING,
           pd_libversion());
    return cli_finish_stdout();
  }
  if (args.npos == 0)
    return usage_error("no command given", "");
  args.command = args.pos[0];
  args.pos++;
  args.npos--;
  const cli_command *cmd = find_command(args.command);
  if (!cmd)
    return cli_fail(CLI_EXIT_USAGE, NULL,
                    "unknown command '%s' (see permadict --help)",
                    args.command);
  int ex = check_usage(cmd, &args);
  if (ex != CLI_EXIT_OK)
    return ex;
  ex = cmd->run(&args);
  int out = cli_finish_stdout();
  return ex != CLI_EXIT_OK ? ex : out;
}
