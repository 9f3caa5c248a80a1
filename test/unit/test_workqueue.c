/* Unit tests for pkg/kube/workqueue on a real loop: dedup, re-add while processing, backoff. */
#include "kube/workqueue.h"
#include "unit.h"

#include <string.h>

struct rec {
	struct loop *lp;
	struct workqueue *wq;
	char order[512];
	int fail_left; /* RETRY this many times */
	uint64_t at_ns[16];
	int calls;
	const char *readd; /* add this key from inside the callback, once */
};

static enum workqueue_result fn(const char *key, void *arg)
{
	struct rec *r = arg;
	size_t n = strlen(r->order);
	if (n + strlen(key) + 2 <= sizeof(r->order)) {
		memcpy(r->order + n, key, strlen(key));
		memcpy(r->order + n + strlen(key), " ", 2);
	}
	if (r->calls < 16)
		r->at_ns[r->calls] = loop_now_ns(r->lp);
	r->calls++;
	if (r->readd) {
		ck_assert_int_eq(workqueue_add(r->wq, r->readd), 0);
		r->readd = NULL;
	}
	if (r->fail_left > 0) {
		r->fail_left--;
		return WORKQUEUE_RETRY;
	}
	return WORKQUEUE_DONE;
}

/* Runs the loop until the queue is empty (bounded). */
static void drain(struct rec *r)
{
	for (int i = 0; i < 2000 && (workqueue_len(r->wq) > 0); i++)
		ck_assert_int_ge(loop_run_once(r->lp, 50), 0);
}

static void setup_rec(struct rec *r, uint32_t base, uint32_t max)
{
	memset(r, 0, sizeof(*r));
	r->lp = loop_new();
	ck_assert_ptr_nonnull(r->lp);
	r->wq = workqueue_new(r->lp, fn, r, base, max);
	ck_assert_ptr_nonnull(r->wq);
}

static void teardown_rec(struct rec *r)
{
	workqueue_free(r->wq);
	loop_free(r->lp);
}

START_TEST(test_dedup_in_order)
{
	struct rec r;
	setup_rec(&r, 0, 0);
	ck_assert_int_eq(workqueue_add(r.wq, "ns/a"), 0);
	ck_assert_int_eq(workqueue_add(r.wq, "ns/b"), 0);
	ck_assert_int_eq(workqueue_add(r.wq, "ns/a"), 0);
	ck_assert_int_eq(workqueue_add(r.wq, "ns/a"), 0);
	ck_assert_int_eq(workqueue_add(r.wq, "ns/c"), 0);
	ck_assert_uint_eq(workqueue_len(r.wq), 3);
	drain(&r);
	ck_assert_str_eq(r.order, "ns/a ns/b ns/c ");
	teardown_rec(&r);
}
END_TEST

/* A key added while it is being processed runs once more afterwards, not concurrently. */
START_TEST(test_readd_while_processing)
{
	struct rec r;
	setup_rec(&r, 0, 0);
	r.readd = "k";
	ck_assert_int_eq(workqueue_add(r.wq, "k"), 0);
	drain(&r);
	ck_assert_str_eq(r.order, "k k ");
	teardown_rec(&r);
}
END_TEST

/* Failures back off per key: each retry waits at least half its window (base doubling). */
START_TEST(test_retry_backoff)
{
	struct rec r;
	setup_rec(&r, 20, 1000);
	r.fail_left = 3;
	ck_assert_int_eq(workqueue_add(r.wq, "x"), 0);
	drain(&r);
	ck_assert_int_eq(r.calls, 4);
	ck_assert_str_eq(r.order, "x x x x ");
	uint64_t want_min_ms[] = { 10, 20, 40 };
	for (int i = 0; i < 3; i++) {
		uint64_t gap_ms = (r.at_ns[i + 1] - r.at_ns[i]) / 1000000ull;
		ck_assert_msg(gap_ms >= want_min_ms[i], "retry %d after %llu ms", i + 1,
			      (unsigned long long)gap_ms);
	}
	ck_assert_uint_eq(workqueue_failures(r.wq, "x"), 0);
	teardown_rec(&r);
}
END_TEST

START_TEST(test_failures_counted_and_forgotten)
{
	struct rec r;
	setup_rec(&r, 5000, 10000);
	r.fail_left = 1;
	ck_assert_int_eq(workqueue_add(r.wq, "y"), 0);
	for (int i = 0; i < 100 && r.calls == 0; i++)
		loop_run_once(r.lp, 10);
	ck_assert_int_eq(r.calls, 1);
	ck_assert_uint_eq(workqueue_failures(r.wq, "y"), 1);
	ck_assert_uint_eq(workqueue_len(r.wq), 1); /* waiting out its backoff */
	workqueue_forget(r.wq, "y");
	ck_assert_uint_eq(workqueue_failures(r.wq, "y"), 0);
	/* an explicit add makes a waiting key ready at once */
	ck_assert_int_eq(workqueue_add(r.wq, "y"), 0);
	drain(&r);
	ck_assert_int_eq(r.calls, 2);
	teardown_rec(&r);
}
END_TEST

START_TEST(test_add_after)
{
	struct rec r;
	setup_rec(&r, 0, 0);
	loop_update_time(r.lp);
	uint64_t t0 = loop_now_ns(r.lp);
	ck_assert_int_eq(workqueue_add_after(r.wq, "late", 30), 0);
	ck_assert_int_eq(workqueue_add_after(r.wq, "later", 60), 0);
	ck_assert_int_eq(workqueue_add(r.wq, "now"), 0);
	drain(&r);
	ck_assert_str_eq(r.order, "now late later ");
	ck_assert_uint_ge(r.at_ns[1] - t0, 30 * 1000000ull);
	ck_assert_uint_ge(r.at_ns[2] - t0, 60 * 1000000ull);
	teardown_rec(&r);
}
END_TEST

/* Thousands of keys, each added twice: each processed exactly once. */
START_TEST(test_many_keys)
{
	struct rec r;
	setup_rec(&r, 0, 0);
	char key[32];
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < 5000; i++) {
			snprintf(key, sizeof(key), "ns/svc-%d", i);
			ck_assert_int_eq(workqueue_add(r.wq, key), 0);
		}
	ck_assert_uint_eq(workqueue_len(r.wq), 5000);
	r.order[0] = '\0';
	drain(&r);
	ck_assert_int_eq(r.calls, 5000);
	teardown_rec(&r);
}
END_TEST

static Suite *workqueue_suite(void)
{
	Suite *s = suite_create("workqueue");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_dedup_in_order);
	tcase_add_test(tc, test_readd_while_processing);
	tcase_add_test(tc, test_retry_backoff);
	tcase_add_test(tc, test_failures_counted_and_forgotten);
	tcase_add_test(tc, test_add_after);
	tcase_add_test(tc, test_many_keys);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(workqueue_suite)
