/*
 * item_checks.c - the checks every key and value passes before any engine
 * sees it, so that all engines refuse the same things with the same words.
 */
#include <stdio.h>

#include "internal.h"
#include "codec.h"

int pd__key_ok(pd_dict *d, const pd_val *key) {
  char why[200];
  if (!key) return pd__err(d, PD_EINVALID, "key is NULL");
  why[0] = 0;
  int rc = pd__key_check(key, why, sizeof why);
  if (rc != PD_OK) return pd__err(d, rc, "bad key: %s", why);
  return PD_OK;
}

/* The canonical form of packed document v, built in *enc (made on first
 * use), in *out. */
static int canonical(pd_enc **enc, const pd_val *v, pd_val *out, char *why, size_t cap) {
  if (!*enc && pd_enc_new(enc) != PD_OK) {
    snprintf(why, cap, "out of memory");
    return PD_ENOMEM;
  }
  pd_enc_reset(*enc);
  int rc = pd_enc_val(*enc, v);
  if (rc == PD_OK) rc = pd_enc_finish(*enc, out);
  if (rc != PD_OK) snprintf(why, cap, "%s", pd_enc_errmsg(*enc));
  return rc;
}

int pd__expected_prepare(pd_dict *d, const pd_val *expected, pd_val *out) {
  char why[200];
  *out = *expected;
  if (expected->kind != PD_PACKED ||
      pd__value_check_write(expected, why, sizeof why) != PD__ENONCANONICAL)
    return PD_OK; /* compared as given: a bad document matches nothing */
  int rc = canonical(&d->canon_expected_enc, expected, out, why, sizeof why);
  if (rc == PD_ENOMEM) return pd__err(d, rc, "bad expected value: %s", why);
  if (rc != PD_OK) *out = *expected; /* a defect after the loose header: as given */
  return PD_OK;
}

int pd__value_prepare(pd_dict *d, const pd_val *key, const pd_val *value,
                      pd_val *store) {
  char kb[128], why[200];
  if (!value)
    return pd__err(d, PD_EINVALID, "value for key %s is NULL",
                   pd__key_describe(key, kb, sizeof kb));
  why[0] = 0;
  int rc = pd__value_check_write(value, why, sizeof why);
  /* Lists, maps and private values arrive as PD_PACKED documents built by a
   * pd_enc (pd__value_check refuses them bare), so the stored form is the
   * value itself; unless a document from elsewhere is valid but not in the
   * canonical form (a longer int header, a float 32, another NaN): then
   * its canonical form is stored, as equal values must have equal bytes. */
  *store = *value;
  if (rc == PD__ENONCANONICAL) rc = canonical(&d->canon_enc, value, store, why, sizeof why);
  if (rc != PD_OK)
    return pd__err(d, rc, "bad value for key %s: %s",
                   pd__key_describe(key, kb, sizeof kb), why);
  if (pd__val_has_bytes(store) && store->u.s.len > PD_MAX_VALUE_BYTES)
    return pd__err(d, PD_ETOOBIG, "value for key %s is larger than %d bytes",
                   pd__key_describe(key, kb, sizeof kb), PD_MAX_VALUE_BYTES);
  return PD_OK;
}
