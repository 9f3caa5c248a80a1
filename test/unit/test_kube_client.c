/* Unit tests for the pure parts of pkg/kube/client: resource paths and error formatting. */
#include "kube/client.h"
#include "unit.h"

#include <string.h>

static const struct kube_resource svc = { "", "v1", "services", 1 };
static const struct kube_resource node = { "", "v1", "nodes", 0 };
static const struct kube_resource lease = { "coordination.k8s.io", "v1", "leases", 1 };
static const struct kube_resource pool = { "metallb.io", "v1beta1", "ipaddresspools", 1 };

static const struct {
	const struct kube_resource *r;
	const char *ns, *name, *sub;
	const char *want;
} paths[] = {
	{ &svc, "default", "web", NULL, "/api/v1/namespaces/default/services/web" },
	{ &svc, "default", "web", "status", "/api/v1/namespaces/default/services/web/status" },
	{ &svc, "default", NULL, NULL, "/api/v1/namespaces/default/services" },
	{ &svc, NULL, NULL, NULL, "/api/v1/services" },
	{ &node, "ignored", "n1", NULL, "/api/v1/nodes/n1" },
	{ &lease, "kube-node-lease", "n1", NULL,
	  "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1" },
	{ &pool, "metallb-system", NULL, NULL,
	  "/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools" },
	{ &pool, "", NULL, NULL, "/apis/metallb.io/v1beta1/ipaddresspools" },
};

START_TEST(test_paths)
{
	char buf[256];
	int n = kube_resource_path(buf, sizeof(buf), paths[_i].r, paths[_i].ns, paths[_i].name,
				   paths[_i].sub);
	ck_assert_int_eq(n, (int)strlen(paths[_i].want));
	ck_assert_str_eq(buf, paths[_i].want);
}
END_TEST

/* A path that does not fit is refused, never cut short. */
START_TEST(test_path_too_long)
{
	char buf[20];
	ck_assert_int_eq(kube_resource_path(buf, sizeof(buf), &lease, "ns", "x", NULL), -1);
	char exact[sizeof("/api/v1/nodes/n1")];
	ck_assert_int_eq(kube_resource_path(exact, sizeof(exact), &node, NULL, "n1", NULL),
			 (int)sizeof(exact) - 1);
	ck_assert_int_eq(kube_resource_path(exact, sizeof(exact) - 1, &node, NULL, "n1", NULL), -1);
}
END_TEST

START_TEST(test_error_str)
{
	char buf[256];
	struct kube_error e;
	memset(&e, 0, sizeof(e));
	e.status = KUBE_ERR_HTTP;
	e.code = 404;
	snprintf(e.reason, sizeof(e.reason), "NotFound");
	snprintf(e.message, sizeof(e.message), "services \"web\" not found");
	ck_assert_str_eq(kube_error_str(&e, buf, sizeof(buf)),
			 "404 NotFound: services \"web\" not found");
	memset(&e, 0, sizeof(e));
	e.status = KUBE_ERR_TRANSPORT;
	snprintf(e.transport, sizeof(e.transport), "Couldn't connect to server");
	ck_assert_str_eq(kube_error_str(&e, buf, sizeof(buf)),
			 "transport: Couldn't connect to server");
	e.status = KUBE_ERR_TIMEOUT;
	snprintf(e.transport, sizeof(e.transport), "Operation timed out");
	ck_assert_str_eq(kube_error_str(&e, buf, sizeof(buf)), "timeout: Operation timed out");
	memset(&e, 0, sizeof(e));
	ck_assert_str_eq(kube_error_str(&e, buf, sizeof(buf)), "ok");
}
END_TEST

START_TEST(test_status_names)
{
	static const char *want[] = { "ok", "http", "transport", "timeout", "decode", "nomem" };
	for (int s = KUBE_OK; s <= KUBE_ERR_NOMEM; s++)
		ck_assert_str_eq(kube_status_str((enum kube_status)s), want[s]);
}
END_TEST

static Suite *kube_client_suite(void)
{
	Suite *s = suite_create("kube_client");
	TCase *tc = tcase_create("core");
	tcase_add_loop_test(tc, test_paths, 0, (int)(sizeof(paths) / sizeof(paths[0])));
	tcase_add_test(tc, test_path_too_long);
	tcase_add_test(tc, test_error_str);
	tcase_add_test(tc, test_status_names);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(kube_client_suite)
