/* labels: Kubernetes label selectors (metav1.LabelSelector): parse, validate, match, compare. */
#ifndef L2LB_LABELS_H
#define L2LB_LABELS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * One implementation for both daemons (pool serviceSelectors and namespaceSelectors, L2
 * advertisement node, pool and service selectors, preferred node terms). Pure: no I/O.
 *
 * Semantics as the API server's: every requirement must hold; matchLabels k: v is k In (v);
 * In needs the key with one of the values; NotIn holds when the key is absent or its value is
 * none of them; Exists / DoesNotExist test the key only. An empty selector ({}) matches
 * everything. Ownership: _parse hands out an owned selector; _free(NULL) is a no-op; the json
 * passed in is borrowed and not kept.
 */

enum labels_status {
	LABELS_OK,
	LABELS_NOT_OBJECT,	 /* the selector, or a matchExpressions item, is not an object */
	LABELS_BAD_MATCH_LABELS, /* matchLabels is not an object of strings */
	LABELS_BAD_MATCH_EXPRESSIONS, /* matchExpressions is not an array */
	LABELS_BAD_KEY,		      /* label key syntax: [prefix/]name */
	LABELS_BAD_VALUE,	      /* label value syntax */
	LABELS_BAD_OPERATOR,	      /* not In, NotIn, Exists, DoesNotExist */
	LABELS_VALUES_REQUIRED,	      /* In / NotIn with no values */
	LABELS_VALUES_FORBIDDEN,      /* Exists / DoesNotExist with values */
	LABELS_DUPLICATE_VALUE,	      /* a value listed twice in one expression (MetalLB refuses) */
	LABELS_DUPLICATE_EXPRESSION,  /* the same expression twice (MetalLB refuses) */
	LABELS_NOMEM,
};

/* "ok", "not-object", "bad-key", ... (stable, for logs and tests). */
const char *labels_status_str(enum labels_status s);

/*
 * Key rules: an optional DNS-subdomain prefix (<= 253 characters, lower-case alphanumerics,
 * '-' and '.', starting and ending alphanumeric) and '/', then a name of 1-63 characters of
 * alphanumerics, '-', '_', '.', starting and ending alphanumeric. Values: empty, or like a name.
 */
bool labels_key_valid(const char *key);
bool labels_value_valid(const char *value);

struct labels_selector;

/*
 * Parses a LabelSelector object. On failure *out is NULL and msg (if cap > 0) says what and
 * where, relative to the selector: `matchExpressions[1].operator: "Maybe" is not In, NotIn,
 * Exists or DoesNotExist`. The caller prefixes the object and field.
 */
enum labels_status labels_selector_parse(const json_t *j, struct labels_selector **out, char *msg,
					 size_t cap);
void labels_selector_free(struct labels_selector *s);

/* Whether the labels (a JSON object of strings, e.g. metadata.labels; NULL = none) satisfy s. */
bool labels_selector_matches(const struct labels_selector *s, const json_t *labels);

/* True for {} (matches everything). */
bool labels_selector_is_empty(const struct labels_selector *s);

/*
 * True when a and b select exactly the same label sets by construction: the same requirements
 * once matchLabels are read as In with one value and values are sorted (what MetalLB calls a
 * duplicate selector, and more: {matchLabels: {a: b}} equals {a In [b]}).
 */
bool labels_selector_equivalent(const struct labels_selector *a, const struct labels_selector *b);

/*
 * Writes the canonical text form, as the API's selector syntax: "app in (db,web),!tmp,zone".
 * Returns the length it needed (as snprintf); buf is always terminated when cap > 0.
 */
size_t labels_selector_format(const struct labels_selector *s, char *buf, size_t cap);

#endif
