/* kube/rvmap: a chained hash of key -> resourceVersion (see rvmap.h). */
#include "kube/rvmap.h"

#include "hash/fnv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ent {
	struct ent *next;
	size_t rvcap; /* room for the resourceVersion, NUL included */
	char kv[];    /* key, NUL, resourceVersion, NUL */
};

struct rvmap {
	struct ent **tab;
	size_t nbuckets; /* a power of two */
	size_t n;
};

struct rvmap *rvmap_new(void)
{
	struct rvmap *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->nbuckets = 64;
	m->tab = calloc(m->nbuckets, sizeof(struct ent *));
	if (m->tab == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void rvmap_free(struct rvmap *m)
{
	if (m == NULL)
		return;
	for (size_t b = 0; b < m->nbuckets; b++) {
		struct ent *e = m->tab[b], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->tab);
	free(m);
}

static struct ent **slot(const struct rvmap *m, const char *key)
{
	struct ent **pp = &m->tab[fnv_str(key) & (m->nbuckets - 1)];

	for (; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->kv, key) == 0)
			break;
	return pp;
}

static char *rv_of(struct ent *e)
{
	return e->kv + strlen(e->kv) + 1;
}

const char *rvmap_get(const struct rvmap *m, const char *key)
{
	struct ent *e = *slot(m, key);

	return e != NULL ? rv_of(e) : NULL;
}

/* Doubles the table when it holds more keys than buckets; a failure only costs speed. */
static void grow(struct rvmap *m)
{
	size_t nb = m->nbuckets * 2;
	struct ent **tab = calloc(nb, sizeof(struct ent *));

	if (tab == NULL)
		return;
	for (size_t b = 0; b < m->nbuckets; b++) {
		struct ent *e = m->tab[b], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			struct ent **head = &tab[fnv_str(e->kv) & (nb - 1)];
			e->next = *head;
			*head = e;
		}
	}
	free(m->tab);
	m->tab = tab;
	m->nbuckets = nb;
}

int rvmap_set(struct rvmap *m, const char *key, const char *rv)
{
	struct ent **pp = slot(m, key), *old = *pp;
	size_t rvlen = strlen(rv) + 1;

	if (old != NULL && rvlen <= old->rvcap) {
		memcpy(rv_of(old), rv, rvlen);
		return 0;
	}
	size_t klen = strlen(key) + 1;
	struct ent *e = malloc(sizeof(*e) + klen + rvlen);
	if (e == NULL)
		return -1;
	memcpy(e->kv, key, klen);
	memcpy(e->kv + klen, rv, rvlen);
	e->rvcap = rvlen;
	if (old != NULL) {
		e->next = old->next;
		*pp = e;
		free(old);
		return 0;
	}
	e->next = NULL;
	*pp = e;
	if (++m->n > m->nbuckets)
		grow(m);
	return 0;
}

int rvmap_del(struct rvmap *m, const char *key)
{
	struct ent **pp = slot(m, key), *e = *pp;

	if (e == NULL)
		return 0;
	*pp = e->next;
	free(e);
	m->n--;
	return 1;
}

size_t rvmap_count(const struct rvmap *m)
{
	return m->n;
}

void rvmap_foreach(struct rvmap *m, void (*fn)(const char *key, const char *rv, void *arg),
		   void *arg)
{
	for (size_t b = 0; b < m->nbuckets; b++) {
		struct ent *e = m->tab[b], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			fn(e->kv, rv_of(e), arg);
		}
	}
}
