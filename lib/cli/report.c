/*
 * report.c - one-line error messages and the mapping of library codes onto
 * the tool's exit codes.
 */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "permadict.h"

/* Long enough for any message we make; a 4 KiB key shown in full would not
 * help anyone, so longer causes are cut with "...". */
#define CLI_MESSAGE_MAX 1024

/* Make msg fit on one line: a newline (pd_check may list several problems)
 * becomes "; ", other control characters a space. */
static void flatten_to_one_line(char *msg) {
  char *w = msg;
  for (const char *r = msg; *r; r++) {
    unsigned char c = (unsigned char)*r;
    if (c == '\n') {
      /* "a\nb" -> "a; b"; a trailing newline just goes. */
      if (r[1] != '\0' && w != msg) {
        *w++ = ';';
        *w++ = ' ';
      }
    } else if (c < 0x20 || c == 0x7f) {
      *w++ = ' ';
    } else {
      *w++ = (char)c;
    }
  }
  *w = '\0';
}

int cli_fail(int exit_code, const char *subject, const char *fmt, ...) {
  /* Room for "; " expansion of every newline in the worst case. */
  char msg[2 * CLI_MESSAGE_MAX + 4];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, CLI_MESSAGE_MAX, fmt, ap);
  va_end(ap);
  if (n < 0) {
    strcpy(msg, "(message could not be formatted)");
  } else if (n >= CLI_MESSAGE_MAX) {
    strcpy(msg + CLI_MESSAGE_MAX - 4, "...");
  }
  flatten_to_one_line(msg);
  if (subject)
    fprintf(stderr, "permadict: %s: %s\n", subject, msg);
  else
    fprintf(stderr, "permadict: %s\n", msg);
  return exit_code;
}

int cli_exit_code(int pd_rc) {
  switch (pd_rc) {
  case PD_OK:
    return CLI_EXIT_OK;
  case PD_ENOTFOUND:
    return CLI_EXIT_NOTFOUND;
  default:
    return CLI_EXIT_ERROR;
  }
}

/* Length of `before'FILE'after` at the start of s, or 0. */
static size_t lead_in_length(const char *s, const char *before,
                             const char *file, const char *after) {
  size_t nb = strlen(before), nf = strlen(file), na = strlen(after);
  if (strncmp(s, before, nb) != 0 || s[nb] != '\'' ||
      strncmp(s + nb + 1, file, nf) != 0 || s[nb + 1 + nf] != '\'' ||
      strncmp(s + nb + nf + 2, after, na) != 0)
    return 0;
  return nb + nf + 2 + na;
}

/* The library names the file in its messages ("'app.db' is not a permadict
 * file (...)"); our line already starts with it, so drop a leading mention:
 * "permadict: app.db: not a permadict file (...)". */
static const char *without_leading_file(const char *cause, const char *file) {
  size_t n = lead_in_length(cause, "", file, " is ");
  if (!n)
    n = lead_in_length(cause, "file ", file, " ");
  if (!n)
    n = lead_in_length(cause, "", file, " ");
  return cause + n;
}

int cli_fail_pd_exit(int exit_code, const char *file, int rc,
                     const char *message) {
  const char *cause = (message && *message) ? message : pd_errstr(rc);
  return cli_fail(exit_code, file, "%s", without_leading_file(cause, file));
}

int cli_fail_pd(const char *file, int rc, const char *message) {
  return cli_fail_pd_exit(cli_exit_code(rc), file, rc, message);
}
