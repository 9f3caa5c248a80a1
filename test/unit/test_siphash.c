/* Unit tests for pkg/hash/siphash: the reference vectors, and piecewise feeding. */
#include "hash/siphash.h"
#include "unit.h"

static const uint8_t key[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

/* From the SipHash paper: key 00..0f, message 00..(n-1). */
static const struct {
	size_t len;
	uint64_t want;
} vectors[] = {
	{ 0, 0x726fdb47dd0e0e31ULL },
	{ 8, 0x93f5f5799a932462ULL },
	{ 15, 0xa129ca6149be45e5ULL },
};

START_TEST(test_reference_vectors)
{
	uint8_t msg[64];
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	ck_assert_uint_eq(siphash_sum(key, msg, vectors[_i].len), vectors[_i].want);
}
END_TEST

START_TEST(test_pieces_equal_whole)
{
	uint8_t msg[64];
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 1);
	for (size_t len = 0; len <= sizeof(msg); len++) {
		uint64_t whole = siphash_sum(key, msg, len);
		for (size_t cut = 0; cut <= len; cut++) {
			struct siphash h;
			siphash_init(&h, key);
			siphash_update(&h, msg, cut);
			siphash_update(&h, msg + cut, len - cut);
			ck_assert_uint_eq(siphash_final(&h), whole);
		}
	}
	/* Different lengths of the same bytes differ. */
	ck_assert_uint_ne(siphash_sum(key, msg, 7), siphash_sum(key, msg, 8));
}
END_TEST

static Suite *siphash_suite(void)
{
	Suite *s = suite_create("siphash");
	TCase *tc = tcase_create("core");
	tcase_add_loop_test(tc, test_reference_vectors, 0, sizeof(vectors) / sizeof(vectors[0]));
	tcase_add_test(tc, test_pieces_equal_whole);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(siphash_suite)
