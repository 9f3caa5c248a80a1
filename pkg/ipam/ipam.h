/* ipam: address pools and the allocator that hands their addresses to services (pure, no I/O). */
#ifndef L2LB_IPAM_H
#define L2LB_IPAM_H

#include "ipam/addr.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * A pool is a named set of non-overlapping ranges (IPv4 and IPv6 may mix) with MetalLB's
 * autoAssign and avoidBuggyIPs flags. The allocator (struct ipam) is independent of pools:
 * it records which service holds which address, so a configuration can be swapped without
 * touching allocations; every allocation call names the pool to draw from.
 *
 * Ownership: _new returns owned memory, _free(NULL) is a no-op, const pointers are borrowed,
 * strings passed in are copied.
 */

/* ---- pools ---- */

enum ipam_pool_status {
	IPAM_POOL_OK,
	IPAM_POOL_BAD_ENTRY,	 /* see the entry status */
	IPAM_POOL_OVERLAP,	 /* two entries of this pool overlap */
	IPAM_POOL_OVERLAP_OTHER, /* an entry overlaps another pool's */
	IPAM_POOL_NO_ADDRESSES,	 /* spec.addresses empty */
	IPAM_POOL_NOMEM,
};

/* "ok", "bad-entry", "overlap", "overlap-other-pool", "no-addresses", "nomem". */
const char *ipam_pool_status_str(enum ipam_pool_status s);

struct ipam_pool;

/* Returns an empty pool (autoAssign true, avoidBuggyIPs false), or NULL when out of memory. */
struct ipam_pool *ipam_pool_new(const char *name);
void ipam_pool_free(struct ipam_pool *p);

void ipam_pool_set_auto_assign(struct ipam_pool *p, bool on);
void ipam_pool_set_avoid_buggy(struct ipam_pool *p, bool on);

/*
 * Adds one spec.addresses entry. On failure the pool is unchanged and msg (if cap > 0) says,
 * naming the pool and the entry, what is wrong:
 *   pool "lan": address "192.0.2.9-192.0.2.1": range ends before it starts
 *   pool "lan": address "192.0.2.0/25" overlaps "192.0.2.100-192.0.2.110"
 */
enum ipam_pool_status ipam_pool_add_entry(struct ipam_pool *p, const char *entry,
					  enum ipam_entry_status *why, char *msg, size_t cap);

/* IPAM_POOL_NO_ADDRESSES (with msg) when no entry was added, else IPAM_POOL_OK. */
enum ipam_pool_status ipam_pool_check(const struct ipam_pool *p, char *msg, size_t cap);

/*
 * IPAM_POOL_OVERLAP_OTHER when some entry of p overlaps one of other; msg names both pools and
 * both entries (p is the one reported). Linear in the number of entries.
 */
enum ipam_pool_status ipam_pool_check_overlap(const struct ipam_pool *p,
					      const struct ipam_pool *other, char *msg, size_t cap);

const char *ipam_pool_name(const struct ipam_pool *p);
bool ipam_pool_auto_assign(const struct ipam_pool *p);
bool ipam_pool_avoid_buggy(const struct ipam_pool *p);

/* Ranges in address order (IPv4 first). */
size_t ipam_pool_nranges(const struct ipam_pool *p);
const struct ipam_range *ipam_pool_range(const struct ipam_pool *p, size_t i);

/* The entry text a range came from, as the user wrote it. */
const char *ipam_pool_range_entry(const struct ipam_pool *p, size_t i);

/* Whether a is one of the pool's usable addresses (.0/.255 are not, with avoidBuggyIPs). */
bool ipam_pool_contains(const struct ipam_pool *p, const struct ipam_addr *a);

bool ipam_pool_has_family(const struct ipam_pool *p, enum ipam_family f);

/* Usable addresses of a family, saturating at 2^128-1. */
ipam_u128 ipam_pool_size(const struct ipam_pool *p, enum ipam_family f);

/* ---- the allocator ---- */

enum ipam_proto {
	IPAM_PROTO_TCP,
	IPAM_PROTO_UDP,
	IPAM_PROTO_SCTP,
};

/* "TCP", "UDP", "SCTP". */
const char *ipam_proto_str(enum ipam_proto p);

/* Parses "TCP", "UDP", "SCTP" (the Service API's spelling); returns 0 or -1. */
int ipam_proto_parse(const char *s, enum ipam_proto *out);

struct ipam_port {
	uint16_t port;
	enum ipam_proto proto;
};

/*
 * What a service brings to an allocation. All borrowed for the call; the allocator copies.
 * sharing_key: the allow-shared-ip annotation, NULL or "" when the service does not share.
 * backend_key: NULL or "" for externalTrafficPolicy Cluster; for Local, a key naming the
 *   pods the service selects (services sharing an address must then have equal keys).
 */
struct ipam_claim {
	const char *service; /* "namespace/name" */
	const char *sharing_key;
	const char *backend_key;
	const struct ipam_port *ports;
	size_t nports;
};

/* Allocation outcomes; the controller's AllocationFailed Events and metrics key on them. */
enum ipam_status {
	IPAM_OK,
	IPAM_NO_POOL,	     /* no pool may serve the service (chosen by the caller) */
	IPAM_NO_FAMILY,	     /* the pool has no address of the wanted family */
	IPAM_EXHAUSTED,	     /* every usable address of the family is taken */
	IPAM_NOT_IN_POOL,    /* the requested address is in no (usable part of a) pool */
	IPAM_IN_USE,	     /* the requested address is held by a service that does not share */
	IPAM_SHARING_KEY,    /* sharing refused: allow-shared-ip keys missing or different */
	IPAM_SHARING_PORTS,  /* sharing refused: same port and protocol already on that address */
	IPAM_SHARING_POLICY, /* sharing refused: externalTrafficPolicy / selected pods differ */
	IPAM_NOMEM,
};

/* "ok", "no-pool", "no-family", "pool-exhausted", "not-in-pool", "in-use", ... */
const char *ipam_status_str(enum ipam_status s);

struct ipam;

struct ipam *ipam_new(void);
void ipam_free(struct ipam *ip);

/*
 * Gives the service the lowest address of family f in pool that it may use: a free one, or
 * (when it has a sharing key) one already shared under the same key, compatible ports and
 * policy, whichever is lower. A service holds at most one address per family: if it already
 * holds one of f, that one is kept when it is in pool, else replaced (the old is freed only on
 * success). O(log n) in the number of addresses in use, plus the addresses of its sharing key.
 */
enum ipam_status ipam_alloc(struct ipam *ip, const struct ipam_pool *pool, enum ipam_family f,
			    const struct ipam_claim *c, struct ipam_addr *out);

/* Both families from the one pool, or neither (dual-stack is all or nothing here). */
enum ipam_status ipam_alloc_dual(struct ipam *ip, const struct ipam_pool *pool,
				 const struct ipam_claim *c, struct ipam_addr *out4,
				 struct ipam_addr *out6);

/*
 * Gives the service this exact address (requested by annotation, or found in its status after a
 * restart). pool may be NULL to skip the pool check (the caller already knows it is valid).
 */
enum ipam_status ipam_assign(struct ipam *ip, const struct ipam_pool *pool,
			     const struct ipam_addr *a, const struct ipam_claim *c);

/* Frees every address of the service; returns how many it held. */
int ipam_release(struct ipam *ip, const char *service);

/* Frees the service's address of family f; returns 1 if it held one, else 0. */
int ipam_release_family(struct ipam *ip, const char *service, enum ipam_family f);

/* The service's address of family f: 0, or -1 when it holds none. */
int ipam_service_addr(const struct ipam *ip, const char *service, enum ipam_family f,
		      struct ipam_addr *out);

/*
 * Who holds a: fills up to cap service names (borrowed until the next change) in the order
 * they took it, and returns how many hold it (0: free).
 */
size_t ipam_holders(const struct ipam *ip, const struct ipam_addr *a, const char **out, size_t cap);

/* Distinct addresses of family f in use inside pool (the pool status' assignedIPv4/IPv6). */
size_t ipam_count_in_pool(const struct ipam *ip, const struct ipam_pool *pool, enum ipam_family f);

/* A pool's IPAddressPool.status as MetalLB reports it; counts are clamped to INT64_MAX. */
struct ipam_pool_usage {
	int64_t assigned_v4, assigned_v6;
	int64_t available_v4, available_v6;
};

void ipam_pool_usage(const struct ipam *ip, const struct ipam_pool *pool,
		     struct ipam_pool_usage *out);

/* Addresses in use in total, and the bytes the allocator holds for them (for tests/metrics). */
size_t ipam_count(const struct ipam *ip);
size_t ipam_mem_bytes(const struct ipam *ip);

#endif
