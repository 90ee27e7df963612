/*
 * report.h - how the tool tells the user what went wrong: always one line on
 * stderr, "permadict: SUBJECT: cause", where SUBJECT is the file concerned.
 * Scripts parse this, so a cause is flattened onto one line.
 */
#ifndef PERMADICT_CLI_REPORT_H
#define PERMADICT_CLI_REPORT_H

#if defined(__GNUC__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

/* Print the line and return exit_code, so callers can `return cli_fail(...)`.
 * subject may be NULL (usage errors that concern no file). */
int cli_fail(int exit_code, const char *subject, const char *fmt, ...)
    CLI_PRINTF(3, 4);

/* The exit code for a libpermadict return code. */
int cli_exit_code(int pd_rc);

/* Report a failed library call on file: the library's own message (which
 * names the key or value) when it has one, else pd_errstr(rc). */
int cli_fail_pd(const char *file, int rc, const char *message);

/* The same with the exit code given, for a code whose usual exit code
 * would mislead (a missing file is not an absent key). */
int cli_fail_pd_exit(int exit_code, const char *file, int rc,
                     const char *message);

#endif
