/* metrics: a registry of labelled counters, gauges and histograms, rendered as Prometheus text
 * 0.0.4. */
#ifndef L2LB_METRICS_H
#define L2LB_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "http/textbuf.h"

/*
 * A registry holds families; a family is one metric name with its type, help text and label
 * names; its children are the series, one per combination of label values, created on first
 * use. Everything is owned by the registry and freed by metrics_free(). The registry does no
 * I/O and is not thread-safe (it lives on the daemon's loop, like everything else).
 *
 *	struct metric_family *drops;
 *	if (metrics_add_counter(reg, "l2lb_arp_drops_total", "ARP frames dropped, by reason.",
 *				"interface,reason", &drops) != METRIC_OK) ...
 *	metric_inc(metric_with(drops, "eth0", arp_verdict_str(v)));
 *
 * Callers on a hot path may keep a child pointer: it stays valid until the child is removed
 * (metric_family_remove / metric_family_clear) or the registry is freed.
 */
struct metrics;
struct metric_family;
struct metric;

enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE,
	METRIC_HISTOGRAM,
};

/* "counter", "gauge", "histogram": the word written on the # TYPE line. */
const char *metric_type_str(enum metric_type t);

enum metric_err {
	METRIC_OK = 0,
	METRIC_ERR_NOMEM = -1,
	METRIC_ERR_NAME = -2,	      /* not [a-zA-Z_:][a-zA-Z0-9_:]* */
	METRIC_ERR_COUNTER_NAME = -3, /* a counter's name must end in "_total" */
	METRIC_ERR_LABEL_NAME = -4,   /* not [a-zA-Z_][a-zA-Z0-9_]*, "__" prefix, "le", repeated */
	METRIC_ERR_TOO_MANY_LABELS = -5,
	METRIC_ERR_DUPLICATE = -6,    /* the name, or a series name it generates, is taken */
	METRIC_ERR_BUCKETS = -7,      /* none, too many, not finite, or not strictly increasing */
	METRIC_ERR_LABEL_COUNT = -8,  /* label values given do not match the family's label names */
	METRIC_ERR_LABEL_VALUE = -9,  /* a label value is NULL */
	METRIC_ERR_CARDINALITY = -10, /* the family already holds its limit of children */
};

/* A short phrase for logs: "counter name must end in _total", ... */
const char *metric_err_str(enum metric_err e);

#define METRICS_MAX_LABELS	     8
#define METRICS_MAX_BUCKETS	     64
#define METRICS_DEFAULT_MAX_CHILDREN 1000

/* The series the registry itself keeps: children refused by a full family, by family. */
#define METRICS_REFUSED_NAME "l2lb_metrics_series_refused_total"

/* Returns an owned, empty registry, or NULL when out of memory. */
struct metrics *metrics_new(void);
/* Frees the registry, its families and children. Accepts NULL. */
void metrics_free(struct metrics *reg);

/*
 * Register a family. labels is a comma-separated list of label names ("pool,reason"), or NULL
 * or "" for none; a family without labels has its one child from the start, so it renders as 0
 * before first use. help may be NULL. *out gets the family (owned by the registry) on METRIC_OK.
 */
enum metric_err metrics_add_counter(struct metrics *reg, const char *name, const char *help,
				    const char *labels, struct metric_family **out);
enum metric_err metrics_add_gauge(struct metrics *reg, const char *name, const char *help,
				  const char *labels, struct metric_family **out);
/*
 * bounds: the upper bounds of the buckets, finite and strictly increasing (a last +Inf is
 * accepted and ignored: the +Inf bucket is always there); at most METRICS_MAX_BUCKETS.
 */
enum metric_err metrics_add_histogram(struct metrics *reg, const char *name, const char *help,
				      const char *labels, const double *bounds, size_t nbounds,
				      struct metric_family **out);

/*
 * Fills out[0..n) with start, start*factor, start*factor^2, ... (start > 0, factor > 1).
 * Returns 0, or -1 for arguments that do not make increasing finite bounds.
 */
int metrics_buckets_exponential(double start, double factor, size_t n, double *out);

/*
 * The child with these label values (one per label name, in the family's order), created
 * with a zero value if new. Returns NULL and sets *err (when err is not NULL) on a count
 * mismatch, a NULL value, no memory, or when the family is at its child limit: a refusal is
 * also counted in METRICS_REFUSED_NAME{metric="<family>"}, so growth is capped visibly.
 */
struct metric *metric_family_child(struct metric_family *f, const char *const *values, size_t n,
				   enum metric_err *err);
/* metric_with(f, "eth0", "short") == metric_family_child(f, {"eth0", "short"}, 2, NULL). */
#define metric_with(f, ...)                                            \
	metric_family_child((f), (const char *const[]){ __VA_ARGS__ }, \
			    sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(char *), NULL)
/* The one child of a family without labels (NULL for a labelled family). */
struct metric *metric_family_solo(struct metric_family *f);

/* Drops one child (0) or reports there was none (-1); pointers to it become invalid. */
int metric_family_remove(struct metric_family *f, const char *const *values, size_t n);
/* Drops every child of a labelled family (a label-less one is reset to zero instead). */
void metric_family_clear(struct metric_family *f);
/* Caps the number of children (default METRICS_DEFAULT_MAX_CHILDREN); existing ones stay. */
void metric_family_set_limit(struct metric_family *f, size_t max_children);
size_t metric_family_size(const struct metric_family *f);
const char *metric_family_name(const struct metric_family *f);

/*
 * Updates. Each accepts NULL (a refused child) and ignores an update its type does not have,
 * so hot paths need no checks. A counter only goes up: negative, NaN or infinite additions
 * are ignored. A NaN observation is ignored (it would poison the sum for good).
 */
void metric_inc(struct metric *m);		 /* counter or gauge, +1 */
void metric_dec(struct metric *m);		 /* gauge, -1 */
void metric_add(struct metric *m, double v);	 /* counter (v >= 0) or gauge */
void metric_set(struct metric *m, double v);	 /* gauge */
void metric_observe(struct metric *m, double v); /* histogram */

/* Readers, for tests and state dumps: a counter's or gauge's value; a histogram's sum, count. */
double metric_value(const struct metric *m);
double metric_histogram_sum(const struct metric *m);
uint64_t metric_histogram_count(const struct metric *m);

/*
 * Writes every family in the text exposition format 0.0.4: families sorted by name, children
 * by their label values (byte order, label by label), so the same state always renders to the
 * same bytes. Families without children are left out. Returns 0, or -1 when out fails to grow.
 */
int metrics_render(const struct metrics *reg, struct textbuf *out);

/* The Content-Type to serve the rendering with. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * Formats a sample value as Prometheus writes it: "NaN", "+Inf", "-Inf"; integral values
 * below 2^53 as plain integers ("0", "42", "-3"); others in the shortest form that reads back
 * to the same double ("0.1", "2.5e-07"). Writes at most cap bytes incl. the NUL (32 always
 * suffice) and returns the length, or -1 when cap is too small.
 */
int metrics_format_value(double v, char *buf, size_t cap);

#endif
