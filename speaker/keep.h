/* keep: the fields of each watched kind that the speaker reads, for its informers to cache. */
#ifndef L2LB_SPEAKER_KEEP_H
#define L2LB_SPEAKER_KEEP_H

#include "kube/prune.h"

/*
 * kube_prune() lists (see kube/prune.h). Whoever makes the speaker read another field of a
 * watched object adds it here, or the cache will not have it. Each keeps metadata.name,
 * namespace and resourceVersion, which the informer needs.
 */
extern const struct kube_keep keep_service[]; /* what pkg/mlb and the evaluation read */
extern const struct kube_keep keep_slice[];   /* the service name, endpoints' nodes, conditions */
extern const struct kube_keep keep_node[];    /* labels and status conditions */

/* An informer_transform_cb: kube_prune(obj, arg), arg one of the lists above. */
json_t *keep_transform(const json_t *obj, const void *arg);

#endif
