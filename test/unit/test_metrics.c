/* Unit tests for pkg/http/metrics: the text exposition format, ordering, limits, value formatting.
 */
#include "http/metrics.h"
#include "unit.h"

#include <math.h>
#include <string.h>

/* Renders reg and returns an owned copy of the text. */
static char *render(const struct metrics *reg)
{
	struct textbuf *b = textbuf_new();
	size_t len;
	char *s;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(metrics_render(reg, b), 0);
	s = textbuf_take(b, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(strlen(s), len);
	textbuf_free(b);
	return s;
}

static void assert_renders(const struct metrics *reg, const char *want)
{
	char *got = render(reg);

	ck_assert_str_eq(got, want);
	free(got);
}

static const struct {
	double v;
	const char *want;
} values[] = {
	{ 0, "0" },
	{ -0.0, "0" },
	{ 1, "1" },
	{ 42, "42" },
	{ -3, "-3" },
	{ 1234567, "1234567" },
	{ 9007199254740991.0, "9007199254740991" },
	{ 1e20, "1e+20" },
	{ 0.1, "0.1" },
	{ 0.005, "0.005" },
	{ 2.5, "2.5" },
	{ -0.25, "-0.25" },
	{ 2.5e-7, "2.5e-07" },
	{ 1.0 / 3.0, "0.3333333333333333" },
	{ 123456.789, "123456.789" },
	{ INFINITY, "+Inf" },
	{ -INFINITY, "-Inf" },
	{ NAN, "NaN" },
};

START_TEST(test_format_value)
{
	char buf[32];
	int n = metrics_format_value(values[_i].v, buf, sizeof(buf));

	ck_assert_int_eq(n, (int)strlen(values[_i].want));
	ck_assert_str_eq(buf, values[_i].want);
	/* Every finite rendering reads back to the same double. */
	if (isfinite(values[_i].v))
		ck_assert(strtod(buf, NULL) == values[_i].v);
}
END_TEST

START_TEST(test_format_value_small_buffer)
{
	char buf[4];

	ck_assert_int_eq(metrics_format_value(0.3333, buf, sizeof(buf)), -1);
	ck_assert_int_eq(metrics_format_value(12345, buf, sizeof(buf)), -1);
	ck_assert_int_eq(metrics_format_value(123, buf, sizeof(buf)), 3);
	ck_assert_str_eq(buf, "123");
}
END_TEST

static const struct {
	const char *name;
	const char *labels;
	enum metric_type type;
	enum metric_err want;
} registrations[] = {
	{ "l2lb_arp_requests_total", "interface", METRIC_COUNTER, METRIC_OK },
	{ "l2lb_arp_requests", "interface", METRIC_COUNTER, METRIC_ERR_COUNTER_NAME },
	{ "metallb_allocator_addresses_in_use_total", "pool", METRIC_GAUGE, METRIC_OK },
	{ "ns:rule_name", NULL, METRIC_GAUGE, METRIC_OK },
	{ "", NULL, METRIC_GAUGE, METRIC_ERR_NAME },
	{ "9lives", NULL, METRIC_GAUGE, METRIC_ERR_NAME },
	{ "has-dash", NULL, METRIC_GAUGE, METRIC_ERR_NAME },
	{ "g", "a,b,c", METRIC_GAUGE, METRIC_OK },
	{ "g", "a:b", METRIC_GAUGE, METRIC_ERR_LABEL_NAME },
	{ "g", "__reserved", METRIC_GAUGE, METRIC_ERR_LABEL_NAME },
	{ "g", "a,a", METRIC_GAUGE, METRIC_ERR_LABEL_NAME },
	{ "g", "a,", METRIC_GAUGE, METRIC_ERR_LABEL_NAME },
	{ "g", ",a", METRIC_GAUGE, METRIC_ERR_LABEL_NAME },
	{ "g", "le", METRIC_GAUGE, METRIC_OK },
	{ "h", "le", METRIC_HISTOGRAM, METRIC_ERR_LABEL_NAME },
	{ "h", "l1,l2", METRIC_HISTOGRAM, METRIC_OK },
	{ "g", "a,b,c,d,e,f,g,h", METRIC_GAUGE, METRIC_OK },
	{ "g", "a,b,c,d,e,f,g,h,i", METRIC_GAUGE, METRIC_ERR_TOO_MANY_LABELS },
};

START_TEST(test_registration)
{
	static const double bounds[] = { 1, 2 };
	struct metrics *reg = metrics_new();
	struct metric_family *f = NULL;
	enum metric_err e;

	ck_assert_ptr_nonnull(reg);
	switch (registrations[_i].type) {
	case METRIC_COUNTER:
		e = metrics_add_counter(reg, registrations[_i].name, "h", registrations[_i].labels,
					&f);
		break;
	case METRIC_GAUGE:
		e = metrics_add_gauge(reg, registrations[_i].name, "h", registrations[_i].labels,
				      &f);
		break;
	case METRIC_HISTOGRAM:
		e = metrics_add_histogram(reg, registrations[_i].name, "h",
					  registrations[_i].labels, bounds, 2, &f);
		break;
	}
	ck_assert_msg(e == registrations[_i].want, "%s {%s}: got %s, want %s",
		      registrations[_i].name, registrations[_i].labels, metric_err_str(e),
		      metric_err_str(registrations[_i].want));
	if (e == METRIC_OK)
		ck_assert_str_eq(metric_family_name(f), registrations[_i].name);
	metrics_free(reg);
}
END_TEST

START_TEST(test_duplicate_names)
{
	static const double bounds[] = { 1 };
	struct metrics *reg = metrics_new();
	struct metric_family *f;

	ck_assert_int_eq(metrics_add_gauge(reg, "x", NULL, NULL, &f), METRIC_OK);
	ck_assert_int_eq(metrics_add_gauge(reg, "x", NULL, NULL, &f), METRIC_ERR_DUPLICATE);
	ck_assert_int_eq(metrics_add_histogram(reg, "lat", NULL, NULL, bounds, 1, &f), METRIC_OK);
	/* The series a histogram writes are taken too, in both orders of registration. */
	ck_assert_int_eq(metrics_add_gauge(reg, "lat_count", NULL, NULL, &f), METRIC_ERR_DUPLICATE);
	ck_assert_int_eq(metrics_add_counter(reg, "y_sum_total", NULL, NULL, &f), METRIC_OK);
	ck_assert_int_eq(metrics_add_gauge(reg, "z_bucket", NULL, NULL, &f), METRIC_OK);
	ck_assert_int_eq(metrics_add_histogram(reg, "z", NULL, NULL, bounds, 1, &f),
			 METRIC_ERR_DUPLICATE);
	ck_assert_int_eq(metrics_add_gauge(reg, METRICS_REFUSED_NAME, NULL, NULL, &f),
			 METRIC_ERR_DUPLICATE);
	metrics_free(reg);
}
END_TEST

static const struct {
	double bounds[4];
	size_t n;
	enum metric_err want;
} bucket_cases[] = {
	{ { 0.1, 0.5, 1 }, 3, METRIC_OK },	 { { 0.1, 0.5, INFINITY }, 3, METRIC_OK },
	{ { INFINITY }, 1, METRIC_ERR_BUCKETS }, { { 0 }, 0, METRIC_ERR_BUCKETS },
	{ { 1, 1 }, 2, METRIC_ERR_BUCKETS },	 { { 2, 1 }, 2, METRIC_ERR_BUCKETS },
	{ { NAN, 1 }, 2, METRIC_ERR_BUCKETS },	 { { -INFINITY, 1 }, 2, METRIC_ERR_BUCKETS },
	{ { -5, 0, 5 }, 3, METRIC_OK },
};

START_TEST(test_histogram_bounds)
{
	struct metrics *reg = metrics_new();
	struct metric_family *f;

	ck_assert_int_eq(metrics_add_histogram(reg, "h", NULL, NULL, bucket_cases[_i].bounds,
					       bucket_cases[_i].n, &f),
			 bucket_cases[_i].want);
	metrics_free(reg);
}
END_TEST

START_TEST(test_histogram_buckets_cumulative)
{
	static const double bounds[] = { 0.1, 0.5, 1 };
	static const double obs[] = { 0.05, 0.1, 0.3, 2, 1, NAN, 0.75 };
	struct metrics *reg = metrics_new();
	struct metric_family *f;
	struct metric *m;

	ck_assert_int_eq(metrics_add_histogram(reg, "l2lb_reconcile_seconds",
					       "Time to reconcile one service.", NULL, bounds, 3,
					       &f),
			 METRIC_OK);
	m = metric_family_solo(f);
	ck_assert_ptr_nonnull(m);
	for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
		metric_observe(m, obs[i]);
	/* le is inclusive (0.1 and 1 land in their own buckets); NaN is not counted. */
	assert_renders(reg, "# HELP l2lb_reconcile_seconds Time to reconcile one service.\n"
			    "# TYPE l2lb_reconcile_seconds histogram\n"
			    "l2lb_reconcile_seconds_bucket{le=\"0.1\"} 2\n"
			    "l2lb_reconcile_seconds_bucket{le=\"0.5\"} 3\n"
			    "l2lb_reconcile_seconds_bucket{le=\"1\"} 5\n"
			    "l2lb_reconcile_seconds_bucket{le=\"+Inf\"} 6\n"
			    "l2lb_reconcile_seconds_sum 4.2\n"
			    "l2lb_reconcile_seconds_count 6\n");
	ck_assert_uint_eq(metric_histogram_count(m), 6);
	ck_assert(fabs(metric_histogram_sum(m) - 4.2) < 1e-12);
	metrics_free(reg);
}
END_TEST

START_TEST(test_histogram_labelled)
{
	static const double bounds[] = { 1, 10 };
	struct metrics *reg = metrics_new();
	struct metric_family *f;

	ck_assert_int_eq(metrics_add_histogram(reg, "lat", NULL, "verb", bounds, 2, &f), METRIC_OK);
	metric_observe(metric_with(f, "PUT"), 20);
	metric_observe(metric_with(f, "GET"), 1);
	assert_renders(reg, "# TYPE lat histogram\n"
			    "lat_bucket{verb=\"GET\",le=\"1\"} 1\n"
			    "lat_bucket{verb=\"GET\",le=\"10\"} 1\n"
			    "lat_bucket{verb=\"GET\",le=\"+Inf\"} 1\n"
			    "lat_sum{verb=\"GET\"} 1\n"
			    "lat_count{verb=\"GET\"} 1\n"
			    "lat_bucket{verb=\"PUT\",le=\"1\"} 0\n"
			    "lat_bucket{verb=\"PUT\",le=\"10\"} 0\n"
			    "lat_bucket{verb=\"PUT\",le=\"+Inf\"} 1\n"
			    "lat_sum{verb=\"PUT\"} 20\n"
			    "lat_count{verb=\"PUT\"} 1\n");
	metrics_free(reg);
}
END_TEST

START_TEST(test_escaping)
{
	struct metrics *reg = metrics_new();
	struct metric_family *f;

	ck_assert_int_eq(metrics_add_counter(reg, "esc_total",
					     "Backslash \\ and \"quotes\"\nand a new line.", "v",
					     &f),
			 METRIC_OK);
	metric_inc(metric_with(f, "a\\b"));
	metric_inc(metric_with(f, "say \"hi\""));
	metric_inc(metric_with(f, "two\nlines"));
	metric_inc(metric_with(f, ""));
	metric_inc(metric_with(f, "ünïcode"));
	/* HELP escapes backslash and newline only; label values also the double quote. */
	assert_renders(reg, "# HELP esc_total Backslash \\\\ and \"quotes\"\\nand a new line.\n"
			    "# TYPE esc_total counter\n"
			    "esc_total{v=\"\"} 1\n"
			    "esc_total{v=\"a\\\\b\"} 1\n"
			    "esc_total{v=\"say \\\"hi\\\"\"} 1\n"
			    "esc_total{v=\"two\\nlines\"} 1\n"
			    "esc_total{v=\"ünïcode\"} 1\n");
	metrics_free(reg);
}
END_TEST

/* Registers and fills one registry in the given order of family and child creation. */
static struct metrics *build(int reverse)
{
	static const char *const pools[] = { "lan", "dmz", "iot", "a" };
	static const char *const reasons[] = { "exhausted", "conflict" };
	struct metrics *reg = metrics_new();
	struct metric_family *alloc, *inuse, *up;

	ck_assert_ptr_nonnull(reg);
	if (reverse) {
		ck_assert_int_eq(metrics_add_gauge(reg, "up", "Up.", NULL, &up), METRIC_OK);
		ck_assert_int_eq(metrics_add_gauge(reg, "metallb_allocator_addresses_in_use_total",
						   "In use.", "pool", &inuse),
				 METRIC_OK);
		ck_assert_int_eq(metrics_add_counter(reg, "l2lb_allocation_failures_total",
						     "Failures.", "pool,reason", &alloc),
				 METRIC_OK);
	} else {
		ck_assert_int_eq(metrics_add_counter(reg, "l2lb_allocation_failures_total",
						     "Failures.", "pool,reason", &alloc),
				 METRIC_OK);
		ck_assert_int_eq(metrics_add_gauge(reg, "metallb_allocator_addresses_in_use_total",
						   "In use.", "pool", &inuse),
				 METRIC_OK);
		ck_assert_int_eq(metrics_add_gauge(reg, "up", "Up.", NULL, &up), METRIC_OK);
	}
	for (size_t k = 0; k < 4; k++) {
		size_t i = reverse ? 3 - k : k;

		metric_set(metric_with(inuse, pools[i]), (double)(i + 1));
		for (size_t r = 0; r < 2; r++) {
			size_t ri = reverse ? 1 - r : r;

			metric_add(metric_with(alloc, pools[i], reasons[ri]),
				   (double)(i * 10 + ri));
		}
	}
	metric_set(metric_family_solo(up), 1);
	return reg;
}

START_TEST(test_sorted_and_stable)
{
	struct metrics *a = build(0), *b = build(1);
	char *first = render(a), *again = render(a), *other = render(b);

	/* Families by name, children by label values, label by label, whatever the order. */
	ck_assert_str_eq(first,
			 "# HELP l2lb_allocation_failures_total Failures.\n"
			 "# TYPE l2lb_allocation_failures_total counter\n"
			 "l2lb_allocation_failures_total{pool=\"a\",reason=\"conflict\"} 31\n"
			 "l2lb_allocation_failures_total{pool=\"a\",reason=\"exhausted\"} 30\n"
			 "l2lb_allocation_failures_total{pool=\"dmz\",reason=\"conflict\"} 11\n"
			 "l2lb_allocation_failures_total{pool=\"dmz\",reason=\"exhausted\"} 10\n"
			 "l2lb_allocation_failures_total{pool=\"iot\",reason=\"conflict\"} 21\n"
			 "l2lb_allocation_failures_total{pool=\"iot\",reason=\"exhausted\"} 20\n"
			 "l2lb_allocation_failures_total{pool=\"lan\",reason=\"conflict\"} 1\n"
			 "l2lb_allocation_failures_total{pool=\"lan\",reason=\"exhausted\"} 0\n"
			 "# HELP metallb_allocator_addresses_in_use_total In use.\n"
			 "# TYPE metallb_allocator_addresses_in_use_total gauge\n"
			 "metallb_allocator_addresses_in_use_total{pool=\"a\"} 4\n"
			 "metallb_allocator_addresses_in_use_total{pool=\"dmz\"} 2\n"
			 "metallb_allocator_addresses_in_use_total{pool=\"iot\"} 3\n"
			 "metallb_allocator_addresses_in_use_total{pool=\"lan\"} 1\n"
			 "# HELP up Up.\n"
			 "# TYPE up gauge\n"
			 "up 1\n");
	ck_assert_str_eq(first, again);
	ck_assert_str_eq(first, other);
	free(first);
	free(again);
	free(other);
	metrics_free(a);
	metrics_free(b);
}
END_TEST

START_TEST(test_cardinality_limit)
{
	struct metrics *reg = metrics_new();
	struct metric_family *f;
	enum metric_err e = METRIC_OK;
	struct metric *a, *again;

	ck_assert_int_eq(metrics_add_counter(reg, "frames_total", NULL, "src", &f), METRIC_OK);
	metric_family_set_limit(f, 2);
	a = metric_with(f, "a");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(metric_with(f, "b"));
	ck_assert_ptr_null(metric_family_child(f, (const char *const[]){ "c" }, 1, &e));
	ck_assert_int_eq(e, METRIC_ERR_CARDINALITY);
	metric_inc(metric_with(f, "d")); /* refused: a no-op, counted below */
	/* Existing children are still found at the limit. */
	again = metric_family_child(f, (const char *const[]){ "a" }, 1, &e);
	ck_assert_ptr_eq(again, a);
	ck_assert_int_eq(e, METRIC_OK);
	ck_assert_uint_eq(metric_family_size(f), 2);
	assert_renders(reg, "# TYPE frames_total counter\n"
			    "frames_total{src=\"a\"} 0\n"
			    "frames_total{src=\"b\"} 0\n"
			    "# HELP " METRICS_REFUSED_NAME " New series refused because their "
			    "metric was at its series limit.\n"
			    "# TYPE " METRICS_REFUSED_NAME " counter\n" METRICS_REFUSED_NAME
			    "{metric=\"frames_total\"} 2\n");
	/* Removing one makes room again. */
	ck_assert_int_eq(metric_family_remove(f, (const char *const[]){ "b" }, 1), 0);
	ck_assert_int_eq(metric_family_remove(f, (const char *const[]){ "b" }, 1), -1);
	ck_assert_ptr_nonnull(metric_with(f, "c"));
	metrics_free(reg);
}
END_TEST

START_TEST(test_label_values_checked)
{
	struct metrics *reg = metrics_new();
	struct metric_family *f;
	enum metric_err e = METRIC_OK;

	ck_assert_int_eq(metrics_add_gauge(reg, "g", NULL, "a,b", &f), METRIC_OK);
	ck_assert_ptr_null(metric_family_child(f, (const char *const[]){ "x" }, 1, &e));
	ck_assert_int_eq(e, METRIC_ERR_LABEL_COUNT);
	ck_assert_ptr_null(metric_family_child(f, (const char *const[]){ "x", NULL }, 2, &e));
	ck_assert_int_eq(e, METRIC_ERR_LABEL_VALUE);
	ck_assert_ptr_null(metric_family_solo(f));
	ck_assert_uint_eq(metric_family_size(f), 0);
	metrics_free(reg);
}
END_TEST

START_TEST(test_update_rules)
{
	static const double bounds[] = { 1 };
	struct metrics *reg = metrics_new();
	struct metric_family *c, *g, *h;
	struct metric *cm, *gm, *hm;

	ck_assert_int_eq(metrics_add_counter(reg, "c_total", NULL, NULL, &c), METRIC_OK);
	ck_assert_int_eq(metrics_add_gauge(reg, "g", NULL, NULL, &g), METRIC_OK);
	ck_assert_int_eq(metrics_add_histogram(reg, "h", NULL, NULL, bounds, 1, &h), METRIC_OK);
	cm = metric_family_solo(c);
	gm = metric_family_solo(g);
	hm = metric_family_solo(h);

	/* A counter only goes up. */
	metric_inc(cm);
	metric_add(cm, 2.5);
	metric_add(cm, -1);
	metric_add(cm, NAN);
	metric_add(cm, INFINITY);
	metric_dec(cm);
	metric_set(cm, 100);
	metric_observe(cm, 7);
	ck_assert(metric_value(cm) == 3.5);

	/* A gauge goes both ways and may be set. */
	metric_set(gm, 10);
	metric_dec(gm);
	metric_add(gm, -4.5);
	metric_inc(gm);
	metric_observe(gm, 7);
	ck_assert(metric_value(gm) == 5.5);

	/* A histogram only observes. */
	metric_inc(hm);
	metric_set(hm, 9);
	metric_observe(hm, 0.5);
	ck_assert_uint_eq(metric_histogram_count(hm), 1);
	ck_assert(metric_histogram_sum(hm) == 0.5);
	ck_assert_uint_eq(metric_histogram_count(gm), 0);

	/* NULL (a refused child) is accepted everywhere. */
	metric_inc(NULL);
	metric_dec(NULL);
	metric_add(NULL, 1);
	metric_set(NULL, 1);
	metric_observe(NULL, 1);
	ck_assert(metric_value(NULL) == 0);
	metrics_free(reg);
}
END_TEST

START_TEST(test_clear)
{
	static const double bounds[] = { 1 };
	struct metrics *reg = metrics_new();
	struct metric_family *pools, *solo, *h;

	ck_assert_int_eq(metrics_add_gauge(reg, "pool_size", NULL, "pool", &pools), METRIC_OK);
	ck_assert_int_eq(metrics_add_gauge(reg, "solo", NULL, NULL, &solo), METRIC_OK);
	ck_assert_int_eq(metrics_add_histogram(reg, "h", NULL, NULL, bounds, 1, &h), METRIC_OK);
	/* A labelled family with no children is left out; label-less ones show 0 at once. */
	assert_renders(reg, "# TYPE h histogram\n"
			    "h_bucket{le=\"1\"} 0\n"
			    "h_bucket{le=\"+Inf\"} 0\n"
			    "h_sum 0\n"
			    "h_count 0\n"
			    "# TYPE solo gauge\n"
			    "solo 0\n");
	metric_set(metric_with(pools, "lan"), 5);
	metric_set(metric_family_solo(solo), 7);
	metric_observe(metric_family_solo(h), 3);
	metric_family_clear(pools);
	metric_family_clear(solo);
	metric_family_clear(h);
	ck_assert_uint_eq(metric_family_size(pools), 0);
	ck_assert_uint_eq(metric_family_size(solo), 1);
	assert_renders(reg, "# TYPE h histogram\n"
			    "h_bucket{le=\"1\"} 0\n"
			    "h_bucket{le=\"+Inf\"} 0\n"
			    "h_sum 0\n"
			    "h_count 0\n"
			    "# TYPE solo gauge\n"
			    "solo 0\n");
	metrics_free(reg);
}
END_TEST

START_TEST(test_buckets_exponential)
{
	double b[4];

	ck_assert_int_eq(metrics_buckets_exponential(0.001, 10, 4, b), 0);
	ck_assert(b[0] == 0.001 && fabs(b[3] - 1) < 1e-12);
	ck_assert_int_eq(metrics_buckets_exponential(0, 2, 4, b), -1);
	ck_assert_int_eq(metrics_buckets_exponential(1, 1, 4, b), -1);
	ck_assert_int_eq(metrics_buckets_exponential(1, 2, 0, b), -1);
	ck_assert_int_eq(metrics_buckets_exponential(1e300, 1e10, 4, b), -1);
}
END_TEST

START_TEST(test_many_children_sorted)
{
	/* Insertion in a scrambled order still renders sorted (binary-search insertion). */
	struct metrics *reg = metrics_new();
	struct metric_family *f;
	char *text, *prev = NULL, *line;
	int n = 0;

	ck_assert_int_eq(metrics_add_gauge(reg, "g", NULL, "k", &f), METRIC_OK);
	for (unsigned i = 0; i < 500; i++) {
		char key[16];

		snprintf(key, sizeof(key), "k%05u", (i * 7919u) % 500u);
		metric_set(metric_with(f, key), i);
	}
	ck_assert_uint_eq(metric_family_size(f), 500);
	text = render(reg);
	for (line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (line[0] == '#')
			continue;
		if (prev)
			ck_assert_msg(strcmp(prev, line) < 0, "%s before %s", prev, line);
		prev = line;
		n++;
	}
	ck_assert_int_eq(n, 500);
	free(text);
	metrics_free(reg);
}
END_TEST

START_TEST(test_textbuf)
{
	struct textbuf *b = textbuf_new();
	size_t len = 99;
	char *s;

	ck_assert_str_eq(textbuf_data(b), "");
	for (int i = 0; i < 1000; i++)
		textbuf_printf(b, "%d,", i);
	ck_assert(!textbuf_failed(b));
	ck_assert_uint_eq(textbuf_len(b), strlen(textbuf_data(b)));
	ck_assert(strncmp(textbuf_data(b), "0,1,2,", 6) == 0);
	ck_assert(strcmp(textbuf_data(b) + textbuf_len(b) - 4, "999,") == 0);
	textbuf_reset(b);
	textbuf_puts(b, "ab");
	textbuf_putc(b, 'c');
	s = textbuf_take(b, &len);
	ck_assert_str_eq(s, "abc");
	ck_assert_uint_eq(len, 3);
	free(s);
	ck_assert_uint_eq(textbuf_len(b), 0);
	s = textbuf_take(b, &len);
	ck_assert_str_eq(s, "");
	ck_assert_uint_eq(len, 0);
	free(s);
	textbuf_free(b);
	textbuf_free(NULL);
	metrics_free(NULL);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_format_value, 0, sizeof(values) / sizeof(values[0]));
	tcase_add_test(tc, test_format_value_small_buffer);
	tcase_add_loop_test(tc, test_registration, 0,
			    sizeof(registrations) / sizeof(registrations[0]));
	tcase_add_test(tc, test_duplicate_names);
	tcase_add_loop_test(tc, test_histogram_bounds, 0,
			    sizeof(bucket_cases) / sizeof(bucket_cases[0]));
	tcase_add_test(tc, test_histogram_buckets_cumulative);
	tcase_add_test(tc, test_histogram_labelled);
	tcase_add_test(tc, test_escaping);
	tcase_add_test(tc, test_sorted_and_stable);
	tcase_add_test(tc, test_cardinality_limit);
	tcase_add_test(tc, test_label_values_checked);
	tcase_add_test(tc, test_update_rules);
	tcase_add_test(tc, test_clear);
	tcase_add_test(tc, test_buckets_exponential);
	tcase_add_test(tc, test_many_children_sorted);
	tcase_add_test(tc, test_textbuf);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(metrics_suite)
