/*
 * namespaces.c - listing and dropping namespaces. Names are checked here
 * (pd__name_check) and handed to the engine as data, never as code.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"

void pd_free_names(char **names, size_t count) {
  if (!names) return;
  for (size_t i = 0; i < count; i++) free(names[i]);
  free(names);
}

int pd_namespaces(pd_dict *d, char ***out, size_t *count) {
  int rc = pd__enter(d);
  if (rc) return rc;
  if (!out || !count) return pd__leave(d, pd__err(d, PD_EINVALID, "pd_namespaces: out is NULL"));
  *out = NULL;
  *count = 0;
  return pd__leave(d, d->engine->namespaces(d, out, count));
}

int pd_file_namespaces(const char *path, char ***out, size_t *count) {
  if (!out || !count) {
    pd__open_err_set("pd_file_namespaces: out is NULL");
    return PD_EINVALID;
  }
  *out = NULL;
  *count = 0;
  pd_dict *d;
  int rc = pd__open_file_only(&d, path); /* its message is this thread's */
  if (rc) return rc;
  rc = pd_namespaces(d, out, count);
  if (rc) pd__open_err_set("%s", pd_errmsg(d));
  pd_close(d);
  return rc;
}

int pd_drop_namespace(pd_dict *d, const char *name) {
  int rc = pd__enter(d);
  if (rc) return rc;
  char why[200];
  rc = pd__name_check(name, why, sizeof why);
  if (rc) return pd__leave(d, pd__err(d, rc, "pd_drop_namespace: %s", why));
  int opened = 0, partial = 0;
  rc = pd__write_begin(d, &opened);
  if (rc) return pd__leave(d, rc);
  rc = d->engine->drop_namespace(d, name, &partial);
  rc = pd__write_end(d, opened, rc, partial);
  return pd__leave(d, rc);
}
