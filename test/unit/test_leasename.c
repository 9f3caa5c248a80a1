/* Unit tests for speaker/leasename: valid, bounded, deterministic and collision-free names. */
#include "speaker/leasename.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *ns, *name, *want;
} short_forms[] = {
	{ "default", "web", "l2lb-svc-default.web" },
	{ "a-b", "c", "l2lb-svc-a-b.c" },
	{ "a", "b-c", "l2lb-svc-a.b-c" },
	{ "kube-system", "x1", "l2lb-svc-kube-system.x1" },
	/* 9 + 26 + 1 + 27 = 63: still the short form. */
	{ "nnnnnnnnnnnnnnnnnnnnnnnnnn", "sssssssssssssssssssssssssss",
	  "l2lb-svc-nnnnnnnnnnnnnnnnnnnnnnnnnn.sssssssssssssssssssssssssss" },
};

START_TEST(test_short_forms)
{
	char b[LEASENAME_MAX];
	int n = leasename_service(short_forms[_i].ns, short_forms[_i].name, b, sizeof(b));
	ck_assert_str_eq(b, short_forms[_i].want);
	ck_assert_int_eq(n, (int)strlen(short_forms[_i].want));
	ck_assert(leasename_is_subdomain(b));
}
END_TEST

START_TEST(test_long_form)
{
	char b[LEASENAME_MAX], c[LEASENAME_MAX];
	const char *ns = "nnnnnnnnnnnnnnnnnnnnnnnnnn";
	ck_assert_int_eq(leasename_service(ns, "ssssssssssssssssssssssssssss", b, sizeof(b)), 63);
	ck_assert(leasename_is_subdomain(b));
	ck_assert_int_eq(strncmp(b, "l2lb-svc--nnnnnnnnnnnnnnnnnnnnnnnnnn.sssssssss-", 47), 0);
	/* Same readable start, different service: the hash tells them apart. */
	ck_assert_int_eq(leasename_service(ns, "sssssssssssssssssssssssssssst", c, sizeof(c)), 63);
	ck_assert_str_ne(b, c);
	/* Deterministic. */
	ck_assert_int_eq(leasename_service(ns, "sssssssssssssssssssssssssssst", b, sizeof(b)), 63);
	ck_assert_str_eq(b, c);
	/* A cut that lands on '-' or '.' is trimmed so the name stays valid. */
	ck_assert_int_gt(leasename_service("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
					   "b-cccccccccccccccccccc", b, sizeof(b)),
			 0);
	ck_assert(leasename_is_subdomain(b));
	ck_assert_int_le(strlen(b), 63);
}
END_TEST

START_TEST(test_node_names)
{
	char b[LEASENAME_MAX];
	ck_assert_int_eq(leasename_node("node-1", b, sizeof(b)), 16);
	ck_assert_str_eq(b, "l2lb-node-node-1");
	ck_assert_int_gt(leasename_node("worker-7.rack-2.dc1.example.com", b, sizeof(b)), 0);
	ck_assert_str_eq(b, "l2lb-node-worker-7.rack-2.dc1.example.com");
	char longnode[254];
	memset(longnode, 'a', 253);
	longnode[253] = '\0';
	longnode[63] = '.';
	longnode[127] = '.';
	longnode[191] = '.';
	ck_assert(leasename_is_subdomain(longnode));
	ck_assert_int_eq(leasename_node(longnode, b, sizeof(b)), 63);
	ck_assert(leasename_is_subdomain(b));
	ck_assert_int_eq(strncmp(b, "l2lb-node--", 11), 0);
}
END_TEST

static const struct {
	const char *ns, *name;
} bad[] = {
	{ "", "web" },
	{ "default", "" },
	{ NULL, "web" },
	{ "default", NULL },
	{ "Default", "web" },
	{ "default", "we_b" },
	{ "-ns", "web" },
	{ "ns-", "web" },
	{ "default", "a.b" },
	{ "default", "web-" },
	{ "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", "x" },
};

START_TEST(test_rejects_invalid)
{
	char b[LEASENAME_MAX];
	ck_assert_int_eq(leasename_service(bad[_i].ns, bad[_i].name, b, sizeof(b)), -1);
}
END_TEST

START_TEST(test_rejects_bad_nodes_and_small_buffers)
{
	char b[LEASENAME_MAX];
	ck_assert_int_eq(leasename_node("", b, sizeof(b)), -1);
	ck_assert_int_eq(leasename_node("a..b", b, sizeof(b)), -1);
	ck_assert_int_eq(leasename_node(".a", b, sizeof(b)), -1);
	ck_assert_int_eq(leasename_node("a.-b", b, sizeof(b)), -1);
	ck_assert_int_eq(leasename_node("UPPER", b, sizeof(b)), -1);
	ck_assert_int_eq(leasename_service("default", "web", b, 10), -1);
	char big[300];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(leasename_node(big, b, sizeof(b)), -1);
}
END_TEST

static int cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* Many services with look-alike names, short and long: every name valid and distinct. */
START_TEST(test_no_collisions)
{
	enum { N = 20000 };
	char(*names)[LEASENAME_MAX] = calloc(N, LEASENAME_MAX);
	ck_assert_ptr_nonnull(names);
	int k = 0;
	char ns[64], name[64];
	for (int i = 0; i < N / 4; i++) {
		/* Short forms that only differ in where the dash is... */
		snprintf(ns, sizeof(ns), "ns-%d", i % 50);
		snprintf(name, sizeof(name), "svc-%d", i);
		ck_assert_int_gt(leasename_service(ns, name, names[k++], LEASENAME_MAX), 0);
		snprintf(ns, sizeof(ns), "ns");
		snprintf(name, sizeof(name), "%d-svc-%d", i % 50, i);
		ck_assert_int_gt(leasename_service(ns, name, names[k++], LEASENAME_MAX), 0);
		/* ...and long forms that share their readable start. */
		snprintf(ns, sizeof(ns), "a-very-long-namespace-name-for-testing-%d", i % 3);
		snprintf(name, sizeof(name), "an-equally-long-service-name-for-testing-%d", i);
		ck_assert_int_eq(leasename_service(ns, name, names[k++], LEASENAME_MAX), 63);
		snprintf(ns, sizeof(ns), "a-very-long-namespace-name-for-testing-%d", i);
		snprintf(name, sizeof(name), "another-long-service-name-for-testing-%d", i % 3);
		ck_assert_int_eq(leasename_service(ns, name, names[k++], LEASENAME_MAX), 63);
	}
	for (int i = 0; i < k; i++)
		ck_assert_msg(leasename_is_subdomain(names[i]), "invalid: %s", names[i]);
	qsort(names, (size_t)k, LEASENAME_MAX, cmp_str);
	for (int i = 1; i < k; i++)
		ck_assert_msg(strcmp(names[i - 1], names[i]) != 0, "collision: %s", names[i]);
	free(names);
}
END_TEST

START_TEST(test_kind_of)
{
	char b[LEASENAME_MAX];
	ck_assert_int_gt(leasename_service("default", "web", b, sizeof(b)), 0);
	ck_assert_int_eq(leasename_kind_of(b), LEASENAME_SERVICE);
	ck_assert_int_eq(leasename_service("a-very-long-namespace-name-for-testing-0",
					   "another-long-service-name-for-testing-1", b, sizeof(b)),
			 63);
	ck_assert_int_eq(leasename_kind_of(b), LEASENAME_SERVICE);
	ck_assert_int_gt(leasename_node("node-1", b, sizeof(b)), 0);
	ck_assert_int_eq(leasename_kind_of(b), LEASENAME_NODE);
	ck_assert_int_eq(leasename_kind_of("l2lb-controller"), LEASENAME_OTHER);
	ck_assert_int_eq(leasename_kind_of("l2lb-svc-"), LEASENAME_OTHER);
	ck_assert_int_eq(leasename_kind_of("kube-scheduler"), LEASENAME_OTHER);
	ck_assert_int_eq(leasename_kind_of(NULL), LEASENAME_OTHER);
	for (int k = 0; k <= LEASENAME_NODE; k++)
		ck_assert_str_ne(leasename_kind_str((enum leasename_kind)k), "?");
}
END_TEST

static Suite *leasename_suite(void)
{
	Suite *s = suite_create("leasename");
	TCase *tc = tcase_create("core");
	tcase_add_loop_test(tc, test_short_forms, 0, sizeof(short_forms) / sizeof(short_forms[0]));
	tcase_add_test(tc, test_long_form);
	tcase_add_test(tc, test_node_names);
	tcase_add_loop_test(tc, test_rejects_invalid, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_rejects_bad_nodes_and_small_buffers);
	tcase_add_test(tc, test_no_collisions);
	tcase_add_test(tc, test_kind_of);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(leasename_suite)
