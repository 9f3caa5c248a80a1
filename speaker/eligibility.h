/* eligibility: may this node announce a service's address? The rules of MetalLB layer 2 (pure). */
#ifndef L2LB_SPEAKER_ELIGIBILITY_H
#define L2LB_SPEAKER_ELIGIBILITY_H

/*
 * The caller matches selectors (with the shared label-selector code) and flattens the objects
 * into the plain structs below; this module applies the rules and names the first one that
 * fails, in the order a user would look: the node itself, the advertisements, the endpoints,
 * the interface. Every speaker evaluates every node this way to rank candidates; for another
 * node, whose links it cannot see, it passes interface_up = 1.
 */

#include <stddef.h>

/* An EndpointSlice condition: absent from the object, false or true. */
enum eligibility_cond {
	ELIG_COND_UNSET = -1,
	ELIG_COND_FALSE = 0,
	ELIG_COND_TRUE = 1,
};

struct eligibility_endpoint {
	const char *node;		   /* endpoints[].nodeName; NULL when absent */
	enum eligibility_cond ready;	   /* unset counts as ready, as the API says */
	enum eligibility_cond serving;	   /* unset: same as ready */
	enum eligibility_cond terminating; /* unset counts as not terminating */
};

/* One L2Advertisement, already matched by the caller for this address, service and node. */
struct eligibility_adv {
	int selects_pool;    /* ipAddressPools / ipAddressPoolSelectors pick the address's pool
				(neither given: every pool) */
	int selects_service; /* serviceSelectors match the service (none given: every service) */
	int selects_node;    /* nodeSelectors match the node (none given: every node) */
	int interface_up;    /* one of its interfaces (none given: any) is up on the node */
	const int *pref_weights; /* weights (1-100) of its preferredNodeSelectors terms that match
				    the node; borrowed */
	size_t n_pref;
};

struct eligibility_input {
	const char *node;  /* the node being judged */
	int node_excluded; /* labelled node.kubernetes.io/exclude-from-external-load-balancers */
	int node_network_unavailable; /* condition NetworkUnavailable is True */
	const struct eligibility_adv *advs;
	size_t n_advs;
	int traffic_local;			/* externalTrafficPolicy: Local */
	const struct eligibility_endpoint *eps; /* every endpoint of the service's EndpointSlices */
	size_t n_eps;
};

enum eligibility_reason {
	ELIG_OK,
	ELIG_NODE_EXCLUDED,	       /* exclude-from-external-load-balancers label */
	ELIG_NODE_NETWORK_UNAVAILABLE, /* NetworkUnavailable condition */
	ELIG_NO_ADVERTISEMENT,	       /* no L2Advertisement selects the address's pool */
	ELIG_SERVICE_NOT_SELECTED,     /* ...none of those selects the service */
	ELIG_NODE_NOT_SELECTED,	       /* ...none of those selects this node */
	ELIG_NO_READY_ENDPOINTS,       /* the service has no ready endpoint anywhere */
	ELIG_NO_LOCAL_ENDPOINTS,       /* Local policy and no ready endpoint on this node */
	ELIG_INTERFACE_DOWN,	       /* no selecting advertisement has an interface up here */
};
const char *eligibility_reason_str(enum eligibility_reason r);

/*
 * Judges the node. When it is eligible, *score (if not NULL) is its preferredNodeSelectors
 * score: the weights of matching terms summed over every advertisement that selects the pool,
 * the service and the node (weights outside 1-100 are ignored: validation reports them).
 */
enum eligibility_reason eligibility_evaluate(const struct eligibility_input *in, int *score);

/* 1 when the endpoint may receive traffic: ready (or unset), serving, not terminating. */
int eligibility_endpoint_ready(const struct eligibility_endpoint *ep);

#endif
