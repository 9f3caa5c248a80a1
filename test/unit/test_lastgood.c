/* Unit tests for pkg/mlb/lastgood: an invalid edit keeps the object's last accepted version. */
#include "mlb/lastgood.h"
#include "mlb/mlb.h"
#include "jsonfix.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define POOL(name, ts, spec)                                                \
	"{'metadata': {'name': '" name "', 'namespace': 'metallb-system', " \
	"'creationTimestamp': '" ts "'}, 'spec': " spec "}"
#define ADV(name, spec) \
	"{'metadata': {'name': '" name "', 'namespace': 'metallb-system'}, 'spec': " spec "}"

#define LAN_V1	POOL("lan", "2026-01-01T00:00:00Z", "{'addresses': ['192.0.2.0/28']}")
#define LAN_BAD POOL("lan", "2026-01-01T00:00:00Z", "{'addresses': ['192.0.2.5']}")
#define LAN_V2	POOL("lan", "2026-01-01T00:00:00Z", "{'addresses': ['198.51.100.0/28']}")
#define ADV_OK	ADV("a", "{'ipAddressPools': ['lan']}")
#define ADV_BAD ADV("a", "{'ipAddressPools': ['lan', 'lan']}")

/* One daemon's history: each step is the objects as the informers hold them then. */
static const struct step {
	const char *what;
	const char *pools, *advs;
	const char *lan_has;   /* an address pool lan must hold; NULL: no pool lan */
	const char *lan_hasnt; /* an address it must not hold */
	size_t advs_for_lan;   /* advertisements that select lan */
	size_t nproblems;
	const char *problem_field; /* the first problem's field */
	int noted;		   /* its message says the last version is served */
	size_t nkept;
} steps[] = {
	{ "valid at first", "[" LAN_V1 "]", "[" ADV_OK "]", "192.0.2.1", "198.51.100.1", 1, 0 },
	{ "pool edited into a bare IP: its last version serves, refusal reported", "[" LAN_BAD "]",
	  "[" ADV_OK "]", "192.0.2.1", "192.0.2.20", 1, 1, "spec.addresses[0]", 1, 1 },
	{ "the same invalid pool again: still served, still reported", "[" LAN_BAD "]",
	  "[" ADV_OK "]", "192.0.2.1", NULL, 1, 1, "spec.addresses[0]", 1, 1 },
	{ "fixed by a valid edit: the new version serves", "[" LAN_V2 "]", "[" ADV_OK "]",
	  "198.51.100.1", "192.0.2.1", 1, 0 },
	{ "advertisement edited into duplicate pools: its last version still announces lan",
	  "[" LAN_V2 "]", "[" ADV_BAD "]", "198.51.100.1", NULL, 1, 1, "spec.ipAddressPools[1]", 1,
	  1 },
	{ "a new pool that overlaps the kept one is refused (the older stays)",
	  "[" LAN_BAD
	  "," POOL("late", "2026-02-01T00:00:00Z", "{'addresses': ['198.51.100.8/29']}") "]",
	  "[" ADV_OK "]", "198.51.100.1", NULL, 1, 2, NULL, 0, 1 },
	{ "pool deleted: forgotten", "[]", "[" ADV_OK "]", NULL, NULL, 0, 0 },
	{ "recreated invalid: nothing to fall back on, left out", "[" LAN_BAD "]", "[" ADV_OK "]",
	  NULL, NULL, 0, 1, "spec.addresses[0]", 0, 0 },
	{ "never valid: an invalid new pool is simply refused",
	  "[" POOL("fresh", "2026-03-01T00:00:00Z", "{'addresses': []}") "]", "[" ADV_OK "]", NULL,
	  NULL, 0, 1, "spec.addresses", 0, 0 },
};

static struct mlb_config *step_build(struct mlb_lastgood *lg, const struct step *s)
{
	json_t *pools = J(s->pools), *advs = J(s->advs);
	const json_t *pv[8], *av[8];
	size_t np = json_array_size(pools), na = json_array_size(advs);
	for (size_t i = 0; i < np; i++)
		pv[i] = json_array_get(pools, i);
	for (size_t i = 0; i < na; i++)
		av[i] = json_array_get(advs, i);
	struct mlb_config *cfg = mlb_lastgood_build(lg, pv, np, av, na);
	/* The remembered versions must not borrow from the caller's objects. */
	json_decref(pools);
	json_decref(advs);
	return cfg;
}

static int holds(const struct mlb_pool *p, const char *a)
{
	struct ipam_addr ia;
	ck_assert_int_eq(ipam_addr_parse(a, &ia), 0);
	return ipam_pool_contains(mlb_pool_ipam(p), &ia);
}

START_TEST(test_history)
{
	struct mlb_lastgood *lg = mlb_lastgood_new();
	ck_assert_ptr_nonnull(lg);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const struct step *s = &steps[i];
		struct mlb_config *cfg = step_build(lg, s);
		ck_assert_msg(cfg != NULL, "%s: no config", s->what);
		const struct mlb_pool *lan = mlb_config_pool_by_name(cfg, "lan");
		if (s->lan_has != NULL) {
			ck_assert_msg(lan != NULL, "%s: no pool lan", s->what);
			ck_assert_msg(holds(lan, s->lan_has), "%s: lan lacks %s", s->what,
				      s->lan_has);
			if (s->lan_hasnt != NULL)
				ck_assert_msg(!holds(lan, s->lan_hasnt), "%s: lan holds %s",
					      s->what, s->lan_hasnt);
		} else {
			ck_assert_msg(lan == NULL, "%s: pool lan present", s->what);
		}
		const struct mlb_l2adv *ads[4];
		ck_assert_msg(mlb_config_l2advs_for_pool(cfg, "lan", ads, 4) == s->advs_for_lan ||
				      lan == NULL,
			      "%s: advertisements for lan", s->what);
		ck_assert_msg(mlb_config_nproblems(cfg) == s->nproblems,
			      "%s: %zu problems, want %zu", s->what, mlb_config_nproblems(cfg),
			      s->nproblems);
		if (s->problem_field != NULL) {
			const struct mlb_problem *p = mlb_config_problem(cfg, 0);
			ck_assert_str_eq(p->field, s->problem_field);
			int noted = strstr(p->message, "serving its last accepted version") != NULL;
			ck_assert_msg(noted == s->noted, "%s: message \"%s\"", s->what, p->message);
		}
		ck_assert_msg(mlb_lastgood_nkept(lg) == s->nkept, "%s: %zu kept", s->what,
			      mlb_lastgood_nkept(lg));
		mlb_config_free(cfg);
	}
	mlb_lastgood_free(lg);
}
END_TEST

/* Both objects broken at once, in one build: each keeps its own last version. */
START_TEST(test_two_at_once)
{
	struct mlb_lastgood *lg = mlb_lastgood_new();
	const struct step ok = { "ok", "[" LAN_V1 "]", "[" ADV_OK "]" };
	const struct step bad = { "bad", "[" LAN_BAD "]", "[" ADV_BAD "]" };
	mlb_config_free(step_build(lg, &ok));
	struct mlb_config *cfg = step_build(lg, &bad);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_uint_eq(mlb_lastgood_nkept(lg), 2);
	ck_assert_uint_eq(mlb_config_nproblems(cfg), 2);
	const struct mlb_pool *lan = mlb_config_pool_by_name(cfg, "lan");
	ck_assert_ptr_nonnull(lan);
	ck_assert(holds(lan, "192.0.2.1"));
	const struct mlb_l2adv *ads[4];
	ck_assert_uint_eq(mlb_config_l2advs_for_pool(cfg, "lan", ads, 4), 1);
	for (size_t i = 0; i < 2; i++)
		ck_assert_ptr_nonnull(
			strstr(mlb_config_problem(cfg, i)->message, "serving its last accepted"));
	mlb_config_free(cfg);
	mlb_lastgood_free(lg);
	mlb_lastgood_free(NULL);
}
END_TEST

static Suite *lastgood_suite(void)
{
	Suite *s = suite_create("lastgood");
	TCase *tc = tcase_create("lastgood");
	tcase_add_test(tc, test_history);
	tcase_add_test(tc, test_two_at_once);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(lastgood_suite)
