/* Unit tests for controller/reconcile: one Service's decision, keyed on the outcome enums. */
#include "controller/reconcile.h"
#include "jsonfix.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define POOL(name, spec) \
	"{'metadata': {'name': '" name "', 'namespace': 'l2lb-system'}, 'spec': " spec "}"
#define ADV_ALL "[{'metadata': {'name': 'all', 'namespace': 'l2lb-system'}, 'spec': {}}]"
#define NO_ADV	"[]"

#define LAN    POOL("lan", "{'addresses': ['192.0.2.200-192.0.2.202', '2001:db8::200-2001:db8::202']}")
#define LAN4   POOL("lan", "{'addresses': ['192.0.2.200-192.0.2.202']}")
#define TINY   POOL("tiny", "{'addresses': ['198.51.100.1/32']}")
#define MANUAL POOL("manual", "{'addresses': ['198.51.100.10-198.51.100.20'], 'autoAssign': false}")
#define V6ONLY POOL("six", "{'addresses': ['2001:db8:1::10-2001:db8:1::20']}")

#define V4SPEC                                                                                \
	"'type': 'LoadBalancer', 'clusterIP': '198.19.0.10', 'clusterIPs': ['198.19.0.10'], " \
	"'ipFamilies': ['IPv4'], 'ipFamilyPolicy': 'SingleStack', "                           \
	"'ports': [{'port': 80, 'protocol': 'TCP'}]"
#define DUAL(policy)                                                                           \
	"'type': 'LoadBalancer', 'clusterIP': '198.19.0.11', "                                 \
	"'clusterIPs': ['198.19.0.11', '2001:db8:ffff::11'], 'ipFamilies': ['IPv4', 'IPv6'], " \
	"'ipFamilyPolicy': '" policy "', 'ports': [{'port': 80, 'protocol': 'TCP'}]"
#define V6FIRST                                                                                \
	"'type': 'LoadBalancer', 'clusterIP': '2001:db8:ffff::12', "                           \
	"'clusterIPs': ['2001:db8:ffff::12', '198.19.0.12'], 'ipFamilies': ['IPv6', 'IPv4'], " \
	"'ipFamilyPolicy': 'PreferDualStack', 'ports': [{'port': 80, 'protocol': 'TCP'}]"

#define SVC(name, ann, spec, status)                                                      \
	"{'metadata': {'name': '" name "', 'namespace': 'default', 'creationTimestamp': " \
	"'2026-01-01T00:00:00Z', 'annotations': {" ann "}}, 'spec': {" spec               \
	"}, 'status': {" status "}}"
#define ING(ip) "'loadBalancer': {'ingress': [{'ip': '" ip "'}]}"

struct row {
	const char *name;
	const char *pools;
	const char *advs;
	const char *pre; /* services reconciled first (JSON array), each must not fail */
	const char *svc; /* NULL: deleted */
	const char *lb_class;
	enum reconcile_outcome outcome;
	enum reconcile_reason reason;
	const char *addrs;	/* "a,b" as the ingress should read, "" for none */
	unsigned long warnings; /* -1u: do not care (long: no padding in the table) */
	const char *pool;	/* annotation it should carry */
	long write_status;	/* -1: do not care */
};

static const struct row rows[] = {
	{ "first address", "[" LAN "]", ADV_ALL, "[]", SVC("web", "", V4SPEC, ""), NULL,
	  RECONCILE_ASSIGNED, RECONCILE_REASON_NONE, "192.0.2.200", 0, "lan", 1 },
	{ "lowest free after another", "[" LAN "]", ADV_ALL, "[" SVC("a", "", V4SPEC, "") "]",
	  SVC("web", "", V4SPEC, ""), NULL, RECONCILE_ASSIGNED, RECONCILE_REASON_NONE,
	  "192.0.2.201", 0, "lan", 1 },
	{ "status already right", "[" LAN "]", ADV_ALL, "[" SVC("web", "", V4SPEC, "") "]",
	  SVC("web", "'metallb.io/ip-allocated-from-pool': 'lan'", V4SPEC, ING("192.0.2.200")),
	  NULL, RECONCILE_UNCHANGED, RECONCILE_REASON_NONE, "192.0.2.200", 0, "lan", 0 },
	{ "not a LoadBalancer", "[" LAN "]", ADV_ALL, "[]",
	  SVC("web", "", "'type': 'ClusterIP', 'clusterIP': '198.19.0.10'", ""), NULL,
	  RECONCILE_IGNORED, RECONCILE_REASON_NONE, "", 0, "", 0 },
	{ "type changed away: released", "[" LAN "]", ADV_ALL, "[" SVC("web", "", V4SPEC, "") "]",
	  SVC("web", "'metallb.io/ip-allocated-from-pool': 'lan'",
	      "'type': 'ClusterIP', 'clusterIP': '198.19.0.10'", ING("192.0.2.200")),
	  NULL, RECONCILE_RELEASED, RECONCILE_REASON_NONE, "", 0, "", 1 },
	{ "deleted: released", "[" LAN "]", ADV_ALL, "[" SVC("web", "", V4SPEC, "") "]", NULL, NULL,
	  RECONCILE_RELEASED, RECONCILE_REASON_NONE, "", 0, "", -1 },
	{ "other class ignored", "[" LAN "]", ADV_ALL, "[]",
	  SVC("web", "", V4SPEC ", 'loadBalancerClass': 'other.io/lb'", ""), NULL,
	  RECONCILE_IGNORED, RECONCILE_REASON_NONE, "", 0, "", 0 },
	{ "our class served", "[" LAN "]", ADV_ALL, "[]",
	  SVC("web", "", V4SPEC ", 'loadBalancerClass': 'l2lb.io/lb'", ""), "l2lb.io/lb",
	  RECONCILE_ASSIGNED, RECONCILE_REASON_NONE, "192.0.2.200", 0, "lan", 1 },
	{ "class changed away: released", "[" LAN "]", ADV_ALL, "[" SVC("web", "", V4SPEC, "") "]",
	  SVC("web", "'metallb.io/ip-allocated-from-pool': 'lan'",
	      V4SPEC ", 'loadBalancerClass': 'other.io/lb'", ING("192.0.2.200")),
	  NULL, RECONCILE_RELEASED, RECONCILE_REASON_NONE, "", 0, "", 1 },
	{ "requested (metallb.io)", "[" LAN "]", ADV_ALL, "[]",
	  SVC("web", "'metallb.io/loadBalancerIPs': '192.0.2.202'", V4SPEC, ""), NULL,
	  RECONCILE_ASSIGNED, RECONCILE_REASON_NONE, "192.0.2.202", 0, "lan", 1 },
	{ "requested (deprecated prefix) warns", "[" LAN "]", ADV_ALL, "[]",
	  SVC("web", "'metallb.universe.tf/loadBalancerIPs': '192.0.2.201'", V4SPEC, ""), NULL,
	  RECONCILE_ASSIGNED, RECONCILE_REASON_NONE, "192.0.2.201", RECONCILE_WARN_DEPRECATED,
	  "lan", 1 },
	{ "metallb.io wins over the old prefix", "[" LAN "]", ADV_ALL, "[]",
	  SVC("web",
	      "'metallb.io/loadBalancerIPs': '192.0.2.202', "
	      "'metallb.universe.tf/loadBalancerIPs': '192.0.2.201'",
	      V4SPEC, ""),
	  NULL, RECONCILE_ASSIGNED, RECONCILE_REASON_NONE, "192.0.2.202", -1u, "lan", 1 },
	{ "spec.loadBalancerIP, deprecated", "[" LAN "]", ADV_ALL, "[]",
	  SVC("web", "", V4SPEC ", 'loadBalancerIP': '192.0.2.201'", ""), NULL, RECONCILE_ASSIGNED,
	  RECONCILE_REASON_NONE, "192.0.2.201", RECONCILE_WARN_DEPRECATED, "lan", 1 },
	{ "requested from a manual pool", "[" LAN "," MANUAL "]", ADV_ALL, "[]",
	  SVC("web", "'metallb.io/loadBalancerIPs': '198.51.100.15'", V4SPEC, ""), NULL,
	  RECONCILE_ASSIGNED, RECONCILE_REASON_NONE, "198.51.100.15", 0, "manual", 1 },
	{ "requested not in any pool", "[" LAN "]", ADV_ALL, "[]",
	  SVC("web", "'metallb.io/loadBalancerIPs': '203.0.113.5'", V4SPEC, ""), NULL,
	  RECONCILE_FAILED, RECONCILE_REASON_NOT_IN_POOL, "", 0, "", 0 },
	{ "requested garbage", "[" LAN "]", ADV_ALL, "[]",
	  SVC("web", "'metallb.io/loadBalancerIPs': 'not-an-ip'", V4SPEC, ""), NULL,
	  RECONCILE_FAILED, RECONCILE_REASON_BAD_REQUEST, "", 0, "", 0 },
	{ "requested in use", "[" LAN "]", ADV_ALL, "[" SVC("a", "", V4SPEC, "") "]",
	  SVC("web", "'metallb.io/loadBalancerIPs': '192.0.2.200'", V4SPEC, ""), NULL,
	  RECONCILE_FAILED, RECONCILE_REASON_IN_USE, "", 0, "", 0 },
	{ "requested change fails: old kept", "[" LAN "]", ADV_ALL,
	  "[" SVC("a", "", V4SPEC, "") "," SVC("web", "", V4SPEC, "") "]",
	  SVC("web", "'metallb.io/loadBalancerIPs': '192.0.2.200'", V4SPEC, ING("192.0.2.201")),
	  NULL, RECONCILE_FAILED, RECONCILE_REASON_IN_USE, "192.0.2.201", 0, "lan", 0 },
	{ "requested change moves", "[" LAN "]", ADV_ALL, "[" SVC("web", "", V4SPEC, "") "]",
	  SVC("web", "'metallb.io/loadBalancerIPs': '192.0.2.202'", V4SPEC, ING("192.0.2.200")),
	  NULL, RECONCILE_ASSIGNED, RECONCILE_REASON_NONE, "192.0.2.202", 0, "lan", 1 },
	{ "address-pool chosen", "[" LAN "," MANUAL "]", ADV_ALL, "[]",
	  SVC("web", "'metallb.io/address-pool': 'manual'", V4SPEC, ""), NULL, RECONCILE_ASSIGNED,
	  RECONCILE_REASON_NONE, "198.51.100.10", 0, "manual", 1 },
	{ "address-pool (old prefix) warns", "[" LAN "," MANUAL "]", ADV_ALL, "[]",
	  SVC("web", "'metallb.universe.tf/address-pool': 'manual'", V4SPEC, ""), NULL,
	  RECONCILE_ASSIGNED, RECONCILE_REASON_NONE, "198.51.100.10", RECONCILE_WARN_DEPRECATED,
	  "manual", 1 },
	{ "address-pool unknown", "[" LAN "]", ADV_ALL, "[]",
	  SVC("web", "'metallb.io/address-pool': 'nope'", V4SPEC, ""), NULL, RECONCILE_FAILED,
	  RECONCILE_REASON_UNKNOWN_POOL, "", 0, "", 0 },
	{ "address-pool changed: moves", "[" LAN "," MANUAL "]", ADV_ALL,
	  "[" SVC("web", "", V4SPEC, "") "]",
	  SVC("web", "'metallb.io/address-pool': 'manual'", V4SPEC, ING("192.0.2.200")), NULL,
	  RECONCILE_ASSIGNED, RECONCILE_REASON_NONE, "198.51.100.10", 0, "manual", 1 },
	{ "address-pool changed to unknown: old kept", "[" LAN "]", ADV_ALL,
	  "[" SVC("web", "", V4SPEC, "") "]",
	  SVC("web",
	      "'metallb.io/address-pool': 'nope', 'metallb.io/ip-allocated-from-pool': 'lan'",
	      V4SPEC, ING("192.0.2.200")),
	  NULL, RECONCILE_FAILED, RECONCILE_REASON_UNKNOWN_POOL, "192.0.2.200", 0, "lan", 0 },
	{ "no pool auto-assigns", "[" MANUAL "]", ADV_ALL, "[]", SVC("web", "", V4SPEC, ""), NULL,
	  RECONCILE_FAILED, RECONCILE_REASON_NO_POOL, "", 0, "", 0 },
	{ "exhausted", "[" TINY "]", ADV_ALL, "[" SVC("a", "", V4SPEC, "") "]",
	  SVC("web", "", V4SPEC, ""), NULL, RECONCILE_FAILED, RECONCILE_REASON_EXHAUSTED, "", 0, "",
	  0 },
	{ "next pool when the first is full", "[" LAN4 "," TINY "]", ADV_ALL,
	  "[" SVC("a", "", V4SPEC, "") "," SVC("b", "", V4SPEC, "") "," SVC("c", "", V4SPEC,
									    "") "]",
	  SVC("web", "", V4SPEC, ""), NULL, RECONCILE_ASSIGNED, RECONCILE_REASON_NONE,
	  "198.51.100.1", 0, "tiny", 1 },
	{ "shared with the same key", "[" LAN "]", ADV_ALL,
	  "[" SVC("a", "'metallb.io/allow-shared-ip': 'k'", V4SPEC, "") "]",
	  SVC("web", "'metallb.io/allow-shared-ip': 'k'",
	      "'type': 'LoadBalancer', 'clusterIP': '198.19.0.10', 'ipFamilies': ['IPv4'], "
	      "'ports': [{'port': 443, 'protocol': 'TCP'}]",
	      ""),
	  NULL, RECONCILE_ASSIGNED, RECONCILE_REASON_NONE, "192.0.2.200", 0, "lan", 1 },
	{ "sharing refused: same port", "[" LAN "]", ADV_ALL,
	  "[" SVC("a",
		  "'metallb.io/allow-shared-ip': 'k', 'metallb.io/loadBalancerIPs': "
		  "'192.0.2.200'",
		  V4SPEC, "") "]",
	  SVC("web",
	      "'metallb.io/allow-shared-ip': 'k', 'metallb.io/loadBalancerIPs': '192.0.2.200'",
	      V4SPEC, ""),
	  NULL, RECONCILE_FAILED, RECONCILE_REASON_SHARING_REFUSED, "", 0, "", 0 },
	{ "sharing refused: different key", "[" LAN "]", ADV_ALL,
	  "[" SVC("a",
		  "'metallb.io/allow-shared-ip': 'k', 'metallb.io/loadBalancerIPs': "
		  "'192.0.2.200'",
		  V4SPEC, "") "]",
	  SVC("web",
	      "'metallb.io/allow-shared-ip': 'other', 'metallb.io/loadBalancerIPs': "
	      "'192.0.2.200'",
	      "'type': 'LoadBalancer', 'clusterIP': '198.19.0.10', 'ipFamilies': ['IPv4'], "
	      "'ports': [{'port': 443, 'protocol': 'TCP'}]",
	      ""),
	  NULL, RECONCILE_FAILED, RECONCILE_REASON_SHARING_REFUSED, "", 0, "", 0 },
	{ "dual-stack RequireDualStack, IPv4 first", "[" LAN "]", ADV_ALL, "[]",
	  SVC("web", "", DUAL("RequireDualStack"), ""), NULL, RECONCILE_ASSIGNED,
	  RECONCILE_REASON_NONE, "192.0.2.200,2001:db8::200", 0, "lan", 1 },
	{ "dual-stack IPv6-primary still lists IPv4 first", "[" LAN "]", ADV_ALL, "[]",
	  SVC("web", "", V6FIRST, ""), NULL, RECONCILE_ASSIGNED, RECONCILE_REASON_NONE,
	  "192.0.2.200,2001:db8::200", 0, "lan", 1 },
	{ "RequireDualStack with a v4-only pool fails", "[" LAN4 "]", ADV_ALL, "[]",
	  SVC("web", "", DUAL("RequireDualStack"), ""), NULL, RECONCILE_FAILED,
	  RECONCILE_REASON_NO_FAMILY, "", 0, "", 0 },
	{ "PreferDualStack with a v4-only pool gets v4", "[" LAN4 "]", ADV_ALL, "[]",
	  SVC("web", "", DUAL("PreferDualStack"), ""), NULL, RECONCILE_ASSIGNED,
	  RECONCILE_REASON_NONE, "192.0.2.200", 0, "lan", 1 },
	{ "dual-stack from one pool, not split", "[" LAN4 "," V6ONLY "]", ADV_ALL, "[]",
	  SVC("web", "", DUAL("RequireDualStack"), ""), NULL, RECONCILE_FAILED,
	  RECONCILE_REASON_NO_FAMILY, "", 0, "", 0 },
	{ "no cluster IP: no address", "[" LAN "]", ADV_ALL, "[]",
	  SVC("web", "", "'type': 'LoadBalancer', 'ports': [{'port': 80, 'protocol': 'TCP'}]", ""),
	  NULL, RECONCILE_FAILED, RECONCILE_REASON_NO_CLUSTER_IP, "", 0, "", 0 },
	{ "no L2Advertisement: assigned with a warning", "[" LAN "]", NO_ADV, "[]",
	  SVC("web", "", V4SPEC, ""), NULL, RECONCILE_ASSIGNED, RECONCILE_REASON_NONE,
	  "192.0.2.200", RECONCILE_WARN_NOT_ANNOUNCED, "lan", 1 },
	{ "address outside the pool's new definition kept",
	  "[" POOL("lan", "{'addresses': ['192.0.2.210/32']}") "]", ADV_ALL, "[]",
	  SVC("web", "'metallb.io/ip-allocated-from-pool': 'lan'", V4SPEC, ING("192.0.2.200")),
	  NULL, RECONCILE_UNCHANGED, RECONCILE_REASON_NONE, "192.0.2.200",
	  RECONCILE_WARN_OUTSIDE_POOL, "lan", 0 },
	{ "requested address outside the pool's new definition: lost",
	  "[" POOL("lan", "{'addresses': ['192.0.2.210/32']}") "]", ADV_ALL, "[]",
	  SVC("web",
	      "'metallb.io/ip-allocated-from-pool': 'lan', 'metallb.io/loadBalancerIPs': "
	      "'192.0.2.200'",
	      V4SPEC, ING("192.0.2.200")),
	  NULL, RECONCILE_FAILED, RECONCILE_REASON_NOT_IN_POOL, "", 0, "", 1 },
	{ "change to an address in no pool: old kept", "[" LAN "]", ADV_ALL,
	  "[" SVC("web", "", V4SPEC, "") "]",
	  SVC("web", "'metallb.io/loadBalancerIPs': '203.0.113.5'", V4SPEC, ING("192.0.2.200")),
	  NULL, RECONCILE_FAILED, RECONCILE_REASON_NOT_IN_POOL, "192.0.2.200", 0, "lan", 0 },
	{ "pool deleted: moves to another", "[" MANUAL "," TINY "]", ADV_ALL, "[]",
	  SVC("web", "'metallb.io/ip-allocated-from-pool': 'lan'", V4SPEC, ING("192.0.2.200")),
	  NULL, RECONCILE_ASSIGNED, RECONCILE_REASON_NONE, "198.51.100.1", 0, "tiny", 1 },
	{ "pool deleted, none left: ingress cleared", "[" MANUAL "]", ADV_ALL, "[]",
	  SVC("web", "'metallb.io/ip-allocated-from-pool': 'lan'", V4SPEC, ING("192.0.2.200")),
	  NULL, RECONCILE_FAILED, RECONCILE_REASON_NO_POOL, "", 0, "", 1 },
	{ "pool named by address-pool deleted: ingress cleared", "[" LAN "]", ADV_ALL, "[]",
	  SVC("web",
	      "'metallb.io/address-pool': 'temp', 'metallb.io/ip-allocated-from-pool': 'temp'",
	      V4SPEC, ING("198.51.100.100")),
	  NULL, RECONCILE_FAILED, RECONCILE_REASON_UNKNOWN_POOL, "", 0, "", 1 },
	{ "address-pool's pool shrank: address kept with a warning",
	  "[" POOL("lan", "{'addresses': ['192.0.2.210/32']}") "]", ADV_ALL, "[]",
	  SVC("web", "'metallb.io/address-pool': 'lan', 'metallb.io/ip-allocated-from-pool': 'lan'",
	      V4SPEC, ING("192.0.2.200")),
	  NULL, RECONCILE_UNCHANGED, RECONCILE_REASON_NONE, "192.0.2.200",
	  RECONCILE_WARN_OUTSIDE_POOL, "lan", 0 },
	{ "pool refused (invalid) keeps its addresses",
	  "[" POOL("lan", "{'addresses': ['garbage']}") "]", ADV_ALL, "[]",
	  SVC("web", "'metallb.io/ip-allocated-from-pool': 'lan'", V4SPEC, ING("192.0.2.200")),
	  NULL, RECONCILE_UNCHANGED, RECONCILE_REASON_NONE, "192.0.2.200", 0, "lan", 0 },
	{ "malformed service", "[" LAN "]", ADV_ALL, "[]", "{'spec': {'type': 'LoadBalancer'}}",
	  NULL, RECONCILE_MALFORMED, RECONCILE_REASON_NONE, "", 0, "", 0 },
};

/* Restores what a service's status shows into ip (the "pre" services were written back). */
static void pre_restore(struct ipam *ip, const json_t *svc)
{
	char msg[256];
	enum reconcile_restore r = reconcile_restore(svc, ip, NULL, msg, sizeof(msg));
	ck_assert_msg(r == RESTORE_OK || r == RESTORE_NONE, "restore %s", msg);
}

START_TEST(test_table)
{
	const struct row *t = &rows[_i];
	struct mlb_config *cfg = build(t->pools, t->advs);
	struct ipam *ip = ipam_new();
	ck_assert_ptr_nonnull(ip);
	json_t *pre = J(t->pre);
	size_t i;
	json_t *p;
	json_array_foreach(pre, i, p)
	{
		struct reconcile_result r;
		const char *name =
			json_string_value(json_object_get(json_object_get(p, "metadata"), "name"));
		char key[128];
		snprintf(key, sizeof(key), "default/%s", name);
		reconcile_service(key, p, cfg, ip, t->lb_class, NULL, &r);
		ck_assert_msg(r.outcome == RECONCILE_ASSIGNED, "%s: pre %s: %s (%s)", t->name, key,
			      reconcile_outcome_str(r.outcome), r.message);
	}
	json_t *svc = t->svc != NULL ? J(t->svc) : NULL;
	/* The service under test had its status from an earlier life: take it back first. */
	if (svc != NULL)
		pre_restore(ip, svc);
	struct reconcile_result r;
	reconcile_service("default/web", svc, cfg, ip, t->lb_class, NULL, &r);
	ck_assert_msg(r.outcome == t->outcome, "%s: outcome %s, want %s (%s)", t->name,
		      reconcile_outcome_str(r.outcome), reconcile_outcome_str(t->outcome),
		      r.message);
	ck_assert_msg(r.reason == t->reason, "%s: reason %s, want %s (%s)", t->name,
		      reconcile_reason_str(r.reason), reconcile_reason_str(t->reason), r.message);
	char got[128] = "";
	for (size_t k = 0; k < r.naddrs; k++) {
		char a[IPAM_ADDR_STRLEN];
		ipam_addr_format(&r.addrs[k], a, sizeof(a));
		if (k > 0)
			strcat(got, ",");
		strcat(got, a);
	}
	ck_assert_msg(strcmp(got, t->addrs) == 0, "%s: addrs %s, want %s", t->name, got, t->addrs);
	if (t->warnings != -1u)
		ck_assert_msg(r.warnings == t->warnings, "%s: warnings %#x, want %#lx (%s)",
			      t->name, r.warnings, t->warnings, r.warning);
	ck_assert_msg(strcmp(r.pool, t->pool) == 0, "%s: pool %s, want %s", t->name, r.pool,
		      t->pool);
	if (t->write_status >= 0)
		ck_assert_msg(r.write_status == (t->write_status != 0), "%s: write_status %d",
			      t->name, r.write_status);
	if (r.outcome == RECONCILE_FAILED)
		ck_assert_msg(r.message[0] != '\0', "%s: a failure says why", t->name);
	/* Deciding again on the result written back changes nothing (level-triggered). */
	json_decref(svc);
	json_decref(pre);
	ipam_free(ip);
	mlb_config_free(cfg);
}
END_TEST

/* Restart safety: the older of two services showing one address keeps it. */
START_TEST(test_restore_conflict)
{
	struct mlb_config *cfg = build("[" LAN "]", ADV_ALL);
	struct ipam *ip = ipam_new();
	json_t *older = J("{'metadata': {'name': 'old', 'namespace': 'default', "
			  "'creationTimestamp': '2026-01-01T00:00:00Z'}, 'spec': {" V4SPEC
			  "}, 'status': {" ING("192.0.2.201") "}}");
	json_t *newer = J("{'metadata': {'name': 'new', 'namespace': 'default', "
			  "'creationTimestamp': '2026-02-01T00:00:00Z'}, 'spec': {" V4SPEC
			  "}, 'status': {" ING("192.0.2.201") "}}");
	const json_t *v[2] = { newer, older };
	qsort(v, 2, sizeof(v) / 2, reconcile_compare_age);
	ck_assert_ptr_eq(v[0], older);
	char msg[256] = "";
	ck_assert_int_eq(reconcile_restore(v[0], ip, NULL, msg, sizeof(msg)), RESTORE_OK);
	ck_assert_int_eq(reconcile_restore(v[1], ip, NULL, msg, sizeof(msg)), RESTORE_CONFLICT);
	ck_assert_ptr_nonnull(strstr(msg, "default/old"));

	/* The older is unchanged; the newer gets the lowest free address, not .201. */
	struct reconcile_result r;
	reconcile_service("default/old", older, cfg, ip, NULL, NULL, &r);
	ck_assert_int_eq(r.outcome, RECONCILE_UNCHANGED);
	ck_assert(!r.write_status);
	reconcile_service("default/new", newer, cfg, ip, NULL, NULL, &r);
	ck_assert_int_eq(r.outcome, RECONCILE_ASSIGNED);
	char a[IPAM_ADDR_STRLEN];
	ck_assert_str_eq(ipam_addr_format(&r.addrs[0], a, sizeof(a)), "192.0.2.200");
	ck_assert(r.write_status);
	json_decref(older);
	json_decref(newer);
	ipam_free(ip);
	mlb_config_free(cfg);
}
END_TEST

/* Restoring before allocating means a restart moves nothing, whatever order services come in. */
START_TEST(test_restart_moves_nothing)
{
	struct mlb_config *cfg = build("[" LAN "]", ADV_ALL);
	struct ipam *ip = ipam_new();
	json_t *a = J(
		SVC("a", "'metallb.io/ip-allocated-from-pool': 'lan'", V4SPEC, ING("192.0.2.202")));
	json_t *b = J("{'metadata': {'name': 'b', 'namespace': 'default', "
		      "'creationTimestamp': '2026-01-02T00:00:00Z'}, 'spec': {" V4SPEC
		      "}, 'status': {}}");
	ck_assert_int_eq(reconcile_restore(a, ip, NULL, NULL, 0), RESTORE_OK);
	ck_assert_int_eq(reconcile_restore(b, ip, NULL, NULL, 0), RESTORE_NONE);
	struct reconcile_result r;
	reconcile_service("default/b", b, cfg, ip, NULL, NULL, &r);
	ck_assert_int_eq(r.outcome, RECONCILE_ASSIGNED);
	char s[IPAM_ADDR_STRLEN];
	ck_assert_str_eq(ipam_addr_format(&r.addrs[0], s, sizeof(s)), "192.0.2.200");
	reconcile_service("default/a", a, cfg, ip, NULL, NULL, &r);
	ck_assert_int_eq(r.outcome, RECONCILE_UNCHANGED);
	ck_assert_str_eq(ipam_addr_format(&r.addrs[0], s, sizeof(s)), "192.0.2.202");
	ck_assert(!r.write_status && !r.write_annotation);
	json_decref(a);
	json_decref(b);
	ipam_free(ip);
	mlb_config_free(cfg);
}
END_TEST

/*
 * Restart safety whatever the annotations say: a service whose requested address cannot be
 * read (or does not fit its families) still has its status address taken back first, so a
 * newer service does not get it; the bad request is then reported while it keeps the address.
 */
static const char *const bad_requests[] = {
	"'metallb.io/loadBalancerIPs': 'not-an-ip'",
	"'metallb.universe.tf/loadBalancerIPs': '192.0.2.300'",
	"'metallb.io/loadBalancerIPs': '2001:db8::5'", /* an IPv6 address for an IPv4 service */
};

START_TEST(test_restore_bad_request)
{
	struct mlb_config *cfg = build("[" LAN "]", ADV_ALL);
	struct ipam *ip = ipam_new();
	char svcjson[1024];
	snprintf(svcjson, sizeof(svcjson),
		 SVC("held", "'metallb.io/ip-allocated-from-pool': 'lan', %s", V4SPEC,
		     ING("192.0.2.200")),
		 bad_requests[_i]);
	json_t *held = J(svcjson);
	json_t *later = J("{'metadata': {'name': 'later', 'namespace': 'default', "
			  "'creationTimestamp': '2026-02-01T00:00:00Z'}, 'spec': {" V4SPEC
			  "}, 'status': {}}");
	ck_assert_int_eq(reconcile_restore(held, ip, NULL, NULL, 0), RESTORE_OK);
	ck_assert_int_eq(reconcile_restore(later, ip, NULL, NULL, 0), RESTORE_NONE);
	struct reconcile_result r;
	char a[IPAM_ADDR_STRLEN];
	reconcile_service("default/later", later, cfg, ip, NULL, NULL, &r);
	ck_assert_int_eq(r.outcome, RECONCILE_ASSIGNED);
	ck_assert_str_eq(ipam_addr_format(&r.addrs[0], a, sizeof(a)), "192.0.2.201");
	reconcile_service("default/held", held, cfg, ip, NULL, NULL, &r);
	ck_assert_msg(r.outcome == RECONCILE_FAILED && r.reason == RECONCILE_REASON_BAD_REQUEST,
		      "%s/%s: %s", reconcile_outcome_str(r.outcome), reconcile_reason_str(r.reason),
		      r.message);
	ck_assert_uint_eq(r.naddrs, 1);
	ck_assert_str_eq(ipam_addr_format(&r.addrs[0], a, sizeof(a)), "192.0.2.200");
	ck_assert(!r.write_status && !r.write_annotation);
	json_decref(held);
	json_decref(later);
	ipam_free(ip);
	mlb_config_free(cfg);
}
END_TEST

/* A pool change re-evaluates only that pool's services (and those still waiting). */
static const struct {
	const char *name;
	const char *svc;
	bool waiting;
	bool want;
} affects[] = {
	{ "ingress in the old definition", SVC("a", "", V4SPEC, ING("192.0.2.201")), false, true },
	{ "ingress in the new definition", SVC("a", "", V4SPEC, ING("192.0.2.210")), false, true },
	{ "recorded from the pool, ingress elsewhere",
	  SVC("a", "'metallb.io/ip-allocated-from-pool': 'lan'", V4SPEC, ING("198.51.100.1")),
	  false, true },
	{ "another pool's service",
	  SVC("a", "'metallb.io/ip-allocated-from-pool': 'tiny'", V4SPEC, ING("198.51.100.1")),
	  false, false },
	{ "waiting LoadBalancer", SVC("a", "", V4SPEC, ""), true, true },
	{ "failed, holding another pool's address",
	  SVC("a", "'metallb.io/ip-allocated-from-pool': 'tiny'", V4SPEC, ING("198.51.100.1")),
	  true, true },
	{ "waiting, but not a LoadBalancer",
	  SVC("a", "", "'type': 'ClusterIP', 'clusterIP': '198.19.0.10'", ""), true, false },
};

START_TEST(test_pool_affects)
{
	struct mlb_config *before = build("[" LAN4 "," TINY "]", ADV_ALL);
	struct mlb_config *after =
		build("[" POOL("lan", "{'addresses': ['192.0.2.210/31']}") "," TINY "]", ADV_ALL);
	const struct mlb_pool *po = mlb_config_pool_by_name(before, "lan");
	const struct mlb_pool *pn = mlb_config_pool_by_name(after, "lan");
	ck_assert_ptr_nonnull(po);
	ck_assert_ptr_nonnull(pn);
	json_t *svc = J(affects[_i].svc);
	ck_assert_msg(reconcile_pool_affects(svc, "lan", mlb_pool_ipam(po), mlb_pool_ipam(pn),
					     affects[_i].waiting) == affects[_i].want,
		      "%s", affects[_i].name);
	/* A pool that appears (no old definition) or disappears (no new one). */
	if (strcmp(affects[_i].name, "ingress in the old definition") == 0) {
		ck_assert(!reconcile_pool_affects(svc, "lan", NULL, mlb_pool_ipam(pn), false));
		ck_assert(reconcile_pool_affects(svc, "lan", mlb_pool_ipam(po), NULL, false));
	}
	json_decref(svc);
	mlb_config_free(before);
	mlb_config_free(after);
}
END_TEST

START_TEST(test_strings)
{
	for (int o = RECONCILE_IGNORED; o <= RECONCILE_MALFORMED; o++)
		ck_assert_str_ne(reconcile_outcome_str(o), "?");
	for (int r = RECONCILE_REASON_NONE; r <= RECONCILE_REASON_NOMEM; r++)
		ck_assert_str_ne(reconcile_reason_str(r), "?");
	for (int r = RESTORE_NONE; r <= RESTORE_NOMEM; r++)
		ck_assert_str_ne(reconcile_restore_str(r), "?");
}
END_TEST

static Suite *reconcile_suite(void)
{
	Suite *s = suite_create("reconcile");
	TCase *tc = tcase_create("core");
	tcase_add_loop_test(tc, test_table, 0, (int)(sizeof(rows) / sizeof(rows[0])));
	tcase_add_test(tc, test_restore_conflict);
	tcase_add_test(tc, test_restart_moves_nothing);
	tcase_add_loop_test(tc, test_restore_bad_request, 0,
			    (int)(sizeof(bad_requests) / sizeof(bad_requests[0])));
	tcase_add_loop_test(tc, test_pool_affects, 0, (int)(sizeof(affects) / sizeof(affects[0])));
	tcase_add_test(tc, test_strings);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(reconcile_suite)
