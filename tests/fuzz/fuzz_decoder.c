/*
 * fuzz_decoder.c - libFuzzer target: arbitrary bytes as a packed document.
 *
 * Whatever the bytes, the checks and the decoder must not crash, leak,
 * overflow or allocate without bound, and they must agree with each other:
 * pd__packed_check and pd_dec_start accept exactly the same documents; an
 * accepted document walks to its end without an error and re-encodes to a
 * canonical document that is accepted too and re-encodes to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "permadict.h"
#include "fuzz_program.h"

static pd_dec *dec;
static pd_enc *enc, *enc2;

/* Decoded items re-encoded one by one give the same bytes as doc. */
static void check_reencodes_to_itself(const pd_val *doc) {
  pd_val item, again;
  CHECK(pd_dec_start(dec, doc) == PD_OK);
  pd_enc_reset(enc2);
  while (pd_dec_next(dec, &item) == PD_OK)
    CHECK(pd_enc_val(enc2, &item) == PD_OK);
  CHECK(pd_enc_finish(enc2, &again) == PD_OK);
  CHECK(pd_val_equal(doc, &again));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char msg[256];
  pd_val doc = {PD_PACKED, 0, {.s = {data, size}}}, item, canon;

  if (dec == NULL) {
    CHECK(pd_dec_new(&dec) == PD_OK);
    CHECK(pd_enc_new(&enc) == PD_OK);
    CHECK(pd_enc_new(&enc2) == PD_OK);
  }

  /* The same bytes as a key and a scalar value: the UTF-8 and length
   * checks agree with pd__utf8_valid. */
  pd_val text = pd_text((const char *)data, size);
  int valid = pd__utf8_valid(data, size);
  int krc = pd__key_check(&text, msg, sizeof msg);
  CHECK(krc == (size > PD_MAX_KEY_BYTES ? PD_ETOOBIG
                                        : valid ? PD_OK : PD_EINVALID));
  CHECK(pd__value_check(&text, msg, sizeof msg) ==
        (valid ? PD_OK : PD_EINVALID));

  int rc = pd__packed_check(data, size, 0, msg, sizeof msg);
  CHECK(rc == PD_OK || rc == PD_EDECODE);
  CHECK(pd__value_check(&doc, msg, sizeof msg) == rc);
  int drc = pd_dec_start(dec, &doc);
  CHECK(drc == rc);
  if (rc != PD_OK) {
    CHECK(pd_dec_errmsg(dec)[0] != '\0');
    CHECK(pd_dec_next(dec, &item) == rc);
    return 0;
  }

  /* The walk never fails halfway and yields at least the top-level
   * container's own items. */
  size_t items = 0, direct = 0;
  while ((rc = pd_dec_next(dec, &item)) == PD_OK) {
    if (items == 0)
      direct = item.kind == PD_LIST ? item.u.n
               : item.kind == PD_MAP ? 2 * item.u.n
                                     : 0;
    items++;
  }
  CHECK(rc == PD_ITEROVER);
  CHECK(pd_dec_next(dec, &item) == PD_ITEROVER);
  CHECK(items >= 1 + direct);

  /* Re-encoding the whole document is canonical and stable. */
  pd_enc_reset(enc);
  CHECK(pd_enc_val(enc, &doc) == PD_OK);
  CHECK(pd_enc_finish(enc, &canon) == PD_OK);
  CHECK(canon.kind == PD_PACKED);
  CHECK(pd__packed_check(canon.u.s.ptr, canon.u.s.len, 1, msg, sizeof msg) ==
        PD_OK);
  check_reencodes_to_itself(&canon);
  return 0;
}
