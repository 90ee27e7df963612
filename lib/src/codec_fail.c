/* codec_fail.c - how the codec's checks report a failure: code plus a reason. */
#include <stdarg.h>
#include <stdio.h>

#include "codec.h"

int pd__codec_fail(int code, char *msg, size_t msgcap, const char *fmt, ...) {
  if (msg != NULL && msgcap > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msgcap, fmt, ap);
    va_end(ap);
  }
  return code;
}
