/* lastgood: an edit that makes a pool or advertisement invalid keeps its last accepted version. */
#include "mlb/lastgood.h"

#include <stdlib.h>
#include <string.h>

#define KEPT_NOTE "; serving its last accepted version"

struct entry {
	enum mlb_kind kind;
	char *ns, *name;
	json_t *obj; /* deep copy, owned */
};

struct mlb_lastgood {
	struct entry *v;
	size_t n;
	size_t nkept;
};

struct mlb_lastgood *mlb_lastgood_new(void)
{
	return calloc(1, sizeof(struct mlb_lastgood));
}

static void entry_fini(struct entry *e)
{
	free(e->ns);
	free(e->name);
	json_decref(e->obj);
}

void mlb_lastgood_free(struct mlb_lastgood *lg)
{
	if (lg == NULL)
		return;
	for (size_t i = 0; i < lg->n; i++)
		entry_fini(&lg->v[i]);
	free(lg->v);
	free(lg);
}

size_t mlb_lastgood_nkept(const struct mlb_lastgood *lg)
{
	return lg->nkept;
}

static const char *meta(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
	return s != NULL ? s : "";
}

static int same_name(const json_t *obj, const char *ns, const char *name)
{
	return strcmp(meta(obj, "namespace"), ns != NULL ? ns : "") == 0 &&
	       strcmp(meta(obj, "name"), name != NULL ? name : "") == 0;
}

/* What the configuration reads of an object: its spec and its labels (pool selectors). */
static int same_content(const json_t *a, const json_t *b)
{
	const json_t *sa = json_object_get(a, "spec"), *sb = json_object_get(b, "spec");
	const json_t *la = json_object_get(json_object_get(a, "metadata"), "labels");
	const json_t *lb = json_object_get(json_object_get(b, "metadata"), "labels");
	return ((sa == NULL && sb == NULL) || json_equal(sa, sb)) &&
	       ((la == NULL && lb == NULL) || json_equal(la, lb));
}

static struct entry *find(struct mlb_lastgood *lg, enum mlb_kind kind, const char *ns,
			  const char *name)
{
	for (size_t i = 0; i < lg->n; i++)
		if (lg->v[i].kind == kind && same_name(lg->v[i].obj, ns, name))
			return &lg->v[i];
	return NULL;
}

static int refused(const struct mlb_config *cfg, enum mlb_kind kind, const json_t *obj)
{
	for (size_t i = 0; i < mlb_config_nproblems(cfg); i++) {
		const struct mlb_problem *p = mlb_config_problem(cfg, i);
		if (p->kind == kind && same_name(obj, p->namespace, p->name))
			return 1;
	}
	return 0;
}

/* Entries for the objects of one kind as built: accepted ones as they are now, refused ones as
 * they were remembered (if they were). Appends to out (room for every object); lg is not
 * touched. -1 out of memory. */
static int remember(struct mlb_lastgood *lg, const struct mlb_config *cfg, enum mlb_kind kind,
		    const json_t *const *v, size_t n, struct entry *out, size_t *nout)
{
	for (size_t i = 0; i < n; i++) {
		const char *ns = meta(v[i], "namespace"), *name = meta(v[i], "name");
		struct entry *old = find(lg, kind, ns, name), *e = &out[*nout];
		int bad = refused(cfg, kind, v[i]);
		if (bad && old == NULL)
			continue;
		e->kind = kind;
		e->ns = strdup(ns);
		e->name = strdup(name);
		/* Kept, or refused with nothing better: remember the old version still. */
		e->obj = old != NULL && (old->obj == v[i] || bad) ? json_incref(old->obj)
								  : json_deep_copy(v[i]);
		if (e->ns == NULL || e->name == NULL || e->obj == NULL) {
			entry_fini(e);
			return -1;
		}
		(*nout)++;
	}
	return 0;
}

/* Swaps in the remembered version of each refused object whose content changed; returns how
 * many, with their problems in subs (room for every problem of cfg). */
static size_t substitute(struct mlb_lastgood *lg, const struct mlb_config *cfg, const json_t **pv,
			 size_t np, const json_t **av, size_t na, const struct mlb_problem **subs)
{
	size_t nsub = 0;
	for (size_t i = 0; i < mlb_config_nproblems(cfg); i++) {
		const struct mlb_problem *p = mlb_config_problem(cfg, i);
		struct entry *e = find(lg, p->kind, p->namespace, p->name);
		const json_t **v = p->kind == MLB_KIND_POOL ? pv : av;
		size_t n = p->kind == MLB_KIND_POOL ? np : na;
		for (size_t j = 0; e != NULL && j < n; j++)
			if (v[j] != e->obj && same_name(v[j], p->namespace, p->name) &&
			    !same_content(v[j], e->obj)) {
				v[j] = e->obj;
				subs[nsub++] = p;
				break;
			}
	}
	return nsub;
}

struct mlb_config *mlb_lastgood_build(struct mlb_lastgood *lg, const json_t *const *pools,
				      size_t npools, const json_t *const *advs, size_t nadvs)
{
	struct mlb_config *first = mlb_config_build(pools, npools, advs, nadvs), *cfg = NULL;
	const json_t **pv = calloc(npools + 1, sizeof(const json_t *));
	const json_t **av = calloc(nadvs + 1, sizeof(const json_t *));
	const struct mlb_problem **subs = NULL;
	struct entry *next = calloc(npools + nadvs + 1, sizeof(*next));
	size_t nnext = 0, nsub = 0;

	if (first == NULL || pv == NULL || av == NULL || next == NULL)
		goto fail;
	subs = calloc(mlb_config_nproblems(first) + 1, sizeof(const struct mlb_problem *));
	if (subs == NULL)
		goto fail;
	for (size_t i = 0; i < npools; i++)
		pv[i] = pools[i];
	for (size_t i = 0; i < nadvs; i++)
		av[i] = advs[i];
	nsub = substitute(lg, first, pv, npools, av, nadvs, subs);
	cfg = nsub > 0 ? mlb_config_build(pv, npools, av, nadvs) : first;
	if (cfg == NULL)
		goto fail;
	/* Remember before the notes go in: a kept object is not refused in cfg. */
	if (remember(lg, cfg, MLB_KIND_POOL, pv, npools, next, &nnext) < 0 ||
	    remember(lg, cfg, MLB_KIND_L2ADV, av, nadvs, next, &nnext) < 0)
		goto fail;
	for (size_t i = 0; cfg != first && i < nsub; i++) {
		/* The old version may be refused too (it now conflicts): then no note. */
		const char *ns = subs[i]->namespace, *name = subs[i]->name;
		const json_t *const *v = subs[i]->kind == MLB_KIND_POOL ? pv : av;
		size_t n = subs[i]->kind == MLB_KIND_POOL ? npools : nadvs, j = 0;
		while (j < n && !same_name(v[j], ns, name))
			j++;
		int kept = j < n && !refused(cfg, subs[i]->kind, v[j]);
		if (mlb_config_add_problem(cfg, subs[i], kept ? KEPT_NOTE : NULL) < 0)
			goto fail;
	}
	for (size_t i = 0; i < lg->n; i++)
		entry_fini(&lg->v[i]);
	free(lg->v);
	lg->v = next;
	lg->n = nnext;
	lg->nkept = nsub;
	if (cfg != first)
		mlb_config_free(first);
	free(pv);
	free(av);
	free(subs);
	return cfg;
fail:
	for (size_t i = 0; next != NULL && i < nnext; i++)
		entry_fini(&next[i]);
	if (cfg != first)
		mlb_config_free(cfg);
	mlb_config_free(first);
	free(next);
	free(pv);
	free(av);
	free(subs);
	return NULL;
}
