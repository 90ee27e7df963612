/* maintenance.c - pd_stats_get and pd_check, through the engine. */
#include <string.h>

#include "engine.h"

int pd_stats_get(pd_dict *d, pd_stats *out) {
  int rc = pd__enter(d);
  if (rc) return rc;
  if (!out) return pd__leave(d, pd__err(d, PD_EINVALID, "pd_stats_get: out is NULL"));
  memset(out, 0, sizeof *out);
  return pd__leave(d, d->engine->stats(d, out));
}

int pd_check(pd_dict *d) {
  int rc = pd__enter(d);
  if (rc) return rc;
  return pd__leave(d, d->engine->check(d));
}
