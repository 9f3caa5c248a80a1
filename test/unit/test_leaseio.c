/* Unit tests for kube/leaseio: Lease JSON <-> leasefsm records, and speaker/dryrun. */
#include "kube/leaseio.h"
#include "speaker/dryrun.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	ck_assert_msg(j != NULL, "bad test JSON: %s", e.text);
	return j;
}

START_TEST(parse_held_lease)
{
	json_t *j =
		load("{\"metadata\":{\"name\":\"l2lb-svc-default.web\",\"resourceVersion\":\"42\"},"
		     "\"spec\":{\"holderIdentity\":\"n1\",\"leaseDurationSeconds\":15,"
		     "\"acquireTime\":\"2026-11-25T19:00:00.000000Z\","
		     "\"renewTime\":\"2026-11-25T19:00:05.000000Z\",\"leaseTransitions\":3}}");
	struct leasefsm_record r;
	char rv[LEASEFSM_RV_MAX];

	ck_assert_int_eq(leaseio_parse(j, &r, rv, sizeof(rv)), 0);
	ck_assert_str_eq(r.holder, "n1");
	ck_assert_int_eq(r.duration_s, 15);
	ck_assert_int_eq(r.transitions, 3);
	ck_assert_str_eq(r.renew_time, "2026-11-25T19:00:05.000000Z");
	ck_assert_str_eq(r.acquire_time, "2026-11-25T19:00:00.000000Z");
	ck_assert_str_eq(rv, "42");
	json_decref(j);
}
END_TEST

START_TEST(parse_released_and_specless)
{
	json_t *a = load("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"holderIdentity\":\"\"}}");
	json_t *b = load("{\"metadata\":{\"name\":\"x\",\"resourceVersion\":\"7\"}}");
	struct leasefsm_record r;
	char rv[LEASEFSM_RV_MAX];

	ck_assert_int_eq(leaseio_parse(a, &r, rv, sizeof(rv)), 0);
	ck_assert_str_eq(r.holder, "");
	ck_assert_str_eq(rv, "");
	ck_assert_int_eq(leaseio_parse(b, &r, rv, sizeof(rv)), 0);
	ck_assert_str_eq(r.holder, "");
	ck_assert_int_eq(r.duration_s, 0);
	ck_assert_str_eq(rv, "7");
	json_decref(a);
	json_decref(b);
}
END_TEST

/* Each of these is refused whole: a decoder that half-reads a record would mislead election. */
static const char *const bad_leases[] = {
	"{}",
	"{\"metadata\":{}}",
	"{\"metadata\":{\"name\":1}}",
	"{\"metadata\":{\"name\":\"x\"},\"spec\":[]}",
	"{\"metadata\":{\"name\":\"x\"},\"spec\":{\"holderIdentity\":5}}",
	"{\"metadata\":{\"name\":\"x\"},\"spec\":{\"leaseDurationSeconds\":\"15\"}}",
	"{\"metadata\":{\"name\":\"x\"},\"spec\":{\"leaseTransitions\":1.5}}",
	"{\"metadata\":{\"name\":\"x\"},\"spec\":{\"renewTime\":\"2026-11-25T19:00:05.000000Z-much-too-long\"}}",
	"{\"metadata\":{\"name\":\"x\",\"resourceVersion\":3}}",
};

START_TEST(parse_refuses_bad_types)
{
	json_t *j = load(bad_leases[_i]);
	struct leasefsm_record r;
	char rv[LEASEFSM_RV_MAX];

	ck_assert_int_eq(leaseio_parse(j, &r, rv, sizeof(rv)), -1);
	json_decref(j);
}
END_TEST

START_TEST(parse_refuses_long_holder)
{
	char holder[LEASEFSM_HOLDER_MAX + 10];
	memset(holder, 'a', sizeof(holder) - 1);
	holder[sizeof(holder) - 1] = '\0';
	json_t *j = json_pack("{s:{s:s}, s:{s:s}}", "metadata", "name", "x", "spec",
			      "holderIdentity", holder);
	struct leasefsm_record r;
	char rv[LEASEFSM_RV_MAX];

	ck_assert_int_eq(leaseio_parse(j, &r, rv, sizeof(rv)), -1);
	json_decref(j);
}
END_TEST

static const struct {
	const char *labels;
	enum leaseio_kind kind;
	const char *ns, *name;
} classify_cases[] = {
	{ "{\"l2lb.io/lease\":\"presence\"}", LEASEIO_PRESENCE, NULL, NULL },
	{ "{\"l2lb.io/lease\":\"service\",\"l2lb.io/service-namespace\":\"default\","
	  "\"l2lb.io/service-name\":\"web\"}",
	  LEASEIO_SERVICE, "default", "web" },
	{ "{\"l2lb.io/lease\":\"service\",\"l2lb.io/service-name\":\"web\"}", LEASEIO_NONE, NULL,
	  NULL },
	{ "{\"l2lb.io/lease\":\"service\",\"l2lb.io/service-namespace\":\"\","
	  "\"l2lb.io/service-name\":\"web\"}",
	  LEASEIO_NONE, NULL, NULL },
	{ "{\"l2lb.io/lease\":\"other\"}", LEASEIO_NONE, NULL, NULL },
	{ "{}", LEASEIO_NONE, NULL, NULL },
};

START_TEST(classify_by_labels)
{
	json_t *labels = load(classify_cases[_i].labels);
	json_t *j = json_pack("{s:{s:s, s:o}}", "metadata", "name", "x", "labels", labels);
	const char *ns, *name;

	ck_assert_int_eq(leaseio_classify(j, &ns, &name), classify_cases[_i].kind);
	if (classify_cases[_i].ns != NULL) {
		ck_assert_str_eq(ns, classify_cases[_i].ns);
		ck_assert_str_eq(name, classify_cases[_i].name);
	} else {
		ck_assert_ptr_null(ns);
		ck_assert_ptr_null(name);
	}
	json_decref(j);
}
END_TEST

START_TEST(build_round_trips)
{
	struct leasefsm_record in = { .holder = "n2", .duration_s = 2, .transitions = 9 };
	strcpy(in.acquire_time, "2026-11-25T19:00:00.000000Z");
	strcpy(in.renew_time, "2026-11-25T19:00:01.250000Z");
	json_t *j = leaseio_build("l2lb-system", "l2lb-svc-default.web", LEASEIO_SERVICE, "default",
				  "web", &in, "77");
	struct leasefsm_record out;
	char rv[LEASEFSM_RV_MAX];
	const char *ns, *name;

	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(leaseio_parse(j, &out, rv, sizeof(rv)), 0);
	ck_assert_mem_eq(&in, &out, sizeof(in));
	ck_assert_str_eq(rv, "77");
	ck_assert_int_eq(leaseio_classify(j, &ns, &name), LEASEIO_SERVICE);
	ck_assert_str_eq(ns, "default");
	ck_assert_str_eq(name, "web");
	ck_assert_str_eq(json_string_value(json_object_get(j, "kind")), "Lease");
	ck_assert_str_eq(
		json_string_value(json_object_get(json_object_get(j, "metadata"), "namespace")),
		"l2lb-system");
	json_decref(j);
}
END_TEST

START_TEST(build_create_has_no_rv_and_release_keeps_empty_holder)
{
	struct leasefsm_record in = { .holder = "", .duration_s = 1 };
	json_t *j = leaseio_build("ns", "l2lb-node-n1", LEASEIO_PRESENCE, NULL, NULL, &in, NULL);
	const json_t *md = json_object_get(j, "metadata");
	const json_t *spec = json_object_get(j, "spec");

	ck_assert_ptr_null(json_object_get(md, "resourceVersion"));
	/* A released lease says so with an empty holder, which client-go reads as free. */
	ck_assert_str_eq(json_string_value(json_object_get(spec, "holderIdentity")), "");
	ck_assert_ptr_null(json_object_get(spec, "renewTime"));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(md, "labels"),
							   LEASEIO_LABEL_KIND)),
			 "presence");
	json_decref(j);
}
END_TEST

START_TEST(build_plain_lease_has_no_labels)
{
	/* The controller's leader lease is nobody's presence or service: no l2lb labels on it. */
	struct leasefsm_record in = { .holder = "ctl-1", .duration_s = 15, .transitions = 2 };
	json_t *j = leaseio_build("ns", "l2lb-controller", LEASEIO_NONE, NULL, NULL, &in, "9");
	const json_t *md = json_object_get(j, "metadata");
	const char *ns, *name;

	ck_assert_ptr_nonnull(j);
	ck_assert_ptr_null(json_object_get(md, "labels"));
	ck_assert_str_eq(json_string_value(json_object_get(md, "resourceVersion")), "9");
	ck_assert_int_eq(leaseio_classify(j, &ns, &name), LEASEIO_NONE);
	json_decref(j);
}
END_TEST

static char *slurp(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(dryrun_records_sorted_set)
{
	char path[] = "/tmp/l2lb-dryrun-XXXXXX";
	int fd = mkstemp(path);
	struct log *lg = log_new(STDERR_FILENO, LOG_LEVEL_ERROR);
	struct netaddr a, b;

	ck_assert_int_ge(fd, 0);
	close(fd);
	struct dryrun *d = dryrun_new(lg, path);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(slurp(path), "");
	ck_assert_int_eq(netaddr_parse("192.0.2.9", &a), 0);
	ck_assert_int_eq(netaddr_parse("192.0.2.10", &b), 0);
	ck_assert_int_eq(dryrun_announce(d, &a, NULL, 0), 0);
	ck_assert_int_eq(dryrun_announce(d, &b, NULL, 0), 0);
	ck_assert_int_eq(dryrun_announce(d, &a, NULL, 0), 0); /* again: no duplicate */
	ck_assert_uint_eq(dryrun_count(d), 2);
	ck_assert_str_eq(slurp(path), "192.0.2.10\n192.0.2.9\n");
	dryrun_withdraw(d, &b);
	ck_assert_str_eq(slurp(path), "192.0.2.9\n");
	dryrun_withdraw(d, &b); /* not there: nothing changes */
	ck_assert_uint_eq(dryrun_count(d), 1);
	dryrun_free(d);
	dryrun_free(NULL);
	log_free(lg);
	unlink(path);
}
END_TEST

static Suite *leaseio_suite(void)
{
	Suite *s = suite_create("leaseio");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parse_held_lease);
	tcase_add_test(tc, parse_released_and_specless);
	tcase_add_loop_test(tc, parse_refuses_bad_types, 0,
			    (int)(sizeof(bad_leases) / sizeof(bad_leases[0])));
	tcase_add_test(tc, parse_refuses_long_holder);
	tcase_add_loop_test(tc, classify_by_labels, 0,
			    (int)(sizeof(classify_cases) / sizeof(classify_cases[0])));
	tcase_add_test(tc, build_round_trips);
	tcase_add_test(tc, build_create_has_no_rv_and_release_keeps_empty_holder);
	tcase_add_test(tc, build_plain_lease_has_no_labels);
	tcase_add_test(tc, dryrun_records_sorted_set);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(leaseio_suite)
