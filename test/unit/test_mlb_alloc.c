/* Unit tests for mlb_allocate(): family policies, keeping addresses, requested addresses. */
#include "mlb/mlb.h"
#include "jsonfix.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

static struct mlb_config *cfg_of(const char *pools)
{
	json_t *list = J(pools);
	const json_t *v[8];
	size_t n = json_array_size(list);
	ck_assert(n <= 8);
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(list, i);
	struct mlb_config *cfg = mlb_config_build(v, n, NULL, 0);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_msg(mlb_config_nproblems(cfg) == 0, "%s",
		      mlb_config_nproblems(cfg) ? mlb_config_problem(cfg, 0)->message : "");
	json_decref(list);
	return cfg;
}

/* Runs mlb_allocate and renders "pool addr,addr" or "status" (with " stale" when kept). */
static const char *run_from(struct ipam *ip, const struct mlb_config *cfg, const char *svc_json,
			    const char *from_pool)
{
	static char out[256];
	json_t *j = J(svc_json);
	struct mlb_service *s;
	char msg[256] = "";
	ck_assert_msg(mlb_service_parse(j, NULL, &s, msg, sizeof(msg)) == MLB_SVC_OK, "%s", msg);
	struct mlb_result r;
	mlb_allocate(ip, cfg, s, NULL, from_pool, &r);
	if (r.status != IPAM_OK && r.choice != MLB_CHOICE_OK) {
		snprintf(out, sizeof(out), "%s", mlb_choice_str(r.choice));
	} else if (r.status != IPAM_OK) {
		snprintf(out, sizeof(out), "%s", ipam_status_str(r.status));
	} else {
		char a[IPAM_ADDR_STRLEN], b[IPAM_ADDR_STRLEN];
		snprintf(out, sizeof(out), "%s %s%s%s%s", r.pool ? mlb_pool_name(r.pool) : "-",
			 ipam_addr_format(&r.addrs[0], a, sizeof(a)), r.naddrs > 1 ? "," : "",
			 r.naddrs > 1 ? ipam_addr_format(&r.addrs[1], b, sizeof(b)) : "",
			 r.stale ? " stale" : "");
	}
	mlb_service_free(s);
	json_decref(j);
	return out;
}

static const char *run(struct ipam *ip, const struct mlb_config *cfg, const char *svc_json)
{
	return run_from(ip, cfg, svc_json, NULL);
}

#define POOL(name, spec) "{'metadata': {'name': '" name "'}, 'spec': " spec "}"
#define SVC(name, ann, ips, extra)                                                              \
	"{'metadata': {'name': '" name "', 'namespace': 'ns', 'annotations': " ann "}, "        \
	"'spec': {'type': 'LoadBalancer', 'clusterIPs': " ips ", 'ports': [{'port': 80}]" extra \
	"}}"
#define V4	"['10.96.0.1']"
#define V46	"['10.96.0.1', 'fd00::1']"
#define V64	"['fd00::1', '10.96.0.1']"
#define REQUIRE ", 'ipFamilyPolicy': 'RequireDualStack'"
#define PREFER	", 'ipFamilyPolicy': 'PreferDualStack'"

static const char *split_pools =
	"[" POOL("v4only", "{'addresses': ['192.0.2.0/31'], 'serviceAllocation': {'priority': 1}}") ", " POOL(
		"v6only",
		"{'addresses': ['2001:db8::/127']}") ", " POOL("both",
							       "{'addresses': ['198.51.100.0/31', "
							       "'2001:db8:1::/127'], "
							       "'serviceAllocation': {'priority': 2}}") "]";

static const struct {
	const char *svc;
	const char *want;
} policies[] = {
	/* Single stack: the first pool by priority. */
	{ SVC("a", "{}", V4, ""), "v4only 192.0.2.0" },
	/* Dual-stack: both families from one pool, IPv4 listed first. */
	{ SVC("a", "{}", V46, REQUIRE), "both 198.51.100.0,2001:db8:1::" },
	{ SVC("a", "{}", V64, REQUIRE), "both 198.51.100.0,2001:db8:1::" },
	{ SVC("a", "{}", V46, PREFER), "both 198.51.100.0,2001:db8:1::" },
};

START_TEST(test_policies)
{
	struct mlb_config *cfg = cfg_of(split_pools);
	struct ipam *ip = ipam_new();
	ck_assert_str_eq(run(ip, cfg, policies[_i].svc), policies[_i].want);
	ipam_free(ip);
	mlb_config_free(cfg);
}
END_TEST

START_TEST(test_prefer_dual_falls_back)
{
	/* No pool has both families: PreferDualStack takes the primary family, Require fails. */
	struct mlb_config *cfg =
		cfg_of("[" POOL("v4only", "{'addresses': ['192.0.2.0/31']}") ", " POOL(
			"v6only", "{'addresses': ['2001:db8::/127']}") "]");
	struct ipam *ip = ipam_new();
	ck_assert_str_eq(run(ip, cfg, SVC("p46", "{}", V46, PREFER)), "v4only 192.0.2.0");
	ck_assert_str_eq(run(ip, cfg, SVC("p64", "{}", V64, PREFER)), "v6only 2001:db8::");
	ck_assert_str_eq(run(ip, cfg, SVC("r", "{}", V46, REQUIRE)), "no-family");
	struct ipam_addr a;
	ck_assert_int_eq(ipam_service_addr(ip, "ns/r", IPAM_V4, &a), -1);
	ipam_free(ip);
	mlb_config_free(cfg);
}
END_TEST

START_TEST(test_exhausted_and_shared)
{
	struct mlb_config *cfg = cfg_of("[" POOL("one", "{'addresses': ['192.0.2.10/32']}") "]");
	struct ipam *ip = ipam_new();
	ck_assert_str_eq(run(ip, cfg, SVC("a", "{'metallb.io/allow-shared-ip': 'k'}", V4, "")),
			 "one 192.0.2.10");
	ck_assert_str_eq(run(ip, cfg, SVC("b", "{}", V4, "")), "pool-exhausted");
	/* Same key, same port: refused, so the only address is not available to it. */
	ck_assert_str_eq(run(ip, cfg, SVC("c", "{'metallb.io/allow-shared-ip': 'k'}", V4, "")),
			 "pool-exhausted");
	ck_assert_str_eq(run(ip, cfg,
			     SVC("d", "{'metallb.io/allow-shared-ip': 'k'}", V4,
				 ", 'ports': [{'port': 443}]")),
			 "one 192.0.2.10");
	ipam_free(ip);
	mlb_config_free(cfg);
}
END_TEST

START_TEST(test_keeps_address_when_pools_change)
{
	struct mlb_config *c1 = cfg_of("[" POOL("b", "{'addresses': ['198.51.100.0/30']}") "]");
	struct ipam *ip = ipam_new();
	ck_assert_str_eq(run(ip, c1, SVC("web", "{}", V4, "")), "b 198.51.100.0");
	/* A higher-priority pool appears: the address does not move. */
	struct mlb_config *c2 = cfg_of(
		"[" POOL("a", "{'addresses': ['192.0.2.0/30'], 'serviceAllocation': {'priority': 1}}") ", " POOL(
			"b", "{'addresses': ['198.51.100.0/30']}") "]");
	ck_assert_str_eq(run(ip, c2, SVC("web", "{}", V4, "")), "b 198.51.100.0");
	ck_assert_str_eq(run(ip, c2, SVC("new", "{}", V4, "")), "a 192.0.2.0");
	/* Its pool shrinks past it: it keeps the address, flagged stale (issue 5). */
	struct mlb_config *c3 =
		cfg_of("[" POOL("b", "{'addresses': ['198.51.100.2/31']}") ", " POOL(
			"c", "{'addresses': ['192.0.2.100/30'], 'autoAssign': false}") "]");
	ck_assert_str_eq(run_from(ip, c3, SVC("web", "{}", V4, ""), "b"), "- 198.51.100.0 stale");
	/* Naming that same pool does not move it: only a requested address that is invalid does. */
	ck_assert_str_eq(
		run_from(ip, c3, SVC("web", "{'metallb.io/address-pool': 'b'}", V4, ""), "b"),
		"- 198.51.100.0 stale");
	/* Naming another pool moves it there, and the old address is free again. */
	ck_assert_str_eq(
		run_from(ip, c3, SVC("web", "{'metallb.io/address-pool': 'c'}", V4, ""), "b"),
		"c 192.0.2.100");
	const char *who[2];
	struct ipam_addr old;
	ck_assert_int_eq(ipam_addr_parse("198.51.100.0", &old), 0);
	ck_assert_uint_eq(ipam_holders(ip, &old, who, 2), 0);
	/* Recorded from a pool that was deleted: freed, and the service gets a new one. */
	ck_assert_str_eq(run_from(ip, c1, SVC("gone", "{}", V4, ""), NULL), "b 198.51.100.0");
	ck_assert_str_eq(run_from(ip, c3, SVC("gone", "{}", V4, ""), "deleted"), "b 198.51.100.2");
	ipam_free(ip);
	mlb_config_free(c1);
	mlb_config_free(c2);
	mlb_config_free(c3);
}
END_TEST

START_TEST(test_prefer_dual_gains_family)
{
	struct mlb_config *c1 = cfg_of("[" POOL("p", "{'addresses': ['192.0.2.0/30']}") "]");
	struct ipam *ip = ipam_new();
	ck_assert_str_eq(run(ip, c1, SVC("web", "{}", V46, PREFER)), "p 192.0.2.0");
	/* The pool gains IPv6: the service keeps its IPv4 and gets IPv6 from the same pool. */
	struct mlb_config *c2 =
		cfg_of("[" POOL("p", "{'addresses': ['192.0.2.0/30', '2001:db8::/126']}") "]");
	ck_assert_str_eq(run(ip, c2, SVC("web", "{}", V46, PREFER)), "p 192.0.2.0,2001:db8::");
	ipam_free(ip);
	mlb_config_free(c1);
	mlb_config_free(c2);
}
END_TEST

START_TEST(test_requested)
{
	struct mlb_config *cfg = cfg_of("[" POOL(
		"lan",
		"{'addresses': ['192.0.2.0/28', '2001:db8::/124'], 'autoAssign': false}") "]");
	struct ipam *ip = ipam_new();
	ck_assert_str_eq(
		run(ip, cfg, SVC("a", "{'metallb.io/loadBalancerIPs': '192.0.2.5'}", V4, "")),
		"lan 192.0.2.5");
	ck_assert_str_eq(
		run(ip, cfg, SVC("b", "{'metallb.io/loadBalancerIPs': '192.0.2.5'}", V4, "")),
		"in-use");
	/* b asked for an address in use: it keeps what it had (nothing) and a keeps .5. */
	ck_assert_str_eq(
		run(ip, cfg, SVC("a", "{'metallb.io/loadBalancerIPs': '192.0.2.6'}", V4, "")),
		"lan 192.0.2.6");
	ck_assert_str_eq(
		run(ip, cfg, SVC("b", "{'metallb.io/loadBalancerIPs': '192.0.2.5'}", V4, "")),
		"lan 192.0.2.5");
	/* A failed change keeps the old address meanwhile (MetalLB drops it; we do better). */
	ck_assert_str_eq(
		run(ip, cfg, SVC("a", "{'metallb.io/loadBalancerIPs': '192.0.2.5'}", V4, "")),
		"in-use");
	struct ipam_addr a;
	char buf[IPAM_ADDR_STRLEN];
	ck_assert_int_eq(ipam_service_addr(ip, "ns/a", IPAM_V4, &a), 0);
	ck_assert_str_eq(ipam_addr_format(&a, buf, sizeof(buf)), "192.0.2.6");
	ck_assert_str_eq(run(ip, cfg,
			     SVC("d", "{'metallb.io/loadBalancerIPs': '192.0.2.9, 2001:db8::9'}",
				 V46, REQUIRE)),
			 "lan 192.0.2.9,2001:db8::9");
	ck_assert_str_eq(
		run(ip, cfg, SVC("e", "{'metallb.io/loadBalancerIPs': '203.0.113.1'}", V4, "")),
		"not-in-pool");
	/* autoAssign: false: nothing automatic. */
	ck_assert_str_eq(run(ip, cfg, SVC("f", "{}", V4, "")), "no-pool");
	ipam_free(ip);
	mlb_config_free(cfg);
}
END_TEST

static Suite *mlb_alloc_suite(void)
{
	Suite *s = suite_create("mlb_alloc");
	TCase *tc = tcase_create("mlb_alloc");
	tcase_add_loop_test(tc, test_policies, 0, sizeof(policies) / sizeof(policies[0]));
	tcase_add_test(tc, test_prefer_dual_falls_back);
	tcase_add_test(tc, test_exhausted_and_shared);
	tcase_add_test(tc, test_keeps_address_when_pools_change);
	tcase_add_test(tc, test_prefer_dual_gains_family);
	tcase_add_test(tc, test_requested);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(mlb_alloc_suite)
