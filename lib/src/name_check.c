/* name_check.c - what a namespace name may be (FORMAT.md 2). Names are only
 * ever bound as SQL parameters, never spliced into SQL text. */
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "internal.h"

int pd__name_check(const char *name, char *msg, size_t cap) {
  if (!name) {
    snprintf(msg, cap, "namespace name is NULL");
    return PD_EINVALID;
  }
  size_t n = strnlen(name, PD_MAX_NAME_BYTES + 1);
  if (n == 0) {
    snprintf(msg, cap, "namespace name is empty");
    return PD_EINVALID;
  }
  if (n > PD_MAX_NAME_BYTES) {
    snprintf(msg, cap, "namespace name is longer than %d bytes", PD_MAX_NAME_BYTES);
    return PD_ETOOBIG;
  }
  if (!pd__utf8_valid(name, n)) {
    snprintf(msg, cap, "namespace name is not valid UTF-8");
    return PD_EINVALID;
  }
  return PD_OK;
}
