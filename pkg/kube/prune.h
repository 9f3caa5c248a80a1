/* kube/prune: a copy of a Kubernetes object that keeps only the fields a daemon reads (pure). */
#ifndef L2LB_KUBE_PRUNE_H
#define L2LB_KUBE_PRUNE_H

#include <jansson.h>

/*
 * A keep list is an array of entries ended by one with key NULL. An entry keeps the member of
 * that name; a key ending in '*' keeps every member whose name starts with what comes before
 * the star (the key "metallb.io/" and a star keeps every MetalLB annotation). With sub NULL the
 * member is kept whole; with sub set, an object member is pruned by sub in turn and an array member
 * has each of its object elements pruned by sub (other elements and other types are kept as they
 * are, so that whoever reads them still sees, and reports, a wrong type).
 *
 * Why: an informer caches every object it watches for as long as it runs; a Service or a Node
 * as the API serves it (managedFields, last-applied annotations, node images) is mostly fields
 * the speaker never reads, and jansson spends about 150 bytes on each.
 */
struct kube_keep {
	const char *key;
	const struct kube_keep *sub;
};

/*
 * Returns a new object holding what keep lists of obj (values are shared with obj, by
 * reference count), an empty object when obj is not an object, or NULL when out of memory.
 */
json_t *kube_prune(const json_t *obj, const struct kube_keep *keep);

/*
 * 1 when a and b are equal apart from metadata.resourceVersion (an update that changed nothing
 * the keep list kept), else 0.
 */
int kube_same_but_version(const json_t *a, const json_t *b);

#endif
