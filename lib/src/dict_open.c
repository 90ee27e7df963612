/*
 * dict_open.c - pd_open, pd_close, pd_reopen and the handle's accessors.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine.h"

#define DEFAULT_TIMEOUT_MS 5000

/* Copies the open failure message of d into this thread's open message. */
static int open_fail(pd_dict *d, int rc) {
  pd__open_err_set("%s", d->errmsg);
  return rc;
}

static void handle_free(pd_dict *d) {
  pd__cache_free(d);
  pd__buf_free(&d->out);
  pd_enc_free(d->canon_enc);
  pd_enc_free(d->canon_expected_enc);
  free(d->path);
  free(d->real_path);
  free(d->name);
  free(d);
}

/* pd_open, or with file_only a read-only handle on the file alone, in no
 * namespace: all it can do is list namespaces (pd_file_namespaces). */
static int open_handle(pd_dict **out, const char *path, const pd_options *opts,
                       int file_only) {
  static const pd_options defaults = PD_OPTIONS_INIT;
  char msg[PD__ERRMSG_CAP];
  if (!out) {
    pd__open_err_set("pd_open: out is NULL");
    return PD_EINVALID;
  }
  *out = NULL;
  pd__fork_watch_install();
  if (!opts) opts = &defaults;
  /* Version 1 lacks the fields after durable: they take their defaults. */
  if (opts->version != PD_OPTIONS_VERSION && opts->version != 1) {
    pd__open_err_set("pd_open: unknown pd_options version %u (expected 1 to %d)",
                     opts->version, PD_OPTIONS_VERSION);
    return PD_EINVALID;
  }
  if (!path || !*path) {
    pd__open_err_set("pd_open: path is %s", path ? "empty" : "NULL");
    return PD_EINVALID;
  }
  const char *name = opts->name ? opts->name : "default";
  int rc = pd__name_check(name, msg, sizeof msg);
  if (rc) {
    pd__open_err_set("opening '%s': %s", path, msg);
    return rc;
  }
  pd_dict *d = calloc(1, sizeof *d);
  if (!d || !(d->path = strdup(path)) || !(d->name = strdup(name))) {
    if (d) handle_free(d);
    pd__open_err_set("opening '%s': out of memory", path);
    return PD_ENOMEM;
  }
  if (opts->version == 1) {
    d->opts = defaults;
    memcpy(&d->opts, opts, offsetof(pd_options, durable) + sizeof opts->durable);
    d->opts.version = PD_OPTIONS_VERSION;
  } else {
    d->opts = *opts;
  }
  d->opts.name = d->name;
  d->file_only = file_only;
  d->engine = &pd__engine_sqlite;
  if (pd__cache_new(d, d->opts.cache_kib) != PD_OK) {
    handle_free(d);
    pd__open_err_set("opening '%s': out of memory", path);
    return PD_ENOMEM;
  }
  if (d->opts.timeout_ms < 0) d->opts.timeout_ms = DEFAULT_TIMEOUT_MS;
  atomic_init(&d->in_use, 0);
  pd__gate_enter();
  rc = d->engine->connect(d);
  pd__gate_leave();
  if (rc) {
    open_fail(d, rc);
    handle_free(d);
    return rc;
  }
  d->errmsg[0] = 0;
  *out = d;
  return PD_OK;
}

int pd_open(pd_dict **out, const char *path, const pd_options *opts) {
  return open_handle(out, path, opts, 0);
}

int pd__open_file_only(pd_dict **out, const char *path) {
  pd_options opts = PD_OPTIONS_INIT;
  opts.readonly = 1;
  opts.create = 0;
  opts.cache_kib = -1;
  return open_handle(out, path, &opts, 1);
}

/* Lets go of d's connection (the engine knows what fork() allows). */
static void disconnect(pd_dict *d) {
  pd__checkpointer_stop(d); /* first: its connection is on the same file */
  if (d->watch_free) d->watch_free(d);
  d->watch = NULL;
  d->watch_free = NULL;
  pd__cache_invalidate(d);
  d->engine->disconnect(d);
  pd__write_priority_detach(d); /* a reopened path may be another file */
  d->in_txn = 0;
  d->txn_failed_rc = 0;
}

void pd_close(pd_dict *d) {
  if (!d) return;
  pd__gate_enter();
  disconnect(d);
  /* Any handle's close, not only a writer's: writers closing at the same
   * moment can each leave the -wal to the other, and a reader closes last. */
  pd__write_priority_forget_object(d);
  pd__gate_leave();
  handle_free(d);
}

int pd_reopen(pd_dict *d) {
  if (!d) return PD_EINVALID;
  int forked = d->fork_generation != pd__fork_generation_now();
  /* In a forked child the inherited flag means nothing: no other thread. */
  if (!forked && atomic_exchange(&d->in_use, 1)) return pd__misuse_mark(d);
  pd__misuse_clear(d);
  atomic_store(&d->in_use, 1);
  /* connect writes its failures straight into errmsg (file_guard.c): a
   * pending not-found message is no longer the last one. */
  d->notfound_pending = 0;
  pd__gate_enter();
  disconnect(d);
  d->deadline_set = 0;
  d->timed_out = 0;
  int rc = d->engine->connect(d);
  pd__gate_leave();
  if (rc == PD_OK) d->errmsg[0] = 0;
  atomic_store(&d->in_use, 0);
  return rc;
}

const char *pd_path(const pd_dict *d) { return d ? d->path : NULL; }

const char *pd_name(const pd_dict *d) { return d ? d->name : NULL; }
