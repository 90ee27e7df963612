/* A program as a user writes it: one header, one library. */
#include <permadict.h>
#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 2 || !PD_VERSION_COMPATIBLE()) return 2;
  pd_dict *d;
  if (pd_open(&d, argv[1], NULL) != PD_OK) {
    fprintf(stderr, "%s\n", pd_errmsg(NULL));
    return 1;
  }
  pd_val key = pd_text("workers", 7), eight = pd_int(8), got;
  int ok = pd_set(d, &key, &eight) == PD_OK && pd_get(d, &key, &got) == PD_OK &&
           got.kind == PD_INT && got.u.i == 8;
  pd_close(d);
  puts(ok ? "consumer ok" : "consumer FAILED");
  return ok ? 0 : 1;
}
