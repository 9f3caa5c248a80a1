/* mlb/config: IPAddressPool and L2Advertisement objects → the validated configuration. */
#include "mlb/mlb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Size of an object pointer, for arrays of them. */
#define PTR sizeof(void *)

struct sel_list {
	struct labels_selector **v;
	size_t n;
};

struct mlb_pool {
	char *name, *namespace, *created;
	json_t *labels; /* owned copy of metadata.labels, or NULL */
	struct ipam_pool *ip;
	bool has_alloc;
	int priority;
	char **namespaces;
	size_t nns;
	struct sel_list ns_sel, svc_sel;
};

struct pref {
	struct labels_selector *sel;
	long weight;
};

struct mlb_l2adv {
	char *name, *namespace;
	char **pools; /* spec.ipAddressPools */
	size_t npools;
	struct sel_list pool_sel, node_sel, svc_sel;
	char **ifaces;
	size_t nifaces;
	struct pref *prefs;
	size_t nprefs;
	char **selected; /* pools matched by ipAddressPoolSelectors */
	size_t nselected;
	bool all_pools;
};

struct problem_store {
	struct mlb_problem pub;
	char *ns, *name, *field, *message;
};

struct mlb_config {
	struct mlb_pool **pools;
	size_t npools;
	struct mlb_l2adv **advs;
	size_t nadvs;
	struct problem_store *problems;
	size_t nproblems;
	char **refused;
	size_t nrefused;
	bool nomem;
};

const char *mlb_kind_str(enum mlb_kind k)
{
	switch (k) {
	case MLB_KIND_POOL:
		return "IPAddressPool";
	case MLB_KIND_L2ADV:
		return "L2Advertisement";
	}
	return "?";
}

const char *mlb_choice_str(enum mlb_choice c)
{
	switch (c) {
	case MLB_CHOICE_OK:
		return "ok";
	case MLB_CHOICE_NO_POOL:
		return "no-pool";
	case MLB_CHOICE_UNKNOWN_POOL:
		return "unknown-pool";
	case MLB_CHOICE_POOL_REFUSES:
		return "pool-refuses-service";
	case MLB_CHOICE_NOT_IN_POOL:
		return "not-in-pool";
	case MLB_CHOICE_SPLIT_POOLS:
		return "split-pools";
	case MLB_CHOICE_POOL_MISMATCH:
		return "pool-mismatch";
	case MLB_CHOICE_SHARING_DENIED:
		return "sharing-denied";
	}
	return "?";
}

/* ---- small helpers ---- */

static char *dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free((void *)v);
}

static void free_sels(struct sel_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		labels_selector_free(l->v[i]);
	free((void *)l->v);
	l->v = NULL;
	l->n = 0;
}

static bool sels_any_match(const struct sel_list *l, const json_t *labels)
{
	for (size_t i = 0; i < l->n; i++)
		if (labels_selector_matches(l->v[i], labels))
			return true;
	return false;
}

static bool strv_has(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* The object being read, and where: for problem messages. */
struct ctx {
	struct mlb_config *cfg;
	enum mlb_kind kind;
	const char *ns, *name;
};

static void problem(struct ctx *c, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void problem(struct ctx *c, const char *field, const char *fmt, ...)
{
	char detail[512], message[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	const char *ns = c->ns != NULL ? c->ns : "", *name = c->name != NULL ? c->name : "";
	snprintf(message, sizeof(message), "%s %s%s%s: %s%s%s", mlb_kind_str(c->kind), ns,
		 *ns != '\0' ? "/" : "", *name != '\0' ? name : "(unnamed)", field,
		 *field != '\0' ? ": " : "", detail);
	struct mlb_config *cfg = c->cfg;
	struct problem_store *np =
		realloc(cfg->problems, (cfg->nproblems + 1) * sizeof(*cfg->problems));
	if (np == NULL) {
		cfg->nomem = true;
		return;
	}
	cfg->problems = np;
	struct problem_store *p = &np[cfg->nproblems];
	p->pub.kind = c->kind;
	p->ns = strdup(ns);
	p->name = strdup(name);
	p->field = strdup(field);
	p->message = strdup(message);
	if (p->ns == NULL || p->name == NULL || p->field == NULL || p->message == NULL) {
		free(p->ns);
		free(p->name);
		free(p->field);
		free(p->message);
		cfg->nomem = true;
		return;
	}
	cfg->nproblems++;
}

/* Reads an optional array of strings; -1 (problem recorded) when it is not one. */
static int read_strv(struct ctx *c, const json_t *arr, const char *field, bool no_dups, char ***out,
		     size_t *n)
{
	*out = NULL;
	*n = 0;
	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr)) {
		problem(c, field, "not a list");
		return -1;
	}
	size_t cnt = json_array_size(arr);
	char **v = cnt > 0 ? calloc(cnt, sizeof(char *)) : NULL;
	if (cnt > 0 && v == NULL) {
		c->cfg->nomem = true;
		return -1;
	}
	for (size_t i = 0; i < cnt; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		char f[128];
		snprintf(f, sizeof(f), "%s[%zu]", field, i);
		if (s == NULL || *s == '\0') {
			problem(c, f, "not a non-empty string");
			free_strv(v, i);
			return -1;
		}
		if (no_dups && strv_has(v, i, s)) {
			problem(c, f, "duplicate definition of \"%s\"", s);
			free_strv(v, i);
			return -1;
		}
		if ((v[i] = strdup(s)) == NULL) {
			c->cfg->nomem = true;
			free_strv(v, i);
			return -1;
		}
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* Reads an optional list of selectors; equivalent ones are refused, as MetalLB refuses dups. */
static int read_sels(struct ctx *c, const json_t *arr, const char *field, struct sel_list *out)
{
	out->v = NULL;
	out->n = 0;
	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr)) {
		problem(c, field, "not a list");
		return -1;
	}
	size_t cnt = json_array_size(arr);
	if (cnt == 0)
		return 0;
	out->v = calloc(cnt, PTR);
	if (out->v == NULL) {
		c->cfg->nomem = true;
		return -1;
	}
	for (size_t i = 0; i < cnt; i++) {
		char f[128], msg[384];
		snprintf(f, sizeof(f), "%s[%zu]", field, i);
		enum labels_status st =
			labels_selector_parse(json_array_get(arr, i), &out->v[i], msg, sizeof(msg));
		if (st != LABELS_OK) {
			problem(c, f, "%s", msg);
			free_sels(out);
			return -1;
		}
		out->n = i + 1;
		for (size_t j = 0; j < i; j++) {
			if (labels_selector_equivalent(out->v[j], out->v[i])) {
				problem(c, f, "duplicate of %s[%zu]", field, j);
				free_sels(out);
				return -1;
			}
		}
	}
	return 0;
}

/* Optional boolean: -1 (problem recorded) when present and not a boolean. */
static int read_bool(struct ctx *c, const json_t *spec, const char *key, bool dflt, bool *out)
{
	const json_t *v = json_object_get(spec, key);
	*out = dflt;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		char f[64];
		snprintf(f, sizeof(f), "spec.%s", key);
		problem(c, f, "not true or false");
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

static const char *meta_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

/* ---- pools ---- */

static void pool_free(struct mlb_pool *p)
{
	if (p == NULL)
		return;
	free(p->name);
	free(p->namespace);
	free(p->created);
	json_decref(p->labels);
	ipam_pool_free(p->ip);
	free_strv(p->namespaces, p->nns);
	free_sels(&p->ns_sel);
	free_sels(&p->svc_sel);
	free(p);
}

static int read_allocation(struct ctx *c, const json_t *sa, struct mlb_pool *p)
{
	if (sa == NULL || json_is_null(sa))
		return 0;
	if (!json_is_object(sa)) {
		problem(c, "spec.serviceAllocation", "not an object");
		return -1;
	}
	p->has_alloc = true;
	const json_t *prio = json_object_get(sa, "priority");
	if (prio != NULL && !json_is_null(prio)) {
		if (!json_is_integer(prio) || json_integer_value(prio) < 0 ||
		    json_integer_value(prio) > 2147483647) {
			problem(c, "spec.serviceAllocation.priority", "not a non-negative integer");
			return -1;
		}
		p->priority = (int)json_integer_value(prio);
	}
	if (read_strv(c, json_object_get(sa, "namespaces"), "spec.serviceAllocation.namespaces",
		      true, &p->namespaces, &p->nns) < 0)
		return -1;
	if (read_sels(c, json_object_get(sa, "namespaceSelectors"),
		      "spec.serviceAllocation.namespaceSelectors", &p->ns_sel) < 0)
		return -1;
	return read_sels(c, json_object_get(sa, "serviceSelectors"),
			 "spec.serviceAllocation.serviceSelectors", &p->svc_sel);
}

/* Reads one pool on its own (overlaps with other pools are checked afterwards). */
static struct mlb_pool *pool_read(struct mlb_config *cfg, const json_t *obj)
{
	struct ctx c = { cfg, MLB_KIND_POOL, meta_str(obj, "namespace"), meta_str(obj, "name") };
	if (c.name == NULL || *c.name == '\0') {
		problem(&c, "metadata.name", "missing");
		return NULL;
	}
	struct mlb_pool *p = calloc(1, sizeof(*p));
	if (p == NULL || (p->name = strdup(c.name)) == NULL ||
	    (p->ip = ipam_pool_new(c.name)) == NULL) {
		cfg->nomem = true;
		pool_free(p);
		return NULL;
	}
	p->namespace = dup_or_null(c.ns);
	p->created = dup_or_null(meta_str(obj, "creationTimestamp"));
	const json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
	if (json_is_object(labels))
		p->labels = json_deep_copy(labels);
	const json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec)) {
		problem(&c, "spec", "missing");
		goto bad;
	}
	const json_t *addrs = json_object_get(spec, "addresses");
	if (addrs != NULL && !json_is_array(addrs)) {
		problem(&c, "spec.addresses", "not a list");
		goto bad;
	}
	for (size_t i = 0; i < json_array_size(addrs); i++) {
		char f[64], msg[512];
		snprintf(f, sizeof(f), "spec.addresses[%zu]", i);
		const char *e = json_string_value(json_array_get(addrs, i));
		if (e == NULL) {
			problem(&c, f, "not a string");
			goto bad;
		}
		enum ipam_pool_status st = ipam_pool_add_entry(p->ip, e, NULL, msg, sizeof(msg));
		if (st == IPAM_POOL_NOMEM) {
			cfg->nomem = true;
			goto bad;
		}
		if (st != IPAM_POOL_OK) {
			problem(&c, f, "%s", msg);
			goto bad;
		}
	}
	char msg[256];
	if (ipam_pool_check(p->ip, msg, sizeof(msg)) != IPAM_POOL_OK) {
		problem(&c, "spec.addresses", "%s", msg);
		goto bad;
	}
	bool b;
	if (read_bool(&c, spec, "autoAssign", true, &b) < 0)
		goto bad;
	ipam_pool_set_auto_assign(p->ip, b);
	if (read_bool(&c, spec, "avoidBuggyIPs", false, &b) < 0)
		goto bad;
	ipam_pool_set_avoid_buggy(p->ip, b);
	if (read_allocation(&c, json_object_get(spec, "serviceAllocation"), p) < 0)
		goto bad;
	return p;
bad:
	pool_free(p);
	return NULL;
}

static int str_cmp_null(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

/* Older first: the pool that was there first keeps its addresses when two overlap. */
static int pool_age_cmp(const void *a, const void *b)
{
	const struct mlb_pool *x = *(const struct mlb_pool *const *)a;
	const struct mlb_pool *y = *(const struct mlb_pool *const *)b;
	int c = str_cmp_null(x->created, y->created);
	return c != 0 ? c : strcmp(x->name, y->name);
}

static int pool_name_cmp(const void *a, const void *b)
{
	const struct mlb_pool *x = *(const struct mlb_pool *const *)a;
	const struct mlb_pool *y = *(const struct mlb_pool *const *)b;
	return strcmp(x->name, y->name);
}

static void refuse(struct mlb_config *cfg, const char *name)
{
	if (strv_has(cfg->refused, cfg->nrefused, name))
		return;
	char **nr = realloc((void *)cfg->refused, (cfg->nrefused + 1) * sizeof(char *));
	if (nr == NULL || (nr[cfg->nrefused] = strdup(name)) == NULL) {
		if (nr != NULL)
			cfg->refused = nr;
		cfg->nomem = true;
		return;
	}
	cfg->refused = nr;
	cfg->nrefused++;
}

static void build_pools(struct mlb_config *cfg, const json_t *const *objs, size_t n)
{
	struct mlb_pool **cand = n > 0 ? calloc(n, PTR) : NULL;
	size_t nc = 0;
	if (n > 0 && cand == NULL) {
		cfg->nomem = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct mlb_pool *p = pool_read(cfg, objs[i]);
		if (p != NULL) {
			cand[nc++] = p;
		} else {
			const char *name = meta_str(objs[i], "name");
			if (name != NULL)
				refuse(cfg, name);
		}
	}
	if (nc > 1)
		qsort((void *)cand, nc, PTR, pool_age_cmp);
	cfg->pools = nc > 0 ? calloc(nc, PTR) : NULL;
	if (nc > 0 && cfg->pools == NULL)
		cfg->nomem = true;
	for (size_t i = 0; i < nc; i++) {
		struct mlb_pool *p = cand[i];
		struct ctx c = { cfg, MLB_KIND_POOL, p->namespace, p->name };
		bool ok = cfg->pools != NULL && !strv_has(cfg->refused, cfg->nrefused, p->name);
		for (size_t j = 0; ok && j < cfg->npools; j++) {
			char msg[512];
			if (strcmp(cfg->pools[j]->name, p->name) == 0) {
				problem(&c, "metadata.name", "duplicate definition of pool \"%s\"",
					p->name);
				ok = false;
			} else if (ipam_pool_check_overlap(p->ip, cfg->pools[j]->ip, msg,
							   sizeof(msg)) != IPAM_POOL_OK) {
				problem(&c, "spec.addresses", "%s", msg);
				ok = false;
			}
		}
		if (ok) {
			cfg->pools[cfg->npools++] = p;
		} else {
			refuse(cfg, p->name);
			pool_free(p);
		}
	}
	free((void *)cand);
	if (cfg->pools != NULL && cfg->npools > 1)
		qsort((void *)cfg->pools, cfg->npools, PTR, pool_name_cmp);
}

/* ---- advertisements ---- */

static void adv_free(struct mlb_l2adv *a)
{
	if (a == NULL)
		return;
	free(a->name);
	free(a->namespace);
	free_strv(a->pools, a->npools);
	free_sels(&a->pool_sel);
	free_sels(&a->node_sel);
	free_sels(&a->svc_sel);
	free_strv(a->ifaces, a->nifaces);
	for (size_t i = 0; i < a->nprefs; i++)
		labels_selector_free(a->prefs[i].sel);
	free(a->prefs);
	free_strv(a->selected, a->nselected);
	free(a);
}

static int read_prefs(struct ctx *c, const json_t *arr, struct mlb_l2adv *a)
{
	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr)) {
		problem(c, "spec.preferredNodeSelectors", "not a list");
		return -1;
	}
	size_t n = json_array_size(arr);
	if (n == 0)
		return 0;
	a->prefs = calloc(n, sizeof(*a->prefs));
	if (a->prefs == NULL) {
		c->cfg->nomem = true;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *t = json_array_get(arr, i);
		char f[96], msg[384];
		const json_t *w = json_object_get(t, "weight");
		snprintf(f, sizeof(f), "spec.preferredNodeSelectors[%zu].weight", i);
		if (!json_is_integer(w) || json_integer_value(w) < 1 ||
		    json_integer_value(w) > 100) {
			problem(c, f, "must be an integer from 1 to 100");
			return -1;
		}
		snprintf(f, sizeof(f), "spec.preferredNodeSelectors[%zu].preference", i);
		const json_t *pref = json_object_get(t, "preference");
		if (pref == NULL) {
			problem(c, f, "missing");
			return -1;
		}
		enum labels_status st =
			labels_selector_parse(pref, &a->prefs[i].sel, msg, sizeof(msg));
		if (st != LABELS_OK) {
			problem(c, f, "%s", msg);
			return -1;
		}
		a->prefs[i].weight = (long)json_integer_value(w);
		a->nprefs = i + 1;
	}
	return 0;
}

static struct mlb_l2adv *adv_read(struct mlb_config *cfg, const json_t *obj)
{
	struct ctx c = { cfg, MLB_KIND_L2ADV, meta_str(obj, "namespace"), meta_str(obj, "name") };
	if (c.name == NULL || *c.name == '\0') {
		problem(&c, "metadata.name", "missing");
		return NULL;
	}
	struct mlb_l2adv *a = calloc(1, sizeof(*a));
	if (a == NULL || (a->name = strdup(c.name)) == NULL) {
		cfg->nomem = true;
		adv_free(a);
		return NULL;
	}
	a->namespace = dup_or_null(c.ns);
	const json_t *spec = json_object_get(obj, "spec");
	if (spec != NULL && !json_is_null(spec) && !json_is_object(spec)) {
		problem(&c, "spec", "not an object");
		goto bad;
	}
	if (read_strv(&c, json_object_get(spec, "ipAddressPools"), "spec.ipAddressPools", true,
		      &a->pools, &a->npools) < 0 ||
	    read_sels(&c, json_object_get(spec, "ipAddressPoolSelectors"),
		      "spec.ipAddressPoolSelectors", &a->pool_sel) < 0 ||
	    read_sels(&c, json_object_get(spec, "nodeSelectors"), "spec.nodeSelectors",
		      &a->node_sel) < 0 ||
	    read_sels(&c, json_object_get(spec, "serviceSelectors"), "spec.serviceSelectors",
		      &a->svc_sel) < 0 ||
	    read_strv(&c, json_object_get(spec, "interfaces"), "spec.interfaces", true, &a->ifaces,
		      &a->nifaces) < 0 ||
	    read_prefs(&c, json_object_get(spec, "preferredNodeSelectors"), a) < 0)
		goto bad;
	a->all_pools = a->npools == 0 && a->pool_sel.n == 0;
	return a;
bad:
	adv_free(a);
	return NULL;
}

static int adv_name_cmp(const void *x, const void *y)
{
	const struct mlb_l2adv *a = *(const struct mlb_l2adv *const *)x;
	const struct mlb_l2adv *b = *(const struct mlb_l2adv *const *)y;
	int c = strcmp(a->name, b->name);
	return c != 0 ? c : str_cmp_null(a->namespace, b->namespace);
}

static void build_advs(struct mlb_config *cfg, const json_t *const *objs, size_t n)
{
	cfg->advs = n > 0 ? calloc(n, PTR) : NULL;
	if (n > 0 && cfg->advs == NULL) {
		cfg->nomem = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct mlb_l2adv *a = adv_read(cfg, objs[i]);
		if (a == NULL)
			continue;
		/* Resolve ipAddressPoolSelectors against the valid pools' labels now. */
		if (a->pool_sel.n > 0 && cfg->npools > 0) {
			a->selected = calloc(cfg->npools, sizeof(char *));
			if (a->selected == NULL) {
				cfg->nomem = true;
				adv_free(a);
				continue;
			}
			for (size_t k = 0; k < cfg->npools; k++) {
				if (!sels_any_match(&a->pool_sel, cfg->pools[k]->labels))
					continue;
				if ((a->selected[a->nselected] = strdup(cfg->pools[k]->name)) ==
				    NULL)
					cfg->nomem = true;
				else
					a->nselected++;
			}
		}
		cfg->advs[cfg->nadvs++] = a;
	}
	if (cfg->advs != NULL && cfg->nadvs > 1)
		qsort((void *)cfg->advs, cfg->nadvs, PTR, adv_name_cmp);
}

void mlb_config_free(struct mlb_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->npools; i++)
		pool_free(cfg->pools[i]);
	free((void *)cfg->pools);
	for (size_t i = 0; i < cfg->nadvs; i++)
		adv_free(cfg->advs[i]);
	free((void *)cfg->advs);
	for (size_t i = 0; i < cfg->nproblems; i++) {
		free(cfg->problems[i].ns);
		free(cfg->problems[i].name);
		free(cfg->problems[i].field);
		free(cfg->problems[i].message);
	}
	free(cfg->problems);
	free_strv(cfg->refused, cfg->nrefused);
	free(cfg);
}

/* The public views point into the stores, which realloc moves: set them once the list is final. */
static void publish_problems(struct mlb_config *cfg)
{
	for (size_t i = 0; i < cfg->nproblems; i++) {
		struct problem_store *p = &cfg->problems[i];
		p->pub.namespace = p->ns;
		p->pub.name = p->name;
		p->pub.field = p->field;
		p->pub.message = p->message;
	}
}

struct mlb_config *mlb_config_build(const json_t *const *pools, size_t npools,
				    const json_t *const *advs, size_t nadvs)
{
	struct mlb_config *cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL)
		return NULL;
	build_pools(cfg, pools, npools);
	build_advs(cfg, advs, nadvs);
	if (cfg->nomem) {
		mlb_config_free(cfg);
		return NULL;
	}
	publish_problems(cfg);
	return cfg;
}

int mlb_config_add_problem(struct mlb_config *cfg, const struct mlb_problem *p, const char *note)
{
	char message[1200];
	snprintf(message, sizeof(message), "%s%s", p->message, note != NULL ? note : "");
	struct problem_store *np =
		realloc(cfg->problems, (cfg->nproblems + 1) * sizeof(*cfg->problems));
	if (np == NULL)
		return -1;
	cfg->problems = np;
	struct problem_store *s = &np[cfg->nproblems];
	s->pub.kind = p->kind;
	s->ns = strdup(p->namespace != NULL ? p->namespace : "");
	s->name = strdup(p->name != NULL ? p->name : "");
	s->field = strdup(p->field != NULL ? p->field : "");
	s->message = strdup(message);
	if (s->ns == NULL || s->name == NULL || s->field == NULL || s->message == NULL) {
		free(s->ns);
		free(s->name);
		free(s->field);
		free(s->message);
		publish_problems(cfg);
		return -1;
	}
	cfg->nproblems++;
	publish_problems(cfg);
	return 0;
}

size_t mlb_config_nproblems(const struct mlb_config *cfg)
{
	return cfg->nproblems;
}

const struct mlb_problem *mlb_config_problem(const struct mlb_config *cfg, size_t i)
{
	return i < cfg->nproblems ? &cfg->problems[i].pub : NULL;
}

bool mlb_config_pool_refused(const struct mlb_config *cfg, const char *name)
{
	return strv_has(cfg->refused, cfg->nrefused, name);
}

size_t mlb_config_npools(const struct mlb_config *cfg)
{
	return cfg->npools;
}

const struct mlb_pool *mlb_config_pool(const struct mlb_config *cfg, size_t i)
{
	return i < cfg->npools ? cfg->pools[i] : NULL;
}

const struct mlb_pool *mlb_config_pool_by_name(const struct mlb_config *cfg, const char *name)
{
	for (size_t i = 0; name != NULL && i < cfg->npools; i++)
		if (strcmp(cfg->pools[i]->name, name) == 0)
			return cfg->pools[i];
	return NULL;
}

const struct mlb_pool *mlb_config_pool_for_addr(const struct mlb_config *cfg,
						const struct ipam_addr *a)
{
	for (size_t i = 0; i < cfg->npools; i++)
		if (ipam_pool_contains(cfg->pools[i]->ip, a))
			return cfg->pools[i];
	return NULL;
}

const char *mlb_pool_name(const struct mlb_pool *p)
{
	return p->name;
}

const struct ipam_pool *mlb_pool_ipam(const struct mlb_pool *p)
{
	return p->ip;
}

bool mlb_pool_auto_assign(const struct mlb_pool *p)
{
	return ipam_pool_auto_assign(p->ip);
}

bool mlb_pool_avoid_buggy(const struct mlb_pool *p)
{
	return ipam_pool_avoid_buggy(p->ip);
}

bool mlb_pool_has_allocation(const struct mlb_pool *p)
{
	return p->has_alloc;
}

int mlb_pool_priority(const struct mlb_pool *p)
{
	return p->priority;
}

bool mlb_pool_admits(const struct mlb_pool *p, const struct mlb_service *s, const json_t *ns_labels)
{
	if (!p->has_alloc)
		return true;
	if (p->nns > 0 || p->ns_sel.n > 0) {
		bool in = strv_has(p->namespaces, p->nns, mlb_service_namespace(s)) ||
			  (ns_labels != NULL && sels_any_match(&p->ns_sel, ns_labels));
		if (!in)
			return false;
	}
	if (p->svc_sel.n > 0 && !sels_any_match(&p->svc_sel, mlb_service_labels(s)))
		return false;
	return true;
}

/* Priority order: 1, 2, ... then unset (0); ties by name. */
static int pool_prio_cmp(const void *a, const void *b)
{
	const struct mlb_pool *x = *(const struct mlb_pool *const *)a;
	const struct mlb_pool *y = *(const struct mlb_pool *const *)b;
	if (x->priority != y->priority) {
		if (x->priority == 0)
			return 1;
		if (y->priority == 0)
			return -1;
		return x->priority < y->priority ? -1 : 1;
	}
	return strcmp(x->name, y->name);
}

/*
 * MetalLB: a service selected by an advertisement with serviceSelectors may not share its IP
 * (the advertisement could then announce an address for only some of its users).
 */
static bool sharing_denied(const struct mlb_config *cfg, const struct mlb_pool *p,
			   const struct mlb_service *s)
{
	if (mlb_service_sharing_key(s) == NULL)
		return false;
	for (size_t i = 0; i < cfg->nadvs; i++) {
		const struct mlb_l2adv *a = cfg->advs[i];
		if (a->svc_sel.n > 0 && mlb_l2adv_applies_to_pool(a, p->name) &&
		    sels_any_match(&a->svc_sel, mlb_service_labels(s)))
			return true;
	}
	return false;
}

static enum mlb_choice one_pool(const struct mlb_config *cfg, const struct mlb_pool *p,
				const struct mlb_service *s, const json_t *ns_labels,
				const struct mlb_pool **out, size_t cap, size_t *n)
{
	if (!mlb_pool_admits(p, s, ns_labels))
		return MLB_CHOICE_POOL_REFUSES;
	if (sharing_denied(cfg, p, s))
		return MLB_CHOICE_SHARING_DENIED;
	if (cap > 0)
		out[0] = p;
	*n = 1;
	return MLB_CHOICE_OK;
}

enum mlb_choice mlb_config_pools_for_service(const struct mlb_config *cfg,
					     const struct mlb_service *s, const json_t *ns_labels,
					     const struct mlb_pool **out, size_t cap, size_t *n)
{
	*n = 0;
	const char *named = mlb_service_pool(s);
	if (mlb_service_nrequested(s) > 0) {
		const struct mlb_pool *p = NULL;
		for (size_t i = 0; i < mlb_service_nrequested(s); i++) {
			const struct mlb_pool *q =
				mlb_config_pool_for_addr(cfg, mlb_service_requested(s, i));
			if (q == NULL)
				return MLB_CHOICE_NOT_IN_POOL;
			if (p != NULL && p != q)
				return MLB_CHOICE_SPLIT_POOLS;
			p = q;
		}
		if (p == NULL)
			return MLB_CHOICE_NOT_IN_POOL;
		if (named != NULL && strcmp(named, p->name) != 0)
			return MLB_CHOICE_POOL_MISMATCH;
		return one_pool(cfg, p, s, ns_labels, out, cap, n);
	}
	if (named != NULL) {
		const struct mlb_pool *p = mlb_config_pool_by_name(cfg, named);
		if (p == NULL)
			return MLB_CHOICE_UNKNOWN_POOL;
		return one_pool(cfg, p, s, ns_labels, out, cap, n);
	}
	const struct mlb_pool **pinned = cfg->npools > 0 ? calloc(cfg->npools, PTR) : NULL;
	size_t np = 0, total = 0;
	bool denied = false;
	for (size_t i = 0; pinned != NULL && i < cfg->npools; i++) {
		const struct mlb_pool *p = cfg->pools[i];
		if (!p->has_alloc || !mlb_pool_auto_assign(p) || !mlb_pool_admits(p, s, ns_labels))
			continue;
		if (sharing_denied(cfg, p, s)) {
			denied = true;
			continue;
		}
		pinned[np++] = p;
	}
	if (np > 1)
		qsort((void *)pinned, np, PTR, pool_prio_cmp);
	for (size_t i = 0; i < np; i++, total++)
		if (total < cap)
			out[total] = pinned[i];
	free((void *)pinned);
	for (size_t i = 0; i < cfg->npools; i++) {
		const struct mlb_pool *p = cfg->pools[i];
		if (p->has_alloc || !mlb_pool_auto_assign(p))
			continue;
		if (sharing_denied(cfg, p, s)) {
			denied = true;
			continue;
		}
		if (total < cap)
			out[total] = p;
		total++;
	}
	*n = total;
	if (total == 0)
		return denied ? MLB_CHOICE_SHARING_DENIED : MLB_CHOICE_NO_POOL;
	return MLB_CHOICE_OK;
}

/* ---- advertisements, for the speaker ---- */

size_t mlb_config_nl2advs(const struct mlb_config *cfg)
{
	return cfg->nadvs;
}

const struct mlb_l2adv *mlb_config_l2adv(const struct mlb_config *cfg, size_t i)
{
	return i < cfg->nadvs ? cfg->advs[i] : NULL;
}

size_t mlb_config_l2advs_for_pool(const struct mlb_config *cfg, const char *pool,
				  const struct mlb_l2adv **out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < cfg->nadvs; i++) {
		if (!mlb_l2adv_applies_to_pool(cfg->advs[i], pool))
			continue;
		if (n < cap)
			out[n] = cfg->advs[i];
		n++;
	}
	return n;
}

const char *mlb_l2adv_name(const struct mlb_l2adv *a)
{
	return a->name;
}

const char *mlb_l2adv_namespace(const struct mlb_l2adv *a)
{
	return a->namespace;
}

bool mlb_l2adv_applies_to_pool(const struct mlb_l2adv *a, const char *pool)
{
	return a->all_pools || strv_has(a->pools, a->npools, pool) ||
	       strv_has(a->selected, a->nselected, pool);
}

bool mlb_l2adv_selects_node(const struct mlb_l2adv *a, const json_t *node_labels)
{
	return a->node_sel.n == 0 || sels_any_match(&a->node_sel, node_labels);
}

bool mlb_l2adv_selects_service(const struct mlb_l2adv *a, const json_t *svc_labels)
{
	return a->svc_sel.n == 0 || sels_any_match(&a->svc_sel, svc_labels);
}

bool mlb_l2adv_has_service_selectors(const struct mlb_l2adv *a)
{
	return a->svc_sel.n > 0;
}

bool mlb_l2adv_allows_interface(const struct mlb_l2adv *a, const char *ifname)
{
	return a->nifaces == 0 || strv_has(a->ifaces, a->nifaces, ifname);
}

size_t mlb_l2adv_ninterfaces(const struct mlb_l2adv *a)
{
	return a->nifaces;
}

const char *mlb_l2adv_interface(const struct mlb_l2adv *a, size_t i)
{
	return i < a->nifaces ? a->ifaces[i] : NULL;
}

long mlb_l2adv_preference(const struct mlb_l2adv *a, const json_t *node_labels)
{
	long sum = 0;
	for (size_t i = 0; i < a->nprefs; i++)
		if (labels_selector_matches(a->prefs[i].sel, node_labels))
			sum += a->prefs[i].weight;
	return sum;
}
