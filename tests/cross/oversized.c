/*
 * oversized - keys over PD_MAX_KEY_BYTES and values over PD_MAX_VALUE_BYTES
 * fail with PD_ETOOBIG and a message; nothing is stored and an existing value
 * under the same key is kept. Keys exactly at the limit are accepted.
 */
#include <stdlib.h>
#include <string.h>

#include "cross_util.h"

int main(void) {
  const char *path = xu_path("big.pd");
  pd_dict *d = xu_open(path, NULL);
  char *kbuf = malloc(PD_MAX_KEY_BYTES + 1);
  memset(kbuf, 'k', PD_MAX_KEY_BYTES + 1);
  pd_val v = pd_int(1), got;
  for (int kind = PD_TEXT; kind <= PD_BYTES; kind++) {
    pd_val at = kind == PD_TEXT ? pd_text(kbuf, PD_MAX_KEY_BYTES) : pd_bytes(kbuf, PD_MAX_KEY_BYTES);
    pd_val over = kind == PD_TEXT ? pd_text(kbuf, PD_MAX_KEY_BYTES + 1)
                                  : pd_bytes(kbuf, PD_MAX_KEY_BYTES + 1);
    XU_RC(pd_set(d, &at, &v), PD_OK, d, "key at the limit");
    XU_RC(pd_set(d, &over, &v), PD_ETOOBIG, d, "key over the limit");
    XU_CHECK(strlen(pd_errmsg(d)) > 0, "no message");
    XU_RC(pd_get(d, &over, &got), PD_ETOOBIG, d, "get with an oversized key");
  }
  int64_t count = 0;
  pd_count(d, &count);
  XU_CHECK(count == 2, "count %lld after refused keys, want 2", (long long)count);

  size_t big = (size_t)PD_MAX_VALUE_BYTES + 1;
  unsigned char *vbuf = calloc(1, big);
  if (!vbuf) xu_skip("cannot allocate 64 MiB");
  pd_val k = pd_text("v", 1), old = pd_text("old", 3);
  XU_RC(pd_set(d, &k, &old), PD_OK, d, "set");
  pd_val bv = pd_bytes(vbuf, big);
  XU_RC(pd_set(d, &k, &bv), PD_ETOOBIG, d, "bytes value over 64 MiB");
  memset(vbuf, 'a', big);
  pd_val tv = pd_text((const char *)vbuf, big);
  XU_RC(pd_set(d, &k, &tv), PD_ETOOBIG, d, "text value over 64 MiB");
  XU_RC(pd_get(d, &k, &got), PD_OK, d, "old value kept");
  XU_CHECK(got.kind == PD_TEXT && got.u.s.len == 3, "old value replaced");
  pd_close(d);
  free(vbuf);
  free(kbuf);
  return xu_finish();
}
