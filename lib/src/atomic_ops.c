/*
 * atomic_ops.c - read-modify-write operations. Each runs inside one write
 * scope (BEGIN IMMEDIATE, or the caller's transaction), so no other process
 * can change the key between the read and the write.
 */
#include <math.h>

#include "engine.h"
#include "codec.h"

/* Shared frame: enter, check the key, open the scope. */
#define BEGIN_OP(d, key)                      \
  int rc = pd__enter(d);                      \
  if (rc) return rc;                          \
  int opened = 0, partial = 0;                \
  rc = pd__key_ok(d, key);

/* Arguments may be what an earlier pd_get returned: the usual CAS loop
 * passes the value it read as expected, a work queue pops the key it read.
 * They live in d->out, which this operation's own read rewrites and may
 * move before they are used again (a wrong key deleted, a compare against
 * the new value, a use after free). Rather than copy them, the read gets a
 * fresh buffer and the old one is kept, untouched, until the operation ends:
 * nothing is copied, and nothing happens unless an argument points into it.
 * (pd_set_if_absent's read fills no value, so it leaves d->out alone.) */
static pd__buf out_set_aside(pd_dict *d, const pd_val *a, const pd_val *b,
                             const pd_val *c) {
  pd__buf old = {0};
  if (pd__buf_holds(&d->out, a) || pd__buf_holds(&d->out, b) || pd__buf_holds(&d->out, c)) {
    old = d->out;
    d->out = (pd__buf){0};
  }
  return old;
}

/* Writes the new value of a key the operation has just read: found, the
 * row get found is rewritten in place (no second index lookup). */
static int write_read_key(pd_dict *d, const pd_val *key, const pd_val *value, int found,
                          int *partial) {
  return found ? d->engine->replace_found(d, key, value, partial)
               : d->engine->put(d, key, value, partial);
}

int pd_incr(pd_dict *d, const pd_val *key, const pd_val *by, pd_val *out) {
  BEGIN_OP(d, key)
  char kb[128];
  if (!rc && (!by || (by->kind != PD_INT && by->kind != PD_FLOAT)))
    rc = pd__err(d, PD_EINVALID, "pd_incr on key %s: the increment must be an int or a float",
                 pd__key_describe(key, kb, sizeof kb));
  if (!rc) rc = pd__write_begin(d, &opened);
  if (rc) return pd__leave(d, rc);

  pd_val cur = pd_int(0), next = pd_null();
  int found = 0;
  pd__buf aside = out_set_aside(d, key, NULL, NULL);
  rc = d->engine->get(d, key, &cur, &found);
  if (!rc && !found) cur = pd_int(0); /* absent counts as 0 */
  if (!rc && cur.kind != PD_INT && cur.kind != PD_FLOAT)
    rc = pd__err(d, PD_ETYPE, "pd_incr: key %s holds a value that is not a number",
                 pd__key_describe(key, kb, sizeof kb));
  if (!rc) {
    if (cur.kind == PD_INT && by->kind == PD_INT) {
      int64_t sum;
      if (__builtin_add_overflow(cur.u.i, by->u.i, &sum))
        rc = pd__err(d, PD_EINVALID, "pd_incr: key %s would overflow a 64-bit integer",
                     pd__key_describe(key, kb, sizeof kb));
      next = pd_int(sum);
    } else {
      double a = cur.kind == PD_INT ? (double)cur.u.i : cur.u.f;
      double b = by->kind == PD_INT ? (double)by->u.i : by->u.f;
      next = pd_float(a + b);
    }
  }
  if (!rc) rc = write_read_key(d, key, &next, found, &partial);
  rc = pd__write_end(d, opened, rc, partial);
  pd__buf_free(&aside);
  if (!rc && out) *out = next;
  return pd__leave(d, rc);
}

int pd_set_if_absent(pd_dict *d, const pd_val *key, const pd_val *value, int *inserted) {
  BEGIN_OP(d, key)
  pd_val store;
  int found = 0;
  if (inserted) *inserted = 0;
  if (!rc) rc = pd__value_prepare(d, key, value, &store);
  if (!rc) rc = pd__write_begin(d, &opened);
  if (rc) return pd__leave(d, rc);
  rc = d->engine->get(d, key, NULL, &found);
  if (!rc && !found) rc = d->engine->put(d, key, &store, &partial);
  rc = pd__write_end(d, opened, rc, partial);
  if (!rc && inserted) *inserted = !found;
  return pd__leave(d, rc);
}

int pd_pop(pd_dict *d, const pd_val *key, pd_val *out) {
  BEGIN_OP(d, key)
  pd_val old;
  int found = 0;
  if (!rc && d->opts.readonly) {
    /* Popping an absent key writes nothing: a read-only handle can say so. */
    rc = pd__read_item(d, key, NULL, &found);
    if (!rc) rc = found ? pd__write_allowed(d) : pd__err_not_found(d, key);
    return pd__leave(d, rc);
  }
  if (!rc) rc = pd__write_begin(d, &opened);
  if (rc) return pd__leave(d, rc);
  pd__buf aside = out_set_aside(d, key, NULL, NULL);
  rc = d->engine->get(d, key, &old, &found); /* old lives in d->out */
  if (!rc && !found) {
    char kb[128];
    rc = pd__err(d, PD_ENOTFOUND, "key %s not found", pd__key_describe(key, kb, sizeof kb));
  }
  if (!rc) rc = d->engine->remove(d, key, &partial);
  rc = pd__write_end(d, opened, rc, partial);
  pd__buf_free(&aside);
  if (!rc && out) *out = old;
  return pd__leave(d, rc);
}

int pd_get_and_set(pd_dict *d, const pd_val *key, const pd_val *value, pd_val *old,
                   int *found) {
  BEGIN_OP(d, key)
  pd_val store, prev = pd_null();
  int was = 0;
  if (!rc) rc = pd__value_prepare(d, key, value, &store);
  if (!rc) rc = pd__write_begin(d, &opened);
  if (rc) return pd__leave(d, rc);
  pd__buf aside = out_set_aside(d, key, value, NULL);
  rc = d->engine->get(d, key, &prev, &was);
  if (!rc) rc = write_read_key(d, key, &store, was, &partial);
  rc = pd__write_end(d, opened, rc, partial);
  pd__buf_free(&aside);
  if (!rc) {
    if (old) *old = was ? prev : pd_null();
    if (found) *found = was;
  }
  return pd__leave(d, rc);
}

int pd_compare_and_swap(pd_dict *d, const pd_val *key, const pd_val *expected,
                        const pd_val *desired, int *swapped) {
  BEGIN_OP(d, key)
  pd_val store, cur, want;
  int found = 0, match = 0;
  if (swapped) *swapped = 0;
  if (!rc && desired) rc = pd__value_prepare(d, key, desired, &store);
  /* Stored documents are canonical (pd__value_prepare): so is the one
   * compared with them, or a document stored as given would never match. */
  if (!rc && expected) rc = pd__expected_prepare(d, expected, &want);
  if (!rc) rc = pd__write_begin(d, &opened);
  if (rc) return pd__leave(d, rc);
  pd__buf aside = out_set_aside(d, key, expected, desired);
  rc = d->engine->get(d, key, &cur, &found);
  if (!rc) match = expected ? found && pd_val_equal(&cur, &want) : !found;
  if (!rc && match) {
    if (desired) rc = write_read_key(d, key, &store, found, &partial);
    else if (found) rc = d->engine->remove(d, key, &partial);
  }
  rc = pd__write_end(d, opened, rc, partial);
  pd__buf_free(&aside);
  if (!rc && swapped) *swapped = match;
  return pd__leave(d, rc);
}
