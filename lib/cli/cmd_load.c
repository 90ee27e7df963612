/*
 * cmd_load.c - `permadict load FILE [INPUT|-]`: read `dump` output (JSON
 * lines {"key": K, "value": V}) from INPUT or stdin and set every item, all
 * in one transaction: either every line is stored or, at the first bad line
 * or failure, nothing is. Items already in the namespace and not in the
 * input are kept. Blank lines are skipped. FILE is opened (and created if
 * missing) only once a first line has been read whole, so input that is
 * wrong from its first line creates no file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "json_value.h"
#include "key_arg.h"
#include "open_dict.h"
#include "report.h"

typedef struct load_state {
  const cli_args *args;
  pd_dict *d; /* NULL until the first line is read */
  pd_enc *key_enc, *value_enc; /* one each: a key must outlive its value's encoding */
  const char *file;
  const char *input_name;
  unsigned long line_no;
} load_state;

static int is_blank(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (!strchr(" \t\r\n", s[i]))
      return 0;
  return 1;
}

/* "INPUT line N: [part: ]why", naming the database file first. */
static int bad_line(const load_state *st, const char *part, const char *why) {
  return cli_fail(CLI_EXIT_ERROR, st->file, "%s line %lu: %s%s%s",
                  st->input_name, st->line_no, part ? part : "",
                  part ? ": " : "", why);
}

/* Opens FILE (creating it if missing) and starts the one transaction. */
static int load_begin(load_state *st) {
  int ex = cli_open(&st->d, st->args, st->file, CLI_OPEN_WRITE);
  if (ex != CLI_EXIT_OK)
    return ex;
  int rc = pd_begin(st->d);
  return rc == PD_OK ? CLI_EXIT_OK : cli_fail_pd(st->file, rc, pd_errmsg(st->d));
}

static int load_line(load_state *st, const char *line, size_t len) {
  jv_error err;
  json_t *j = jv_parse(line, len, &err);
  if (!j)
    return bad_line(st, NULL, err.text);
  int ex = CLI_EXIT_OK;
  json_t *k = json_object_get(j, "key"), *v = json_object_get(j, "value");
  if (!json_is_object(j) || json_object_size(j) != 2 || !k || !v) {
    ex = bad_line(st, NULL,
                  "expected an object {\"key\": K, \"value\": V} and nothing "
                  "else");
  } else {
    pd_val key, value;
    char why[96];
    int rc = jv_to_key(k, st->key_enc, &key, &err);
    if (rc != PD_OK)
      ex = bad_line(st, "key", err.text);
    else if (key_refused(&key, why, sizeof why)) /* before FILE is opened */
      ex = bad_line(st, "key", why);
    else if ((rc = jv_to_value(v, st->value_enc, &value, &err)) != PD_OK)
      ex = bad_line(st, "value", err.text);
    else if (!st->d && (ex = load_begin(st)) != CLI_EXIT_OK)
      ; /* could not open FILE: said so */
    else if ((rc = pd_set(st->d, &key, &value)) != PD_OK)
      ex = bad_line(st, NULL, pd_errmsg(st->d));
  }
  json_decref(j);
  return ex;
}

/* Every line of in inside the open transaction; stops at the first error. */
static int load_lines(load_state *st, FILE *in) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int ex = CLI_EXIT_OK;
  errno = 0;
  while (ex == CLI_EXIT_OK && (len = getline(&line, &cap, in)) >= 0) {
    st->line_no++;
    if (!is_blank(line, (size_t)len))
      ex = load_line(st, line, (size_t)len);
  }
  if (ex == CLI_EXIT_OK && ferror(in))
    ex = cli_fail(CLI_EXIT_ERROR, st->file, "reading %s: %s", st->input_name,
                  strerror(errno ? errno : EIO));
  free(line);
  return ex;
}

int cmd_load(const cli_args *args) {
  const char *file = args->pos[0];
  const char *input = args->npos > 1 ? args->pos[1] : "-";
  int from_stdin = strcmp(input, "-") == 0;
  const char *input_name = from_stdin ? "<stdin>" : input;
  /* Open the input first: a wrong input name must not create FILE. */
  FILE *in = from_stdin ? stdin : fopen(input, "r");
  if (!in)
    return cli_fail(CLI_EXIT_ERROR, input, "%s", strerror(errno));
  load_state st = {args, NULL, NULL, NULL, file, input_name, 0};
  int rc = pd_enc_new(&st.key_enc);
  if (rc == PD_OK)
    rc = pd_enc_new(&st.value_enc);
  int ex = rc == PD_OK ? load_lines(&st, in) : cli_fail_pd(file, rc, NULL);
  /* Input without a single item still makes (or checks) FILE. */
  if (ex == CLI_EXIT_OK && !st.d)
    ex = load_begin(&st);
  if (ex == CLI_EXIT_OK) {
    rc = pd_commit(st.d);
    if (rc != PD_OK)
      ex = cli_fail_pd(file, rc, pd_errmsg(st.d));
  }
  if (ex != CLI_EXIT_OK && st.d && pd_in_transaction(st.d))
    pd_rollback(st.d); /* all or nothing */
  pd_close(st.d);
  pd_enc_free(st.key_enc);
  pd_enc_free(st.value_enc);
  if (!from_stdin)
    fclose(in);
  return ex;
}
