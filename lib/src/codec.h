/*
 * codec.h - internal interface of the value codec (docs/FORMAT.md section 4).
 *
 * The public half of the codec (pd_enc, pd_dec, pd_val_equal) is declared in
 * permadict.h. This header gives the store code the checks it runs on keys
 * and values before they reach SQLite, and the checks it runs on packed
 * documents read back from the file. None of these symbols is exported.
 *
 * Every function that takes (msg, msgcap) writes a one-line, NUL-terminated
 * reason into msg when it fails (msg may be NULL, msgcap may be 0); on success
 * msg is left untouched.
 */
#ifndef PD_CODEC_H
#define PD_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "permadict.h"

/* 1 if p[0..len) is valid UTF-8: zero bytes allowed; surrogates, overlong
 * forms and code points above U+10FFFF refused. */
int pd__utf8_valid(const void *p, size_t len);

/* Offset of the first byte of the first invalid sequence, or len when the
 * whole of p[0..len) is valid UTF-8. For messages that say where. */
size_t pd__utf8_invalid_at(const void *p, size_t len);

/* PD_OK if p[0..len) is a valid packed document per docs/FORMAT.md 4.1:
 * exactly one MessagePack array, map or ext with no trailing bytes, nesting
 * at most PD_MAX_DEPTH, map keys int/str/bin sorted and distinct, str valid
 * UTF-8, ext types 1..127, ints within signed 64 bits. Else PD_EDECODE (or
 * PD_ETOOBIG when len > PD_MAX_VALUE_BYTES, PD_ENOMEM) with the reason.
 * writing: nesting deeper than PD_MAX_DEPTH is PD_ETOOBIG too (a limit of the
 * input, as for pd_enc), and a document not in the canonical form writers
 * emit (FORMAT.md 4.1: shortest headers, float 64, the one NaN) but valid
 * otherwise gives PD__ENONCANONICAL. */
int pd__packed_check(const void *p, size_t len, int writing, char *msg, size_t msgcap);
#define PD__ENONCANONICAL (-1000) /* never returned by the public API */

/* pd_dec_start for a document given to a write (pd_enc_val inlining it):
 * nesting deeper than PD_MAX_DEPTH is PD_ETOOBIG, a limit of the input as
 * for pd_enc_list, where a document read back gives PD_EDECODE. */
int pd__dec_start_input(pd_dec *dec, const pd_val *packed);

/* <0, 0, >0 as a sorts before, equal to, after b in key order (FORMAT.md 3):
 * every PD_INT before every PD_TEXT before every PD_BYTES; ints numerically;
 * text and bytes by memcmp, a prefix first. Both must be valid keys. */
int pd__key_compare(const pd_val *a, const pd_val *b);

/* PD_OK, or PD_EINVALID (kind not INT/TEXT/BYTES, NULL pointer with len > 0,
 * text not UTF-8) or PD_ETOOBIG (longer than PD_MAX_KEY_BYTES). */
int pd__key_check(const pd_val *key, char *msg, size_t msgcap);

/* Checks a value given to pd_set: scalars (text UTF-8, bool 0 or 1), and
 * PD_PACKED through pd__packed_check. PD_LIST, PD_MAP and PD_PRIVATE given
 * directly are PD_EINVALID: those are built with a pd_enc. */
int pd__value_check(const pd_val *v, char *msg, size_t msgcap);
/* The same, and a packed document not in canonical form gives
 * PD__ENONCANONICAL (pd__value_prepare then stores its canonical form). */
int pd__value_check_write(const pd_val *v, char *msg, size_t msgcap);

/* "int", "text", ... for messages; "unknown" for a kind out of range. */
const char *pd__kind_name(int kind);

/* A short, printable rendering of a map key for the codec's messages: 42,
 * "name" or b"\x00\xff", cut with "..." to fit cap (> 0). (The store has its
 * own pd__key_describe in key_describe.c for dict keys.) */
void pd__codec_key_describe(const pd_val *key, char *out, size_t cap);

/* Writes a one-line reason into msg (when msg is not NULL) and returns code:
 * the codec's checks all report failures this way. */
int pd__codec_fail(int code, char *msg, size_t msgcap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif /* PD_CODEC_H */
