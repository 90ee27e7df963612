/*
 * typed_json.h - the typed-JSON notation of tests/cross/vectors.json
 * (described in tests/cross/VECTORS.md), turned into permadict values and back.
 *
 * Comparison goes through a "canonical tree": the same notation with every
 * number re-printed from its binary value (floats as the hex of their bits, so
 * -0.0 and 0.0 differ and all NaNs are equal), bytes as lowercase hex without
 * spaces, "nest" expanded and map entries sorted in permadict key order. Two
 * values are equal exactly when their canonical trees are json_equal().
 */
#ifndef PD_CROSS_TYPED_JSON_H
#define PD_CROSS_TYPED_JSON_H

#include <jansson.h>
#include "permadict.h"

/* Loads vectors.json (zero bytes in strings allowed); exits on error. */
json_t *tj_load_vectors(const char *path);

/* Canonical tree of a typed value from the vectors file; NULL on bad notation. */
json_t *tj_canonical(const json_t *typed);

/* Appends a typed value (or canonical tree) to enc. */
int tj_encode(pd_enc *enc, const json_t *typed);

/* Appends a canonical tree (as made by tj_canonical or tj_from_val) to enc. */
int tj_encode_canonical(pd_enc *enc, const json_t *canonical);

/* Builds a scalar key from typed notation; the text/bytes memory is owned by
 * buf (free with free()). */
int tj_key(const json_t *typed, pd_val *out, void **buf);

/* Canonical tree of a value as read from the library (scalar or PD_PACKED);
 * NULL with *err set when the packed document cannot be walked. */
json_t *tj_from_val(pd_dec *dec, const pd_val *v, int *err);

/* Name of a pd error code for messages ("ETOOBIG"). */
const char *tj_code_name(int code);

#endif
