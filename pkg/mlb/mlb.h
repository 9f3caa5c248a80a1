/* mlb: MetalLB's layer-2 objects (pools, advertisements, Service fields) → a validated config. */
#ifndef L2LB_MLB_H
#define L2LB_MLB_H

#include "ipam/ipam.h"
#include "labels/labels.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Pure: takes objects exactly as the API returns them (borrowed `const json_t *`, not kept) and
 * returns owned results; no I/O, no logging. Outcomes and problems are for the caller to log
 * and to turn into Events.
 *
 * Validation policy (a documented difference from MetalLB): MetalLB refuses the WHOLE
 * configuration when any object is invalid. l2lb, as issue 5 asks, refuses only the invalid
 * object: an invalid IPAddressPool or L2Advertisement is left out of the configuration and
 * reported as a problem naming the object and the field, and every other object keeps working.
 * Overlapping pools: the pool created later (metadata.creationTimestamp, then name) is refused.
 * The daemons build through pkg/mlb/lastgood, so an object that an edit made invalid keeps its
 * last accepted version instead of being left out.
 *
 * Accepted as MetalLB accepts them: host bits in a CIDR (192.0.2.7/24 is 192.0.2.0/24), an
 * advertisement naming a pool that does not exist (it applies to no pool until one appears).
 */

/* ---- the configuration ---- */

enum mlb_kind {
	MLB_KIND_POOL,
	MLB_KIND_L2ADV,
};

/* "IPAddressPool", "L2Advertisement". */
const char *mlb_kind_str(enum mlb_kind k);

/* One refused object. Strings are owned by the config. */
struct mlb_problem {
	enum mlb_kind kind;
	const char *namespace;
	const char *name;
	const char *field;   /* "spec.addresses[1]", "spec.preferredNodeSelectors[0].weight" */
	const char *message; /* whole sentence: `IPAddressPool metallb-system/lan: spec...: ...` */
};

struct mlb_config;
struct mlb_pool;
struct mlb_l2adv;

/*
 * Builds a configuration from every IPAddressPool and L2Advertisement object. Returns NULL only
 * when out of memory; invalid objects become problems (see above).
 */
struct mlb_config *mlb_config_build(const json_t *const *pools, size_t npools,
				    const json_t *const *advs, size_t nadvs);
void mlb_config_free(struct mlb_config *cfg);

size_t mlb_config_nproblems(const struct mlb_config *cfg);
const struct mlb_problem *mlb_config_problem(const struct mlb_config *cfg, size_t i);

/* Appends a copy of p, with note (may be NULL) added to its message, to cfg's problems; for
 * pkg/mlb/lastgood, which reports the problems of one build in another. 0, or -1 out of memory
 * (cfg unchanged). Pointers from mlb_config_problem() are invalidated. */
int mlb_config_add_problem(struct mlb_config *cfg, const struct mlb_problem *p, const char *note);

/*
 * True when an IPAddressPool of that name exists but was refused: the controller should keep
 * the addresses it handed out from its last valid definition rather than free them.
 */
bool mlb_config_pool_refused(const struct mlb_config *cfg, const char *name);

/* Valid pools, in name order. */
size_t mlb_config_npools(const struct mlb_config *cfg);
const struct mlb_pool *mlb_config_pool(const struct mlb_config *cfg, size_t i);
const struct mlb_pool *mlb_config_pool_by_name(const struct mlb_config *cfg, const char *name);

/* The pool a holds as a usable address (pools never overlap), or NULL. */
const struct mlb_pool *mlb_config_pool_for_addr(const struct mlb_config *cfg,
						const struct ipam_addr *a);

const char *mlb_pool_name(const struct mlb_pool *p);
const struct ipam_pool *mlb_pool_ipam(const struct mlb_pool *p);
bool mlb_pool_auto_assign(const struct mlb_pool *p);
bool mlb_pool_avoid_buggy(const struct mlb_pool *p);

/* Whether spec.serviceAllocation is set, and its priority (0 when unset: lowest). */
bool mlb_pool_has_allocation(const struct mlb_pool *p);
int mlb_pool_priority(const struct mlb_pool *p);

/* ---- services ---- */

enum mlb_svc_status {
	MLB_SVC_OK,
	MLB_SVC_NOT_LB,		  /* spec.type is not LoadBalancer: not ours */
	MLB_SVC_OTHER_CLASS,	  /* spec.loadBalancerClass names another implementation */
	MLB_SVC_NO_CLUSTER_IP,	  /* no cluster IP (yet, or headless): no family, no address */
	MLB_SVC_BAD_REQUESTED_IP, /* loadBalancerIPs / loadBalancerIP is not a list of addresses */
	MLB_SVC_REQUESTED_FAMILY, /* requested addresses do not fit the service's families */
	MLB_SVC_MALFORMED,	  /* not a Service object (no name, wrong types) */
	MLB_SVC_NOMEM,
};

/* "ok", "not-loadbalancer", "other-class", "no-cluster-ip", "bad-requested-ip", ... */
const char *mlb_svc_status_str(enum mlb_svc_status s);

enum mlb_family_policy {
	MLB_POLICY_SINGLE_STACK,
	MLB_POLICY_PREFER_DUAL_STACK,
	MLB_POLICY_REQUIRE_DUAL_STACK,
};

/* "SingleStack", "PreferDualStack", "RequireDualStack". */
const char *mlb_family_policy_str(enum mlb_family_policy p);

/* Deprecated inputs a service used; the caller warns (Event) with mlb_deprecated_hint(). */
enum mlb_deprecated {
	MLB_DEPRECATED_LB_IPS = 1 << 0,	    /* metallb.universe.tf/loadBalancerIPs */
	MLB_DEPRECATED_POOL = 1 << 1,	    /* metallb.universe.tf/address-pool */
	MLB_DEPRECATED_SHARED = 1 << 2,	    /* metallb.universe.tf/allow-shared-ip */
	MLB_DEPRECATED_SPEC_LB_IP = 1 << 3, /* spec.loadBalancerIP */
};

/* "metallb.universe.tf/address-pool is deprecated, use metallb.io/address-pool", ... */
const char *mlb_deprecated_hint(enum mlb_deprecated d);

struct mlb_service;

/*
 * Reads what address management needs from a Service. lb_class is --lb-class (NULL when not
 * given): a service with spec.loadBalancerClass set is ours only when it equals lb_class; one
 * without a class is always ours. Annotations: the metallb.io prefix wins over metallb.universe.tf.
 * Families are those of spec.clusterIPs (else spec.clusterIP), in that order. Requested
 * addresses: loadBalancerIPs (comma-separated, at most one per family, each family one of the
 * service's; a RequireDualStack service must request both or none), else spec.loadBalancerIP.
 * On MLB_SVC_OK *out is the owned result; otherwise NULL and msg (if cap > 0) explains.
 */
enum mlb_svc_status mlb_service_parse(const json_t *svc, const char *lb_class,
				      struct mlb_service **out, char *msg, size_t cap);
void mlb_service_free(struct mlb_service *s);

const char *mlb_service_key(const struct mlb_service *s); /* "namespace/name" */
const char *mlb_service_namespace(const struct mlb_service *s);
const char *mlb_service_name(const struct mlb_service *s);
const json_t *mlb_service_labels(const struct mlb_service *s); /* metadata.labels or NULL */

size_t mlb_service_nfamilies(const struct mlb_service *s);
enum ipam_family mlb_service_family(const struct mlb_service *s, size_t i);
enum mlb_family_policy mlb_service_policy(const struct mlb_service *s);

size_t mlb_service_nrequested(const struct mlb_service *s);
const struct ipam_addr *mlb_service_requested(const struct mlb_service *s, size_t i);

const char *mlb_service_pool(const struct mlb_service *s);	  /* address-pool, or NULL */
const char *mlb_service_sharing_key(const struct mlb_service *s); /* allow-shared-ip, or NULL */

/* For externalTrafficPolicy Local, spec.selector as "k=v,k2=v2" (sorted); else NULL. */
const char *mlb_service_backend_key(const struct mlb_service *s);

unsigned mlb_service_deprecated(const struct mlb_service *s); /* enum mlb_deprecated bits */

/* The ipam claim for this service (pointers into s, valid while s lives). */
void mlb_service_claim(const struct mlb_service *s, struct ipam_claim *out);

/* ---- which pools a service may draw from ---- */

enum mlb_choice {
	MLB_CHOICE_OK,
	MLB_CHOICE_NO_POOL,	   /* no pool may serve it (none auto-assigns to it) */
	MLB_CHOICE_UNKNOWN_POOL,   /* address-pool names no valid pool */
	MLB_CHOICE_POOL_REFUSES,   /* the pool's serviceAllocation excludes this service */
	MLB_CHOICE_NOT_IN_POOL,	   /* a requested address is in no pool */
	MLB_CHOICE_SPLIT_POOLS,	   /* requested addresses lie in different pools */
	MLB_CHOICE_POOL_MISMATCH,  /* requested addresses are not in the address-pool named */
	MLB_CHOICE_SHARING_DENIED, /* allow-shared-ip on a service a serviceSelectors ad selects */
};

/* "ok", "no-pool", "unknown-pool", ... */
const char *mlb_choice_str(enum mlb_choice c);

/*
 * Whether p's serviceAllocation lets this service use it: namespaces / namespaceSelectors (the
 * namespace's labels, NULL when unknown) and serviceSelectors, as MetalLB reads them.
 */
bool mlb_pool_admits(const struct mlb_pool *p, const struct mlb_service *s,
		     const json_t *ns_labels);

/*
 * The pools the service may draw from, best first, into out (up to cap; *n gets the count):
 * - requested addresses: the one pool holding them all, whatever its autoAssign;
 * - else the address-pool annotation: that pool, whatever its autoAssign;
 * - else, as MetalLB: auto-assigning pools with a serviceAllocation that admits the service,
 *   by priority (1 first, unset last; then name), then auto-assigning pools without one (name).
 * A pool must admit the service in every case.
 */
enum mlb_choice mlb_config_pools_for_service(const struct mlb_config *cfg,
					     const struct mlb_service *s, const json_t *ns_labels,
					     const struct mlb_pool **out, size_t cap, size_t *n);

/* ---- the whole decision: pools, then addresses ---- */

/* What mlb_allocate() decided for one service. */
struct mlb_result {
	enum mlb_choice choice;	     /* what mlb_config_pools_for_service() said */
	enum ipam_status status;     /* IPAM_OK when it holds its addresses now */
	const struct mlb_pool *pool; /* where they come from (NULL on failure, or stale) */
	struct ipam_addr addrs[2];   /* IPv4 first, as the Service status lists them */
	size_t naddrs;
	bool stale; /* kept addresses no valid pool covers any more: warn, do not move */
	/* On failure: the pool status refers to (NULL: none), and the requested address refused. */
	const struct mlb_pool *where;
	struct ipam_addr refused;
	bool has_refused;
};

/*
 * THE allocation policy (the controller's reconcile calls it; there is no other). Gives the
 * service its addresses in ip. from_pool is the pool its addresses were recorded from (the
 * metallb.io/ip-allocated-from-pool annotation), NULL when unknown. In this order:
 * - a family the service no longer has is freed; an address no valid pool covers is freed when
 *   from_pool names no pool any more (valid or refused): its pool was deleted;
 * - requested addresses are assigned exactly (one pool holds them all); when a requested
 *   address the service holds is in no pool any more, the service loses it (the one case where
 *   a working address is taken away, issue 5);
 * - addresses it already holds in one pool are kept unless the service names another pool
 *   (address-pool), whether or not that pool would be chosen for it today, so nothing moves
 *   when pools are added, reordered or stop auto-assigning; a missing family comes from that
 *   same pool when it can. Addresses no valid pool covers (the pool shrank, or was refused) are
 *   kept too (stale, pool NULL; the caller warns), unless the service names a pool other than
 *   from_pool;
 * - otherwise the first pool in mlb_config_pools_for_service() order that has room: both
 *   families from one pool for RequireDualStack; for PreferDualStack both if one pool can,
 *   else the primary family (the first cluster IP's), else the other; a single family else.
 * Success is status == IPAM_OK (choice may then say why no pool would be chosen afresh). On
 * failure nothing the service held before is lost (but for the frees above): choice says why
 * when it is not MLB_CHOICE_OK, else status (of the first pool that has the family: no-family
 * only when none has it), with where and refused for the message.
 */
void mlb_allocate(struct ipam *ip, const struct mlb_config *cfg, const struct mlb_service *s,
		  const json_t *ns_labels, const char *from_pool, struct mlb_result *out);

/* ---- L2 advertisements (the speaker's half) ---- */

/* Valid advertisements, in name order. */
size_t mlb_config_nl2advs(const struct mlb_config *cfg);
const struct mlb_l2adv *mlb_config_l2adv(const struct mlb_config *cfg, size_t i);

/* Advertisements that apply to a pool (ipAddressPools, ipAddressPoolSelectors, or all pools). */
size_t mlb_config_l2advs_for_pool(const struct mlb_config *cfg, const char *pool,
				  const struct mlb_l2adv **out, size_t cap);

const char *mlb_l2adv_name(const struct mlb_l2adv *a);
const char *mlb_l2adv_namespace(const struct mlb_l2adv *a);
bool mlb_l2adv_applies_to_pool(const struct mlb_l2adv *a, const char *pool);

/* nodeSelectors: any matches, or none given (every node). */
bool mlb_l2adv_selects_node(const struct mlb_l2adv *a, const json_t *node_labels);

/* serviceSelectors: any matches, or none given (every service). */
bool mlb_l2adv_selects_service(const struct mlb_l2adv *a, const json_t *svc_labels);
bool mlb_l2adv_has_service_selectors(const struct mlb_l2adv *a);

/* interfaces: listed, or none given (every interface). */
bool mlb_l2adv_allows_interface(const struct mlb_l2adv *a, const char *ifname);
size_t mlb_l2adv_ninterfaces(const struct mlb_l2adv *a);
const char *mlb_l2adv_interface(const struct mlb_l2adv *a, size_t i);

/* Sum of the weights (1-100 each) of the preferredNodeSelectors terms the node matches. */
long mlb_l2adv_preference(const struct mlb_l2adv *a, const json_t *node_labels);

#endif
