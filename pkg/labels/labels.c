/* labels: label selectors in canonical form (sorted, deduplicated requirements). */
#include "labels/labels.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Order matters: requirements sort by key, then by this. */
enum op {
	OP_IN,
	OP_NOT_IN,
	OP_EXISTS,
	OP_DOES_NOT_EXIST,
};

struct req {
	char *key;
	enum op op;
	char **values; /* sorted, distinct */
	size_t nvalues;
	bool from_expr; /* came from matchExpressions (duplicates there are refused) */
};

struct labels_selector {
	struct req *reqs; /* sorted, distinct */
	size_t n, cap;
};

const char *labels_status_str(enum labels_status s)
{
	switch (s) {
	case LABELS_OK:
		return "ok";
	case LABELS_NOT_OBJECT:
		return "not-object";
	case LABELS_BAD_MATCH_LABELS:
		return "bad-match-labels";
	case LABELS_BAD_MATCH_EXPRESSIONS:
		return "bad-match-expressions";
	case LABELS_BAD_KEY:
		return "bad-key";
	case LABELS_BAD_VALUE:
		return "bad-value";
	case LABELS_BAD_OPERATOR:
		return "bad-operator";
	case LABELS_VALUES_REQUIRED:
		return "values-required";
	case LABELS_VALUES_FORBIDDEN:
		return "values-forbidden";
	case LABELS_DUPLICATE_VALUE:
		return "duplicate-value";
	case LABELS_DUPLICATE_EXPRESSION:
		return "duplicate-expression";
	case LABELS_NOMEM:
		return "nomem";
	}
	return "?";
}

static bool alnum(char c)
{
	return isascii((unsigned char)c) && isalnum((unsigned char)c);
}

/* A label name or a non-empty value: 1-63 of [A-Za-z0-9-_.], alphanumeric at both ends. */
static bool name_valid(const char *s, size_t n)
{
	if (n == 0 || n > 63 || !alnum(s[0]) || !alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* DNS-1123 subdomain: dot-separated labels of [a-z0-9-], alphanumeric at both ends. */
static bool subdomain_valid(const char *s, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		size_t len = i - start;
		if (len == 0)
			return false;
		for (size_t k = start; k < i; k++) {
			char c = s[k];
			bool lower = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
			if (!lower && !(c == '-' && k != start && k != i - 1))
				return false;
		}
		start = i + 1;
	}
	return true;
}

bool labels_key_valid(const char *key)
{
	if (key == NULL)
		return false;
	const char *slash = strchr(key, '/');
	if (slash == NULL)
		return name_valid(key, strlen(key));
	if (strchr(slash + 1, '/') != NULL)
		return false;
	return subdomain_valid(key, (size_t)(slash - key)) &&
	       name_valid(slash + 1, strlen(slash + 1));
}

bool labels_value_valid(const char *value)
{
	return value != NULL && (value[0] == '\0' || name_valid(value, strlen(value)));
}

static void say(char *msg, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;
	if (msg == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, cap, fmt, ap);
	va_end(ap);
}

static void req_fini(struct req *r)
{
	for (size_t i = 0; i < r->nvalues; i++)
		free(r->values[i]);
	free((void *)r->values);
	free(r->key);
}

void labels_selector_free(struct labels_selector *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		req_fini(&s->reqs[i]);
	free(s->reqs);
	free(s);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int req_cmp(const struct req *a, const struct req *b)
{
	int c = strcmp(a->key, b->key);
	if (c != 0)
		return c;
	if (a->op != b->op)
		return a->op < b->op ? -1 : 1;
	for (size_t i = 0; i < a->nvalues && i < b->nvalues; i++) {
		c = strcmp(a->values[i], b->values[i]);
		if (c != 0)
			return c;
	}
	if (a->nvalues != b->nvalues)
		return a->nvalues < b->nvalues ? -1 : 1;
	return 0;
}

static int req_qcmp(const void *a, const void *b)
{
	return req_cmp(a, b);
}

/* Appends a requirement, taking ownership of r's memory (freed on failure). */
static int add_req(struct labels_selector *s, struct req *r)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 4;
		struct req *nr = realloc(s->reqs, ncap * sizeof(*nr));
		if (nr == NULL) {
			req_fini(r);
			return -1;
		}
		s->reqs = nr;
		s->cap = ncap;
	}
	s->reqs[s->n++] = *r;
	return 0;
}

static enum labels_status parse_match_labels(struct labels_selector *s, const json_t *ml, char *msg,
					     size_t cap)
{
	const char *k;
	json_t *v;
	if (!json_is_object(ml)) {
		say(msg, cap, "matchLabels: not an object");
		return LABELS_BAD_MATCH_LABELS;
	}
	json_object_foreach((json_t *)ml, k, v)
	{
		if (!labels_key_valid(k)) {
			say(msg, cap, "matchLabels: invalid label key \"%s\"", k);
			return LABELS_BAD_KEY;
		}
		if (!json_is_string(v)) {
			say(msg, cap, "matchLabels.%s: not a string", k);
			return LABELS_BAD_MATCH_LABELS;
		}
		if (!labels_value_valid(json_string_value(v))) {
			say(msg, cap, "matchLabels.%s: invalid label value \"%s\"", k,
			    json_string_value(v));
			return LABELS_BAD_VALUE;
		}
		struct req r = { .op = OP_IN, .nvalues = 0 };
		r.key = strdup(k);
		r.values = calloc(1, sizeof(char *));
		if (r.values != NULL && (r.values[0] = strdup(json_string_value(v))) != NULL)
			r.nvalues = 1;
		if (r.key == NULL || r.nvalues == 0) {
			req_fini(&r);
			return LABELS_NOMEM;
		}
		if (add_req(s, &r) < 0)
			return LABELS_NOMEM;
	}
	return LABELS_OK;
}

static int parse_op(const char *s, enum op *out)
{
	static const struct {
		const char *name;
		enum op op;
	} ops[] = { { "In", OP_IN },
		    { "NotIn", OP_NOT_IN },
		    { "Exists", OP_EXISTS },
		    { "DoesNotExist", OP_DOES_NOT_EXIST } };
	for (size_t i = 0; s != NULL && i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(s, ops[i].name) == 0) {
			*out = ops[i].op;
			return 0;
		}
	}
	return -1;
}

static enum labels_status parse_expression(struct labels_selector *s, const json_t *e, size_t i,
					   char *msg, size_t cap)
{
	if (!json_is_object(e)) {
		say(msg, cap, "matchExpressions[%zu]: not an object", i);
		return LABELS_NOT_OBJECT;
	}
	const char *key = json_string_value(json_object_get(e, "key"));
	if (!labels_key_valid(key)) {
		say(msg, cap, "matchExpressions[%zu].key: invalid label key \"%s\"", i,
		    key != NULL ? key : "");
		return LABELS_BAD_KEY;
	}
	const char *opname = json_string_value(json_object_get(e, "operator"));
	enum op op;
	if (parse_op(opname, &op) < 0) {
		say(msg, cap,
		    "matchExpressions[%zu].operator: \"%s\" is not In, NotIn, Exists or DoesNotExist",
		    i, opname != NULL ? opname : "");
		return LABELS_BAD_OPERATOR;
	}
	const json_t *vals = json_object_get(e, "values");
	if (vals != NULL && !json_is_array(vals) && !json_is_null(vals)) {
		say(msg, cap, "matchExpressions[%zu].values: not an array", i);
		return LABELS_BAD_VALUE;
	}
	size_t nv = json_is_array(vals) ? json_array_size(vals) : 0;
	if ((op == OP_IN || op == OP_NOT_IN) && nv == 0) {
		say(msg, cap, "matchExpressions[%zu].values: must be non-empty for %s", i, opname);
		return LABELS_VALUES_REQUIRED;
	}
	if ((op == OP_EXISTS || op == OP_DOES_NOT_EXIST) && nv > 0) {
		say(msg, cap, "matchExpressions[%zu].values: must be empty for %s", i, opname);
		return LABELS_VALUES_FORBIDDEN;
	}
	struct req r = { .op = op, .nvalues = 0 };
	r.key = strdup(key);
	r.values = nv > 0 ? calloc(nv, sizeof(char *)) : NULL;
	if (r.key == NULL || (nv > 0 && r.values == NULL)) {
		req_fini(&r);
		return LABELS_NOMEM;
	}
	for (size_t k = 0; k < nv; k++) {
		const char *v = json_string_value(json_array_get(vals, k));
		if (!labels_value_valid(v)) {
			say(msg, cap,
			    "matchExpressions[%zu].values[%zu]: invalid label value \"%s\"", i, k,
			    v != NULL ? v : "");
			req_fini(&r);
			return LABELS_BAD_VALUE;
		}
		if ((r.values[r.nvalues] = strdup(v)) == NULL) {
			req_fini(&r);
			return LABELS_NOMEM;
		}
		r.nvalues++;
	}
	if (r.nvalues > 1)
		qsort((void *)r.values, r.nvalues, sizeof(char *), cmp_str);
	for (size_t k = 1; k < r.nvalues; k++) {
		if (strcmp(r.values[k - 1], r.values[k]) == 0) {
			say(msg, cap, "matchExpressions[%zu].values: \"%s\" is listed twice", i,
			    r.values[k]);
			req_fini(&r);
			return LABELS_DUPLICATE_VALUE;
		}
	}
	/* MetalLB refuses an expression repeated verbatim (values order aside). */
	for (size_t k = 0; k < s->n; k++) {
		if (s->reqs[k].from_expr && req_cmp(&s->reqs[k], &r) == 0) {
			say(msg, cap,
			    "matchExpressions[%zu]: repeats an earlier expression on \"%s\"", i,
			    key);
			req_fini(&r);
			return LABELS_DUPLICATE_EXPRESSION;
		}
	}
	r.from_expr = true;
	return add_req(s, &r) < 0 ? LABELS_NOMEM : LABELS_OK;
}

enum labels_status labels_selector_parse(const json_t *j, struct labels_selector **out, char *msg,
					 size_t cap)
{
	*out = NULL;
	if (!json_is_object(j)) {
		say(msg, cap, "not an object");
		return LABELS_NOT_OBJECT;
	}
	struct labels_selector *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return LABELS_NOMEM;
	enum labels_status st = LABELS_OK;
	const json_t *ml = json_object_get(j, "matchLabels");
	if (ml != NULL && !json_is_null(ml))
		st = parse_match_labels(s, ml, msg, cap);
	const json_t *me = json_object_get(j, "matchExpressions");
	if (st == LABELS_OK && me != NULL && !json_is_null(me)) {
		if (!json_is_array(me)) {
			say(msg, cap, "matchExpressions: not an array");
			st = LABELS_BAD_MATCH_EXPRESSIONS;
		}
		for (size_t i = 0; st == LABELS_OK && i < json_array_size(me); i++)
			st = parse_expression(s, json_array_get(me, i), i, msg, cap);
	}
	if (st != LABELS_OK) {
		labels_selector_free(s);
		return st;
	}
	/* Canonical form: sorted, and a requirement stated twice (matchLabels and an In) once. */
	if (s->n > 1)
		qsort(s->reqs, s->n, sizeof(*s->reqs), req_qcmp);
	size_t w = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (w > 0 && req_cmp(&s->reqs[w - 1], &s->reqs[i]) == 0) {
			req_fini(&s->reqs[i]);
			continue;
		}
		s->reqs[w++] = s->reqs[i];
	}
	s->n = w;
	*out = s;
	return LABELS_OK;
}

static bool has_value(const struct req *r, const char *v)
{
	return bsearch(&v, (const void *)r->values, r->nvalues, sizeof(char *), cmp_str) != NULL;
}

bool labels_selector_matches(const struct labels_selector *s, const json_t *labels)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct req *r = &s->reqs[i];
		const char *v = json_string_value(json_object_get(labels, r->key));
		switch (r->op) {
		case OP_IN:
			if (v == NULL || !has_value(r, v))
				return false;
			break;
		case OP_NOT_IN:
			if (v != NULL && has_value(r, v))
				return false;
			break;
		case OP_EXISTS:
			if (v == NULL)
				return false;
			break;
		case OP_DOES_NOT_EXIST:
			if (v != NULL)
				return false;
			break;
		}
	}
	return true;
}

bool labels_selector_is_empty(const struct labels_selector *s)
{
	return s->n == 0;
}

bool labels_selector_equivalent(const struct labels_selector *a, const struct labels_selector *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (req_cmp(&a->reqs[i], &b->reqs[i]) != 0)
			return false;
	return true;
}

size_t labels_selector_format(const struct labels_selector *s, char *buf, size_t cap)
{
	size_t len = 0;
	if (cap > 0)
		buf[0] = '\0';
#define PUT(...)                                                                           \
	do {                                                                               \
		int n_ = snprintf(len < cap ? buf + len : NULL, len < cap ? cap - len : 0, \
				  __VA_ARGS__);                                            \
		if (n_ > 0)                                                                \
			len += (size_t)n_;                                                 \
	} while (0)
	for (size_t i = 0; i < s->n; i++) {
		const struct req *r = &s->reqs[i];
		if (i > 0)
			PUT(",");
		switch (r->op) {
		case OP_IN:
		case OP_NOT_IN:
			if (r->op == OP_IN && r->nvalues == 1) {
				PUT("%s=%s", r->key, r->values[0]);
				break;
			}
			PUT("%s %s (", r->key, r->op == OP_IN ? "in" : "notin");
			for (size_t k = 0; k < r->nvalues; k++)
				PUT("%s%s", k > 0 ? "," : "", r->values[k]);
			PUT(")");
			break;
		case OP_EXISTS:
			PUT("%s", r->key);
			break;
		case OP_DOES_NOT_EXIST:
			PUT("!%s", r->key);
			break;
		}
	}
#undef PUT
	return len;
}
