/* Unit tests for kube/rvmap: a keys-only informer's memory of keys and resourceVersions. */
#include "kube/rvmap.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>

START_TEST(set_get_replace_delete)
{
	struct rvmap *m = rvmap_new();
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_null(rvmap_get(m, "ns/a"));
	ck_assert_int_eq(rvmap_set(m, "ns/a", "100"), 0);
	ck_assert_str_eq(rvmap_get(m, "ns/a"), "100");
	/* Shorter and longer versions replace it; the key stays once. */
	ck_assert_int_eq(rvmap_set(m, "ns/a", "99"), 0);
	ck_assert_str_eq(rvmap_get(m, "ns/a"), "99");
	ck_assert_int_eq(rvmap_set(m, "ns/a", "1234567890123"), 0);
	ck_assert_str_eq(rvmap_get(m, "ns/a"), "1234567890123");
	ck_assert_uint_eq(rvmap_count(m), 1);
	ck_assert_int_eq(rvmap_set(m, "cluster-scoped", ""), 0);
	ck_assert_str_eq(rvmap_get(m, "cluster-scoped"), "");
	ck_assert_uint_eq(rvmap_count(m), 2);
	ck_assert_int_eq(rvmap_del(m, "ns/a"), 1);
	ck_assert_int_eq(rvmap_del(m, "ns/a"), 0);
	ck_assert_ptr_null(rvmap_get(m, "ns/a"));
	ck_assert_uint_eq(rvmap_count(m), 1);
	rvmap_free(m);
	rvmap_free(NULL);
}
END_TEST

struct walk {
	size_t calls;
	unsigned long sum;
	struct rvmap *m;
};

static void visit(const char *key, const char *rv, void *arg)
{
	struct walk *w = arg;
	unsigned long v = strtoul(rv, NULL, 10);

	w->calls++;
	w->sum += v;
	/* Removing the key handed in is allowed: drop every odd one. */
	if (v % 2 == 1)
		ck_assert_int_eq(rvmap_del(w->m, key), 1);
}

START_TEST(many_keys_grow_and_walk)
{
	struct rvmap *m = rvmap_new();
	char key[32], rv[16];
	unsigned long want = 0;

	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "ns/svc-%d", i);
		snprintf(rv, sizeof(rv), "%d", i);
		ck_assert_int_eq(rvmap_set(m, key, rv), 0);
		want += (unsigned long)i;
	}
	ck_assert_uint_eq(rvmap_count(m), 5000);
	for (int i = 0; i < 5000; i += 97) {
		snprintf(key, sizeof(key), "ns/svc-%d", i);
		snprintf(rv, sizeof(rv), "%d", i);
		ck_assert_str_eq(rvmap_get(m, key), rv);
	}
	struct walk w = { 0, 0, m };
	rvmap_foreach(m, visit, &w);
	ck_assert_uint_eq(w.calls, 5000);
	ck_assert_uint_eq(w.sum, want);
	ck_assert_uint_eq(rvmap_count(m), 2500);
	ck_assert_ptr_null(rvmap_get(m, "ns/svc-1"));
	ck_assert_str_eq(rvmap_get(m, "ns/svc-2"), "2");
	rvmap_free(m);
}
END_TEST

static Suite *rvmap_suite(void)
{
	Suite *s = suite_create("rvmap");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, set_get_replace_delete);
	tcase_add_test(tc, many_keys_grow_and_walk);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(rvmap_suite)
