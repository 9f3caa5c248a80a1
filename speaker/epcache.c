/* epcache: compact EndpointSlice records (see epcache.h). */
#include "speaker/epcache.h"

#include "hash/fnv.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 1024
#define PART_MAX 253 /* namespaces and service names are DNS labels; slice names, subdomains */

/* A node name, shared by every endpoint that names it. */
struct nodename {
	struct nodename *next;
	size_t refs;
	char name[];
};

struct slice {
	struct slice *next;
	struct eligibility_endpoint *eps;
	size_t neps;
	char *svckey; /* "ns/service", inside key's allocation */
	char key[];   /* "ns/slice\0ns/service" */
};

struct epcache {
	struct slice *tab[NBUCKETS];
	struct nodename *names[NBUCKETS];
	size_t n;
};

const char *epcache_result_str(enum epcache_result r)
{
	switch (r) {
	case EPCACHE_CHANGED:
		return "changed";
	case EPCACHE_SAME:
		return "same";
	case EPCACHE_NO_SERVICE:
		return "no service-name label";
	case EPCACHE_BAD_OBJECT:
		return "no namespace or name";
	case EPCACHE_NO_MEMORY:
		return "out of memory";
	}
	return "?";
}

static unsigned bucket(const char *s)
{
	return (unsigned)(fnv_str(s) % NBUCKETS);
}

struct epcache *epcache_new(void)
{
	return calloc(1, sizeof(struct epcache));
}

static const char *name_get(struct epcache *e, const char *name)
{
	unsigned b = bucket(name);

	for (struct nodename *n = e->names[b]; n != NULL; n = n->next)
		if (strcmp(n->name, name) == 0) {
			n->refs++;
			return n->name;
		}
	size_t len = strlen(name);
	struct nodename *n = malloc(sizeof(*n) + len + 1);
	if (n == NULL)
		return NULL;
	memcpy(n->name, name, len + 1);
	n->refs = 1;
	n->next = e->names[b];
	e->names[b] = n;
	return n->name;
}

static void name_put(struct epcache *e, const char *name)
{
	if (name == NULL)
		return;
	for (struct nodename **pp = &e->names[bucket(name)]; *pp != NULL; pp = &(*pp)->next) {
		struct nodename *n = *pp;
		if (n->name != name)
			continue;
		if (--n->refs == 0) {
			*pp = n->next;
			free(n);
		}
		return;
	}
}

static void slice_free(struct epcache *e, struct slice *s)
{
	for (size_t i = 0; i < s->neps; i++)
		name_put(e, s->eps[i].node);
	free(s->eps);
	free(s);
}

void epcache_free(struct epcache *e)
{
	if (e == NULL)
		return;
	for (size_t b = 0; b < NBUCKETS; b++) {
		struct slice *s = e->tab[b], *next;
		for (; s != NULL; s = next) {
			next = s->next;
			slice_free(e, s);
		}
	}
	/* Every name belonged to an endpoint: none is left. */
	free(e);
}

static struct slice **find(struct epcache *e, const char *key)
{
	struct slice **pp = &e->tab[bucket(key)];

	for (; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->key, key) == 0)
			break;
	return pp;
}

static enum eligibility_cond cond_of(const json_t *conds, const char *key)
{
	const json_t *v = json_object_get(conds, key);

	if (!json_is_boolean(v))
		return ELIG_COND_UNSET;
	return json_is_true(v) ? ELIG_COND_TRUE : ELIG_COND_FALSE;
}

static int same_eps(const struct slice *old, const struct eligibility_endpoint *eps, size_t n,
		    const char *svckey)
{
	if (old == NULL || old->neps != n || strcmp(old->svckey, svckey) != 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct eligibility_endpoint *a = &old->eps[i], *b = &eps[i];
		/* Names are shared: equal names are the same pointer. */
		if (a->node != b->node || a->ready != b->ready || a->serving != b->serving ||
		    a->terminating != b->terminating)
			return 0;
	}
	return 1;
}

int epcache_del(struct epcache *e, const char *ns, const char *name)
{
	char key[2 * PART_MAX + 2];

	int len = snprintf(key, sizeof(key), "%s/%s", ns, name);

	if (len < 0 || (size_t)len >= sizeof(key))
		return 0;
	struct slice **pp = find(e, key), *s = *pp;
	if (s == NULL)
		return 0;
	*pp = s->next;
	e->n--;
	slice_free(e, s);
	return 1;
}

enum epcache_result epcache_put(struct epcache *e, const json_t *obj)
{
	const json_t *md = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *svc = json_string_value(
		json_object_get(json_object_get(md, "labels"), "kubernetes.io/service-name"));

	if (ns == NULL || name == NULL || *ns == '\0' || *name == '\0' || strlen(ns) > PART_MAX ||
	    strlen(name) > PART_MAX)
		return EPCACHE_BAD_OBJECT;
	if (svc == NULL || *svc == '\0' || strlen(svc) > PART_MAX) {
		epcache_del(e, ns, name);
		return EPCACHE_NO_SERVICE;
	}
	size_t klen = strlen(ns) + 1 + strlen(name), slen = strlen(ns) + 1 + strlen(svc);
	struct slice *s = malloc(sizeof(*s) + klen + 1 + slen + 1);
	if (s == NULL)
		return EPCACHE_NO_MEMORY;
	memset(s, 0, sizeof(*s));
	snprintf(s->key, klen + 1, "%s/%s", ns, name);
	s->svckey = s->key + klen + 1;
	snprintf(s->svckey, slen + 1, "%s/%s", ns, svc);

	const json_t *arr = json_object_get(obj, "endpoints");
	size_t n = json_array_size(arr);
	if (n > 0) {
		s->eps = calloc(n, sizeof(*s->eps));
		if (s->eps == NULL) {
			free(s);
			return EPCACHE_NO_MEMORY;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *ep = json_array_get(arr, i);
		const json_t *conds = json_object_get(ep, "conditions");
		const char *node = json_string_value(json_object_get(ep, "nodeName"));
		struct eligibility_endpoint *x = &s->eps[s->neps];
		x->node = NULL;
		if (node != NULL && (x->node = name_get(e, node)) == NULL) {
			slice_free(e, s);
			return EPCACHE_NO_MEMORY;
		}
		x->ready = cond_of(conds, "ready");
		x->serving = cond_of(conds, "serving");
		x->terminating = cond_of(conds, "terminating");
		s->neps++;
	}
	struct slice **pp = find(e, s->key), *old = *pp;
	int same = same_eps(old, s->eps, s->neps, s->svckey);
	if (old != NULL) {
		s->next = old->next;
		slice_free(e, old);
	} else {
		s->next = NULL;
		e->n++;
	}
	*pp = s;
	return same ? EPCACHE_SAME : EPCACHE_CHANGED;
}

size_t epcache_count(const struct epcache *e)
{
	return e->n;
}

void epcache_foreach(const struct epcache *e,
		     void (*fn)(const char *svckey, const struct eligibility_endpoint *eps,
				size_t n, void *arg),
		     void *arg)
{
	for (size_t b = 0; b < NBUCKETS; b++)
		for (const struct slice *s = e->tab[b]; s != NULL; s = s->next)
			fn(s->svckey, s->eps, s->neps, arg);
}
