/* kube/informer: a list-then-watch cache of one resource that calls add/update/delete handlers. */
#ifndef L2LB_KUBE_INFORMER_H
#define L2LB_KUBE_INFORMER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "kube/client.h"
#include "log/log.h"
#include "loop/loop.h"

/*
 * Lists, then watches from the list's resourceVersion with bookmarks. A dropped watch resumes
 * from the last resourceVersion seen; a 410 Gone (or an ERROR event) re-lists and delivers the
 * difference against the cache (adds, updates, and deletes of objects that vanished meanwhile),
 * so a handler never misses a delete. Failures back off exponentially.
 *
 * Objects handed to handlers and returned by informer_get() are borrowed: valid until the
 * handler returns / until control goes back to the loop. Handlers must not free the informer.
 */
typedef void (*informer_add_cb)(const json_t *obj, void *arg);
typedef void (*informer_update_cb)(const json_t *old, const json_t *obj, void *arg);
/* obj is the deleted object from the watch, or the last state known when a re-list found it gone.
 */
typedef void (*informer_delete_cb)(const json_t *obj, void *arg);
typedef void (*informer_synced_cb)(void *arg);
typedef void (*informer_error_cb)(const struct kube_error *err, void *arg);
/*
 * What to cache of an object (listed, or from a watch event, DELETED included) instead of the
 * object itself: a new reference, or NULL when out of memory (the whole object is then cached).
 * It must keep metadata.name, metadata.namespace and metadata.resourceVersion.
 */
typedef json_t *(*informer_transform_cb)(const json_t *obj, const void *arg);

struct informer_opts {
	const struct kube_resource *resource; /* borrowed, must outlive the informer */
	const char *ns;			      /* NULL: every namespace */
	const char *label_selector;	      /* NULL: none */
	const char *field_selector;
	informer_add_cb on_add; /* each may be NULL */
	informer_update_cb on_update;
	informer_delete_cb on_delete;
	informer_synced_cb on_synced; /* once, after the first list was delivered */
	informer_error_cb on_error;   /* each failed list or watch (it is retried anyway) */
	void *arg;
	/* NULL: cache whole objects. Handlers then only see what the transform kept. */
	informer_transform_cb transform;
	const void *transform_arg;
	/*
	 * With a transform: an update that changes nothing it kept but the resourceVersion is
	 * cached without calling on_update (a Node's status heartbeat, say). Not for objects
	 * whose resourceVersion a handler writes back (leases).
	 */
	int skip_same;
	/*
	 * Cache each object's key and resourceVersion only, not the object: the handlers keep what
	 * they need in their own records (a thousand Services as jansson trees cost megabytes).
	 * on_update then gets old = NULL; on_delete gets the watch's object or, when a re-list
	 * finds the object gone, one holding only metadata.name, namespace and the last
	 * resourceVersion seen. informer_get() returns NULL and informer_foreach() calls nothing.
	 * skip_same is ignored.
	 */
	int keys_only;
	unsigned page_size;	  /* LIST limit; 0: 500 */
	unsigned watch_timeout_s; /* 0: 300 (randomised +-10% like client-go) */
	uint32_t backoff_base_ms; /* 0: 500 */
	uint32_t backoff_max_ms;  /* 0: 30000 */
};

struct informer;

/* Returns an owned informer (not yet started), or NULL when out of memory (logged). */
struct informer *informer_new(struct loop *lp, struct log *lg, struct kube_client *kc,
			      const struct informer_opts *o);
/* Stops every request and frees the cache. Accepts NULL. Not from inside its handlers. */
void informer_free(struct informer *inf);

/* Starts the first list. Returns 0, or -1 (logged) when it cannot be queued. */
int informer_start(struct informer *inf);

/* True once the first list has been delivered to the handlers. */
int informer_has_synced(const struct informer *inf);
/* The cached object "ns/name" (or "name" when cluster-scoped), or NULL (always with keys_only).
 * Borrowed. */
const json_t *informer_get(const struct informer *inf, const char *ns, const char *name);
size_t informer_count(const struct informer *inf);
/* Calls fn for every cached object (order unspecified); fn must not change the cache. */
void informer_foreach(const struct informer *inf, void (*fn)(const json_t *obj, void *arg),
		      void *arg);
/* The resourceVersion the next watch would start from ("" before the first list). */
const char *informer_resource_version(const struct informer *inf);

/* Counters for tests and metrics. */
struct informer_stats {
	uint64_t lists, watches, relists_gone, watch_errors, list_errors, events, bookmarks;
	uint64_t skipped_same; /* updates not delivered (skip_same) */
};
void informer_get_stats(const struct informer *inf, struct informer_stats *out);

/* The cache key of an object: "ns/name" or "name"; -1 when it has no name or cap is short. */
int informer_key(const json_t *obj, char *buf, size_t cap);

#endif
