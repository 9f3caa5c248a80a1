/* Unit tests for pkg/mlb: pools, advertisements, Service fields, pool choice, the fixtures. */
#include "mlb/mlb.h"
#include "jsonfix.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

/* Table rows leave trailing expectations out when they do not apply (they read as NULL / 0). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define POOL(name, spec) \
	"{'metadata': {'name': '" name "', 'namespace': 'metallb-system'}, 'spec': " spec "}"

static const struct {
	const char *pool;
	const char *field; /* NULL: valid */
	const char *message;
} pools[] = {
	{ POOL("lan", "{'addresses': ['192.0.2.0/24', '2001:db8::200-2001:db8::2ff']}"), NULL,
	  NULL },
	{ POOL("lan", "{'addresses': ['192.0.2.7/24']}"), NULL, NULL }, /* host bits, as MetalLB */
	{ POOL("lan", "{'addresses': []}"), "spec.addresses",
	  "IPAddressPool metallb-system/lan: spec.addresses: pool \"lan\": spec.addresses is empty" },
	{ POOL("lan", "{}"), "spec.addresses", NULL },
	{ "{'metadata': {'name': 'lan', 'namespace': 'metallb-system'}}", "spec",
	  "IPAddressPool metallb-system/lan: spec: missing" },
	{ "{'metadata': {'namespace': 'metallb-system'}, 'spec': {'addresses': ['192.0.2.0/24']}}",
	  "metadata.name", NULL },
	{ POOL("lan", "{'addresses': ['192.0.2.0/24', '192.0.2.300/32']}"), "spec.addresses[1]",
	  "IPAddressPool metallb-system/lan: spec.addresses[1]: pool \"lan\": address "
	  "\"192.0.2.300/32\": neither a CIDR nor an address range" },
	{ POOL("lan", "{'addresses': ['192.0.2.5']}"), "spec.addresses[0]", NULL },
	{ POOL("lan", "{'addresses': ['192.0.2.9-192.0.2.1']}"), "spec.addresses[0]", NULL },
	{ POOL("lan", "{'addresses': ['192.0.2.1-2001:db8::1']}"), "spec.addresses[0]", NULL },
	{ POOL("lan", "{'addresses': ['', '192.0.2.1/32']}"), "spec.addresses[0]", NULL },
	{ POOL("lan", "{'addresses': [7]}"), "spec.addresses[0]", NULL },
	{ POOL("lan", "{'addresses': ['192.0.2.0/24', '192.0.2.10-192.0.2.20']}"),
	  "spec.addresses[1]",
	  "IPAddressPool metallb-system/lan: spec.addresses[1]: pool \"lan\": address "
	  "\"192.0.2.10-192.0.2.20\" overlaps \"192.0.2.0/24\"" },
	{ POOL("lan", "{'addresses': ['192.0.2.0/24'], 'autoAssign': 'no'}"), "spec.autoAssign",
	  NULL },
	{ POOL("lan", "{'addresses': ['192.0.2.0/24'], 'avoidBuggyIPs': 1}"), "spec.avoidBuggyIPs",
	  NULL },
	{ POOL("lan",
	       "{'addresses': ['192.0.2.0/24'], 'serviceAllocation': {'priority': 5, "
	       "'namespaces': ['a', 'b'], 'namespaceSelectors': [{'matchLabels': {'x': 'y'}}], "
	       "'serviceSelectors': [{'matchExpressions': [{'key': 'app', 'operator': 'In', "
	       "'values': ['web']}]}]}}"),
	  NULL, NULL },
	{ POOL("lan",
	       "{'addresses': ['192.0.2.0/24'], 'serviceAllocation': {'namespaces': ['a', 'a']}}"),
	  "spec.serviceAllocation.namespaces[1]",
	  "IPAddressPool metallb-system/lan: spec.serviceAllocation.namespaces[1]: duplicate "
	  "definition of \"a\"" },
	{ POOL("lan", "{'addresses': ['192.0.2.0/24'], 'serviceAllocation': {'priority': -1}}"),
	  "spec.serviceAllocation.priority", NULL },
	{ POOL("lan", "{'addresses': ['192.0.2.0/24'], 'serviceAllocation': {'serviceSelectors': "
		      "[{'matchLabels': {'app': 'web'}}, {'matchExpressions': [{'key': 'app', "
		      "'operator': 'In', 'values': ['web']}]}]}}"),
	  "spec.serviceAllocation.serviceSelectors[1]",
	  "IPAddressPool metallb-system/lan: spec.serviceAllocation.serviceSelectors[1]: duplicate of "
	  "spec.serviceAllocation.serviceSelectors[0]" },
	{ POOL("lan", "{'addresses': ['192.0.2.0/24'], 'serviceAllocation': {'namespaceSelectors': "
		      "[{'matchExpressions': [{'key': 'env', 'operator': 'Maybe'}]}]}}"),
	  "spec.serviceAllocation.namespaceSelectors[0]", NULL },
	{ POOL("lan", "{'addresses': ['192.0.2.0/24'], 'serviceAllocation': {'serviceSelectors': "
		      "[{'matchLabels': {'app': 'bad value'}}]}}"),
	  "spec.serviceAllocation.serviceSelectors[0]", NULL },
};

START_TEST(test_pool_validation)
{
	char list[2048];
	snprintf(list, sizeof(list), "[%s, %s]", pools[_i].pool,
		 POOL("other", "{'addresses': ['198.51.100.0/24']}"));
	struct mlb_config *cfg = build(list, "[]");
	/* The other pool works whatever happens to this one. */
	ck_assert_ptr_nonnull(mlb_config_pool_by_name(cfg, "other"));
	if (pools[_i].field == NULL) {
		ck_assert_msg(mlb_config_nproblems(cfg) == 0, "%s",
			      mlb_config_nproblems(cfg) ? mlb_config_problem(cfg, 0)->message : "");
		ck_assert_uint_eq(mlb_config_npools(cfg), 2);
		ck_assert(!mlb_config_pool_refused(cfg, "lan"));
	} else {
		ck_assert_uint_eq(mlb_config_nproblems(cfg), 1);
		const struct mlb_problem *p = mlb_config_problem(cfg, 0);
		ck_assert_int_eq(p->kind, MLB_KIND_POOL);
		ck_assert_str_eq(p->field, pools[_i].field);
		if (pools[_i].message != NULL)
			ck_assert_str_eq(p->message, pools[_i].message);
		ck_assert_uint_eq(mlb_config_npools(cfg), 1);
		ck_assert_ptr_null(mlb_config_pool_by_name(cfg, "lan"));
		if (strstr(pools[_i].pool, "'name'") != NULL)
			ck_assert(mlb_config_pool_refused(cfg, "lan"));
	}
	mlb_config_free(cfg);
}
END_TEST

START_TEST(test_pool_fields)
{
	struct mlb_config *cfg = build(
		"[" POOL("a", "{'addresses': ['192.0.2.0/24', '2001:db8::/64']}") ", " POOL(
			"b", "{'addresses': ['198.51.100.10-198.51.100.20'], 'autoAssign': false, "
			     "'avoidBuggyIPs': true, 'serviceAllocation': {'priority': 3}}") "]",
		"[]");
	const struct mlb_pool *a = mlb_config_pool(cfg, 0), *b = mlb_config_pool(cfg, 1);
	ck_assert_str_eq(mlb_pool_name(a), "a");
	ck_assert(mlb_pool_auto_assign(a)); /* default true */
	ck_assert(!mlb_pool_avoid_buggy(a));
	ck_assert(!mlb_pool_has_allocation(a));
	ck_assert(ipam_pool_has_family(mlb_pool_ipam(a), IPAM_V6));
	ck_assert(!mlb_pool_auto_assign(b));
	ck_assert(mlb_pool_avoid_buggy(b));
	ck_assert(mlb_pool_has_allocation(b));
	ck_assert_int_eq(mlb_pool_priority(b), 3);
	struct ipam_addr x;
	ck_assert_int_eq(ipam_addr_parse("198.51.100.15", &x), 0);
	ck_assert_ptr_eq(mlb_config_pool_for_addr(cfg, &x), b);
	ck_assert_int_eq(ipam_addr_parse("2001:db8::abcd", &x), 0);
	ck_assert_ptr_eq(mlb_config_pool_for_addr(cfg, &x), a);
	ck_assert_int_eq(ipam_addr_parse("203.0.113.1", &x), 0);
	ck_assert_ptr_null(mlb_config_pool_for_addr(cfg, &x));
	mlb_config_free(cfg);
}
END_TEST

START_TEST(test_pool_overlap_across)
{
	/* The newer pool is refused; the older and the unrelated one keep working. */
	struct mlb_config *cfg =
		build("[{'metadata': {'name': 'new', 'creationTimestamp': '2026-02-01T00:00:00Z'}, "
		      "'spec': {'addresses': ['192.0.2.128/25']}},"
		      " {'metadata': {'name': 'old', 'creationTimestamp': '2026-01-01T00:00:00Z'}, "
		      "'spec': {'addresses': ['192.0.2.0/24']}},"
		      " {'metadata': {'name': 'v6', 'creationTimestamp': '2026-03-01T00:00:00Z'}, "
		      "'spec': {'addresses': ['2001:db8::/120']}},"
		      " {'metadata': {'name': 'old', 'creationTimestamp': '2026-04-01T00:00:00Z'}, "
		      "'spec': {'addresses': ['2001:db8:1::/120']}}]",
		      "[]");
	ck_assert_uint_eq(mlb_config_npools(cfg), 2);
	ck_assert_str_eq(mlb_pool_name(mlb_config_pool(cfg, 0)), "old");
	ck_assert_str_eq(mlb_pool_name(mlb_config_pool(cfg, 1)), "v6");
	ck_assert_uint_eq(mlb_config_nproblems(cfg), 2);
	ck_assert_str_eq(
		mlb_config_problem(cfg, 0)->message,
		"IPAddressPool new: spec.addresses: pool \"new\": address \"192.0.2.128/25\" "
		"overlaps \"192.0.2.0/24\" of pool \"old\"");
	ck_assert_str_eq(mlb_config_problem(cfg, 1)->field, "metadata.name");
	ck_assert(mlb_config_pool_refused(cfg, "new"));
	mlb_config_free(cfg);
}
END_TEST

#define ADV(name, spec) \
	"{'metadata': {'name': '" name "', 'namespace': 'metallb-system'}, 'spec': " spec "}"

static const struct {
	const char *adv;
	const char *field;
} advs[] = {
	{ ADV("l2", "{}"), NULL },
	{ "{'metadata': {'name': 'l2'}}", NULL },
	{ ADV("l2",
	      "{'ipAddressPools': ['lan', 'ghost'], 'interfaces': ['eth0', 'br0'], "
	      "'nodeSelectors': [{'matchLabels': {'kubernetes.io/hostname': 'n1'}}], "
	      "'serviceSelectors': [{'matchExpressions': [{'key': 'app', 'operator': 'Exists'}]}], "
	      "'preferredNodeSelectors': [{'weight': 100, 'preference': {'matchLabels': "
	      "{'zone': 'a'}}}, {'weight': 1, 'preference': {}}]}"),
	  NULL },
	{ ADV("l2", "{'ipAddressPools': ['lan', 'lan']}"), "spec.ipAddressPools[1]" },
	{ ADV("l2", "{'ipAddressPools': 'lan'}"), "spec.ipAddressPools" },
	{ ADV("l2", "{'ipAddressPoolSelectors': [{'matchLabels': {'a': 'b'}}, {'matchLabels': "
		    "{'a': 'b'}}]}"),
	  "spec.ipAddressPoolSelectors[1]" },
	{ ADV("l2", "{'nodeSelectors': [{'matchExpressions': [{'key': 'k', 'operator': 'In'}]}]}"),
	  "spec.nodeSelectors[0]" },
	{ ADV("l2", "{'serviceSelectors': [{'matchLabels': {'-bad': 'x'}}]}"),
	  "spec.serviceSelectors[0]" },
	{ ADV("l2", "{'interfaces': [3]}"), "spec.interfaces[0]" },
	{ ADV("l2", "{'preferredNodeSelectors': [{'weight': 0, 'preference': {}}]}"),
	  "spec.preferredNodeSelectors[0].weight" },
	{ ADV("l2", "{'preferredNodeSelectors': [{'weight': 101, 'preference': {}}]}"),
	  "spec.preferredNodeSelectors[0].weight" },
	{ ADV("l2", "{'preferredNodeSelectors': [{'weight': 5}]}"),
	  "spec.preferredNodeSelectors[0].preference" },
	{ ADV("l2", "{'preferredNodeSelectors': [{'weight': 5, 'preference': {'matchExpressions': "
		    "[{'key': 'z', 'operator': 'Exists', 'values': ['a']}]}}]}"),
	  "spec.preferredNodeSelectors[0].preference" },
};

START_TEST(test_adv_validation)
{
	char list[2048];
	snprintf(list, sizeof(list), "[%s, %s]", advs[_i].adv, ADV("other", "{}"));
	struct mlb_config *cfg =
		build("[" POOL("lan", "{'addresses': ['192.0.2.0/24']}") "]", list);
	if (advs[_i].field == NULL) {
		ck_assert_msg(mlb_config_nproblems(cfg) == 0, "%s",
			      mlb_config_nproblems(cfg) ? mlb_config_problem(cfg, 0)->message : "");
		ck_assert_uint_eq(mlb_config_nl2advs(cfg), 2);
	} else {
		ck_assert_uint_eq(mlb_config_nproblems(cfg), 1);
		ck_assert_int_eq(mlb_config_problem(cfg, 0)->kind, MLB_KIND_L2ADV);
		ck_assert_str_eq(mlb_config_problem(cfg, 0)->field, advs[_i].field);
		ck_assert_uint_eq(mlb_config_nl2advs(cfg), 1);
		ck_assert_str_eq(mlb_l2adv_name(mlb_config_l2adv(cfg, 0)), "other");
	}
	mlb_config_free(cfg);
}
END_TEST

START_TEST(test_adv_semantics)
{
	struct mlb_config *cfg = build(
		"[{'metadata': {'name': 'lan', 'labels': {'tier': 'cheap'}}, 'spec': {'addresses': "
		"['192.0.2.0/24']}}, {'metadata': {'name': 'wan'}, 'spec': {'addresses': "
		"['198.51.100.0/24']}}]",
		"[" ADV("all", "{}") ", " ADV("by-name", "{'ipAddressPools': ['wan', 'ghost']}") ", " ADV(
			"by-label",
			"{'ipAddressPoolSelectors': [{'matchLabels': {'tier': 'cheap'}}], "
			"'interfaces': ['eth1'], 'nodeSelectors': [{'matchLabels': "
			"{'role': 'edge'}}], 'serviceSelectors': [{'matchLabels': "
			"{'expose': 'lan'}}], 'preferredNodeSelectors': [{'weight': 30, "
			"'preference': {'matchLabels': {'zone': 'a'}}}, {'weight': 20, "
			"'preference': {'matchExpressions': [{'key': 'ssd', "
			"'operator': 'Exists'}]}}]}") "]");
	ck_assert_uint_eq(mlb_config_nproblems(cfg), 0);
	const struct mlb_l2adv *got[4];
	ck_assert_uint_eq(mlb_config_l2advs_for_pool(cfg, "lan", got, 4), 2);
	ck_assert_str_eq(mlb_l2adv_name(got[0]), "all");
	ck_assert_str_eq(mlb_l2adv_name(got[1]), "by-label");
	ck_assert_uint_eq(mlb_config_l2advs_for_pool(cfg, "wan", got, 4), 2);
	ck_assert_str_eq(mlb_l2adv_name(got[1]), "by-name");
	/* An advertisement naming a pool that does not exist is accepted, as MetalLB does. */
	ck_assert(mlb_l2adv_applies_to_pool(got[1], "ghost"));
	ck_assert_uint_eq(mlb_config_l2advs_for_pool(cfg, "lan", got, 4), 2);
	const struct mlb_l2adv *a = got[1], *all = got[0];
	json_t *edge = J("{'role': 'edge', 'zone': 'a', 'ssd': ''}"), *core = J("{'role': 'core'}");
	json_t *svc_lan = J("{'expose': 'lan'}");
	ck_assert(mlb_l2adv_selects_node(a, edge));
	ck_assert(!mlb_l2adv_selects_node(a, core));
	ck_assert(mlb_l2adv_selects_node(all, core));
	ck_assert(!mlb_l2adv_selects_node(a, NULL));
	ck_assert_int_eq(mlb_l2adv_preference(a, edge), 50);
	ck_assert_int_eq(mlb_l2adv_preference(a, core), 0);
	ck_assert(mlb_l2adv_selects_service(a, svc_lan));
	ck_assert(!mlb_l2adv_selects_service(a, NULL));
	ck_assert(mlb_l2adv_selects_service(all, NULL));
	ck_assert(mlb_l2adv_has_service_selectors(a));
	ck_assert(!mlb_l2adv_has_service_selectors(all));
	ck_assert(mlb_l2adv_allows_interface(a, "eth1"));
	ck_assert(!mlb_l2adv_allows_interface(a, "eth0"));
	ck_assert(mlb_l2adv_allows_interface(all, "anything"));
	ck_assert_uint_eq(mlb_l2adv_ninterfaces(a), 1);
	ck_assert_str_eq(mlb_l2adv_interface(a, 0), "eth1");
	ck_assert_str_eq(mlb_l2adv_namespace(a), "metallb-system");
	json_decref(edge);
	json_decref(core);
	json_decref(svc_lan);
	mlb_config_free(cfg);
}
END_TEST

#define SVC(ann, spec)                                                                 \
	"{'metadata': {'name': 'web', 'namespace': 'shop', 'labels': {'app': 'web'}, " \
	"'annotations': " ann "}, 'spec': " spec "}"
#define LB4 "'type': 'LoadBalancer', 'clusterIPs': ['10.96.0.10']"
#define LB46                                                                                   \
	"'type': 'LoadBalancer', 'clusterIPs': ['10.96.0.10', 'fd00::10'], 'ipFamilyPolicy': " \
	"'RequireDualStack'"

static const struct {
	const char *svc;
	const char *lb_class;
	enum mlb_svc_status want;
	const char *families;  /* "4", "46", "64" */
	const char *requested; /* comma-separated, as parsed */
	const char *pool, *sharing, *backend;
	unsigned long deprecated;
} svcs[] = {
	{ SVC("{}", "{" LB4 "}"), NULL, MLB_SVC_OK, "4", "", NULL, NULL, NULL, 0 },
	{ SVC("{}", "{'type': 'ClusterIP', 'clusterIPs': ['10.96.0.10']}"), NULL, MLB_SVC_NOT_LB },
	{ SVC("{}", "{'clusterIPs': ['10.96.0.10']}"), NULL, MLB_SVC_NOT_LB },
	{ SVC("{}", "{" LB4 ", 'loadBalancerClass': 'other.io/lb'}"), NULL, MLB_SVC_OTHER_CLASS },
	{ SVC("{}", "{" LB4 ", 'loadBalancerClass': 'other.io/lb'}"), "l2lb.io/l2",
	  MLB_SVC_OTHER_CLASS },
	{ SVC("{}", "{" LB4 ", 'loadBalancerClass': 'l2lb.io/l2'}"), "l2lb.io/l2", MLB_SVC_OK, "4",
	  "" },
	{ SVC("{}", "{" LB4 "}"), "l2lb.io/l2", MLB_SVC_OK, "4", "" },
	{ SVC("{}", "{'type': 'LoadBalancer', 'clusterIP': 'None'}"), NULL, MLB_SVC_NO_CLUSTER_IP },
	{ SVC("{}", "{'type': 'LoadBalancer'}"), NULL, MLB_SVC_NO_CLUSTER_IP },
	{ SVC("{}", "{'type': 'LoadBalancer', 'clusterIP': 'fd00::1'}"), NULL, MLB_SVC_OK, "6",
	  "" },
	/* Families follow the cluster IPs, not the policy asked for. */
	{ SVC("{}", "{'type': 'LoadBalancer', 'clusterIPs': ['10.96.0.1'], 'ipFamilyPolicy': "
		    "'PreferDualStack', 'ipFamilies': ['IPv4', 'IPv6']}"),
	  NULL, MLB_SVC_OK, "4", "" },
	{ SVC("{}", "{'type': 'LoadBalancer', 'clusterIPs': ['fd00::1', '10.96.0.1']}"), NULL,
	  MLB_SVC_OK, "64", "" },
	{ SVC("{'metallb.io/loadBalancerIPs': '192.0.2.210'}", "{" LB4 "}"), NULL, MLB_SVC_OK, "4",
	  "192.0.2.210" },
	{ SVC("{'metallb.universe.tf/loadBalancerIPs': '192.0.2.210'}", "{" LB4 "}"), NULL,
	  MLB_SVC_OK, "4", "192.0.2.210", NULL, NULL, NULL, MLB_DEPRECATED_LB_IPS },
	/* metallb.io wins, and the old one present still earns a warning. */
	{ SVC("{'metallb.io/loadBalancerIPs': '192.0.2.211', 'metallb.universe.tf/loadBalancerIPs': "
	      "'192.0.2.210'}",
	      "{" LB4 "}"),
	  NULL, MLB_SVC_OK, "4", "192.0.2.211", NULL, NULL, NULL, MLB_DEPRECATED_LB_IPS },
	{ SVC("{}", "{" LB4 ", 'loadBalancerIP': '192.0.2.212'}"), NULL, MLB_SVC_OK, "4",
	  "192.0.2.212", NULL, NULL, NULL, MLB_DEPRECATED_SPEC_LB_IP },
	/* The annotation wins over spec.loadBalancerIP. */
	{ SVC("{'metallb.io/loadBalancerIPs': '192.0.2.213'}", "{" LB4 ", 'loadBalancerIP': "
							       "'192.0.2.212'}"),
	  NULL, MLB_SVC_OK, "4", "192.0.2.213" },
	{ SVC("{'metallb.io/loadBalancerIPs': '192.0.2.210, 2001:db8::210'}", "{" LB46 "}"), NULL,
	  MLB_SVC_OK, "46", "192.0.2.210,2001:db8::210" },
	{ SVC("{'metallb.io/loadBalancerIPs': '192.0.2.210'}", "{" LB46 "}"), NULL,
	  MLB_SVC_REQUESTED_FAMILY },
	{ SVC("{'metallb.io/loadBalancerIPs': '2001:db8::210'}", "{" LB4 "}"), NULL,
	  MLB_SVC_REQUESTED_FAMILY },
	{ SVC("{'metallb.io/loadBalancerIPs': '192.0.2.210,192.0.2.211'}", "{" LB46 "}"), NULL,
	  MLB_SVC_BAD_REQUESTED_IP },
	{ SVC("{'metallb.io/loadBalancerIPs': 'banana'}", "{" LB4 "}"), NULL,
	  MLB_SVC_BAD_REQUESTED_IP },
	{ SVC("{'metallb.io/loadBalancerIPs': ''}", "{" LB4 "}"), NULL, MLB_SVC_BAD_REQUESTED_IP },
	{ SVC("{'metallb.io/address-pool': 'lan', 'metallb.universe.tf/address-pool': 'wan'}",
	      "{" LB4 "}"),
	  NULL, MLB_SVC_OK, "4", "", "lan", NULL, NULL, MLB_DEPRECATED_POOL },
	{ SVC("{'metallb.universe.tf/allow-shared-ip': 'k1'}", "{" LB4 "}"), NULL, MLB_SVC_OK, "4",
	  "", NULL, "k1", NULL, MLB_DEPRECATED_SHARED },
	{ SVC("{'metallb.io/allow-shared-ip': 'k1'}", "{" LB4 ", 'externalTrafficPolicy': 'Local', "
						      "'selector': {'tier': 'fe', 'app': 'web'}}"),
	  NULL, MLB_SVC_OK, "4", "", NULL, "k1", "app=web,tier=fe" },
	{ SVC("{}", "{" LB4 ", 'externalTrafficPolicy': 'Cluster', 'selector': {'app': 'web'}}"),
	  NULL, MLB_SVC_OK, "4", "" },
	{ SVC("{}", "{" LB4 ", 'ports': [{'port': 80}, {'port': 53, 'protocol': 'UDP'}]}"), NULL,
	  MLB_SVC_OK, "4", "" },
	{ SVC("{}", "{" LB4 ", 'ports': [{'port': 70000}]}"), NULL, MLB_SVC_MALFORMED },
	{ "{'metadata': {}, 'spec': {" LB4 "}}", NULL, MLB_SVC_MALFORMED },
	{ "[]", NULL, MLB_SVC_MALFORMED },
};

START_TEST(test_service_parse)
{
	json_t *j = J(svcs[_i].svc);
	struct mlb_service *s;
	char msg[256] = "";
	enum mlb_svc_status st = mlb_service_parse(j, svcs[_i].lb_class, &s, msg, sizeof(msg));
	json_decref(j);
	ck_assert_msg(st == svcs[_i].want, "case %d: got %s (%s)", _i, mlb_svc_status_str(st), msg);
	if (st != MLB_SVC_OK) {
		ck_assert_ptr_null(s);
		ck_assert_str_ne(msg, "");
		return;
	}
	char fam[4] = "", req[128] = "";
	for (size_t i = 0; i < mlb_service_nfamilies(s); i++)
		strcat(fam, mlb_service_family(s, i) == IPAM_V4 ? "4" : "6");
	for (size_t i = 0; i < mlb_service_nrequested(s); i++) {
		char b[IPAM_ADDR_STRLEN];
		if (i > 0)
			strcat(req, ",");
		strcat(req, ipam_addr_format(mlb_service_requested(s, i), b, sizeof(b)));
	}
	ck_assert_str_eq(fam, svcs[_i].families);
	ck_assert_str_eq(req, svcs[_i].requested);
	ck_assert_pstr_eq(mlb_service_pool(s), svcs[_i].pool);
	ck_assert_pstr_eq(mlb_service_sharing_key(s), svcs[_i].sharing);
	ck_assert_pstr_eq(mlb_service_backend_key(s), svcs[_i].backend);
	ck_assert_uint_eq(mlb_service_deprecated(s), svcs[_i].deprecated);
	ck_assert_str_eq(mlb_service_key(s), "shop/web");
	struct ipam_claim c;
	mlb_service_claim(s, &c);
	ck_assert_str_eq(c.service, "shop/web");
	mlb_service_free(s);
}
END_TEST

START_TEST(test_service_ports_and_policy)
{
	json_t *j = J(SVC("{}", "{" LB46 ", 'ports': [{'port': 80}, {'port': 53, 'protocol': "
				"'UDP'}]}"));
	struct mlb_service *s;
	ck_assert_int_eq(mlb_service_parse(j, NULL, &s, NULL, 0), MLB_SVC_OK);
	struct ipam_claim c;
	mlb_service_claim(s, &c);
	ck_assert_uint_eq(c.nports, 2);
	ck_assert_uint_eq(c.ports[0].port, 80);
	ck_assert_int_eq(c.ports[0].proto, IPAM_PROTO_TCP);
	ck_assert_int_eq(c.ports[1].proto, IPAM_PROTO_UDP);
	ck_assert_int_eq(mlb_service_policy(s), MLB_POLICY_REQUIRE_DUAL_STACK);
	ck_assert_str_eq(mlb_family_policy_str(mlb_service_policy(s)), "RequireDualStack");
	ck_assert_str_eq(json_string_value(json_object_get(mlb_service_labels(s), "app")), "web");
	ck_assert_str_eq(
		mlb_deprecated_hint(MLB_DEPRECATED_POOL),
		"metallb.universe.tf/address-pool is deprecated, use metallb.io/address-pool");
	mlb_service_free(s);
	json_decref(j);
}
END_TEST

/* Pools named for what they test; see the MetalLB "advanced IPAddressPool configuration" doc. */
static const char *choice_pools = "[" POOL("default", "{'addresses': ['192.0.2.0/28', '2001:db8::/120']}") ", " POOL(
	"zzz", "{'addresses': ['192.0.2.16/28', '2001:db8::100/120']}") ", " POOL("expensive", "{'addresses': ['198.51.100.0/30'], 'autoAssign': false}") ", " POOL("prio1",
																				    "{'addresses': ['192.0.2.32/28'], 'serviceAllocation': {'priority': 1, 'namespaces': ['team-a']}}") ", " POOL("prio2",
																																		  "{'addresses': ['192.0.2.48/28'], 'serviceAllocation': {'priority': 2, 'serviceSelectors': [{'matchLabels': {'app': 'web'}}]}}") ", " POOL("noprio", "{'addresses': ['192.0.2.64/28'], 'serviceAllocation': {'namespaceSelectors': [{'matchLabels': {'env': 'prod'}}]}}") ", " POOL("quiet",
																																																																				      "{'addresses': ['192.0.2.80/28'], 'autoAssign': false, 'serviceAllocation': {'priority': 1}}") "]";

#define CSVC(ns, labels, ann, extra)                                                               \
	"{'metadata': {'name': 's', 'namespace': '" ns "', 'labels': " labels                      \
	", 'annotations': " ann "}, 'spec': {'type': 'LoadBalancer', 'clusterIPs': ['10.96.0.1', " \
	"'fd00::1']" extra "}}"

static const struct {
	const char *svc;
	const char *ns_labels;
	enum mlb_choice want;
	const char *pools; /* space-separated, best first */
} choices[] = {
	{ CSVC("other", "{}", "{}", ""), "{}", MLB_CHOICE_OK, "default zzz" },
	{ CSVC("team-a", "{}", "{}", ""), "{}", MLB_CHOICE_OK, "prio1 default zzz" },
	{ CSVC("team-a", "{'app': 'web'}", "{}", ""), "{}", MLB_CHOICE_OK,
	  "prio1 prio2 default zzz" },
	{ CSVC("other", "{'app': 'web'}", "{}", ""), "{'env': 'prod'}", MLB_CHOICE_OK,
	  "prio2 noprio default zzz" },
	{ CSVC("other", "{}", "{}", ""), "{'env': 'prod'}", MLB_CHOICE_OK, "noprio default zzz" },
	{ CSVC("other", "{}", "{}", ""), "null", MLB_CHOICE_OK, "default zzz" },
	/* autoAssign: false pools serve only when asked by name or by address. */
	{ CSVC("other", "{}", "{'metallb.io/address-pool': 'expensive'}", ""), "{}", MLB_CHOICE_OK,
	  "expensive" },
	{ CSVC("other", "{}", "{'metallb.io/loadBalancerIPs': '198.51.100.2'}", ""), "{}",
	  MLB_CHOICE_OK, "expensive" },
	{ CSVC("other", "{}", "{'metallb.io/address-pool': 'nope'}", ""), "{}",
	  MLB_CHOICE_UNKNOWN_POOL, "" },
	{ CSVC("other", "{}", "{'metallb.io/address-pool': 'prio1'}", ""), "{}",
	  MLB_CHOICE_POOL_REFUSES, "" },
	{ CSVC("team-a", "{}", "{'metallb.io/address-pool': 'prio1'}", ""), "{}", MLB_CHOICE_OK,
	  "prio1" },
	{ CSVC("other", "{}", "{'metallb.io/loadBalancerIPs': '203.0.113.9'}", ""), "{}",
	  MLB_CHOICE_NOT_IN_POOL, "" },
	{ CSVC("other", "{}", "{'metallb.io/loadBalancerIPs': '192.0.2.1,2001:db8::101'}", ""),
	  "{}", MLB_CHOICE_SPLIT_POOLS, "" },
	{ CSVC("other", "{}", "{'metallb.io/loadBalancerIPs': '192.0.2.1,2001:db8::1'}", ""), "{}",
	  MLB_CHOICE_OK, "default" },
	{ CSVC("other", "{}",
	       "{'metallb.io/loadBalancerIPs': '192.0.2.1', 'metallb.io/address-pool': 'zzz'}", ""),
	  "{}", MLB_CHOICE_POOL_MISMATCH, "" },
	{ CSVC("other", "{}", "{'metallb.io/loadBalancerIPs': '192.0.2.33'}", ""), "{}",
	  MLB_CHOICE_POOL_REFUSES, "" },
};

START_TEST(test_pool_choice)
{
	struct mlb_config *cfg = build(choice_pools, "[]");
	ck_assert_uint_eq(mlb_config_nproblems(cfg), 0);
	json_t *j = J(choices[_i].svc), *nsl = J(choices[_i].ns_labels);
	struct mlb_service *s;
	char msg[256] = "";
	ck_assert_msg(mlb_service_parse(j, NULL, &s, msg, sizeof(msg)) == MLB_SVC_OK, "%s", msg);
	const struct mlb_pool *out[8];
	size_t n;
	enum mlb_choice st = mlb_config_pools_for_service(cfg, s, nsl, out, 8, &n);
	ck_assert_msg(st == choices[_i].want, "case %d: got %s", _i, mlb_choice_str(st));
	char names[128] = "";
	for (size_t i = 0; i < n && i < 8; i++) {
		if (i > 0)
			strcat(names, " ");
		strcat(names, mlb_pool_name(out[i]));
	}
	ck_assert_str_eq(names, choices[_i].pools);
	mlb_service_free(s);
	json_decref(j);
	json_decref(nsl);
	mlb_config_free(cfg);
}
END_TEST

START_TEST(test_sharing_denied_by_service_selectors)
{
	/* A service an advertisement selects by serviceSelectors may not use allow-shared-ip. */
	struct mlb_config *cfg = build(
		"[" POOL("lan", "{'addresses': ['192.0.2.0/28']}") "]",
		"[" ADV("sel", "{'serviceSelectors': [{'matchLabels': {'app': 'web'}}]}") "]");
	json_t *shared = J(CSVC("x", "{'app': 'web'}", "{'metallb.io/allow-shared-ip': 'k'}", ""));
	json_t *other = J(CSVC("x", "{'app': 'db'}", "{'metallb.io/allow-shared-ip': 'k'}", ""));
	struct mlb_service *s1, *s2;
	ck_assert_int_eq(mlb_service_parse(shared, NULL, &s1, NULL, 0), MLB_SVC_OK);
	ck_assert_int_eq(mlb_service_parse(other, NULL, &s2, NULL, 0), MLB_SVC_OK);
	const struct mlb_pool *out[2];
	size_t n;
	ck_assert_int_eq(mlb_config_pools_for_service(cfg, s1, NULL, out, 2, &n),
			 MLB_CHOICE_SHARING_DENIED);
	ck_assert_int_eq(mlb_config_pools_for_service(cfg, s2, NULL, out, 2, &n), MLB_CHOICE_OK);
	mlb_service_free(s1);
	mlb_service_free(s2);
	json_decref(shared);
	json_decref(other);
	mlb_config_free(cfg);
}
END_TEST

/* End to end on the pure side: choice, then ipam, for a dual-stack service. */
START_TEST(test_choice_then_allocate)
{
	struct mlb_config *cfg = build(choice_pools, "[]");
	json_t *j = J(CSVC("team-a", "{}", "{}", ", 'ipFamilyPolicy': 'RequireDualStack'"));
	struct mlb_service *s;
	ck_assert_int_eq(mlb_service_parse(j, NULL, &s, NULL, 0), MLB_SVC_OK);
	const struct mlb_pool *out[8];
	size_t n;
	ck_assert_int_eq(mlb_config_pools_for_service(cfg, s, NULL, out, 8, &n), MLB_CHOICE_OK);
	struct ipam *ip = ipam_new();
	struct ipam_claim c;
	mlb_service_claim(s, &c);
	struct ipam_addr a4 = { 0 }, a6 = { 0 };
	enum ipam_status st = IPAM_NO_POOL;
	size_t i;
	/* prio1 has no IPv6, so the dual-stack service lands in the next pool with both. */
	for (i = 0; i < n && st != IPAM_OK; i++)
		st = ipam_alloc_dual(ip, mlb_pool_ipam(out[i]), &c, &a4, &a6);
	ck_assert_int_eq(st, IPAM_OK);
	ck_assert_str_eq(mlb_pool_name(out[i - 1]), "default");
	char b[IPAM_ADDR_STRLEN];
	ck_assert_str_eq(ipam_addr_format(&a4, b, sizeof(b)), "192.0.2.0");
	ck_assert_str_eq(ipam_addr_format(&a6, b, sizeof(b)), "2001:db8::");
	ipam_free(ip);
	mlb_service_free(s);
	json_decref(j);
	mlb_config_free(cfg);
}
END_TEST

/* The fixture written the way MetalLB documents it (JSON twin of test/fixtures/metallb-*.yaml). */
START_TEST(test_fixture)
{
	const char *top = getenv("L2LB_TOP");
	char path[1024];
	snprintf(path, sizeof(path), "%s/test/fixtures/metallb-config.json", top ? top : ".");
	json_error_t err;
	json_t *list = json_load_file(path, 0, &err);
	ck_assert_msg(list != NULL, "%s: %s", path, err.text);
	const json_t *items = json_object_get(list, "items"), *obj;
	const json_t *pv[32], *av[32];
	size_t np = 0, na = 0, i;
	json_array_foreach(items, i, obj)
	{
		const char *kind = json_string_value(json_object_get(obj, "kind"));
		if (strcmp(kind, "IPAddressPool") == 0 && np < 32)
			pv[np++] = obj;
		else if (strcmp(kind, "L2Advertisement") == 0 && na < 32)
			av[na++] = obj;
	}
	struct mlb_config *cfg = mlb_config_build(pv, np, av, na);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_msg(mlb_config_nproblems(cfg) == 0, "%s",
		      mlb_config_nproblems(cfg) ? mlb_config_problem(cfg, 0)->message : "");
	ck_assert_uint_eq(mlb_config_npools(cfg), np);
	ck_assert_uint_eq(mlb_config_nl2advs(cfg), na);
	const struct mlb_pool *lan = mlb_config_pool_by_name(cfg, "lan");
	const struct mlb_pool *exp = mlb_config_pool_by_name(cfg, "expensive");
	const struct mlb_pool *team = mlb_config_pool_by_name(cfg, "team-a");
	ck_assert(lan && exp && team);
	ck_assert(ipam_pool_has_family(mlb_pool_ipam(lan), IPAM_V4));
	ck_assert(ipam_pool_has_family(mlb_pool_ipam(lan), IPAM_V6));
	ck_assert(mlb_pool_avoid_buggy(lan));
	ck_assert(!mlb_pool_auto_assign(exp));
	ck_assert_int_eq(mlb_pool_priority(team), 10);
	const struct mlb_l2adv *ads[8];
	ck_assert_uint_eq(mlb_config_l2advs_for_pool(cfg, "lan", ads, 8), 2);
	ck_assert_uint_eq(mlb_config_l2advs_for_pool(cfg, "expensive", ads, 8), 1);
	ck_assert_str_eq(mlb_l2adv_name(ads[0]), "expensive-edge");
	json_t *node = json_pack("{s:s, s:s}", "node-role.kubernetes.io/edge", "",
				 "topology.kubernetes.io/zone", "rack-1");
	ck_assert(mlb_l2adv_selects_node(ads[0], node));
	ck_assert_int_eq(mlb_l2adv_preference(ads[0], node), 80);
	json_decref(node);
	/* The services of the fixture parse and find their pools. */
	size_t services = 0;
	json_array_foreach(items, i, obj)
	{
		if (strcmp(json_string_value(json_object_get(obj, "kind")), "Service") != 0)
			continue;
		struct mlb_service *s;
		char msg[256];
		ck_assert_msg(mlb_service_parse(obj, NULL, &s, msg, sizeof(msg)) == MLB_SVC_OK,
			      "%s", msg);
		const struct mlb_pool *out[8];
		size_t n;
		ck_assert_int_eq(mlb_config_pools_for_service(cfg, s, NULL, out, 8, &n),
				 MLB_CHOICE_OK);
		const char *want = json_string_value(json_object_get(
			json_object_get(json_object_get(obj, "metadata"), "annotations"),
			"test.l2lb.io/expect-pool"));
		ck_assert_ptr_nonnull(want);
		ck_assert_str_eq(mlb_pool_name(out[0]), want);
		mlb_service_free(s);
		services++;
	}
	ck_assert_uint_ge(services, 3);
	mlb_config_free(cfg);
	json_decref(list);
}
END_TEST

START_TEST(test_strings)
{
	for (int i = MLB_SVC_OK; i <= MLB_SVC_NOMEM; i++)
		ck_assert_str_ne(mlb_svc_status_str((enum mlb_svc_status)i), "?");
	for (int i = MLB_CHOICE_OK; i <= MLB_CHOICE_SHARING_DENIED; i++)
		ck_assert_str_ne(mlb_choice_str((enum mlb_choice)i), "?");
	ck_assert_str_eq(mlb_kind_str(MLB_KIND_L2ADV), "L2Advertisement");
	mlb_config_free(NULL);
	mlb_service_free(NULL);
}
END_TEST

static Suite *mlb_suite(void)
{
	Suite *s = suite_create("mlb");
	TCase *tc = tcase_create("mlb");
	tcase_add_loop_test(tc, test_pool_validation, 0, sizeof(pools) / sizeof(pools[0]));
	tcase_add_test(tc, test_pool_fields);
	tcase_add_test(tc, test_pool_overlap_across);
	tcase_add_loop_test(tc, test_adv_validation, 0, sizeof(advs) / sizeof(advs[0]));
	tcase_add_test(tc, test_adv_semantics);
	tcase_add_loop_test(tc, test_service_parse, 0, sizeof(svcs) / sizeof(svcs[0]));
	tcase_add_test(tc, test_service_ports_and_policy);
	tcase_add_loop_test(tc, test_pool_choice, 0, sizeof(choices) / sizeof(choices[0]));
	tcase_add_test(tc, test_sharing_denied_by_service_selectors);
	tcase_add_test(tc, test_choice_then_allocate);
	tcase_add_test(tc, test_fixture);
	tcase_add_test(tc, test_strings);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(mlb_suite)
