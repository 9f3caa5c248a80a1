/* Unit tests for speaker/epcache: the speaker's compact EndpointSlice records. */
#include "jsonfix.h"
#include "speaker/epcache.h"
#include "unit.h"

#include <stdio.h>

static json_t *slice(const char *ns, const char *name, const char *svc, const char *eps)
{
	char buf[1024];

	if (svc != NULL)
		snprintf(buf, sizeof(buf),
			 "{'metadata': {'namespace': '%s', 'name': '%s', 'labels': "
			 "{'kubernetes.io/service-name': '%s'}}, 'endpoints': %s}",
			 ns, name, svc, eps);
	else
		snprintf(buf, sizeof(buf),
			 "{'metadata': {'namespace': '%s', 'name': '%s'}, 'endpoints': %s}", ns,
			 name, eps);
	return J(buf);
}

static enum epcache_result put(struct epcache *e, const char *ns, const char *name, const char *svc,
			       const char *eps)
{
	json_t *o = slice(ns, name, svc, eps);
	enum epcache_result r = epcache_put(e, o);
	json_decref(o);
	return r;
}

/* What epcache_foreach() shows, summed up per call into a string for comparison. */
struct seen {
	char text[2048];
	size_t calls;
	const char *first_node[8];
};

static void collect(const char *svckey, const struct eligibility_endpoint *eps, size_t n, void *arg)
{
	struct seen *s = arg;
	size_t len = strlen(s->text);

	if (s->calls < 8)
		s->first_node[s->calls] = n > 0 ? eps[0].node : NULL;
	s->calls++;
	len += (size_t)snprintf(s->text + len, sizeof(s->text) - len, "%s:", svckey);
	for (size_t i = 0; i < n && len < sizeof(s->text); i++)
		len += (size_t)snprintf(s->text + len, sizeof(s->text) - len, "%s/%d%d%d ",
					eps[i].node != NULL ? eps[i].node : "-", eps[i].ready,
					eps[i].serving, eps[i].terminating);
}

/* What epcache_foreach() shows now, in s (reset first). */
static const char *shown(const struct epcache *e, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	epcache_foreach(e, collect, s);
	return s->text;
}

START_TEST(stores_endpoints_and_conditions)
{
	struct epcache *e = epcache_new();
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(put(e, "default", "web-abc", "web",
			     "[{'nodeName': 'n1', 'conditions': {'ready': true, 'serving': true, "
			     "'terminating': false}}, {'conditions': {'ready': false}}]"),
			 EPCACHE_CHANGED);
	struct seen s;
	ck_assert_str_eq(shown(e, &s), "default/web:n1/110 -/0-1-1 ");
	ck_assert_uint_eq(epcache_count(e), 1);
	epcache_free(e);
}
END_TEST

START_TEST(same_update_is_reported_and_replacement_changes)
{
	struct epcache *e = epcache_new();
	const char *eps = "[{'nodeName': 'n1', 'conditions': {'ready': true}}]";
	ck_assert_int_eq(put(e, "ns", "s1", "a", eps), EPCACHE_CHANGED);
	ck_assert_int_eq(put(e, "ns", "s1", "a", eps), EPCACHE_SAME);
	ck_assert_int_eq(
		put(e, "ns", "s1", "a", "[{'nodeName': 'n2', 'conditions': {'ready': true}}]"),
		EPCACHE_CHANGED);
	ck_assert_int_eq(
		put(e, "ns", "s1", "a", "[{'nodeName': 'n2', 'conditions': {'ready': false}}]"),
		EPCACHE_CHANGED);
	/* The same endpoints under another service is a change too. */
	ck_assert_int_eq(
		put(e, "ns", "s1", "b", "[{'nodeName': 'n2', 'conditions': {'ready': false}}]"),
		EPCACHE_CHANGED);
	ck_assert_uint_eq(epcache_count(e), 1);
	struct seen s;
	ck_assert_str_eq(shown(e, &s), "ns/b:n2/0-1-1 ");
	epcache_free(e);
}
END_TEST

START_TEST(node_names_are_shared)
{
	struct epcache *e = epcache_new();
	put(e, "ns", "a-1", "a", "[{'nodeName': 'node-with-a-long-name'}]");
	put(e, "ns", "b-1", "b", "[{'nodeName': 'node-with-a-long-name'}]");
	struct seen s;
	shown(e, &s);
	ck_assert_uint_eq(s.calls, 2);
	ck_assert_ptr_eq(s.first_node[0], s.first_node[1]);
	/* Deleting one leaves the other's name intact (ASan would see a use after free). */
	ck_assert_int_eq(epcache_del(e, "ns", "a-1"), 1);
	ck_assert_str_eq(shown(e, &s), "ns/b:node-with-a-long-name/-1-1-1 ");
	epcache_free(e);
}
END_TEST

START_TEST(delete_and_unlabelled_and_bad)
{
	struct epcache *e = epcache_new();
	ck_assert_int_eq(put(e, "ns", "s1", "a", "[]"), EPCACHE_CHANGED);
	ck_assert_int_eq(epcache_del(e, "ns", "s1"), 1);
	ck_assert_int_eq(epcache_del(e, "ns", "s1"), 0);
	/* A slice that loses its service label is dropped. */
	ck_assert_int_eq(put(e, "ns", "s2", "a", "[{'nodeName': 'n1'}]"), EPCACHE_CHANGED);
	ck_assert_int_eq(put(e, "ns", "s2", NULL, "[{'nodeName': 'n1'}]"), EPCACHE_NO_SERVICE);
	ck_assert_uint_eq(epcache_count(e), 0);
	json_t *noname = J("{'metadata': {'namespace': 'ns'}, 'endpoints': []}");
	ck_assert_int_eq(epcache_put(e, noname), EPCACHE_BAD_OBJECT);
	json_decref(noname);
	json_t *notobj = J("[1, 2]");
	ck_assert_int_eq(epcache_put(e, notobj), EPCACHE_BAD_OBJECT);
	json_decref(notobj);
	/* Garbage endpoints: wrong types are read as absent, never trusted. */
	ck_assert_int_eq(
		put(e, "ns", "s3", "a", "[7, {'nodeName': 5, 'conditions': {'ready': 'yes'}}]"),
		EPCACHE_CHANGED);
	struct seen s;
	ck_assert_str_eq(shown(e, &s), "ns/a:-/-1-1-1 -/-1-1-1 ");
	/* endpoints not an array: no endpoints. */
	ck_assert_int_eq(put(e, "ns", "s3", "a", "{}"), EPCACHE_CHANGED);
	epcache_free(e);
	epcache_free(NULL);
	ck_assert_str_eq(epcache_result_str(EPCACHE_NO_SERVICE), "no service-name label");
}
END_TEST

START_TEST(many_slices)
{
	struct epcache *e = epcache_new();
	char name[32], svc[32];
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "s%d-x", i);
		snprintf(svc, sizeof(svc), "s%d", i % 1000);
		ck_assert_int_eq(
			put(e, "ns", name, svc, "[{'nodeName': 'n1'}, {'nodeName': 'n2'}]"),
			EPCACHE_CHANGED);
	}
	ck_assert_uint_eq(epcache_count(e), 3000);
	for (int i = 0; i < 3000; i += 2) {
		snprintf(name, sizeof(name), "s%d-x", i);
		ck_assert_int_eq(epcache_del(e, "ns", name), 1);
	}
	ck_assert_uint_eq(epcache_count(e), 1500);
	epcache_free(e);
}
END_TEST

static Suite *epcache_suite(void)
{
	Suite *s = suite_create("epcache");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, stores_endpoints_and_conditions);
	tcase_add_test(tc, same_update_is_reported_and_replacement_changes);
	tcase_add_test(tc, node_names_are_shared);
	tcase_add_test(tc, delete_and_unlabelled_and_bad);
	tcase_add_test(tc, many_slices);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(epcache_suite)
