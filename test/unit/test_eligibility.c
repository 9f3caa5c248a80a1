/* Unit tests for speaker/eligibility: every rule of issue 7, keyed on the reason. */
#include "speaker/eligibility.h"
#include "unit.h"

#define U ELIG_COND_UNSET
#define F ELIG_COND_FALSE
#define T ELIG_COND_TRUE

static const int w30[] = { 30 };
static const int w20_50[] = { 20, 50 };
static const int bad_w[] = { 0, 101, -5 };

/* An advertisement that selects everything, interface up. */
#define ADV_ALL                     \
	{                           \
		1, 1, 1, 1, NULL, 0 \
	}

static const struct eligibility_endpoint ep_here = { "node-a", T, T, F };
static const struct eligibility_endpoint ep_there = { "node-b", T, T, F };

static const struct {
	const char *what;
	int excluded, netunavail, local;
	struct eligibility_adv advs[3];
	size_t n_advs;
	struct eligibility_endpoint eps[3];
	size_t n_eps;
	enum eligibility_reason want;
	int want_score;
} cases[] = {
	{ "all good", 0, 0, 0, { ADV_ALL }, 1, { { "node-a", T, T, F } }, 1, ELIG_OK, 0 },
	{ "excluded label",
	  1,
	  0,
	  0,
	  { ADV_ALL },
	  1,
	  { { "node-a", T, T, F } },
	  1,
	  ELIG_NODE_EXCLUDED,
	  0 },
	{ "network unavailable",
	  0,
	  1,
	  0,
	  { ADV_ALL },
	  1,
	  { { "node-a", T, T, F } },
	  1,
	  ELIG_NODE_NETWORK_UNAVAILABLE,
	  0 },
	{ "no advertisement at all",
	  0,
	  0,
	  0,
	  { ADV_ALL },
	  0,
	  { { "node-a", T, T, F } },
	  1,
	  ELIG_NO_ADVERTISEMENT,
	  0 },
	{ "advertisement for another pool",
	  0,
	  0,
	  0,
	  { { 0, 1, 1, 1, NULL, 0 } },
	  1,
	  { { "node-a", T, T, F } },
	  1,
	  ELIG_NO_ADVERTISEMENT,
	  0 },
	{ "serviceSelectors do not match",
	  0,
	  0,
	  0,
	  { { 1, 0, 1, 1, NULL, 0 } },
	  1,
	  { { "node-a", T, T, F } },
	  1,
	  ELIG_SERVICE_NOT_SELECTED,
	  0 },
	{ "nodeSelectors do not match",
	  0,
	  0,
	  0,
	  { { 1, 1, 0, 1, NULL, 0 } },
	  1,
	  { { "node-a", T, T, F } },
	  1,
	  ELIG_NODE_NOT_SELECTED,
	  0 },
	{ "one of two advertisements selects the node",
	  0,
	  0,
	  0,
	  { { 1, 1, 0, 1, NULL, 0 }, ADV_ALL },
	  2,
	  { { "node-a", T, T, F } },
	  1,
	  ELIG_OK,
	  0 },
	{ "no endpoints", 0, 0, 0, { ADV_ALL }, 1, { { 0 } }, 0, ELIG_NO_READY_ENDPOINTS, 0 },
	{ "only unready endpoints",
	  0,
	  0,
	  0,
	  { ADV_ALL },
	  1,
	  { { "node-a", F, F, F }, { "node-b", F, U, U } },
	  2,
	  ELIG_NO_READY_ENDPOINTS,
	  0 },
	{ "only terminating endpoints",
	  0,
	  0,
	  0,
	  { ADV_ALL },
	  1,
	  { { "node-a", F, T, T }, { "node-b", U, U, T } },
	  2,
	  ELIG_NO_READY_ENDPOINTS,
	  0 },
	{ "ready unset counts as ready",
	  0,
	  0,
	  0,
	  { ADV_ALL },
	  1,
	  { { "node-b", U, U, U } },
	  1,
	  ELIG_OK,
	  0 },
	{ "ready but not serving",
	  0,
	  0,
	  0,
	  { ADV_ALL },
	  1,
	  { { "node-b", T, F, F } },
	  1,
	  ELIG_NO_READY_ENDPOINTS,
	  0 },
	{ "cluster policy: endpoint elsewhere is enough",
	  0,
	  0,
	  0,
	  { ADV_ALL },
	  1,
	  { { "node-b", T, T, F } },
	  1,
	  ELIG_OK,
	  0 },
	{ "local policy: endpoint only elsewhere",
	  0,
	  0,
	  1,
	  { ADV_ALL },
	  1,
	  { { "node-b", T, T, F }, { "node-a", F, F, F } },
	  2,
	  ELIG_NO_LOCAL_ENDPOINTS,
	  0 },
	{ "local policy: local endpoint terminating",
	  0,
	  0,
	  1,
	  { ADV_ALL },
	  1,
	  { { "node-b", T, T, F }, { "node-a", T, T, T } },
	  2,
	  ELIG_NO_LOCAL_ENDPOINTS,
	  0 },
	{ "local policy: endpoint without nodeName",
	  0,
	  0,
	  1,
	  { ADV_ALL },
	  1,
	  { { NULL, T, T, F } },
	  1,
	  ELIG_NO_LOCAL_ENDPOINTS,
	  0 },
	{ "local policy: local ready endpoint",
	  0,
	  0,
	  1,
	  { ADV_ALL },
	  1,
	  { { "node-b", T, T, F }, { "node-a", U, U, U } },
	  2,
	  ELIG_OK,
	  0 },
	{ "interface down",
	  0,
	  0,
	  0,
	  { { 1, 1, 1, 0, NULL, 0 } },
	  1,
	  { { "node-a", T, T, F } },
	  1,
	  ELIG_INTERFACE_DOWN,
	  0 },
	{ "interface up only on a non-selecting advertisement",
	  0,
	  0,
	  0,
	  { { 1, 1, 1, 0, NULL, 0 }, { 1, 1, 0, 1, NULL, 0 } },
	  2,
	  { { "node-a", T, T, F } },
	  1,
	  ELIG_INTERFACE_DOWN,
	  0 },
	{ "preference weights summed across advertisements",
	  0,
	  0,
	  0,
	  { { 1, 1, 1, 1, w30, 1 }, { 1, 1, 1, 1, w20_50, 2 }, { 1, 1, 0, 1, w30, 1 } },
	  3,
	  { { "node-a", T, T, F } },
	  1,
	  ELIG_OK,
	  100 },
	{ "out-of-range weights ignored",
	  0,
	  0,
	  0,
	  { { 1, 1, 1, 1, bad_w, 3 } },
	  1,
	  { { "node-a", T, T, F } },
	  1,
	  ELIG_OK,
	  0 },
	{ "no score when ineligible",
	  0,
	  0,
	  1,
	  { { 1, 1, 1, 1, w30, 1 } },
	  1,
	  { { "node-b", T, T, F } },
	  1,
	  ELIG_NO_LOCAL_ENDPOINTS,
	  0 },
};

START_TEST(test_rules)
{
	struct eligibility_input in = {
		.node = "node-a",
		.node_excluded = cases[_i].excluded,
		.node_network_unavailable = cases[_i].netunavail,
		.advs = cases[_i].advs,
		.n_advs = cases[_i].n_advs,
		.traffic_local = cases[_i].local,
		.eps = cases[_i].eps,
		.n_eps = cases[_i].n_eps,
	};
	int score = -1;
	enum eligibility_reason r = eligibility_evaluate(&in, &score);
	ck_assert_msg(r == cases[_i].want, "%s: got %s, want %s", cases[_i].what,
		      eligibility_reason_str(r), eligibility_reason_str(cases[_i].want));
	ck_assert_int_eq(score, cases[_i].want_score);
	ck_assert_int_eq(eligibility_evaluate(&in, NULL), r);
}
END_TEST

START_TEST(test_endpoint_ready_and_strings)
{
	ck_assert(eligibility_endpoint_ready(&ep_here));
	ck_assert(eligibility_endpoint_ready(&ep_there));
	for (int i = 0; i <= ELIG_INTERFACE_DOWN; i++)
		ck_assert_str_ne(eligibility_reason_str((enum eligibility_reason)i), "?");
}
END_TEST

static Suite *eligibility_suite(void)
{
	Suite *s = suite_create("eligibility");
	TCase *tc = tcase_create("core");
	tcase_add_loop_test(tc, test_rules, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_endpoint_ready_and_strings);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(eligibility_suite)
