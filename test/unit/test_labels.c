/* Unit tests for pkg/labels: syntax rules, each refusal, matching, equivalence, text form. */
#include "labels/labels.h"
#include "unit.h"

#include <string.h>

static json_t *J(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &err);
	ck_assert_msg(j != NULL, "bad test json %s: %s", text, err.text);
	return j;
}

static struct labels_selector *sel(const char *text)
{
	json_t *j = J(text);
	struct labels_selector *s;
	char msg[256] = "";
	enum labels_status st = labels_selector_parse(j, &s, msg, sizeof(msg));
	ck_assert_msg(st == LABELS_OK, "%s: %s %s", text, labels_status_str(st), msg);
	json_decref(j);
	return s;
}

static const struct {
	const char *key;
	bool ok;
} keys[] = {
	{ "app", true },
	{ "app.kubernetes.io/name", true },
	{ "kubernetes.io/hostname", true },
	{ "node-role.kubernetes.io/control-plane", true },
	{ "A_b.c-9", true },
	{ "a", true },
	{ "", false },
	{ "-app", false },
	{ "app-", false },
	{ "a b", false },
	{ "/name", false },
	{ "Example.com/name", false }, /* prefix is lower case */
	{ "example..com/name", false },
	{ "example.com/", false },
	{ "a/b/c", false },
	{ "x123456789012345678901234567890123456789012345678901234567890123", false }, /* 64 */
	{ "x12345678901234567890123456789012345678901234567890123456789012", true },   /* 63 */
};

START_TEST(test_key_syntax)
{
	ck_assert_msg(labels_key_valid(keys[_i].key) == keys[_i].ok, "key \"%s\"", keys[_i].key);
}
END_TEST

START_TEST(test_value_syntax)
{
	ck_assert(labels_value_valid(""));
	ck_assert(labels_value_valid("v1.2_3-x"));
	ck_assert(!labels_value_valid("-v"));
	ck_assert(!labels_value_valid("a/b"));
	ck_assert(!labels_value_valid("with space"));
	ck_assert(!labels_value_valid(NULL));
}
END_TEST

static const struct {
	const char *json;
	enum labels_status want;
	const char *msg;
} bad[] = {
	{ "[]", LABELS_NOT_OBJECT, "not an object" },
	{ "{\"matchLabels\": []}", LABELS_BAD_MATCH_LABELS, "matchLabels: not an object" },
	{ "{\"matchLabels\": {\"app\": 3}}", LABELS_BAD_MATCH_LABELS,
	  "matchLabels.app: not a string" },
	{ "{\"matchLabels\": {\"-x\": \"a\"}}", LABELS_BAD_KEY,
	  "matchLabels: invalid label key \"-x\"" },
	{ "{\"matchLabels\": {\"app\": \"a b\"}}", LABELS_BAD_VALUE,
	  "matchLabels.app: invalid label value \"a b\"" },
	{ "{\"matchExpressions\": {}}", LABELS_BAD_MATCH_EXPRESSIONS,
	  "matchExpressions: not an array" },
	{ "{\"matchExpressions\": [3]}", LABELS_NOT_OBJECT, "matchExpressions[0]: not an object" },
	{ "{\"matchExpressions\": [{\"operator\": \"Exists\"}]}", LABELS_BAD_KEY,
	  "matchExpressions[0].key: invalid label key \"\"" },
	{ "{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"Maybe\"}]}",
	  LABELS_BAD_OPERATOR,
	  "matchExpressions[0].operator: \"Maybe\" is not In, NotIn, Exists or DoesNotExist" },
	{ "{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"in\", \"values\": [\"x\"]}]}",
	  LABELS_BAD_OPERATOR,
	  "matchExpressions[0].operator: \"in\" is not In, NotIn, Exists or DoesNotExist" },
	{ "{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"In\"}]}",
	  LABELS_VALUES_REQUIRED, "matchExpressions[0].values: must be non-empty for In" },
	{ "{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"NotIn\", \"values\": []}]}",
	  LABELS_VALUES_REQUIRED, "matchExpressions[0].values: must be non-empty for NotIn" },
	{ "{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"Exists\", \"values\": [\"x\"]}]}",
	  LABELS_VALUES_FORBIDDEN, "matchExpressions[0].values: must be empty for Exists" },
	{ "{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"In\", \"values\": [\"x\", 1]}]}",
	  LABELS_BAD_VALUE, "matchExpressions[0].values[1]: invalid label value \"\"" },
	{ "{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"In\", \"values\": [\"x\", \"x\"]}]}",
	  LABELS_DUPLICATE_VALUE, "matchExpressions[0].values: \"x\" is listed twice" },
	{ "{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"In\", \"values\": [\"x\", \"y\"]},"
	  " {\"key\": \"a\", \"operator\": \"In\", \"values\": [\"y\", \"x\"]}]}",
	  LABELS_DUPLICATE_EXPRESSION,
	  "matchExpressions[1]: repeats an earlier expression on \"a\"" },
};

START_TEST(test_refusals)
{
	json_t *j = J(bad[_i].json);
	struct labels_selector *s = (struct labels_selector *)1;
	char msg[256] = "";
	enum labels_status st = labels_selector_parse(j, &s, msg, sizeof(msg));
	ck_assert_msg(st == bad[_i].want, "%s: got %s", bad[_i].json, labels_status_str(st));
	ck_assert_ptr_null(s);
	ck_assert_str_eq(msg, bad[_i].msg);
	json_decref(j);
}
END_TEST

static const struct {
	const char *selector;
	const char *labels;
	bool want;
} matches[] = {
	{ "{}", "{}", true },
	{ "{}", "{\"a\": \"b\"}", true },
	{ "{\"matchLabels\": {\"zone\": \"a\"}}", "{\"zone\": \"a\", \"x\": \"y\"}", true },
	{ "{\"matchLabels\": {\"zone\": \"a\"}}", "{\"zone\": \"b\"}", false },
	{ "{\"matchLabels\": {\"zone\": \"a\"}}", "{}", false },
	{ "{\"matchLabels\": {\"zone\": \"\"}}", "{\"zone\": \"\"}", true },
	{ "{\"matchExpressions\": [{\"key\": \"zone\", \"operator\": \"In\", \"values\": [\"a\", \"b\"]}]}",
	  "{\"zone\": \"b\"}", true },
	{ "{\"matchExpressions\": [{\"key\": \"zone\", \"operator\": \"In\", \"values\": [\"a\", \"b\"]}]}",
	  "{\"zone\": \"c\"}", false },
	{ "{\"matchExpressions\": [{\"key\": \"zone\", \"operator\": \"NotIn\", \"values\": [\"a\"]}]}",
	  "{}", true }, /* NotIn holds for a missing key */
	{ "{\"matchExpressions\": [{\"key\": \"zone\", \"operator\": \"NotIn\", \"values\": [\"a\"]}]}",
	  "{\"zone\": \"a\"}", false },
	{ "{\"matchExpressions\": [{\"key\": \"gpu\", \"operator\": \"Exists\"}]}",
	  "{\"gpu\": \"\"}", true },
	{ "{\"matchExpressions\": [{\"key\": \"gpu\", \"operator\": \"Exists\"}]}", "{}", false },
	{ "{\"matchExpressions\": [{\"key\": \"gpu\", \"operator\": \"DoesNotExist\"}]}", "{}",
	  true },
	{ "{\"matchExpressions\": [{\"key\": \"gpu\", \"operator\": \"DoesNotExist\"}]}",
	  "{\"gpu\": \"x\"}", false },
	/* All requirements must hold. */
	{ "{\"matchLabels\": {\"a\": \"1\"}, \"matchExpressions\": [{\"key\": \"b\", \"operator\": "
	  "\"Exists\"}]}",
	  "{\"a\": \"1\"}", false },
	{ "{\"matchLabels\": {\"a\": \"1\"}, \"matchExpressions\": [{\"key\": \"b\", \"operator\": "
	  "\"Exists\"}]}",
	  "{\"a\": \"1\", \"b\": \"2\"}", true },
	{ "{\"matchLabels\": {\"a\": \"1\"}}", "null", false },
};

START_TEST(test_matches)
{
	struct labels_selector *s = sel(matches[_i].selector);
	json_t *l = J(matches[_i].labels);
	ck_assert_msg(labels_selector_matches(s, l) == matches[_i].want, "%s against %s",
		      matches[_i].selector, matches[_i].labels);
	json_decref(l);
	labels_selector_free(s);
}
END_TEST

static const struct {
	const char *a, *b;
	bool want;
} equiv[] = {
	{ "{}", "{\"matchLabels\": {}}", true },
	{ "{\"matchLabels\": {\"a\": \"x\", \"b\": \"y\"}}",
	  "{\"matchLabels\": {\"b\": \"y\", \"a\": \"x\"}}", true },
	{ "{\"matchLabels\": {\"a\": \"x\"}}",
	  "{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"In\", \"values\": [\"x\"]}]}",
	  true },
	{ "{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"In\", \"values\": [\"x\", \"y\"]}]}",
	  "{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"In\", \"values\": [\"y\", \"x\"]}]}",
	  true },
	{ "{\"matchLabels\": {\"a\": \"x\"}, \"matchExpressions\": [{\"key\": \"a\", \"operator\": "
	  "\"In\", \"values\": [\"x\"]}]}",
	  "{\"matchLabels\": {\"a\": \"x\"}}", true },
	{ "{\"matchLabels\": {\"a\": \"x\"}}", "{\"matchLabels\": {\"a\": \"y\"}}", false },
	{ "{\"matchLabels\": {\"a\": \"x\"}}", "{}", false },
	{ "{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"In\", \"values\": [\"x\"]}]}",
	  "{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"NotIn\", \"values\": [\"x\"]}]}",
	  false },
	{ "{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"Exists\"}]}",
	  "{\"matchExpressions\": [{\"key\": \"a\", \"operator\": \"DoesNotExist\"}]}", false },
};

START_TEST(test_equivalent)
{
	struct labels_selector *a = sel(equiv[_i].a), *b = sel(equiv[_i].b);
	ck_assert_msg(labels_selector_equivalent(a, b) == equiv[_i].want, "%s vs %s", equiv[_i].a,
		      equiv[_i].b);
	ck_assert(labels_selector_equivalent(b, a) == equiv[_i].want);
	labels_selector_free(a);
	labels_selector_free(b);
}
END_TEST

START_TEST(test_format)
{
	struct labels_selector *s =
		sel("{\"matchLabels\": {\"zone\": \"a\"}, \"matchExpressions\": ["
		    "{\"key\": \"app\", \"operator\": \"In\", \"values\": [\"web\", \"db\"]},"
		    "{\"key\": \"tmp\", \"operator\": \"DoesNotExist\"},"
		    "{\"key\": \"gpu\", \"operator\": \"Exists\"},"
		    "{\"key\": \"tier\", \"operator\": \"NotIn\", \"values\": [\"x\"]}]}");
	char buf[128];
	size_t n = labels_selector_format(s, buf, sizeof(buf));
	ck_assert_str_eq(buf, "app in (db,web),gpu,tier notin (x),!tmp,zone=a");
	ck_assert_uint_eq(n, strlen(buf));
	char small[8];
	ck_assert_uint_eq(labels_selector_format(s, small, sizeof(small)), n);
	ck_assert_str_eq(small, "app in ");
	ck_assert(!labels_selector_is_empty(s));
	labels_selector_free(s);
	s = sel("{\"matchLabels\": null}");
	ck_assert(labels_selector_is_empty(s));
	ck_assert_uint_eq(labels_selector_format(s, buf, sizeof(buf)), 0);
	labels_selector_free(s);
	labels_selector_free(NULL);
	for (int i = LABELS_OK; i <= LABELS_NOMEM; i++)
		ck_assert_str_ne(labels_status_str((enum labels_status)i), "?");
}
END_TEST

static Suite *labels_suite(void)
{
	Suite *s = suite_create("labels");
	TCase *tc = tcase_create("labels");
	tcase_add_loop_test(tc, test_key_syntax, 0, sizeof(keys) / sizeof(keys[0]));
	tcase_add_test(tc, test_value_syntax);
	tcase_add_loop_test(tc, test_refusals, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_loop_test(tc, test_matches, 0, sizeof(matches) / sizeof(matches[0]));
	tcase_add_loop_test(tc, test_equivalent, 0, sizeof(equiv) / sizeof(equiv[0]));
	tcase_add_test(tc, test_format);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(labels_suite)
