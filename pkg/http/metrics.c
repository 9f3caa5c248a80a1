/* metrics: families in a name-sorted array, children in a label-sorted array per family. */
#include "http/metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct metric {
	const struct metric_family *fam;
	double value;	   /* counter, gauge; a histogram's sum */
	uint64_t count;	   /* histogram observations */
	uint64_t *buckets; /* histogram, per bucket (not cumulative), nbounds + 1 (the +Inf one) */
	char *values[METRICS_MAX_LABELS];
};

struct metric_family {
	struct metrics *reg;
	enum metric_type type;
	char *name;
	char *help;
	size_t nlabels;
	char *labels[METRICS_MAX_LABELS];
	double *bounds;
	size_t nbounds;
	struct metric **children; /* sorted by label values */
	size_t nchildren;
	size_t cap;
	size_t limit;
};

struct metrics {
	struct metric_family **fams; /* sorted by name */
	size_t nfams;
	size_t cap;
	struct metric_family *refused;
};

const char *metric_type_str(enum metric_type t)
{
	switch (t) {
	case METRIC_COUNTER:
		return "counter";
	case METRIC_GAUGE:
		return "gauge";
	case METRIC_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

const char *metric_err_str(enum metric_err e)
{
	switch (e) {
	case METRIC_OK:
		return "ok";
	case METRIC_ERR_NOMEM:
		return "out of memory";
	case METRIC_ERR_NAME:
		return "invalid metric name";
	case METRIC_ERR_COUNTER_NAME:
		return "counter name must end in _total";
	case METRIC_ERR_LABEL_NAME:
		return "invalid, reserved or repeated label name";
	case METRIC_ERR_TOO_MANY_LABELS:
		return "too many labels";
	case METRIC_ERR_DUPLICATE:
		return "metric name already registered";
	case METRIC_ERR_BUCKETS:
		return "histogram buckets must be finite and strictly increasing";
	case METRIC_ERR_LABEL_COUNT:
		return "wrong number of label values";
	case METRIC_ERR_LABEL_VALUE:
		return "missing label value";
	case METRIC_ERR_CARDINALITY:
		return "too many series in this metric";
	}
	return "unknown error";
}

/* ---- names ---- */

static int name_char(char c, int first, int colon)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
		return 1;
	if (colon && c == ':')
		return 1;
	return !first && c >= '0' && c <= '9';
}

static int valid_name(const char *s, size_t n, int colon)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!name_char(s[i], i == 0, colon))
			return 0;
	}
	return 1;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* The series names a family writes: its name, or for a histogram name_bucket/_sum/_count. */
static int series_collide(const struct metric_family *f, const char *name, enum metric_type type)
{
	static const char *const hist[] = { "_bucket", "_sum", "_count" };
	size_t fl = strlen(f->name), nl = strlen(name);

	if (strcmp(f->name, name) == 0)
		return 1;
	for (size_t i = 0; i < 3; i++) {
		size_t sl = strlen(hist[i]);

		if (f->type == METRIC_HISTOGRAM && nl == fl + sl &&
		    memcmp(name, f->name, fl) == 0 && strcmp(name + fl, hist[i]) == 0)
			return 1;
		if (type == METRIC_HISTOGRAM && fl == nl + sl && memcmp(f->name, name, nl) == 0 &&
		    strcmp(f->name + nl, hist[i]) == 0)
			return 1;
	}
	return 0;
}

/* Splits "a,b" into f->labels; returns METRIC_OK or why not. */
static enum metric_err parse_labels(struct metric_family *f, const char *labels)
{
	const char *p = labels;

	if (labels == NULL || *labels == '\0')
		return METRIC_OK;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (!valid_name(p, n, 0) || (n >= 2 && p[0] == '_' && p[1] == '_'))
			return METRIC_ERR_LABEL_NAME;
		if (f->type == METRIC_HISTOGRAM && n == 2 && memcmp(p, "le", 2) == 0)
			return METRIC_ERR_LABEL_NAME;
		if (f->nlabels == METRICS_MAX_LABELS)
			return METRIC_ERR_TOO_MANY_LABELS;
		for (size_t i = 0; i < f->nlabels; i++) {
			if (strlen(f->labels[i]) == n && memcmp(f->labels[i], p, n) == 0)
				return METRIC_ERR_LABEL_NAME;
		}
		f->labels[f->nlabels] = strndup(p, n);
		if (f->labels[f->nlabels] == NULL)
			return METRIC_ERR_NOMEM;
		f->nlabels++;
		if (end == NULL)
			return METRIC_OK;
		p = end + 1;
	}
}

/* ---- children ---- */

static void child_free(struct metric *m)
{
	free(m);
}

/* <0, 0, >0 as the values sort against child m. */
static int child_cmp(const struct metric *m, const char *const *values, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int c = strcmp(m->values[i], values[i]);

		if (c != 0)
			return c;
	}
	return 0;
}

/* Binary search: returns the index of the match (*found = 1) or where it would go. */
static size_t child_find(const struct metric_family *f, const char *const *values, int *found)
{
	size_t lo = 0, hi = f->nchildren;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = child_cmp(f->children[mid], values, f->nlabels);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* One allocation: the child, its bucket counts, then its label values' bytes. */
static struct metric *child_alloc(const struct metric_family *f, const char *const *values)
{
	size_t nb = f->type == METRIC_HISTOGRAM ? f->nbounds + 1 : 0;
	size_t size = sizeof(struct metric) + nb * sizeof(uint64_t);
	size_t lens[METRICS_MAX_LABELS] = { 0 };
	size_t nl = f->nlabels < METRICS_MAX_LABELS ? f->nlabels : METRICS_MAX_LABELS;
	struct metric *m;
	char *p;

	for (size_t i = 0; i < nl; i++) {
		lens[i] = strlen(values[i]) + 1;
		if (lens[i] > SIZE_MAX - size)
			return NULL;
		size += lens[i];
	}
	m = calloc(1, size);
	if (m == NULL)
		return NULL;
	m->fam = f;
	p = (char *)(m + 1);
	if (nb > 0) {
		m->buckets = (uint64_t *)(void *)p;
		p += nb * sizeof(uint64_t);
	}
	for (size_t i = 0; i < nl; i++) {
		memcpy(p, values[i], lens[i]);
		m->values[i] = p;
		p += lens[i];
	}
	return m;
}

static enum metric_err child_insert(struct metric_family *f, size_t at, struct metric *m)
{
	if (f->nchildren == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 4;
		struct metric **c = realloc(f->children, cap * sizeof(struct metric *));

		if (c == NULL)
			return METRIC_ERR_NOMEM;
		f->children = c;
		f->cap = cap;
	}
	memmove(f->children + at + 1, f->children + at,
		(f->nchildren - at) * sizeof(struct metric *));
	f->children[at] = m;
	f->nchildren++;
	return METRIC_OK;
}

static void set_err(enum metric_err *err, enum metric_err e)
{
	if (err != NULL)
		*err = e;
}

struct metric *metric_family_child(struct metric_family *f, const char *const *values, size_t n,
				   enum metric_err *err)
{
	struct metric *m;
	size_t at;
	int found;

	if (n != f->nlabels) {
		set_err(err, METRIC_ERR_LABEL_COUNT);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (values[i] == NULL) {
			set_err(err, METRIC_ERR_LABEL_VALUE);
			return NULL;
		}
	}
	at = child_find(f, values, &found);
	if (found) {
		set_err(err, METRIC_OK);
		return f->children[at];
	}
	if (f->nchildren >= f->limit) {
		struct metrics *reg = f->reg;

		/* The registry's own family never refuses: it has one child per family at most. */
		if (f != reg->refused)
			metric_inc(metric_with(reg->refused, f->name));
		set_err(err, METRIC_ERR_CARDINALITY);
		return NULL;
	}
	m = child_alloc(f, values);
	if (m == NULL || child_insert(f, at, m) != METRIC_OK) {
		child_free(m);
		set_err(err, METRIC_ERR_NOMEM);
		return NULL;
	}
	set_err(err, METRIC_OK);
	return m;
}

struct metric *metric_family_solo(struct metric_family *f)
{
	if (f->nlabels != 0 || f->nchildren != 1)
		return NULL;
	return f->children[0];
}

int metric_family_remove(struct metric_family *f, const char *const *values, size_t n)
{
	size_t at;
	int found;

	if (n != f->nlabels || f->nlabels == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (values[i] == NULL)
			return -1;
	}
	at = child_find(f, values, &found);
	if (!found)
		return -1;
	child_free(f->children[at]);
	memmove(f->children + at, f->children + at + 1,
		(f->nchildren - at - 1) * sizeof(struct metric *));
	f->nchildren--;
	return 0;
}

static void child_reset(struct metric *m, size_t nb)
{
	m->value = 0;
	m->count = 0;
	if (m->buckets)
		memset(m->buckets, 0, nb * sizeof(uint64_t));
}

void metric_family_clear(struct metric_family *f)
{
	if (f->nlabels == 0) {
		if (f->nchildren == 1)
			child_reset(f->children[0], f->nbounds + 1);
		return;
	}
	for (size_t i = 0; i < f->nchildren; i++)
		child_free(f->children[i]);
	f->nchildren = 0;
}

void metric_family_set_limit(struct metric_family *f, size_t max_children)
{
	f->limit = max_children;
}

size_t metric_family_size(const struct metric_family *f)
{
	return f->nchildren;
}

const char *metric_family_name(const struct metric_family *f)
{
	return f->name;
}

/* ---- families ---- */

static void family_free(struct metric_family *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->nchildren; i++)
		child_free(f->children[i]);
	for (size_t i = 0; i < f->nlabels; i++)
		free(f->labels[i]);
	free(f->children);
	free(f->bounds);
	free(f->help);
	free(f->name);
	free(f);
}

static enum metric_err add_family(struct metrics *reg, enum metric_type type, const char *name,
				  const char *help, const char *labels, const double *bounds,
				  size_t nbounds, struct metric_family **out)
{
	struct metric_family *f;
	enum metric_err e;
	size_t at = 0;

	if (name == NULL || !valid_name(name, strlen(name), 1))
		return METRIC_ERR_NAME;
	if (type == METRIC_COUNTER && !ends_with(name, "_total"))
		return METRIC_ERR_COUNTER_NAME;
	if (type == METRIC_HISTOGRAM) {
		if (nbounds > 0 && isinf(bounds[nbounds - 1]) && bounds[nbounds - 1] > 0)
			nbounds--;
		if (nbounds == 0 || nbounds > METRICS_MAX_BUCKETS)
			return METRIC_ERR_BUCKETS;
		for (size_t i = 0; i < nbounds; i++) {
			if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
				return METRIC_ERR_BUCKETS;
		}
	}
	for (size_t i = 0; i < reg->nfams; i++) {
		if (series_collide(reg->fams[i], name, type))
			return METRIC_ERR_DUPLICATE;
		if (strcmp(reg->fams[i]->name, name) < 0)
			at = i + 1;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return METRIC_ERR_NOMEM;
	f->reg = reg;
	f->type = type;
	f->limit = METRICS_DEFAULT_MAX_CHILDREN;
	f->name = strdup(name);
	f->help = strdup(help ? help : "");
	if (f->name == NULL || f->help == NULL) {
		family_free(f);
		return METRIC_ERR_NOMEM;
	}
	e = parse_labels(f, labels);
	if (e != METRIC_OK) {
		family_free(f);
		return e;
	}
	if (type == METRIC_HISTOGRAM) {
		f->bounds = malloc(nbounds * sizeof(double));
		if (f->bounds == NULL) {
			family_free(f);
			return METRIC_ERR_NOMEM;
		}
		memcpy(f->bounds, bounds, nbounds * sizeof(double));
		f->nbounds = nbounds;
	}
	if (f->nlabels == 0 && metric_family_child(f, NULL, 0, &e) == NULL) {
		family_free(f);
		return e;
	}
	if (reg->nfams == reg->cap) {
		size_t cap = reg->cap ? reg->cap * 2 : 16;
		struct metric_family **fams =
			realloc(reg->fams, cap * sizeof(struct metric_family *));

		if (fams == NULL) {
			family_free(f);
			return METRIC_ERR_NOMEM;
		}
		reg->fams = fams;
		reg->cap = cap;
	}
	memmove(reg->fams + at + 1, reg->fams + at,
		(reg->nfams - at) * sizeof(struct metric_family *));
	reg->fams[at] = f;
	reg->nfams++;
	if (out != NULL)
		*out = f;
	return METRIC_OK;
}

enum metric_err metrics_add_counter(struct metrics *reg, const char *name, const char *help,
				    const char *labels, struct metric_family **out)
{
	return add_family(reg, METRIC_COUNTER, name, help, labels, NULL, 0, out);
}

enum metric_err metrics_add_gauge(struct metrics *reg, const char *name, const char *help,
				  const char *labels, struct metric_family **out)
{
	return add_family(reg, METRIC_GAUGE, name, help, labels, NULL, 0, out);
}

enum metric_err metrics_add_histogram(struct metrics *reg, const char *name, const char *help,
				      const char *labels, const double *bounds, size_t nbounds,
				      struct metric_family **out)
{
	if (bounds == NULL)
		nbounds = 0;
	return add_family(reg, METRIC_HISTOGRAM, name, help, labels, bounds, nbounds, out);
}

int metrics_buckets_exponential(double start, double factor, size_t n, double *out)
{
	double v = start;

	if (n == 0 || !(start > 0) || !(factor > 1) || !isfinite(start) || !isfinite(factor))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(v))
			return -1;
		out[i] = v;
		v *= factor;
	}
	return 0;
}

struct metrics *metrics_new(void)
{
	struct metrics *reg = calloc(1, sizeof(*reg));

	if (reg == NULL)
		return NULL;
	if (add_family(reg, METRIC_COUNTER, METRICS_REFUSED_NAME,
		       "New series refused because their metric was at its series limit.", "metric",
		       NULL, 0, &reg->refused) != METRIC_OK) {
		metrics_free(reg);
		return NULL;
	}
	metric_family_set_limit(reg->refused, SIZE_MAX);
	return reg;
}

void metrics_free(struct metrics *reg)
{
	if (reg == NULL)
		return;
	for (size_t i = 0; i < reg->nfams; i++)
		family_free(reg->fams[i]);
	free(reg->fams);
	free(reg);
}

/* ---- updates ---- */

void metric_inc(struct metric *m)
{
	if (m != NULL && m->fam->type != METRIC_HISTOGRAM)
		m->value += 1;
}

void metric_dec(struct metric *m)
{
	if (m != NULL && m->fam->type == METRIC_GAUGE)
		m->value -= 1;
}

void metric_add(struct metric *m, double v)
{
	if (m == NULL)
		return;
	if (m->fam->type == METRIC_GAUGE)
		m->value += v;
	else if (m->fam->type == METRIC_COUNTER && v >= 0 && isfinite(v))
		m->value += v;
}

void metric_set(struct metric *m, double v)
{
	if (m != NULL && m->fam->type == METRIC_GAUGE)
		m->value = v;
}

void metric_observe(struct metric *m, double v)
{
	const struct metric_family *f;
	size_t lo = 0, hi;

	if (m == NULL || m->fam->type != METRIC_HISTOGRAM || isnan(v))
		return;
	f = m->fam;
	/* The first bucket whose upper bound is >= v ("le": less than or equal). */
	hi = f->nbounds;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->bounds[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	m->buckets[lo]++;
	m->count++;
	m->value += v;
}

double metric_value(const struct metric *m)
{
	return m == NULL ? 0 : m->value;
}

double metric_histogram_sum(const struct metric *m)
{
	return m == NULL || m->fam->type != METRIC_HISTOGRAM ? 0 : m->value;
}

uint64_t metric_histogram_count(const struct metric *m)
{
	return m == NULL || m->fam->type != METRIC_HISTOGRAM ? 0 : m->count;
}

/* ---- rendering ---- */

int metrics_format_value(double v, char *buf, size_t cap)
{
	int n;

	if (isnan(v))
		n = snprintf(buf, cap, "NaN");
	else if (isinf(v))
		n = snprintf(buf, cap, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (v == 0)
		n = snprintf(buf, cap, "0"); /* also -0, which %.0f would write as "-0" */
	else if (fabs(v) < 9007199254740992.0 && v == floor(v))
		n = snprintf(buf, cap, "%.0f", v);
	else {
		/* The shortest %g that reads back to the same double, as Go's 'g', -1 does. */
		char tmp[32];

		n = -1;
		for (int prec = 1; prec <= 17; prec++) {
			n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
			if (n < 0 || (size_t)n >= sizeof(tmp))
				return -1;
			if (strtod(tmp, NULL) == v)
				break;
		}
		if ((size_t)n >= cap)
			return -1;
		memcpy(buf, tmp, (size_t)n + 1);
		return n;
	}
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}

static void put_value(struct textbuf *out, double v)
{
	char num[32];
	int n = metrics_format_value(v, num, sizeof(num));

	if (n > 0)
		textbuf_append(out, num, (size_t)n);
}

/* HELP text: backslash and newline escaped; label values: double quote too. */
static void put_escaped(struct textbuf *out, const char *s, int quote)
{
	const char *run = s;

	for (; *s; s++) {
		const char *esc = NULL;

		if (*s == '\\')
			esc = "\\\\";
		else if (*s == '\n')
			esc = "\\n";
		else if (quote && *s == '"')
			esc = "\\\"";
		if (esc == NULL)
			continue;
		textbuf_append(out, run, (size_t)(s - run));
		textbuf_puts(out, esc);
		run = s + 1;
	}
	textbuf_append(out, run, (size_t)(s - run));
}

/* name{l1="v1",...,extra="extra_value"} value */
static void put_sample(struct textbuf *out, const struct metric_family *f, const char *suffix,
		       const struct metric *m, const char *extra, const char *extra_value, double v)
{
	int any = f->nlabels > 0 || extra != NULL;

	textbuf_puts(out, f->name);
	textbuf_puts(out, suffix);
	if (any)
		textbuf_putc(out, '{');
	for (size_t i = 0; i < f->nlabels; i++) {
		if (i > 0)
			textbuf_putc(out, ',');
		textbuf_puts(out, f->labels[i]);
		textbuf_puts(out, "=\"");
		put_escaped(out, m->values[i], 1);
		textbuf_putc(out, '"');
	}
	if (extra != NULL) {
		if (f->nlabels > 0)
			textbuf_putc(out, ',');
		textbuf_puts(out, extra);
		textbuf_puts(out, "=\"");
		textbuf_puts(out, extra_value);
		textbuf_putc(out, '"');
	}
	if (any)
		textbuf_putc(out, '}');
	textbuf_putc(out, ' ');
	put_value(out, v);
	textbuf_putc(out, '\n');
}

static void render_histogram(struct textbuf *out, const struct metric_family *f,
			     const struct metric *m)
{
	char le[32];
	uint64_t cum = 0;

	for (size_t i = 0; i <= f->nbounds; i++) {
		cum += m->buckets[i];
		if (i < f->nbounds)
			metrics_format_value(f->bounds[i], le, sizeof(le));
		else
			snprintf(le, sizeof(le), "+Inf");
		put_sample(out, f, "_bucket", m, "le", le, (double)cum);
	}
	put_sample(out, f, "_sum", m, NULL, NULL, m->value);
	put_sample(out, f, "_count", m, NULL, NULL, (double)m->count);
}

int metrics_render(const struct metrics *reg, struct textbuf *out)
{
	for (size_t i = 0; i < reg->nfams; i++) {
		const struct metric_family *f = reg->fams[i];

		if (f->nchildren == 0)
			continue;
		if (f->help[0] != '\0') {
			textbuf_printf(out, "# HELP %s ", f->name);
			put_escaped(out, f->help, 0);
			textbuf_putc(out, '\n');
		}
		textbuf_printf(out, "# TYPE %s %s\n", f->name, metric_type_str(f->type));
		for (size_t j = 0; j < f->nchildren; j++) {
			const struct metric *m = f->children[j];

			if (f->type == METRIC_HISTOGRAM)
				render_histogram(out, f, m);
			else
				put_sample(out, f, "", m, NULL, NULL, m->value);
		}
	}
	return textbuf_failed(out) ? -1 : 0;
}
