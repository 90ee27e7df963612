/* pd_utf8_valid: the public form of the core's text check (the Lua binding
 * relies on it to choose text or bytes exactly as the core would accept). */
#include "testutil.h"

#include <permadict.h>

static void test_utf8__accepts_text_with_zero_bytes_and_all_planes(void **state) {
  (void)state;
  assert_true(pd_utf8_valid("", 0));
  assert_true(pd_utf8_valid(NULL, 0));
  assert_true(pd_utf8_valid("a\0b", 3));
  assert_true(pd_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9)); /* é € 😀 */
  assert_true(pd_utf8_valid("\xf4\x8f\xbf\xbf", 4));                     /* U+10FFFF */
}

static void test_utf8__refuses_what_the_core_refuses(void **state) {
  (void)state;
  assert_false(pd_utf8_valid("\xff", 1));             /* never in UTF-8 */
  assert_false(pd_utf8_valid("\x80", 1));             /* stray continuation */
  assert_false(pd_utf8_valid("\xc0\x80", 2));         /* overlong zero */
  assert_false(pd_utf8_valid("\xe0\x80\x80", 3));     /* overlong */
  assert_false(pd_utf8_valid("\xed\xa0\x80", 3));     /* surrogate U+D800 */
  assert_false(pd_utf8_valid("\xf4\x90\x80\x80", 4)); /* beyond U+10FFFF */
  assert_false(pd_utf8_valid("\xe2\x82", 2));         /* truncated */
  assert_false(pd_utf8_valid(NULL, 1));
}

static void test_utf8__agrees_with_what_pd_set_accepts_as_text(void **state) {
  (void)state;
  const char *samples[] = {"plain", "\xed\xa0\x80", "\xc3\xa9", "\xff\xfe"};
  const size_t lens[] = {5, 3, 2, 2};
  pd_dict *d;
  assert_int_equal(pd_open(&d, ":memory:", NULL), PD_OK);
  for (size_t i = 0; i < 4; i++) {
    pd_val k = pd_int((int64_t)i), v = pd_text(samples[i], lens[i]);
    int rc = pd_set(d, &k, &v);
    assert_int_equal(rc == PD_OK, pd_utf8_valid(samples[i], lens[i]) != 0);
  }
  pd_close(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_utf8__accepts_text_with_zero_bytes_and_all_planes),
      cmocka_unit_test(test_utf8__refuses_what_the_core_refuses),
      cmocka_unit_test(test_utf8__agrees_with_what_pd_set_accepts_as_text),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
