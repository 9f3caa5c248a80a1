/* Unit tests for speaker/ranking: order, preference, determinism, spread and stickiness. */
#include "speaker/ranking.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NSVC = 1000, MAXN = 16 };

static char node_buf[MAXN][16];
static const char *node_names[MAXN];
static char svc_buf[NSVC][32];
static struct ranking_service svcs[NSVC];

/* Which nodes are candidates, and their scores, for the plan callback. */
struct world {
	int live[MAXN];
	int score[MAXN];
	int local_only; /* service s is eligible only on nodes (s % 3) and (s % 3) + 3 */
};

static int world_fn(void *arg, size_t svc, size_t node, int *score)
{
	const struct world *w = arg;
	if (!w->live[node])
		return 0;
	if (w->local_only && node != svc % 3 && node != svc % 3 + 3)
		return 0;
	*score = w->score[node];
	return 1;
}

static void setup_names(void)
{
	for (int i = 0; i < MAXN; i++) {
		snprintf(node_buf[i], sizeof(node_buf[i]), "node-%d", i + 1);
		node_names[i] = node_buf[i];
	}
	for (int s = 0; s < NSVC; s++) {
		snprintf(svc_buf[s], sizeof(svc_buf[s]), "ns-%d/svc-%d", s % 7, s);
		svcs[s].key = svc_buf[s];
		svcs[s].holder = RANKING_NONE;
	}
}

static void counts(const long *assigned, size_t n, int *cnt)
{
	memset(cnt, 0, sizeof(int) * n);
	for (int s = 0; s < NSVC; s++) {
		ck_assert_int_ge(assigned[s], 0);
		ck_assert_int_lt(assigned[s], (long)n);
		cnt[assigned[s]]++;
	}
}

static void assert_even(const int *cnt, const int *live, size_t n)
{
	int nl = 0;
	for (size_t i = 0; i < n; i++)
		nl += live[i];
	double even = (double)NSVC / nl;
	for (size_t i = 0; i < n; i++) {
		if (!live[i]) {
			ck_assert_int_eq(cnt[i], 0);
			continue;
		}
		ck_assert_msg(cnt[i] >= 0.85 * even && cnt[i] <= 1.15 * even,
			      "node %zu has %d of %d services (even %.1f)", i, cnt[i], NSVC, even);
	}
}

static const size_t spread_nodes[] = { 3, 5, 10 };

START_TEST(test_spread_within_15_percent)
{
	size_t n = spread_nodes[_i];
	struct world w;
	memset(&w, 0, sizeof(w));
	for (size_t i = 0; i < n; i++)
		w.live[i] = 1;
	long assigned[NSVC];
	int cnt[MAXN];
	ck_assert_int_eq(ranking_plan(node_names, n, svcs, NSVC, world_fn, &w, assigned), 0);
	counts(assigned, n, cnt);
	assert_even(cnt, w.live, n);
	/* Most services go to their rendezvous favourite: balance bends it only at the edges. */
	int fav = 0;
	for (int s = 0; s < NSVC; s++) {
		struct ranking_node rn[MAXN];
		size_t order[MAXN];
		for (size_t i = 0; i < n; i++)
			rn[i] = (struct ranking_node){ node_names[i], 1, 0 };
		ranking_order(svcs[s].key, rn, n, order);
		fav += (long)order[0] == assigned[s];
	}
	ck_assert_int_ge(fav, NSVC * 3 / 4);
}
END_TEST

/* A node dies: the services it held move, nobody else's do, and the result is still even. */
START_TEST(test_sticky_failover_moves_only_orphans)
{
	size_t n = spread_nodes[_i];
	struct world w;
	memset(&w, 0, sizeof(w));
	for (size_t i = 0; i < n; i++)
		w.live[i] = 1;
	long before[NSVC], after[NSVC];
	int cnt[MAXN];
	ck_assert_int_eq(ranking_plan(node_names, n, svcs, NSVC, world_fn, &w, before), 0);
	struct ranking_service held[NSVC];
	w.live[1] = 0;
	for (int s = 0; s < NSVC; s++) {
		held[s].key = svcs[s].key;
		held[s].holder = before[s] == 1 ? RANKING_NONE : before[s];
	}
	ck_assert_int_eq(ranking_plan(node_names, n, held, NSVC, world_fn, &w, after), 0);
	for (int s = 0; s < NSVC; s++)
		if (before[s] != 1)
			ck_assert_int_eq(after[s], before[s]);
	counts(after, n, cnt);
	assert_even(cnt, w.live, n);
	/* It comes back: sticky, nothing moves to it. */
	w.live[1] = 1;
	for (int s = 0; s < NSVC; s++)
		held[s].holder = after[s];
	ck_assert_int_eq(ranking_plan(node_names, n, held, NSVC, world_fn, &w, before), 0);
	for (int s = 0; s < NSVC; s++)
		ck_assert_int_eq(before[s], after[s]);
}
END_TEST

START_TEST(test_plan_is_deterministic_across_input_order)
{
	struct world w;
	memset(&w, 0, sizeof(w));
	for (int i = 0; i < 5; i++)
		w.live[i] = 1;
	long a[NSVC], b[NSVC];
	ck_assert_int_eq(ranking_plan(node_names, 5, svcs, NSVC, world_fn, &w, a), 0);
	/* The same nodes listed backwards: the same node names win. */
	const char *rev[5];
	for (int i = 0; i < 5; i++)
		rev[i] = node_names[4 - i];
	ck_assert_int_eq(ranking_plan(rev, 5, svcs, NSVC, world_fn, &w, b), 0);
	for (int s = 0; s < NSVC; s++)
		ck_assert_str_eq(node_names[a[s]], rev[b[s]]);
	/* Services listed backwards: each service still lands on the same node. */
	static struct ranking_service rsvc[NSVC];
	for (int s = 0; s < NSVC; s++)
		rsvc[s] = svcs[NSVC - 1 - s];
	ck_assert_int_eq(ranking_plan(node_names, 5, rsvc, NSVC, world_fn, &w, b), 0);
	for (int s = 0; s < NSVC; s++)
		ck_assert_int_eq(a[s], b[NSVC - 1 - s]);
}
END_TEST

START_TEST(test_preference_score_wins_and_unsticks)
{
	struct world w;
	memset(&w, 0, sizeof(w));
	for (int i = 0; i < 4; i++)
		w.live[i] = 1;
	w.score[2] = 30;
	w.score[3] = 10;
	long a[NSVC];
	static struct ranking_service held[NSVC];
	for (int s = 0; s < NSVC; s++)
		held[s] = (struct ranking_service){ svcs[s].key, s % 4 };
	ck_assert_int_eq(ranking_plan(node_names, 4, held, NSVC, world_fn, &w, a), 0);
	/* Only the highest score counts, whatever the load, and lower-scored holders lose it. */
	for (int s = 0; s < NSVC; s++)
		ck_assert_int_eq(a[s], 2);
	/* Without node 2 the next score takes all. */
	w.live[2] = 0;
	ck_assert_int_eq(ranking_plan(node_names, 4, held, NSVC, world_fn, &w, a), 0);
	for (int s = 0; s < NSVC; s++)
		ck_assert_int_eq(a[s], 3);
}
END_TEST

START_TEST(test_plan_respects_eligibility)
{
	struct world w;
	memset(&w, 0, sizeof(w));
	for (int i = 0; i < 6; i++)
		w.live[i] = 1;
	w.local_only = 1;
	long a[NSVC];
	ck_assert_int_eq(ranking_plan(node_names, 6, svcs, NSVC, world_fn, &w, a), 0);
	for (int s = 0; s < NSVC; s++)
		ck_assert(a[s] == s % 3 || a[s] == s % 3 + 3);
	/* No candidate at all: no assignment. */
	memset(w.live, 0, sizeof(w.live));
	ck_assert_int_eq(ranking_plan(node_names, 6, svcs, NSVC, world_fn, &w, a), 0);
	for (int s = 0; s < NSVC; s++)
		ck_assert_int_eq(a[s], RANKING_NONE);
}
END_TEST

START_TEST(test_order_and_rank)
{
	struct ranking_node rn[5] = {
		{ "node-a", 1, 0 }, { "node-b", 1, 0 }, { "node-c", 0, 100 },
		{ "node-d", 1, 5 }, { "node-e", 1, 0 },
	};
	size_t order[5];
	const char *key = "default/web";
	ck_assert_int_eq(ranking_order(key, rn, 5, order), 4);
	/* The scored node first; the ineligible one (score 100) nowhere. */
	ck_assert_uint_eq(order[0], 3);
	for (int k = 1; k < 4; k++) {
		ck_assert_uint_ne(order[k], 2);
		ck_assert(ranking_weight(rn[order[k - 1]].name, key) >=
				  ranking_weight(rn[order[k]].name, key) ||
			  k == 1);
	}
	ck_assert(ranking_weight(rn[order[1]].name, key) > ranking_weight(rn[order[2]].name, key));
	ck_assert(ranking_weight(rn[order[2]].name, key) > ranking_weight(rn[order[3]].name, key));
	for (int k = 0; k < 4; k++)
		ck_assert_int_eq(ranking_rank(key, rn, 5, RANKING_NONE, order[k]), k);
	ck_assert_int_eq(ranking_rank(key, rn, 5, RANKING_NONE, 2), -1);
	ck_assert_int_eq(ranking_best_score(rn, 5), 5);
	/* A plan puts its node first and shifts the others. */
	long planned = (long)order[2];
	ck_assert_int_eq(ranking_rank(key, rn, 5, planned, order[2]), 0);
	ck_assert_int_eq(ranking_rank(key, rn, 5, planned, order[0]), 1);
	ck_assert_int_eq(ranking_rank(key, rn, 5, planned, order[1]), 2);
	ck_assert_int_eq(ranking_rank(key, rn, 5, planned, order[3]), 3);
	/* A planned node that is not a candidate is ignored. */
	ck_assert_int_eq(ranking_rank(key, rn, 5, 2, order[0]), 0);
	/* Removing a node keeps the others' relative order (rendezvous). */
	rn[order[1]].candidate = 0;
	size_t order2[5];
	ck_assert_int_eq(ranking_order(key, rn, 5, order2), 3);
	ck_assert_uint_eq(order2[0], order[0]);
	ck_assert_uint_eq(order2[1], order[2]);
	ck_assert_uint_eq(order2[2], order[3]);
	ck_assert_int_eq(ranking_best_score(rn, 0), -1);
}
END_TEST

START_TEST(test_weight_and_delay)
{
	ck_assert_uint_eq(ranking_weight("node-1", "default/web"),
			  ranking_weight("node-1", "default/web"));
	ck_assert_uint_ne(ranking_weight("node-1", "default/web"),
			  ranking_weight("node-2", "default/web"));
	ck_assert_uint_ne(ranking_weight("b", "a/"), ranking_weight("", "a/b"));
	ck_assert_int_eq(ranking_delay_ms(0, 200), 0);
	ck_assert_int_eq(ranking_delay_ms(3, 200), 600);
	ck_assert(ranking_delay_ms(-1, 200) == INT64_MAX);
	ck_assert(ranking_delay_ms(1 << 30, INT64_MAX / 4) == INT64_MAX);
}
END_TEST

static Suite *ranking_suite(void)
{
	setup_names();
	Suite *s = suite_create("ranking");
	TCase *tc = tcase_create("core");
	size_t ns = sizeof(spread_nodes) / sizeof(spread_nodes[0]);
	tcase_add_loop_test(tc, test_spread_within_15_percent, 0, (int)ns);
	tcase_add_loop_test(tc, test_sticky_failover_moves_only_orphans, 0, (int)ns);
	tcase_add_test(tc, test_plan_is_deterministic_across_input_order);
	tcase_add_test(tc, test_preference_score_wins_and_unsticks);
	tcase_add_test(tc, test_plan_respects_eligibility);
	tcase_add_test(tc, test_order_and_rank);
	tcase_add_test(tc, test_weight_and_delay);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(ranking_suite)
