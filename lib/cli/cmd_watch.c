/*
 * cmd_watch.c - `permadict watch FILE [--namespace N] [--prefix P]`: print
 * each committed change as one JSON line until SIGINT or SIGTERM, then exit 0.
 *
 *   {"version": V, "op": "set", "key": K, "value": X}   X as stored now
 *   {"version": V, "op": "set", "key": K}               set, then deleted since
 *   {"version": V, "op": "delete", "key": K}
 *   {"version": V, "op": "clear", "key": null}
 *   {"version": V, "op": "resync"}   the change log no longer reached back:
 *                                    changes up to V were missed; re-read
 *
 * Keys and values use the lossless JSON mapping of json_value.h. With
 * --prefix only keys starting with P are shown (text, or bytes with
 * --hex-key); a clear is always shown, since it removes those keys too.
 *
 * The wait runs on pd_watch_fd() in a poll() loop next to a self-pipe that
 * the signal handler writes to, so a signal ends the wait at once and the
 * library's own waits are never interrupted halfway. Each line is flushed
 * so a reader behind a pipe sees it immediately.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "commands.h"
#include "json_value.h"
#include "key_arg.h"
#include "open_dict.h"
#include "output.h"
#include "report.h"

/* Written by the signal handler, read by the poll loop. */
static int stop_pipe[2] = {-1, -1};

static void on_stop_signal(int sig) {
  (void)sig;
  int saved = errno;
  char c = 1;
  ssize_t ignored = write(stop_pipe[1], &c, 1); /* full pipe: already stopping */
  (void)ignored;
  errno = saved;
}

static int stop_signals_install(void) {
  if (pipe(stop_pipe) != 0) return -1;
  for (int i = 0; i < 2; i++) {
    fcntl(stop_pipe[i], F_SETFD, FD_CLOEXEC);
    fcntl(stop_pipe[i], F_SETFL, fcntl(stop_pipe[i], F_GETFL) | O_NONBLOCK);
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) return -1;
  return 0;
}

static int key_matches(const pd_val *key, const pd_val *prefix) {
  if (!prefix) return 1;
  if (key->kind != prefix->kind) return 0;
  return key->u.s.len >= prefix->u.s.len &&
         memcmp(key->u.s.ptr, prefix->u.s.ptr, prefix->u.s.len) == 0;
}

static const char *op_name(pd_change_op op) {
  switch (op) {
  case PD_CHANGE_SET: return "set";
  case PD_CHANGE_DELETE: return "delete";
  case PD_CHANGE_CLEAR: return "clear";
  default: return "unknown";
  }
}

/* The JSON line for one change, or NULL with err set. For a set, the value
 * is the one stored now (the log records keys, not values). */
static json_t *change_json(pd_dict *d, pd_dec *dec, const pd_change *ch, jv_error *err) {
  json_t *o = json_object();
  if (!o) goto nomem;
  if (json_object_set_new(o, "version", json_integer(ch->version)) != 0 ||
      json_object_set_new(o, "op", json_string(op_name(ch->op))) != 0)
    goto nomem;
  json_t *k = ch->key.kind == PD_NULL ? json_null() : jv_from_key(&ch->key, err);
  if (!k) goto fail;
  if (json_object_set_new(o, "key", k) != 0) goto nomem;
  if (ch->op == PD_CHANGE_SET) {
    pd_val v;
    int rc = pd_get(d, &ch->key, &v);
    if (rc == PD_OK) {
      json_t *jv = jv_from_value(&v, dec, err);
      if (!jv) goto fail;
      if (json_object_set_new(o, "value", jv) != 0) goto nomem;
    } else if (rc != PD_ENOTFOUND) {
      snprintf(err->text, sizeof err->text, "%s", pd_errmsg(d));
      goto fail;
    }
  }
  return o;
nomem:
  snprintf(err->text, sizeof err->text, "out of memory");
fail:
  json_decref(o);
  return NULL;
}

/* Prints the changes after *since and moves *since past them. Returns
 * CLI_EXIT_OK, or reports and returns an exit code (-1: stdout failed). */
static int print_changes(pd_dict *d, pd_dec *dec, const char *file, const pd_val *prefix,
                         int64_t *since, int64_t now) {
  pd_changes *c = NULL;
  int rc = pd_changes_open(&c, d, *since);
  if (rc == PD_ERESYNC) {
    json_t *o = json_pack("{s:I, s:s}", "version", (json_int_t)now, "op", "resync");
    *since = now;
    if (cli_print_json_line(o) != 0) return -1;
    return fflush(stdout) == 0 ? CLI_EXIT_OK : cli_stdout_failed();
  }
  if (rc != PD_OK) return cli_fail_pd(file, rc, pd_errmsg(d));
  int ex = CLI_EXIT_OK;
  pd_change ch;
  while (pd_changes_next(c, &ch) == PD_OK) {
    *since = ch.version;
    if (ch.op != PD_CHANGE_CLEAR && !key_matches(&ch.key, prefix)) continue;
    jv_error err;
    json_t *o = change_json(d, dec, &ch, &err);
    if (!o) {
      ex = cli_fail(CLI_EXIT_ERROR, file, "%s", err.text);
      break;
    }
    if (cli_print_json_line(o) != 0) {
      ex = -1;
      break;
    }
  }
  pd_changes_free(c);
  if (ex == CLI_EXIT_OK && fflush(stdout) != 0) ex = cli_stdout_failed();
  return ex;
}

static int watch_loop(pd_dict *d, const char *file, const pd_val *prefix) {
  pd_dec *dec = NULL;
  int64_t since = 0;
  int fd = -1;
  int rc = pd_dec_new(&dec);
  /* The watch first, then the version (watch.c): a commit between the two
   * then leaves an event; the other way round it could wait unseen until
   * the next commit. */
  if (rc == PD_OK) rc = pd_watch_fd(d, &fd);
  if (rc == PD_OK) rc = pd_version(d, &since);
  if (rc != PD_OK) {
    pd_dec_free(dec);
    return cli_fail_pd(file, rc, pd_errmsg(d));
  }
  int ex = CLI_EXIT_OK;
  for (;;) {
    struct pollfd p[2] = {{fd, POLLIN, 0}, {stop_pipe[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      ex = cli_fail(CLI_EXIT_ERROR, file, "waiting for changes: %s", strerror(errno));
      break;
    }
    if (p[1].revents) break; /* SIGINT or SIGTERM: a normal end */
    int64_t now = 0;
    rc = pd_wait(d, since, 0, &now); /* drains fd */
    if (rc == PD_ETIMEOUT) continue; /* woken, but nothing new in this namespace */
    if (rc != PD_OK) {
      ex = cli_fail_pd(file, rc, pd_errmsg(d));
      break;
    }
    ex = print_changes(d, dec, file, prefix, &since, now);
    if (ex != CLI_EXIT_OK) break;
  }
  pd_dec_free(dec);
  return ex < 0 ? CLI_EXIT_OK : ex; /* a stdout failure is reported at exit */
}

int cmd_watch(const cli_args *args) {
  const char *file = args->pos[0];
  key_arg prefix;
  int ex = key_arg_prefix(&prefix, args, "watch");
  if (ex != CLI_EXIT_OK) return ex;
  if (stop_signals_install() != 0) {
    key_arg_free(&prefix);
    return cli_fail(CLI_EXIT_ERROR, NULL, "cannot install signal handlers: %s",
                    strerror(errno));
  }
  pd_dict *d;
  ex = cli_open(&d, args, file, CLI_OPEN_READ);
  if (ex == CLI_EXIT_OK) {
    ex = watch_loop(d, file, args->prefix ? &prefix.key : NULL);
    pd_close(d);
  }
  key_arg_free(&prefix);
  return ex;
}
