/*
 * fuzz_roundtrip.c - libFuzzer target: the fuzz bytes are a little program
 * that builds one value with pd_enc (each byte picks the next item: a kind
 * and its content). Once the value is complete and finished, it must:
 *   - pass pd__packed_check (when it is a document),
 *   - decode with pd_dec into exactly the items that were given,
 *   - re-encode from the decoded items to identical bytes, and also when
 *     the whole document is inlined with pd_enc_val.
 * An encoder error is allowed only where the program asked for something
 * invalid (bad UTF-8, a non-key kind as a map key, a bad tag, too deep, a
 * duplicate key), must carry a message, and must stick until reset.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "permadict.h"
#include "fuzz_program.h"

static int64_t take_int(program *pg) {
  static const size_t widths[] = {1, 2, 4, 8};
  size_t w = widths[take_byte(pg) & 3], got;
  const uint8_t *s = take_span(pg, w, &got);
  int64_t v = 0;
  for (size_t i = 0; i < got; i++)
    v = (int64_t)((uint64_t)v << 8 | s[i]);
  if (got > 0 && got < 8 && (s[0] & 0x80)) /* sign-extend */
    v = (int64_t)((uint64_t)v | ~((UINT64_C(1) << (8 * got)) - 1));
  return v;
}

/* Small fixed documents to inline with pd_enc_val, and their item counts. */
static const struct {
  const char *bytes;
  size_t len, items;
  int nesting;
} inline_docs[] = {
    {"\x92\x01\xa1\x61", 4, 3, 1},         /* [1, "a"] */
    {"\x82\x01\xc0\xa1\x62\x90", 6, 5, 2}, /* {1: null, "b": []} */
    {"\xd4\x40\x7a", 3, 1, 0},             /* private 64 "z" */
};

static pd_enc *enc, *enc2;
static pd_dec *dec;

/* The encoder failed with rc: an expected code, a message, and sticky. */
static int check_failure(int rc) {
  pd_val out;
  CHECK(rc == PD_EINVALID || rc == PD_ETOOBIG || rc == PD_EDECODE);
  CHECK(pd_enc_errmsg(enc)[0] != '\0');
  CHECK(pd_enc_null(enc) == rc);
  CHECK(pd_enc_finish(enc, &out) == rc);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  program pg = {data, size};
  size_t left[PD_MAX_DEPTH + 1];
  int is_map[PD_MAX_DEPTH + 1];
  int depth = 0;
  size_t items = 0;
  int64_t filler_key = INT64_MIN;
  pd_val first = {PD_NULL, 0, {0}};

  if (enc == NULL) {
    CHECK(pd_enc_new(&enc) == PD_OK);
    CHECK(pd_enc_new(&enc2) == PD_OK);
    CHECK(pd_dec_new(&dec) == PD_OK);
  }
  pd_enc_reset(enc);

  for (;;) {
    int at_key = depth > 0 && is_map[depth - 1] && left[depth - 1] % 2 == 0;
    uint8_t op = take_byte(&pg);
    int rc, container = 0, expect_fail = 0;
    size_t n = 0, added = 1, len;
    const uint8_t *s;
    pd_val given = {PD_NULL, 0, {0}};

    if (pg.n == 0 && op == 0) {
      /* Out of program: finish with the simplest items. */
      op = at_key ? 2 : 0;
    } else if (at_key && !(op & 0x80)) {
      op = (uint8_t)(2 + (op % 3) * 2); /* int, text or bytes */
      if (op == 6)
        op = 5;
    }
    switch (op % 11) {
    case 0:
      rc = pd_enc_null(enc);
      break;
    case 1:
      given = pd_bool(op & 0x10);
      rc = pd_enc_bool(enc, op & 0x10);
      break;
    case 2:
      given = pd_int(pg.n ? take_int(&pg) : filler_key++);
      rc = pd_enc_int(enc, given.u.i);
      break;
    case 3: {
      uint64_t bits = 0;
      s = take_span(&pg, 8, &len);
      memcpy(&bits, s, len);
      double f;
      memcpy(&f, &bits, sizeof f);
      given = pd_float(f);
      rc = pd_enc_float(enc, f);
      break;
    }
    case 4:
      s = take_span(&pg, take_byte(&pg) % 40, &len);
      given = pd_text((const char *)s, len);
      expect_fail = !pd__utf8_valid(s, len);
      rc = pd_enc_text(enc, (const char *)s, len);
      CHECK(expect_fail ? rc == PD_EINVALID : 1);
      break;
    case 5:
      s = take_span(&pg, take_byte(&pg) % 40, &len);
      given = pd_bytes(s, len);
      rc = pd_enc_bytes(enc, s, len);
      break;
    case 6: {
      int tag = (int8_t)take_byte(&pg);
      s = take_span(&pg, take_byte(&pg) % 20, &len);
      expect_fail = tag < 1 || at_key;
      rc = pd_enc_private(enc, tag, s, len);
      break;
    }
    case 7:
    case 8:
      container = 1;
      n = take_byte(&pg) % (op % 11 == 7 ? 6 : 4);
      if (pg.n == 0)
        n = 0;
      expect_fail = at_key || depth == PD_MAX_DEPTH;
      rc = op % 11 == 7 ? pd_enc_list(enc, n) : pd_enc_map(enc, n);
      break;
    default: {
      size_t which = take_byte(&pg) % 3;
      pd_val doc = {PD_PACKED, 0,
                    {.s = {inline_docs[which].bytes, inline_docs[which].len}}};
      added = inline_docs[which].items;
      given = doc;
      expect_fail = at_key || depth + inline_docs[which].nesting > PD_MAX_DEPTH;
      rc = pd_enc_val(enc, &doc);
      break;
    }
    }
    int kind = op % 11;
    if (at_key && kind != 2 && kind != 4 && kind != 5)
      expect_fail = 1;
    if (expect_fail)
      CHECK(rc != PD_OK);
    else if (rc != PD_OK) /* a valid item can only complete a map that
                             turns out to hold a key twice */
      CHECK(rc == PD_EINVALID &&
            strstr(pd_enc_errmsg(enc), "duplicate map key") != NULL);
    if (rc != PD_OK)
      return check_failure(rc);
    if (items == 0)
      first = given;
    items += added;

    /* Follow the shape: open a container, or complete an item. */
    if (container && n > 0) {
      is_map[depth] = op % 11 == 8;
      left[depth] = is_map[depth] ? 2 * n : n;
      depth++;
      continue;
    }
    while (depth > 0 && --left[depth - 1] == 0)
      depth--;
    if (depth == 0)
      break;
  }

  pd_val out, item, again;
  int rc = pd_enc_finish(enc, &out);
  CHECK(rc == PD_OK); /* the program always completes its value */
  if (out.kind != PD_PACKED) {
    /* A top-level scalar comes back as given (NaN canonical). */
    CHECK(items == 1);
    CHECK(pd_val_equal(&out, &first));
    return 0;
  }
  char msg[256];
  CHECK(pd__packed_check(out.u.s.ptr, out.u.s.len, 1, msg, sizeof msg) == PD_OK);

  /* Decoded item by item, re-encoded: identical bytes, same item count. */
  CHECK(pd_dec_start(dec, &out) == PD_OK);
  pd_enc_reset(enc2);
  size_t decoded = 0;
  while ((rc = pd_dec_next(dec, &item)) == PD_OK) {
    decoded++;
    CHECK(pd_enc_val(enc2, &item) == PD_OK);
  }
  CHECK(rc == PD_ITEROVER);
  CHECK(decoded == items);
  CHECK(pd_enc_finish(enc2, &again) == PD_OK);
  CHECK(pd_val_equal(&out, &again));

  /* The whole document inlined gives the same bytes too. */
  pd_enc_reset(enc2);
  CHECK(pd_enc_val(enc2, &out) == PD_OK);
  CHECK(pd_enc_finish(enc2, &again) == PD_OK);
  CHECK(pd_val_equal(&out, &again));
  return 0;
}
