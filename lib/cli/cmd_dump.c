/*
 * cmd_dump.c - `permadict dump FILE`: every item of the namespace as JSON
 * lines {"key": K, "value": V}, in key order, in the lossless mapping of
 * json_value.h, so `load` rebuilds exactly the same items.
 *
 * The walk reads a page at a time (bounded memory, writers not blocked), so
 * a dump taken while others write is consistent per page, not as a whole.
 * A value that cannot be decoded is reported (one line naming its key) and
 * skipped; the dump goes on with the rest and exits 3.
 */
#include <stdio.h>

#include "commands.h"
#include "json_value.h"
#include "key_arg.h"
#include "open_dict.h"
#include "output.h"
#include "report.h"

static json_t *item_json(const pd_val *key, const pd_val *value, pd_dec *dec,
                         jv_error *err) {
  json_t *k = jv_from_key(key, err);
  json_t *v = k ? jv_from_value(value, dec, err) : NULL;
  if (!k || !v) {
    json_decref(k);
    return NULL; /* err says why */
  }
  snprintf(err->text, sizeof err->text, "out of memory");
  json_t *line = json_object();
  if (!line) {
    json_decref(k);
    json_decref(v);
    return NULL;
  }
  /* "key" first: jansson keeps insertion order. set_new takes k and v
   * even when it fails. */
  if (json_object_set_new(line, "key", k) != 0) {
    json_decref(v);
    json_decref(line);
    return NULL;
  }
  if (json_object_set_new(line, "value", v) != 0) {
    json_decref(line);
    return NULL;
  }
  return line;
}

static int dump_items(pd_dict *d, const char *file) {
  pd_dec *dec = NULL;
  int rc = pd_dec_new(&dec);
  if (rc != PD_OK)
    return cli_fail_pd(file, rc, NULL);
  pd_iter_options io = PD_ITER_OPTIONS_INIT;
  io.values = 1;
  pd_iter *it = NULL;
  rc = pd_iter_open(&it, d, &io);
  if (rc != PD_OK) {
    pd_dec_free(dec);
    return cli_fail_pd(file, rc, pd_errmsg(d));
  }
  int ex = CLI_EXIT_OK;
  pd_val key, value;
  for (;;) {
    rc = pd_iter_next(it, &key, &value);
    if (rc == PD_ITEROVER)
      break;
    if (rc == PD_EDECODE) {
      /* The library names the key; the iterator goes on past it. */
      ex = cli_fail_pd(file, rc, pd_errmsg(d));
      continue;
    }
    if (rc != PD_OK) {
      ex = cli_fail_pd(file, rc, pd_errmsg(d));
      break;
    }
    jv_error err;
    json_t *line = item_json(&key, &value, dec, &err);
    if (!line) {
      char desc[200];
      key_describe(&key, desc, sizeof desc);
      ex = cli_fail(CLI_EXIT_ERROR, file, "key %s: %s", desc, err.text);
      continue;
    }
    if (cli_print_json_line(line) != 0)
      break; /* stdout failed: reported at exit */
  }
  pd_iter_free(it);
  pd_dec_free(dec);
  return ex;
}

int cmd_dump(const cli_args *args) {
  const char *file = args->pos[0];
  pd_dict *d;
  int ex = cli_open(&d, args, file, CLI_OPEN_READ);
  if (ex != CLI_EXIT_OK)
    return ex;
  ex = dump_items(d, file);
  pd_close(d);
  return ex;
}
