/*
 * json_value.h - the lossless mapping between JSON and permadict values,
 * both directions, through the public pd_enc/pd_dec API only.
 *
 *   text            <-> JSON string
 *   int             <-> JSON integer (signed 64-bit; larger is an error)
 *   float           <-> JSON number with a '.' or exponent (1.0 stays 1.0);
 *                       NaN, inf, -inf, -0.0 <-> {"$float": "nan"|"inf"|"-inf"|"-0.0"}
 *   bool, null      <-> true/false, null
 *   bytes           <-> {"$bytes": "<base64>"}
 *   list            <-> array
 *   map             <-> object, when every key is text without a zero byte
 *                       and none starts with '$';
 *                       otherwise {"$map": [[key, value], ...]}
 *   private         <-> {"$private": [tag, "<base64>"]}
 *
 * Keys use the same mapping restricted to text, int and bytes. On input, an
 * object with a key starting with '$' must be exactly one of the forms above.
 */
#ifndef PERMADICT_CLI_JSON_VALUE_H
#define PERMADICT_CLI_JSON_VALUE_H

#include <jansson.h>
#include <stddef.h>

#include "permadict.h"

/* What went wrong, for the one-line error message. */
typedef struct jv_error {
  char text[512];
  int not_json; /* jv_parse: the text is not JSON at all (vs. out of range) */
} jv_error;

/* Parse one JSON text of exactly len bytes (any top-level value; "\u0000"
 * allowed in strings; duplicate object keys refused). NULL on failure with
 * err saying why, out-of-range numbers in words a user understands. */
json_t *jv_parse(const char *text, size_t len, jv_error *err);

/* Convert j into a value, built in enc (reset first). On PD_OK *out is a
 * scalar or PD_PACKED whose memory belongs to enc until its next use; else a
 * PD_E... code and err. */
int jv_to_value(const json_t *j, pd_enc *enc, pd_val *out, jv_error *err);

/* The same for a key: a JSON string, integer or {"$bytes": ...}. */
int jv_to_key(const json_t *j, pd_enc *enc, pd_val *out, jv_error *err);

/* A new JSON reference for a value as pd_get or an iterator returns it (a
 * scalar or PD_PACKED, walked with dec). NULL on failure with err. */
json_t *jv_from_value(const pd_val *v, pd_dec *dec, jv_error *err);

/* A new JSON reference for a key (PD_INT, PD_TEXT or PD_BYTES). */
json_t *jv_from_key(const pd_val *key, jv_error *err);

/* jansson flags for writing one value on one line, ", " and ": " between
 * items, UTF-8 as is, in the order built (keys sorted as stored). */
#define JV_DUMP_FLAGS (JSON_ENCODE_ANY | JSON_PRESERVE_ORDER)

#endif
