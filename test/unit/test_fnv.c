/* Unit tests for hash/fnv: FNV-1a's published 64-bit test values. */
#include "hash/fnv.h"
#include "unit.h"

#include <string.h>

START_TEST(known_values)
{
	ck_assert_uint_eq(fnv_str(""), 0xcbf29ce484222325ull);
	ck_assert_uint_eq(fnv_str("a"), 0xaf63dc4c8601ec8cull);
	ck_assert_uint_eq(fnv_str("foobar"), 0x85944171f73967e8ull);
	/* Bytes and strings agree; a NUL fed as a byte changes the value. */
	ck_assert_uint_eq(fnv_add(FNV_BASIS, "foobar", 6), fnv_str("foobar"));
	ck_assert_uint_ne(fnv_add(FNV_BASIS, "foobar", 7), fnv_str("foobar"));
	ck_assert_uint_eq(fnv_add(fnv_add(FNV_BASIS, "foo", 3), "bar", 3), fnv_str("foobar"));
}
END_TEST

static Suite *fnv_suite(void)
{
	Suite *s = suite_create("fnv");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, known_values);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(fnv_suite)
