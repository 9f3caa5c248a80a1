/* Unit tests for pkg/kube/ratelimit: token bucket with an injected clock, backoff with jitter. */
#include "kube/ratelimit.h"
#include "unit.h"

#define MS 1000000ull
#define S  1000000000ull

/* A burst goes at once; after it, requests are spaced 1/qps apart, queued in order. */
START_TEST(test_burst_then_qps)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 5.0, 3, 100 * S);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(ratelimit_reserve(&rl, 100 * S), 0);
	ck_assert_uint_eq(ratelimit_reserve(&rl, 100 * S), 200 * MS);
	ck_assert_uint_eq(ratelimit_reserve(&rl, 100 * S), 400 * MS);
	ck_assert_uint_eq(ratelimit_reserve(&rl, 100 * S), 600 * MS);
	/* 600 ms later the debt is paid: the next waits one interval. */
	ck_assert_uint_eq(ratelimit_reserve(&rl, 100 * S + 600 * MS), 200 * MS);
}
END_TEST

/* An idle bucket refills to burst and no further. */
START_TEST(test_refill_caps_at_burst)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 10.0, 2, 0);
	ck_assert_uint_eq(ratelimit_reserve(&rl, 0), 0);
	ck_assert_uint_eq(ratelimit_reserve(&rl, 0), 0);
	uint64_t t = 3600 * S;
	ck_assert_uint_eq(ratelimit_reserve(&rl, t), 0);
	ck_assert_uint_eq(ratelimit_reserve(&rl, t), 0);
	ck_assert_uint_eq(ratelimit_reserve(&rl, t), 100 * MS);
}
END_TEST

/* Sustained: 1000 requests at qps 50 span 1000/50 s minus the burst, whatever the arrivals. */
START_TEST(test_sustained_rate)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 50.0, 10, 0);
	uint64_t last = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t now = (uint64_t)i * MS; /* arrivals far faster than 50/s */
		uint64_t send = now + ratelimit_reserve(&rl, now);
		ck_assert_uint_ge(send, last);
		last = send;
	}
	ck_assert_uint_ge(last, 19 * S + 780 * MS);
	ck_assert_uint_le(last, 19 * S + 820 * MS);
}
END_TEST

START_TEST(test_disabled)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 0, 1, 0);
	for (int i = 0; i < 100; i++)
		ck_assert_uint_eq(ratelimit_reserve(&rl, 0), 0);
}
END_TEST

/* allow(): a burst, then one per interval, and a refusal takes nothing. */
START_TEST(test_allow_drops_without_debt)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 1.0 / 300, 25, 0); /* the event recorder's spam filter */
	int ok = 0;
	for (int i = 0; i < 40; i++)
		ok += ratelimit_allow(&rl, (uint64_t)i * MS);
	ck_assert_int_eq(ok, 25);
	ck_assert_int_eq(ratelimit_allow(&rl, 299 * S), 0);
	ck_assert_int_eq(ratelimit_allow(&rl, 301 * S), 1);
	ck_assert_int_eq(ratelimit_allow(&rl, 301 * S), 0);
}
END_TEST

static const struct {
	uint32_t random;
	uint32_t want[7];
} backoffs[] = {
	/* random 0: the low end of each window, d/2 */
	{ 0, { 50, 100, 200, 400, 800, 1000, 1000 } },
	/* the draw is added to the low end */
	{ 1, { 51, 101, 201, 401, 801, 1001, 1001 } },
};

START_TEST(test_backoff_doubles_to_cap)
{
	struct backoff b;
	backoff_init(&b, 100, 2000);
	for (int i = 0; i < 7; i++) {
		uint32_t got = backoff_next(&b, backoffs[_i].random);
		ck_assert_msg(got == backoffs[_i].want[i], "failure %d: got %u", i + 1, got);
	}
	backoff_reset(&b);
	ck_assert_uint_eq(backoff_next(&b, 0), 50);
}
END_TEST

/* Jitter stays inside [d/2, d] for every draw. */
START_TEST(test_backoff_jitter_window)
{
	uint32_t seed = 42;
	for (int n = 1; n <= 12; n++) {
		for (int k = 0; k < 200; k++) {
			struct backoff b;
			backoff_init(&b, 100, 30000);
			uint32_t got = 0;
			for (int i = 0; i < n; i++)
				got = backoff_next(&b, ratelimit_rand(&seed));
			uint64_t d = 100ull << (n - 1);
			if (d > 30000)
				d = 30000;
			ck_assert_uint_ge(got, d - d / 2);
			ck_assert_uint_le(got, d);
		}
	}
}
END_TEST

static Suite *ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_burst_then_qps);
	tcase_add_test(tc, test_refill_caps_at_burst);
	tcase_add_test(tc, test_sustained_rate);
	tcase_add_test(tc, test_disabled);
	tcase_add_test(tc, test_allow_drops_without_debt);
	tcase_add_loop_test(tc, test_backoff_doubles_to_cap, 0,
			    (int)(sizeof(backoffs) / sizeof(backoffs[0])));
	tcase_add_test(tc, test_backoff_jitter_window);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(ratelimit_suite)
