/* Tests for kube/prune and the speaker's keep lists: what an informer caches of each object. */
#include "kube/prune.h"
#include "mlb/mlb.h"
#include "speaker/keep.h"

#include "jsonfix.h"
#include "unit.h"

static const struct kube_keep k_ann[] = { { "metallb.io/*", NULL }, { NULL, NULL } };
static const struct kube_keep k_md[] = {
	{ "name", NULL },
	{ "resourceVersion", NULL },
	{ "annotations", k_ann },
	{ NULL, NULL },
};
static const struct kube_keep k_ep[] = { { "nodeName", NULL }, { NULL, NULL } };
static const struct kube_keep k_top[] = {
	{ "metadata", k_md },
	{ "endpoints", k_ep },
	{ "spec", NULL },
	{ NULL, NULL },
};

static const struct {
	const char *what, *in, *want;
} prune_cases[] = {
	{ "unlisted members go, listed ones stay whole",
	  "{'metadata':{'name':'a','resourceVersion':'7','uid':'u','managedFields':[{'f':1}]},"
	  "'spec':{'x':{'y':[1,2]}},'status':{'z':1}}",
	  "{'metadata':{'name':'a','resourceVersion':'7'},'spec':{'x':{'y':[1,2]}}}" },
	{ "a prefix keeps every member that starts with it",
	  "{'metadata':{'annotations':{'metallb.io/address-pool':'lan','metallb.io/':'',"
	  "'kubectl.kubernetes.io/last-applied-configuration':'{...}','metallb.iox':'no'}}}",
	  "{'metadata':{'annotations':{'metallb.io/address-pool':'lan','metallb.io/':''}}}" },
	{ "each object of an array is pruned, other elements kept",
	  "{'endpoints':[{'nodeName':'n1','addresses':['10.0.0.1']},{'addresses':[]},7,'s']}",
	  "{'endpoints':[{'nodeName':'n1'},{},7,'s']}" },
	{ "a wrong type where a sub list applies is kept for the reader to report",
	  "{'metadata':'oops','endpoints':{'nodeName':'n1','x':1}}",
	  "{'metadata':'oops','endpoints':{'nodeName':'n1'}}" },
	{ "nothing listed: an empty object", "{'kind':'Service','apiVersion':'v1'}", "{}" },
	{ "not an object: an empty object", "[1,2]", "{}" },
};

START_TEST(test_prune)
{
	json_t *in = J(prune_cases[_i].in), *want = J(prune_cases[_i].want);
	json_t *got = kube_prune(in, k_top);
	ck_assert_ptr_nonnull(got);
	char *s = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_msg(json_equal(got, want), "%s: got %s", prune_cases[_i].what, s);
	free(s);
	json_decref(got);
	json_decref(want);
	json_decref(in);
}
END_TEST

START_TEST(test_prune_leaves_input_alone)
{
	json_t *in = J("{'metadata':{'name':'a','uid':'u'},'status':{}}");
	json_t *copy = json_deep_copy(in);
	json_t *got = kube_prune(in, k_top);
	ck_assert(json_equal(in, copy));
	json_decref(in);
	/* The kept values outlive the original. */
	ck_assert_str_eq(
		json_string_value(json_object_get(json_object_get(got, "metadata"), "name")), "a");
	json_decref(got);
	json_decref(copy);
}
END_TEST

static const struct {
	const char *a, *b;
	int same;
} same_cases[] = {
	{ "{'metadata':{'name':'a','resourceVersion':'1'},'spec':{'x':1}}",
	  "{'metadata':{'name':'a','resourceVersion':'2'},'spec':{'x':1}}", 1 },
	{ "{'metadata':{'name':'a','resourceVersion':'1'},'spec':{'x':1}}",
	  "{'metadata':{'name':'a','resourceVersion':'2'},'spec':{'x':2}}", 0 },
	{ "{'metadata':{'name':'a','resourceVersion':'1','labels':{'k':'v'}}}",
	  "{'metadata':{'name':'a','resourceVersion':'2'}}", 0 },
	{ "{'metadata':{'name':'a','resourceVersion':'1'}}", "{'metadata':{'name':'a'}}", 1 },
	{ "{'metadata':{'name':'a'},'spec':{}}", "{'metadata':{'name':'a'}}", 0 },
	{ "{'metadata':{'name':'a'},'spec':{}}", "{'metadata':{'name':'a'},'status':{}}", 0 },
	{ "{'metadata':{'name':'a'}}", "{'metadata':{'name':'b'}}", 0 },
	{ "{'metadata':'x'}", "{'metadata':'x'}", 1 },
};

START_TEST(test_same_but_version)
{
	json_t *a = J(same_cases[_i].a), *b = J(same_cases[_i].b);
	ck_assert_msg(kube_same_but_version(a, b) == same_cases[_i].same, "%s vs %s",
		      same_cases[_i].a, same_cases[_i].b);
	ck_assert_int_eq(kube_same_but_version(b, a), same_cases[_i].same);
	json_decref(a);
	json_decref(b);
}
END_TEST

/* A Service as a real API server serves it, with what the speaker must not lose. */
#define SVC_HEAD                                                                                    \
	"{'apiVersion':'v1','kind':'Service','metadata':{'name':'web','namespace':'default',"       \
	"'uid':'1f','resourceVersion':'42','creationTimestamp':'2026-01-01T00:00:00Z',"             \
	"'labels':{'app':'web'},'annotations':{'kubectl.kubernetes.io/last-applied-configuration':" \
	"'{\\'big\\':1}',%s},'managedFields':[{'manager':'kubectl','operation':'Update',"           \
	"'fieldsV1':{'f:spec':{'f:ports':{}}}}]},'spec':{'type':'%s','ports':[{'name':'http',"      \
	"'port':80,'protocol':'TCP','targetPort':8080,'nodePort':31000}],'selector':{'app':'web'}," \
	"'clusterIP':'198.19.0.10','clusterIPs':['198.19.0.10'],'ipFamilies':['IPv4'],"             \
	"'ipFamilyPolicy':'SingleStack','sessionAffinity':'None','externalTrafficPolicy':'%s',"     \
	"'internalTrafficPolicy':'Cluster','allocateLoadBalancerNodePorts':true%s},"                \
	"'status':{'loadBalancer':{'ingress':[{'ip':'192.0.2.10','ipMode':'VIP'}]}}}"

static const struct {
	const char *ann, *type, *etp, *extra;
} svc_cases[] = {
	{ "'metallb.io/address-pool':'lan'", "LoadBalancer", "Cluster", "" },
	{ "'metallb.io/loadBalancerIPs':'192.0.2.10'", "LoadBalancer", "Local", "" },
	{ "'metallb.universe.tf/allow-shared-ip':'k'", "LoadBalancer", "Cluster", "" },
	{ "'metallb.io/loadBalancerIPs':'bogus'", "LoadBalancer", "Cluster", "" },
	{ "'x':'y'", "ClusterIP", "Cluster", "" },
	{ "'x':'y'", "LoadBalancer", "Cluster", ",'loadBalancerClass':'other'" },
	{ "'x':'y'", "LoadBalancer", "Cluster", ",'loadBalancerIP':'192.0.2.10'" },
};

/* pkg/mlb decides the same on the cached Service as on the whole one. */
START_TEST(test_keep_service)
{
	char text[2048];
	snprintf(text, sizeof(text), SVC_HEAD, svc_cases[_i].ann, svc_cases[_i].type,
		 svc_cases[_i].etp, svc_cases[_i].extra);
	json_t *full = J(text);
	json_t *kept = kube_prune(full, keep_service);
	ck_assert_ptr_nonnull(kept);
	struct mlb_service *a = NULL, *b = NULL;
	char ma[256] = "", mb[256] = "";
	enum mlb_svc_status sa = mlb_service_parse(full, NULL, &a, ma, sizeof(ma));
	enum mlb_svc_status sb = mlb_service_parse(kept, NULL, &b, mb, sizeof(mb));
	ck_assert_str_eq(mlb_svc_status_str(sb), mlb_svc_status_str(sa));
	ck_assert_str_eq(mb, ma);
	if (sa == MLB_SVC_OK) {
		ck_assert_str_eq(mlb_service_key(b), mlb_service_key(a));
		ck_assert_int_eq(mlb_service_nfamilies(b), mlb_service_nfamilies(a));
		ck_assert_int_eq(mlb_service_policy(b), mlb_service_policy(a));
		ck_assert_int_eq(mlb_service_nrequested(b), mlb_service_nrequested(a));
		ck_assert_int_eq(mlb_service_deprecated(b), mlb_service_deprecated(a));
		ck_assert_int_eq(mlb_service_pool(b) == NULL, mlb_service_pool(a) == NULL);
		if (mlb_service_pool(a) != NULL)
			ck_assert_str_eq(mlb_service_pool(b), mlb_service_pool(a));
		ck_assert_int_eq(mlb_service_sharing_key(b) == NULL,
				 mlb_service_sharing_key(a) == NULL);
		ck_assert_int_eq(mlb_service_backend_key(b) == NULL,
				 mlb_service_backend_key(a) == NULL);
		if (mlb_service_backend_key(a) != NULL)
			ck_assert_str_eq(mlb_service_backend_key(b), mlb_service_backend_key(a));
	}
	/* What the evaluation reads itself, and what must be gone. */
	const json_t *md = json_object_get(kept, "metadata");
	ck_assert_str_eq(json_string_value(json_object_get(md, "uid")), "1f");
	ck_assert_str_eq(json_string_value(json_object_get(md, "resourceVersion")), "42");
	ck_assert_ptr_null(json_object_get(md, "managedFields"));
	ck_assert_ptr_null(json_object_get(json_object_get(md, "annotations"),
					   "kubectl.kubernetes.io/last-applied-configuration"));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(kept, "spec"),
							   "externalTrafficPolicy")),
			 svc_cases[_i].etp);
	const json_t *ing = json_object_get(
		json_object_get(json_object_get(kept, "status"), "loadBalancer"), "ingress");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(ing, 0), "ip")),
			 "192.0.2.10");
	mlb_service_free(a);
	mlb_service_free(b);
	json_decref(kept);
	json_decref(full);
}
END_TEST

static const struct {
	const struct kube_keep *keep;
	const char *in, *want;
} kind_cases[] = {
	{ keep_slice,
	  "{'kind':'EndpointSlice','metadata':{'name':'web-1','namespace':'default',"
	  "'resourceVersion':'5','labels':{'kubernetes.io/service-name':'web',"
	  "'endpointslice.kubernetes.io/managed-by':'endpointslice-controller.k8s.io'},"
	  "'ownerReferences':[{'kind':'Service'}]},'addressType':'IPv4','endpoints':[{"
	  "'addresses':['10.0.0.1'],'nodeName':'n1','conditions':{'ready':true,'serving':true,"
	  "'terminating':false},'targetRef':{'kind':'Pod','name':'web-x'}}],"
	  "'ports':[{'port':8080}]}",
	  "{'metadata':{'name':'web-1','namespace':'default','resourceVersion':'5',"
	  "'labels':{'kubernetes.io/service-name':'web'}},'endpoints':[{'nodeName':'n1',"
	  "'conditions':{'ready':true,'serving':true,'terminating':false}}]}" },
	{ keep_node,
	  "{'kind':'Node','metadata':{'name':'n1','resourceVersion':'9','labels':{'zone':'a',"
	  "'node.kubernetes.io/exclude-from-external-load-balancers':''},'annotations':{'a':'b'}},"
	  "'spec':{'podCIDR':'10.0.0.0/24'},'status':{'conditions':[{'type':'Ready',"
	  "'status':'True','lastHeartbeatTime':'2026-01-01T00:00:00Z','message':'ok'},"
	  "{'type':'NetworkUnavailable','status':'False','reason':'RouteCreated'}],"
	  "'images':[{'names':['x'],'sizeBytes':1}],'nodeInfo':{'kernelVersion':'6'}}}",
	  "{'metadata':{'name':'n1','resourceVersion':'9','labels':{'zone':'a',"
	  "'node.kubernetes.io/exclude-from-external-load-balancers':''}},"
	  "'status':{'conditions':[{'type':'Ready','status':'True'},"
	  "{'type':'NetworkUnavailable','status':'False'}]}}" },
};

START_TEST(test_keep_kinds)
{
	json_t *in = J(kind_cases[_i].in), *want = J(kind_cases[_i].want);
	json_t *got = keep_transform(in, kind_cases[_i].keep);
	ck_assert_ptr_nonnull(got);
	char *s = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_msg(json_equal(got, want), "case %d: got %s", _i, s);
	free(s);
	json_decref(got);
	json_decref(want);
	json_decref(in);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *kube_prune_suite(void)
{
	Suite *s = suite_create("kube_prune");
	TCase *tc = tcase_create("core");
	tcase_add_loop_test(tc, test_prune, 0, N(prune_cases));
	tcase_add_test(tc, test_prune_leaves_input_alone);
	tcase_add_loop_test(tc, test_same_but_version, 0, N(same_cases));
	tcase_add_loop_test(tc, test_keep_service, 0, N(svc_cases));
	tcase_add_loop_test(tc, test_keep_kinds, 0, N(kind_cases));
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(kube_prune_suite)
