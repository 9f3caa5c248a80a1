/* Unit tests for speaker/statedump: the SIGUSR1 table a user reads to see which node announces
 * what, on which interfaces, and what it answered. */
#include "speaker/statedump.h"
#include "unit.h"

#include <string.h>

static char *dump(const struct statedump_addr *v, size_t n)
{
	struct textbuf *b = textbuf_new();
	ck_assert_ptr_nonnull(b);
	statedump_write(b, v, n);
	ck_assert_int_eq(textbuf_failed(b), 0);
	size_t len;
	char *s = textbuf_take(b, &len);
	textbuf_free(b);
	ck_assert_ptr_nonnull(s);
	return s;
}

START_TEST(test_empty)
{
	char *s = dump(NULL, 0);
	ck_assert_str_eq(s, "(no addresses)\n");
	free(s);
}
END_TEST

/* Given out of order, shown sorted by service then address, columns aligned. */
START_TEST(test_rows_sorted_and_aligned)
{
	static const char *const two[] = { "eth0", "eth1" };
	static const char *const one[] = { "eth0" };
	const struct statedump_addr v[] = {
		{ "2001:db8::200", "default/web", "node1", 1, one, 1, 4, 4, 3 },
		{ "192.0.2.201", "default/api", "node2", 0, NULL, 0, 0, 0, 0 },
		{ "192.0.2.200", "default/web", "node1", 1, two, 2, 12, 11, 6 },
		{ "192.0.2.202", "default/new", "", 0, NULL, 0, 0, 0, 0 },
	};
	char *s = dump(v, 4);
	ck_assert_str_eq(
		s,
		"ADDRESS        SERVICE      HOLDER  HERE  INTERFACES  REQUESTS  REPLIES  ANNOUNCEMENTS\n"
		"192.0.2.201    default/api  node2   no    -           0         0        0\n"
		"192.0.2.202    default/new  (none)  no    -           0         0        0\n"
		"192.0.2.200    default/web  node1   yes   eth0,eth1   12        11       6\n"
		"2001:db8::200  default/web  node1   yes   eth0        4         4        3\n");
	/* The input is left as it was given. */
	ck_assert_str_eq(v[0].address, "2001:db8::200");
	free(s);
}
END_TEST

/* --static mode: no service, no lease. */
START_TEST(test_static_mode_row)
{
	static const char *const one[] = { "lan0" };
	const struct statedump_addr v[] = {
		{ "192.0.2.200", NULL, NULL, 1, one, 1, 18446744073709551615ULL, 1, 2 },
	};
	char *s = dump(v, 1);
	ck_assert_str_eq(s,
			 "ADDRESS      SERVICE  HOLDER  HERE  INTERFACES  REQUESTS              "
			 "REPLIES  ANNOUNCEMENTS\n"
			 "192.0.2.200  -        -       yes   lan0        18446744073709551615  1  "
			 "      2\n");
	free(s);
}
END_TEST

static Suite *statedump_suite(void)
{
	Suite *s = suite_create("statedump");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_rows_sorted_and_aligned);
	tcase_add_test(tc, test_static_mode_row);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(statedump_suite)
