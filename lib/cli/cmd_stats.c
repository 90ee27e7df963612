/*
 * cmd_stats.c - `permadict stats FILE [--json]`: entry count, change
 * counter and sizes of one namespace and its file, for people (aligned
 * lines, sizes also in KiB/MiB) or for programs (--json, exact numbers).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "json_value.h"
#include "open_dict.h"
#include "output.h"
#include "report.h"

/* "24576 bytes (24.0 KiB)" */
static void human_size(int64_t bytes, char *buf, size_t size) {
  static const char *const UNITS[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = (double)bytes;
  int unit = -1;
  while (v >= 1024.0 && unit < 3) {
    v /= 1024.0;
    unit++;
  }
  if (unit < 0)
    snprintf(buf, size, "%" PRId64 " bytes", bytes);
  else
    snprintf(buf, size, "%" PRId64 " bytes (%.1f %s)", bytes, v, UNITS[unit]);
}

static void print_human(const pd_stats *s, const char *file, const char *ns) {
  char file_size[64], wal_size[64];
  human_size(s->file_bytes, file_size, sizeof file_size);
  human_size(s->wal_bytes, wal_size, sizeof wal_size);
  printf("file:            %s\n", file);
  printf("namespace:       %s\n", ns);
  printf("entries:         %" PRId64 "\n", s->count);
  printf("version:         %" PRId64 " (change counter)\n", s->version);
  printf("namespaces:      %" PRId64 "\n", s->namespaces);
  printf("format version:  %d\n", s->format_version);
  printf("page size:       %" PRId64 " bytes\n", s->page_size);
  printf("pages:           %" PRId64 " (%" PRId64 " free)\n", s->page_count,
         s->freelist_count);
  printf("file size:       %s\n", file_size);
  printf("wal size:        %s\n", wal_size);
}

/* FILE as JSON: a string, or {"$bytes": ...} as in the value mapping when
 * the name is not UTF-8 (a file name is bytes; JSON strings cannot hold
 * every one). */
static json_t *file_json(const char *file) {
  size_t len = strlen(file);
  pd_val name = pd_utf8_valid(file, len) ? pd_text(file, len) : pd_bytes(file, len);
  jv_error err;
  return jv_from_key(&name, &err);
}

static json_t *stats_json(const pd_stats *s, const char *file,
                          const char *ns) {
  return json_pack("{s:o, s:s, s:I, s:I, s:I, s:i, s:I, s:I, s:I, s:I, s:I}",
                   "file", file_json(file), "namespace", ns, "count", (json_int_t)s->count,
                   "version", (json_int_t)s->version, "namespaces",
                   (json_int_t)s->namespaces, "format_version",
                   s->format_version, "page_size", (json_int_t)s->page_size,
                   "page_count", (json_int_t)s->page_count, "freelist_count",
                   (json_int_t)s->freelist_count, "file_bytes",
                   (json_int_t)s->file_bytes, "wal_bytes",
                   (json_int_t)s->wal_bytes);
}

int cmd_stats(const cli_args *args) {
  const char *file = args->pos[0];
  pd_dict *d;
  int ex = cli_open(&d, args, file, CLI_OPEN_READ);
  if (ex != CLI_EXIT_OK)
    return ex;
  pd_stats s;
  int rc = pd_stats_get(d, &s);
  if (rc != PD_OK) {
    ex = cli_fail_pd(file, rc, pd_errmsg(d));
  } else if (args->options & CLI_OPT_JSON) {
    json_t *j = stats_json(&s, file, args->namespace_name);
    if (!j)
      ex = cli_fail(CLI_EXIT_ERROR, file, "out of memory writing stats as JSON");
    else
      cli_print_json_line(j);
  } else {
    print_human(&s, file, args->namespace_name);
  }
  pd_close(d);
  return ex;
}
