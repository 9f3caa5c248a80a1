/* epcache: every EndpointSlice's endpoints as compact records, by the service they belong to. */
#ifndef L2LB_SPEAKER_EPCACHE_H
#define L2LB_SPEAKER_EPCACHE_H

#include <jansson.h>
#include <stddef.h>

#include "speaker/eligibility.h"

/*
 * The speaker's slice informer keeps no objects (informer keys_only): this is what it keeps
 * instead, a few dozen bytes per endpoint rather than a jansson tree per slice. Node names are
 * stored once however many endpoints name them. Pure: no I/O, no logging.
 */
struct epcache;

/* What epcache_put() made of a slice. */
enum epcache_result {
	EPCACHE_CHANGED,    /* stored; its endpoints differ from what was stored before */
	EPCACHE_SAME,	    /* stored; the same endpoints as before (a no-op update) */
	EPCACHE_NO_SERVICE, /* no kubernetes.io/service-name label: not stored (and a
			       previous version of it dropped) */
	EPCACHE_BAD_OBJECT, /* no metadata.namespace or name, or names too long */
	EPCACHE_NO_MEMORY,  /* nothing changed */
};
const char *epcache_result_str(enum epcache_result r);

/* Returns an owned, empty cache, or NULL when out of memory. */
struct epcache *epcache_new(void);
/* Accepts NULL. */
void epcache_free(struct epcache *e);

/* Stores (or replaces) the endpoints of the EndpointSlice obj. obj is borrowed. */
enum epcache_result epcache_put(struct epcache *e, const json_t *obj);
/* Drops slice ns/name; returns 1 when it was stored, 0 when not. */
int epcache_del(struct epcache *e, const char *ns, const char *name);
size_t epcache_count(const struct epcache *e);

/*
 * Calls fn once per stored slice with the key "ns/service" of its service and its endpoints
 * (borrowed, valid until the next put or del; node names until the last endpoint naming them
 * goes). Order unspecified; fn must not change the cache.
 */
void epcache_foreach(const struct epcache *e,
		     void (*fn)(const char *svckey, const struct eligibility_endpoint *eps,
				size_t n, void *arg),
		     void *arg);

#endif
