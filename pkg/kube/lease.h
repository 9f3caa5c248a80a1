/* kube/lease: leader election on coordination.k8s.io/v1 Leases, the I/O around kube/leasefsm. */
#ifndef L2LB_KUBE_LEASE_H
#define L2LB_KUBE_LEASE_H

#include <stddef.h>
#include <stdint.h>

#include "kube/client.h"
#include "kube/leasefsm.h"
#include "log/log.h"
#include "loop/loop.h"

/*
 * One lease_set watches every Lease of a namespace through ONE informer and runs any number of
 * elections (struct lease) on it: an election is a pure leasefsm plus one loop timer and at most
 * one write in flight, so thousands per process are cheap and nothing polls. Expiry is judged
 * by local monotonic time since the record was last seen to change (leasefsm).
 */
struct lease_set;
struct lease;

/* ns: the Leases' namespace; label_selector may be NULL. lg, kc borrowed, must outlive it. */
struct lease_set *lease_set_new(struct loop *lp, struct log *lg, struct kube_client *kc,
				const char *ns, const char *label_selector);
/* Frees every election still in it (without releasing) and the informer. Accepts NULL. */
void lease_set_free(struct lease_set *s);
/* Starts the informer. Returns 0, or -1 (logged). */
int lease_set_start(struct lease_set *s);
int lease_set_has_synced(const struct lease_set *s);

/* Called on the election's transitions; holder is borrowed. */
struct lease_callbacks {
	void (*started_leading)(struct lease *l, void *arg);
	void (*stopped_leading)(struct lease *l, enum leasefsm_stop_reason why, void *arg);
	void (*new_leader)(struct lease *l, const char *holder, void *arg);
	void *arg;
};

/*
 * A new election on Lease `name` (not campaigning yet). cfg is validated: on a bad one, NULL
 * with a one-line reason in err. Callbacks run from the loop; they may call lease_release()
 * or lease_campaign() but not lease_free() on their own lease.
 */
struct lease *lease_new(struct lease_set *s, const char *name, const struct leasefsm_config *cfg,
			const struct lease_callbacks *cb, char *err, size_t errcap);
/* Stops the election at once (no release written; STOPPED is not called). Accepts NULL. */
void lease_free(struct lease *l);

/* Try to lead, delay_ms after the lease is seen free (rank delay). */
void lease_campaign(struct lease *l, int64_t delay_ms);
/* Stop leading now (stopped_leading is called first) and write an empty holder. */
void lease_release(struct lease *l);
/* The caller knows holder is dead (its node lease expired): take over without waiting. */
void lease_holder_gone(struct lease *l, const char *holder);

int lease_is_leading(const struct lease *l);
/* The observed holder ("" when none); borrowed until control returns to the loop. */
const char *lease_holder(const struct lease *l);
const char *lease_name(const struct lease *l);

#endif
