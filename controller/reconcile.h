/* reconcile: the controller's decision for one Service: which addresses, what to write (pure). */
#ifndef L2LB_CONTROLLER_RECONCILE_H
#define L2LB_CONTROLLER_RECONCILE_H

#include "ipam/ipam.h"
#include "mlb/mlb.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Pure: no I/O, no logging, no clock. The addresses themselves are decided by mlb_allocate()
 * (pkg/mlb, the one allocation policy); this adds what the controller writes and why. Inputs are
 * the Service exactly as the API server stores it (borrowed), the validated configuration
 * (pkg/mlb), the allocator (updated in place: taking or freeing an address IS the decision) and
 * --lb-class. The result says what the caller must write: the ingress list (status), the
 * metallb.io/ip-allocated-from-pool annotation and the Events, and why. The caller does the writes
 * and only then trusts them.
 *
 * Behaviour a MetalLB user notices (decided here, tested in test_reconcile.c):
 * - A failed change (new requested address, new address-pool) KEEPS the old address and says
 *   why in an AllocationFailed Event; MetalLB drops it. A first allocation that fails leaves
 *   the ingress empty.
 * - An address that no longer fits its pool's new definition is kept (Warning Event
 *   AddressOutsidePool) unless it was requested explicitly, in which case it is reassigned.
 * - A pool that was deleted frees its addresses: the service gets one from another pool that
 *   serves it, or its ingress is cleared.
 * - A pool that exists but was refused (invalid) keeps serving the addresses it handed out.
 */

enum reconcile_outcome {
	RECONCILE_IGNORED,   /* not ours and nothing of ours on it: leave it alone */
	RECONCILE_RELEASED,  /* no longer ours (deleted, type, class): addresses freed */
	RECONCILE_UNCHANGED, /* holds the addresses it should (status may still need writing) */
	RECONCILE_ASSIGNED,  /* new or changed addresses */
	RECONCILE_FAILED,    /* could not give it what it asks for: see reason */
	RECONCILE_MALFORMED, /* not a readable Service: left alone */
};

/* "ignored", "released", "unchanged", "assigned", "failed", "malformed". */
const char *reconcile_outcome_str(enum reconcile_outcome o);

/* Why RECONCILE_FAILED; the AllocationFailed Event and the metrics key on it. */
enum reconcile_reason {
	RECONCILE_REASON_NONE,
	RECONCILE_REASON_NO_CLUSTER_IP,	  /* no cluster IP: no family to serve */
	RECONCILE_REASON_BAD_REQUEST,	  /* loadBalancerIPs / loadBalancerIP unreadable */
	RECONCILE_REASON_NO_POOL,	  /* no pool may serve it */
	RECONCILE_REASON_UNKNOWN_POOL,	  /* address-pool names no valid pool */
	RECONCILE_REASON_POOL_REFUSES,	  /* the pool's serviceAllocation excludes it */
	RECONCILE_REASON_NOT_IN_POOL,	  /* a requested address is in no pool */
	RECONCILE_REASON_POOL_MISMATCH,	  /* requested addresses vs pools disagree */
	RECONCILE_REASON_NO_FAMILY,	  /* no pool has (all) the families it needs */
	RECONCILE_REASON_EXHAUSTED,	  /* every pool that serves it is full */
	RECONCILE_REASON_IN_USE,	  /* a requested address is held by another service */
	RECONCILE_REASON_SHARING_REFUSED, /* allow-shared-ip: keys, ports or policy differ */
	RECONCILE_REASON_SHARING_DENIED,  /* allow-shared-ip with a serviceSelectors ad */
	RECONCILE_REASON_NOMEM,
};

/* "no-cluster-ip", "bad-requested-ip", "no-pool", "pool-exhausted", ... */
const char *reconcile_reason_str(enum reconcile_reason r);

/* Warnings (Warning Events) that go with an outcome; bits. */
enum reconcile_warning {
	RECONCILE_WARN_DEPRECATED = 1 << 0,    /* see result.deprecated (mlb bits) */
	RECONCILE_WARN_NOT_ANNOUNCED = 1 << 1, /* no L2Advertisement announces the address */
	RECONCILE_WARN_OUTSIDE_POOL = 1 << 2,  /* kept an address its pool no longer holds */
};

/* Event reasons ("IPAllocated", ...) for the writes. */
#define RECONCILE_EVENT_ALLOCATED     "IPAllocated"
#define RECONCILE_EVENT_FAILED	      "AllocationFailed"
#define RECONCILE_EVENT_CONFLICT      "AllocationConflict"
#define RECONCILE_EVENT_DEPRECATED    "DeprecatedAnnotation"
#define RECONCILE_EVENT_NOT_ANNOUNCED "NotAnnounced"
#define RECONCILE_EVENT_OUTSIDE_POOL  "AddressOutsidePool"
#define RECONCILE_EVENT_RELEASED      "IPReleased"

#define RECONCILE_POOL_ANNOTATION "metallb.io/ip-allocated-from-pool"

struct reconcile_result {
	enum reconcile_outcome outcome;
	enum reconcile_reason reason;
	unsigned warnings;   /* enum reconcile_warning bits */
	unsigned deprecated; /* enum mlb_deprecated bits */

	/* The ingress the service should show, IPv4 first (empty: none). */
	struct ipam_addr addrs[2];
	size_t naddrs;
	/* The pool annotation it should carry ("" : none). */
	char pool[254];

	bool write_status;     /* status.loadBalancer.ingress differs from addrs */
	bool write_annotation; /* the pool annotation differs from pool */

	char message[512]; /* for the Event / log of the outcome (failed: the reason in words) */
	char warning[512]; /* NOT_ANNOUNCED / OUTSIDE_POOL in words */
};

/*
 * Decides for the service key ("ns/name"). svc is the stored object, or NULL when it was
 * deleted. ns_labels: the namespace's metadata.labels (NULL when unknown). lb_class: --lb-class
 * or NULL. Never fails; out is always filled.
 */
void reconcile_service(const char *key, const json_t *svc, const struct mlb_config *cfg,
		       struct ipam *ip, const char *lb_class, const json_t *ns_labels,
		       struct reconcile_result *out);

/* What reconcile_restore() found. */
enum reconcile_restore {
	RESTORE_NONE,	  /* not ours, or no ingress in its status */
	RESTORE_OK,	  /* every ingress address taken back */
	RESTORE_CONFLICT, /* an ingress address is held by an older service: not taken */
	RESTORE_NOMEM,
};

/* "none", "ok", "conflict", "nomem". */
const char *reconcile_restore_str(enum reconcile_restore r);

/*
 * Restart safety: takes back the addresses the service's status already shows, before anything
 * new is handed out. Call for every service, oldest first (reconcile_compare_age), so that of two
 * services showing one address the older keeps it. msg (cap > 0) names the conflict. Every
 * service we handle (type LoadBalancer, our class) is taken back whatever its annotations say:
 * one whose requested address cannot be read keeps what its status shows (reconcile reports
 * the bad request afterwards).
 */
enum reconcile_restore reconcile_restore(const json_t *svc, struct ipam *ip, const char *lb_class,
					 char *msg, size_t cap);

/* Orders services by metadata.creationTimestamp, then namespace/name (for qsort of pointers). */
int reconcile_compare_age(const void *a, const void *b);

/*
 * Whether a change to the pool called name may change what svc should hold, so that a pool
 * change re-evaluates only the services of that pool: its ingress lies in the pool's old or new
 * definition (old_def / new_def, NULL when the pool was absent or refused), its addresses were
 * recorded from that pool (metallb.io/ip-allocated-from-pool), or it is a LoadBalancer still
 * waiting (waiting: it holds no address, or its last decision failed), since a new or bigger
 * pool may serve it.
 */
bool reconcile_pool_affects(const json_t *svc, const char *name, const struct ipam_pool *old_def,
			    const struct ipam_pool *new_def, bool waiting);

/* The ingress addresses in svc's status (IPv4 first as they appear), up to cap; returns count. */
size_t reconcile_status_addrs(const json_t *svc, struct ipam_addr *out, size_t cap);

#endif
