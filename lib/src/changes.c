/*
 * changes.c - the reading side of the change log (FORMAT.md section 5):
 * pd_version and pd_changes_*. (pd_wait and pd_watch_fd live in watch.c.)
 */
#include <stdlib.h>

#include "engine.h"

struct pd_changes {
  pd__change_list list;
  size_t pos;
};

int pd_version(pd_dict *d, int64_t *out) {
  int rc = pd__enter(d);
  if (rc) return rc;
  if (!out) return pd__leave(d, pd__err(d, PD_EINVALID, "pd_version: out is NULL"));
  return pd__leave(d, d->engine->version(d, out));
}

void pd_changes_free(pd_changes *c) {
  if (!c) return;
  pd__buf_free(&c->list.buf);
  free(c->list.rows);
  free(c);
}

int pd_changes_open(pd_changes **out, pd_dict *d, int64_t since) {
  if (!out) return PD_EINVALID;
  *out = NULL;
  int rc = pd__enter(d);
  if (rc) return rc;
  /* Versions start at 0 (an empty namespace), so no change was ever made
   * after a negative one: refused, before since + 1 reaches any engine's
   * arithmetic (pd__log_rowid), rather than answered with a resync. */
  if (since < 0)
    return pd__leave(d, pd__err(d, PD_EINVALID,
                                "pd_changes_open: since is %lld, but versions start at 0: "
                                "since must be 0 or more",
                                (long long)since));
  pd_changes *c = calloc(1, sizeof *c);
  if (!c) return pd__leave(d, pd__err(d, PD_ENOMEM, "out of memory"));
  rc = d->engine->changes(d, since, &c->list);
  if (rc) {
    pd_changes_free(c);
    return pd__leave(d, rc);
  }
  *out = c;
  return pd__leave(d, PD_OK);
}

int pd_changes_next(pd_changes *c, pd_change *out) {
  if (!c || !out) return PD_EINVALID;
  if (c->pos >= c->list.n) return PD_ITEROVER;
  *out = c->list.rows[c->pos++];
  return PD_OK;
}
