/*
 * fuzz_json.c - libFuzzer target: the CLI's JSON <-> value mapping
 * (lib/cli/json_value.h), which reads what users type and what `load`
 * reads from a dump, and writes what `get` and `dump` print.
 *
 * The same bytes are tried both ways:
 *   - as JSON text: jv_parse, then jv_to_value and jv_to_key. A failure
 *     carries a message; a value or key built must be one the library
 *     accepts, and print as JSON that reads back to the same value and
 *     prints the same again (the mapping is lossless, json_value.h);
 *   - as a packed document: one the decoder accepts must print as JSON
 *     that reads back to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "json_value.h"
#include "permadict.h"
#include "fuzz_program.h"

static pd_enc *enc, *enc2;
static pd_dec *dec;

/* Prints j (taking the reference) as the CLI does; a new string. */
static char *print(json_t *j) {
  CHECK(j != NULL);
  char *text = json_dumps(j, JV_DUMP_FLAGS);
  json_decref(j);
  CHECK(text != NULL);
  return text;
}

/* v (built in enc) prints as JSON that reads back to v in enc2 and prints
 * the same again. key: v is a key (jv_from_key / jv_to_key). */
static void check_round_trip(const pd_val *v, int key) {
  jv_error err = {{0}, 0};
  json_t *j = key ? jv_from_key(v, &err) : jv_from_value(v, dec, &err);
  char *text = print(j);

  json_t *back = jv_parse(text, strlen(text), &err);
  CHECK(back != NULL);
  pd_val again;
  int rc = key ? jv_to_key(back, enc2, &again, &err)
               : jv_to_value(back, enc2, &again, &err);
  json_decref(back);
  CHECK(rc == PD_OK);
  CHECK(pd_val_equal(v, &again));

  json_t *j2 = key ? jv_from_key(&again, &err) : jv_from_value(&again, dec, &err);
  char *text2 = print(j2);
  CHECK(strcmp(text, text2) == 0);
  free(text);
  free(text2);
}

/* What a conversion from JSON gave (a key, or a value): a valid one that
 * round-trips, or a refusal with its reason. */
static void check_converted(int rc, const pd_val *v, int key, const jv_error *err) {
  char msg[256];
  if (rc == PD_OK) {
    CHECK((key ? pd__key_check(v, msg, sizeof msg) : pd__value_check(v, msg, sizeof msg)) ==
          PD_OK);
    check_round_trip(v, key);
  } else {
    CHECK(rc == PD_EINVALID || rc == PD_ETOOBIG);
    CHECK(err->text[0] != '\0');
  }
}

static void from_json(const uint8_t *data, size_t size) {
  jv_error err = {{0}, 0};
  json_t *j = jv_parse((const char *)data, size, &err);
  if (!j) {
    CHECK(err.text[0] != '\0');
    return;
  }
  pd_val v;
  int rc = jv_to_value(j, enc, &v, &err);
  check_converted(rc, &v, 0, &err);
  err.text[0] = '\0'; /* a refusal must give its own reason, not the value's */
  rc = jv_to_key(j, enc, &v, &err);
  check_converted(rc, &v, 1, &err);
  json_decref(j);
}

static void from_packed(const uint8_t *data, size_t size) {
  pd_val doc = {PD_PACKED, 0, {.s = {data, size}}};
  char msg[256];
  if (pd__packed_check(data, size, 0, msg, sizeof msg) != PD_OK)
    return;
  /* Stored documents are canonical: compare with the canonical form. */
  pd_val canon;
  pd_enc_reset(enc);
  CHECK(pd_enc_val(enc, &doc) == PD_OK);
  CHECK(pd_enc_finish(enc, &canon) == PD_OK);
  check_round_trip(&canon, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!enc) {
    CHECK(pd_enc_new(&enc) == PD_OK);
    CHECK(pd_enc_new(&enc2) == PD_OK);
    CHECK(pd_dec_new(&dec) == PD_OK);
  }
  from_json(data, size);
  from_packed(data, size);
  return 0;
}
