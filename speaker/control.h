/* control: the speaker's control plane: watches the cluster, elects through Leases which node
 * announces each LoadBalancer address, drives the announcer and writes status and Events. */
#ifndef L2LB_SPEAKER_CONTROL_H
#define L2LB_SPEAKER_CONTROL_H

/*
 * Informers: Services, EndpointSlices, Nodes (every node: each speaker ranks every node), and,
 * in the speaker's namespace, IPAddressPools, L2Advertisements and the speakers' Leases. A
 * presence Lease per node says the speaker is alive; an ownership Lease per service says who
 * announces it (see README "Election"). The pure rules live in eligibility, presence, ranking,
 * takeover and leasefsm; the Leases are watched and written by kube/lease, where the presence
 * lease and every ownership lease are elections of one lease set; this module gathers the
 * rules' inputs, applies their outputs and writes status and Events. Every change is coalesced into
 * one re-evaluation on the next loop iteration; lease renewals only re-run the one service they
 * concern.
 */

#include "kube/client.h"
#include "kube/informer.h"
#include "log/log.h"
#include "loop/loop.h"
#include "net/link.h"
#include "net/netaddr.h"

#include <stddef.h>
#include <stdint.h>

/* Where announce decisions go (the responder, or the dry-run recorder). */
struct control_announcer {
	/* Answer for addr on ifindexes[0..n) (n may be 0 in a dry run: record only). Called again
	 * whenever the interface set may have changed; must be cheap when nothing did. */
	int (*announce)(void *arg, const struct netaddr *addr, const int *ifindexes, size_t n);
	/* Stop answering for addr before returning. */
	void (*withdraw)(void *arg, const struct netaddr *addr);
	void *arg;
};

struct control_opts {
	const char *node;     /* this node's name (holderIdentity); copied */
	const char *ns;	      /* the speaker's namespace: leases, pools, advertisements, status */
	const char *lb_class; /* --lb-class, or NULL */
	int64_t presence_lease_ms, presence_renew_ms, presence_retry_ms;
	int64_t svc_lease_ms, svc_renew_ms, svc_renew_interval_ms, svc_retry_ms;
	int64_t rank_step_ms; /* rank r waits r * this after a lease became free */
	int api_loss_stop;    /* --api-loss=stop */
	/* Links of this node, borrowed; NULL in a dry run (interfaces are then taken as up). */
	const struct link_set *links;
	/* Clients for service Lease writes and for the presence Lease (each with its own rate
	 * limiter, so a burst of service writes never delays a presence renewal, and a timeout
	 * within its renew deadline); NULL: the main client. Borrowed. */
	struct kube_client *lease_client;
	struct kube_client *presence_client;
	struct control_announcer announcer;
	/* Where lease and announcement changes are counted (metrics); NULL: nowhere. Borrowed. */
	struct spkstats *stats;
};

struct control;
struct spkstats;

/*
 * Returns an owned control plane (informers not started), or NULL with the reason logged
 * (bad timings, out of memory). lp, lg and kc are borrowed and must outlive it.
 */
struct control *control_new(struct loop *lp, struct log *lg, struct kube_client *kc,
			    const struct control_opts *o);
/* Stops every timer and request; does not write anything. Accepts NULL. */
void control_free(struct control *c);

/* Starts the informers. Returns 0, or -1 (logged). */
int control_start(struct control *c);

/* The node's links changed: re-choose interfaces and re-check eligibility. */
void control_links_changed(struct control *c);

/* Another MAC claimed addr on the wire (the responder's conflict callback). */
void control_wire_conflict(struct control *c, const struct netaddr *addr);

/*
 * Graceful stop: withdraw every address now, release every service lease, then the presence
 * lease, then call done (also after timeout_ms if the API does not answer).
 */
void control_shutdown(struct control *c, uint64_t timeout_ms, void (*done)(void *arg), void *arg);

/* 1 once every informer has synced and our presence lease was first acquired. */
int control_ready(const struct control *c);

/* Counters for logs and metrics. */
struct control_stats {
	uint64_t services;     /* LoadBalancer services of ours with an address */
	uint64_t announcing;   /* services this node announces now */
	uint64_t lease_writes; /* create/update/delete of leases sent */
	uint64_t lease_write_errors;
	uint64_t evaluations; /* whole re-evaluations run */
};
void control_get_stats(const struct control *c, struct control_stats *out);

/* One address as the SIGUSR1 dump shows it; borrowed for the callback. */
struct control_addr {
	const char *service; /* "ns/name" */
	const struct netaddr *addr;
	const char *holder; /* the service lease's holder, "" when none */
	int announcing;	    /* answered from this node now */
	const char *const *ifaces;
	size_t nifaces;
};
/* Calls fn for every address of every service tracked, in no particular order. */
void control_foreach_addr(const struct control *c,
			  void (*fn)(const struct control_addr *a, void *arg), void *arg);

/* The i-th informer's resource ("services", ...) and counts: 0, or -1 past the last. */
int control_informer_stats(const struct control *c, size_t i, const char **resource,
			   struct informer_stats *out);

#endif
