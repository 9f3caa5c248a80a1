/* Unit tests for speaker/badframe: one warning per interface per period, with the count of the
 * frames kept quiet, under an injected clock. */
#include "speaker/badframe.h"
#include "unit.h"

/* One bad frame at `at` ms: whether it is warned about, and the count the warning carries. */
struct step {
	int64_t at;
	int warn;
	uint64_t suppressed;
};

static const struct {
	const char *name;
	int64_t period;
	struct step steps[8];
	size_t n;
} cases[] = {
	{ "the first bad frame is said at once", 10000, { { 5, 1, 0 } }, 1 },
	{ "a burst within the period is one line",
	  10000,
	  { { 0, 1, 0 }, { 1, 0, 0 }, { 2, 0, 0 }, { 9999, 0, 0 } },
	  4 },
	{ "the next line after the period carries the count kept quiet",
	  10000,
	  { { 0, 1, 0 },
	    { 1, 0, 0 },
	    { 2, 0, 0 },
	    { 10000, 1, 2 },
	    { 10001, 0, 0 },
	    { 25000, 1, 1 } },
	  6 },
	{ "a steady flood: one line per period",
	  1000,
	  { { 0, 1, 0 },
	    { 500, 0, 0 },
	    { 999, 0, 0 },
	    { 1000, 1, 2 },
	    { 1500, 0, 0 },
	    { 2000, 1, 1 } },
	  6 },
	{ "a quiet spell: the next frame is said at once with nothing kept quiet",
	  1000,
	  { { 0, 1, 0 }, { 60000, 1, 0 } },
	  2 },
	{ "a clock going backwards does not silence it",
	  1000,
	  { { 5000, 1, 0 }, { 10, 1, 0 } },
	  2 },
};

START_TEST(test_rate_limit)
{
	struct badframe b = { 0 };

	for (size_t i = 0; i < cases[_i].n; i++) {
		const struct step *s = &cases[_i].steps[i];
		uint64_t sup = 12345;
		int w = badframe_note(&b, s->at, cases[_i].period, &sup);
		ck_assert_msg(w == s->warn, "%s: step %zu at %lld: warn %d, want %d",
			      cases[_i].name, i, (long long)s->at, w, s->warn);
		if (w)
			ck_assert_msg(sup == s->suppressed,
				      "%s: step %zu: suppressed %llu, want %llu", cases[_i].name, i,
				      (unsigned long long)sup, (unsigned long long)s->suppressed);
	}
}
END_TEST

/* Two interfaces keep separate limits: a flood on one does not hide the first on the other. */
START_TEST(test_interfaces_are_independent)
{
	struct badframe eth0 = { 0 }, eth1 = { 0 };
	uint64_t sup;

	ck_assert_int_eq(badframe_note(&eth0, 0, 10000, &sup), 1);
	for (int i = 1; i <= 100; i++)
		ck_assert_int_eq(badframe_note(&eth0, i, 10000, &sup), 0);
	ck_assert_int_eq(badframe_note(&eth1, 101, 10000, &sup), 1);
	ck_assert_uint_eq(sup, 0);
	ck_assert_int_eq(badframe_note(&eth0, 10000, 10000, &sup), 1);
	ck_assert_uint_eq(sup, 100);
}
END_TEST

static Suite *badframe_suite(void)
{
	Suite *s = suite_create("badframe");
	TCase *tc = tcase_create("core");
	tcase_add_loop_test(tc, test_rate_limit, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_interfaces_are_independent);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(badframe_suite)
