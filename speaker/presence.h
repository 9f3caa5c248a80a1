/* presence: which speakers are alive, judged from their presence Leases and local time (pure). */
#ifndef L2LB_SPEAKER_PRESENCE_H
#define L2LB_SPEAKER_PRESENCE_H

/*
 * Each speaker holds a short Lease named leasename_node(node) (its presence lease). A node is
 * live while that Lease exists, names the node as holder, and was last seen to change less
 * than lease_ms ago by our own monotonic clock; the API's timestamps are never compared with
 * our clock. A Lease first seen at start-up counts as fresh, so a node dead before we started
 * is declared dead lease_ms later, never earlier (client-go's rule).
 *
 * A node whose presence Lease was never seen is not live: so judge liveness (and take over
 * from "dead" holders) only once the Lease informer has synced, or a starting speaker would
 * see every holder as dead.
 */

#include "kube/leasefsm.h"

#include <stdint.h>

struct presence;

/* Returns an owned table, or NULL when out of memory or lease_ms <= 0. */
struct presence *presence_new(int64_t lease_ms);
void presence_free(struct presence *p);

/*
 * The Lease named lease_name was seen at now_ms (rec NULL: deleted). Leases whose name is not
 * a presence lease name are accepted and simply never match a node. Returns 0, or -1 when out
 * of memory (the table is unchanged).
 */
int presence_observe(struct presence *p, const char *lease_name, const struct leasefsm_record *rec,
		     int64_t now_ms);
/* The same from what kube/lease keeps of the Lease (leasefsm_brief_of()); b NULL: deleted. */
int presence_observe_brief(struct presence *p, const char *lease_name,
			   const struct leasefsm_brief *b, int64_t now_ms);

/* 1 when node is live at now_ms (see above), else 0 (unknown nodes are not live). */
int presence_is_live(const struct presence *p, const char *node, int64_t now_ms);

/* The earliest time after now_ms at which a live node turns dead if nothing changes
 * (LEASEFSM_NEVER when none): arm a timer for it and re-run takeover decisions then. */
int64_t presence_next_expiry(const struct presence *p, int64_t now_ms);

#endif
