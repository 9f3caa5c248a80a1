/* Unit tests for speaker/caps: which capability sets the speaker keeps after start-up, and the
 * raise/lower pair against this test process's own sets. */
#include "speaker/caps.h"
#include "unit.h"

#define RAW	 ((uint64_t)1 << CAPS_NET_RAW)
#define ADMIN	 ((uint64_t)1 << 12)
#define SYSADMIN ((uint64_t)1 << 21)
#define ALL	 (((uint64_t)1 << 41) - 1)

START_TEST(test_limited_table)
{
	static const struct {
		const char *name;
		struct caps_sets now;
		enum caps_keep keep;
		uint64_t permitted;
	} cases[] = {
		/* a non-root speaker with the file capability: all it has is kept, not effective */
		{ "file capability", { RAW, RAW, 0 }, CAPS_KEEP_NET_RAW, RAW },
		/* root (or a pod granting more): everything but NET_RAW goes */
		{ "root", { ALL, ALL, 0 }, CAPS_KEEP_NET_RAW, RAW },
		{ "net_raw and net_admin",
		  { RAW | ADMIN, RAW | ADMIN, ADMIN },
		  CAPS_KEEP_NET_RAW,
		  RAW },
		/* missing: nothing is invented */
		{ "none held", { 0, 0, 0 }, CAPS_KEEP_NET_RAW, 0 },
		{ "only others held", { SYSADMIN, SYSADMIN, 0 }, CAPS_KEEP_NET_RAW, 0 },
		/* permitted but not effective is still kept */
		{ "permitted only", { 0, RAW, 0 }, CAPS_KEEP_NET_RAW, RAW },
		/* dry run: nothing kept */
		{ "dry run, root", { ALL, ALL, ALL }, CAPS_KEEP_NONE, 0 },
		{ "dry run, file capability", { RAW, RAW, 0 }, CAPS_KEEP_NONE, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct caps_sets got = caps_limited(&cases[i].now, cases[i].keep);
		ck_assert_msg(got.permitted == cases[i].permitted, "%s: permitted %llx, want %llx",
			      cases[i].name, (unsigned long long)got.permitted,
			      (unsigned long long)cases[i].permitted);
		ck_assert_msg(got.effective == 0, "%s: effective %llx", cases[i].name,
			      (unsigned long long)got.effective);
		ck_assert_msg(got.inheritable == 0, "%s: inheritable %llx", cases[i].name,
			      (unsigned long long)got.inheritable);
	}
}
END_TEST

START_TEST(test_result_str)
{
	ck_assert_str_eq(caps_result_str(CAPS_OK), "ok");
	ck_assert_str_eq(caps_result_str(CAPS_NOT_PERMITTED), "not_permitted");
	ck_assert_str_eq(caps_result_str(CAPS_FAILED), "failed");
}
END_TEST

/*
 * Against the kernel, in a forked child so this process keeps its sets: after lowering nothing
 * is effective; raising makes exactly NET_RAW effective when it is permitted, and reports
 * NOT_PERMITTED (changing nothing) when it is not.
 */
START_TEST(test_raise_lower)
{
	struct caps_sets s;

	ck_assert_int_eq(caps_read(&s), 0);
	int permitted = (s.permitted & RAW) != 0;
	caps_lower();
	ck_assert_int_eq(caps_read(&s), 0);
	ck_assert_msg(s.effective == 0, "effective %llx after lower",
		      (unsigned long long)s.effective);
	enum caps_result r = caps_raise_net_raw();
	ck_assert_int_eq(caps_read(&s), 0);
	if (permitted) {
		ck_assert_str_eq(caps_result_str(r), "ok");
		ck_assert_msg(s.effective == RAW, "effective %llx after raise",
			      (unsigned long long)s.effective);
	} else {
		ck_assert_str_eq(caps_result_str(r), "not_permitted");
		ck_assert_msg(s.effective == 0, "effective %llx", (unsigned long long)s.effective);
	}
	caps_lower();
	ck_assert_int_eq(caps_read(&s), 0);
	ck_assert_msg(s.effective == 0, "effective %llx after lower",
		      (unsigned long long)s.effective);
}
END_TEST

static Suite *caps_suite(void)
{
	Suite *s = suite_create("caps");
	TCase *tc = tcase_create("caps");

	tcase_add_test(tc, test_limited_table);
	tcase_add_test(tc, test_result_str);
	/* Check forks each test by default, so the sets changed here die with the child. */
	tcase_add_test(tc, test_raise_lower);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(caps_suite)
