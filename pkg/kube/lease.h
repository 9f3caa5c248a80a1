/* kube/lease: leader election on coordination.k8s.io/v1 Leases, the I/O around kube/leasefsm. */
#ifndef L2LB_KUBE_LEASE_H
#define L2LB_KUBE_LEASE_H

#include <stddef.h>
#include <stdint.h>

#include "kube/client.h"
#include "kube/informer.h"
#include "kube/leaseio.h"
#include "kube/leasefsm.h"
#include "log/log.h"
#include "loop/loop.h"

/*
 * One lease_set watches every Lease of a namespace through ONE informer and runs any number of
 * elections (struct lease) on it: an election is a pure leasefsm, a place in the set's wake-up
 * queue (one loop timer for the whole set) and at most one write in flight, so thousands per
 * process are cheap and nothing polls. Expiry is judged by local monotonic time since the
 * record was last seen to change (leasefsm). Every Lease is read and written through
 * kube/leaseio, the one Lease codec. The set keeps a struct lease_rec per Lease, not the object
 * (its informer caches keys only). Elections share one copy of each configuration (identity
 * included) and of each set of callback functions. With a thousand service leases, election
 * and record come to about 400 bytes per service.
 *
 * The speaker runs its presence lease and every service's ownership lease as elections of one
 * set; the controller and l2lb-lease run theirs the same way.
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

/*
 * What the set keeps of each Lease it watches, instead of the object: its name and
 * resourceVersion, the election fields (leasefsm_brief) and what its l2lb labels say it is for
 * (leaseio_classify()). Borrowed from the set, valid until control returns to the loop.
 */
struct lease_rec {
	const char *name;
	const char *rv;
	enum leaseio_kind kind;
	const char *svc_ns, *svc_name; /* LEASEIO_SERVICE only, else NULL */
	struct leasefsm_brief rec;     /* rec.holder: "" when none */
};

/* What the set tells its owner about every Lease it sees, whether an election runs on it or
 * not (the speaker tracks its peers' presence and finds stale service leases). Each may be NULL.
 */
struct lease_set_observer {
	/* The Lease was added or changed (deleted 0) or deleted (1: r is its last known state);
	 * called after the election on it, if any, has observed it and acted. r is borrowed. A
	 * malformed Lease is logged and not passed on (the set keeps its last good state). */
	void (*seen)(const struct lease_rec *r, int deleted, void *arg);
	/* The first list is in: every election has learned whether its Lease exists. */
	void (*synced)(void *arg);
	/* A list or watch failed (it is retried). */
	void (*error)(const struct kube_error *err, void *arg);
	void *arg;
};
/* Set before lease_set_start(); o is copied. */
void lease_set_observe(struct lease_set *s, const struct lease_set_observer *o);

/* The client for Lease writes and deletes (NULL: the informer's); borrowed. Its own rate limiter
 * keeps a burst of writes from delaying the watch, and the other way round. */
void lease_set_write_client(struct lease_set *s, struct kube_client *kc);

/* Start-up hold-off for every election of the set, now and later (leasefsm_hold_off()). */
void lease_set_hold_off(struct lease_set *s, int64_t until_ms);

/* What the set keeps of Lease `name`, or NULL; borrowed until control returns to the loop. */
const struct lease_rec *lease_set_get(const struct lease_set *s, const char *name);
/* Calls fn for every Lease the set keeps; fn must not start or free elections. */
void lease_set_foreach(const struct lease_set *s, void (*fn)(const struct lease_rec *r, void *arg),
		       void *arg);
/* The informer under the set (its counters), borrowed. */
const struct informer *lease_set_informer(const struct lease_set *s);

/*
 * Deletes the Lease `name` (a stale one, of an object that is gone); done (may be NULL) gets
 * the outcome. Returns the request (kube_request_cancel() stops it), or NULL when it could not
 * be queued (logged).
 */
struct kube_request *lease_set_delete(struct lease_set *s, const char *name, kube_done_cb done,
				      void *arg);

/* Lease writes sent by the set (create, update, delete) and how many of them failed. */
void lease_set_counts(const struct lease_set *s, uint64_t *writes, uint64_t *errors);

/*
 * Graceful stop: every election of the set stops leading (stopped_leading first) and releases
 * its Lease; once no other election has a write in flight or a Lease naming it, `last` (may be
 * NULL) is released too; done is called once that is written (or at once when there is nothing
 * to release). The speaker gives `last` its presence lease, so peers see its services free
 * before they see it gone. Nothing may campaign after this.
 */
void lease_set_release_all(struct lease_set *s, struct lease *last, void (*done)(void *arg),
			   void *arg);

/* Called on the election's transitions; holder is borrowed. The set logs the transitions and
 * failed writes of untagged elections (lease_tag()); a tagged election's owner logs them. */
struct lease_callbacks {
	void (*started_leading)(struct lease *l, void *arg);
	void (*stopped_leading)(struct lease *l, enum leasefsm_stop_reason why, void *arg);
	void (*new_leader)(struct lease *l, const char *holder, void *arg);
	/* After every write outcome, once the election has acted on it. */
	void (*written)(struct lease *l, void *arg);
	void *arg;
};

/*
 * A new election on Lease `name` (not campaigning yet). cfg is validated and copied (its
 * identity kept once per set): on a bad one, NULL with a one-line reason in err. Callbacks run from
 * the loop; they may call lease_release() or lease_campaign() but not lease_free() on their own
 * lease.
 */
struct lease *lease_new(struct lease_set *s, const char *name, const struct leasefsm_config *cfg,
			const struct lease_callbacks *cb, char *err, size_t errcap);
/* Stops the election at once (no release written; STOPPED is not called). Accepts NULL. */
void lease_free(struct lease *l);

/* What the written Lease says it is for: its l2lb labels (kube/leaseio.h); svc_ns and svc_name
 * only for LEASEIO_SERVICE, copied. Default LEASEIO_NONE: no labels of ours, the ones already on
 * the Lease are kept. Returns 0, or -1 when out of memory (unchanged). */
int lease_tag(struct lease *l, enum leaseio_kind kind, const char *svc_ns, const char *svc_name);
/* The client for this election's writes (NULL: the set's); borrowed. */
void lease_use_client(struct lease *l, struct kube_client *kc);

/* Try to lead, delay_ms after the lease is seen free (rank delay; absent leases too). */
void lease_campaign(struct lease *l, int64_t delay_ms);
/* Stop leading now (stopped_leading is called first) and write an empty holder. */
void lease_release(struct lease *l);
/* The caller knows holder is dead (its node lease expired): take over without waiting. */
void lease_holder_gone(struct lease *l, const char *holder);

int lease_is_leading(const struct lease *l);
/* The observed holder ("" when none); borrowed until control returns to the loop. */
const char *lease_holder(const struct lease *l);
const char *lease_name(const struct lease *l);
/* The election's view, as leasefsm reports it (see leasefsm.h), at the loop's time. */
const char *lease_leader(const struct lease *l);
enum leasefsm_stop_reason lease_stop_reason(const struct lease *l);
int64_t lease_free_since(const struct lease *l);
int lease_held_by_other(const struct lease *l);
int lease_observed(const struct lease *l, struct leasefsm_record *rec);
/* 1 while a write of this election is in flight. */
int lease_write_pending(const struct lease *l);
/* 1 while the observed Lease names us, or a write is in flight: not yet handed over. */
int lease_pending(const struct lease *l);

#endif
