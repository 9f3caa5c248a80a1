/* kube/event: records core/v1 Events on objects, aggregating repeats and limiting their rate. */
#ifndef L2LB_KUBE_EVENT_H
#define L2LB_KUBE_EVENT_H

#include <jansson.h>
#include <stddef.h>

#include "kube/client.h"
#include "log/log.h"
#include "loop/loop.h"

/*
 * Like client-go's recorder: the first occurrence of (object, type, reason, message) creates an
 * Event; a repeat bumps its count and lastTimestamp with a merge patch (a new Event if that one
 * is gone). Each involved object may emit a burst of 25 Events, then one per 5 minutes; more are
 * dropped (and counted), so a reconcile loop stuck on an error cannot flood the API. At most
 * 4096 Events are remembered for aggregation (the oldest are forgotten).
 */
enum event_type {
	EVENT_NORMAL,
	EVENT_WARNING,
};

/* "Normal", "Warning". */
const char *event_type_str(enum event_type t);

enum event_outcome {
	EVENT_CREATED,	    /* a new Event is being written */
	EVENT_AGGREGATED,   /* an existing Event's count is being bumped */
	EVENT_RATE_LIMITED, /* dropped: this object emitted too many */
	EVENT_BAD_OBJECT,   /* the object has no kind or metadata.name: nothing written */
	EVENT_NO_MEMORY,
};

const char *event_outcome_str(enum event_outcome o);

struct event_recorder;

/*
 * component: source.component / reportingComponent ("l2lb-controller"); host: source.host and
 * reportingInstance (the node name), may be NULL. lg and kc are borrowed and must outlive it.
 */
struct event_recorder *event_recorder_new(struct loop *lp, struct log *lg, struct kube_client *kc,
					  const char *component, const char *host);
/* Cancels writes still in flight. Accepts NULL. */
void event_recorder_free(struct event_recorder *r);

/*
 * Records an Event on obj (borrowed: apiVersion, kind, metadata.namespace/name/uid/
 * resourceVersion are read). Cluster-scoped objects get their Events in "default".
 */
enum event_outcome event_record(struct event_recorder *r, const json_t *obj, enum event_type type,
				const char *reason, const char *message);

/* Writes queued or in flight (0 when everything recorded so far has been sent). */
size_t event_recorder_pending(const struct event_recorder *r);
/* Events dropped by the rate limit so far. */
unsigned long event_recorder_dropped(const struct event_recorder *r);

#endif
