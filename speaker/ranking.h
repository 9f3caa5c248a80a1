/* ranking: which eligible live node should announce a service: preference, rendezvous, balance
 * (pure). */
#ifndef L2LB_SPEAKER_RANKING_H
#define L2LB_SPEAKER_RANKING_H

/*
 * Every speaker computes the same answer from the same view (node names, eligibility, presence,
 * lease holders), so candidates agree who tries first without talking to each other.
 *
 * Order of candidates for one service (the nodes that are eligible for it and live):
 *   1. higher preferredNodeSelectors score first (weights of matching terms, summed);
 *   2. then higher rendezvous weight: SipHash-2-4 of (service key, node name), so each node's
 *      place depends only on its own name, and a node leaving moves only its own services;
 *   3. then the smaller name (a 64-bit tie, for completeness).
 *
 * Pure rendezvous spreads services only as evenly as chance allows (10 nodes, 1,000 services:
 * about +-10 % per node, more at the tail), so ranking_plan() adds a bounded-load pass: services
 * whose lease is held by a live candidate with the best score stay where they are (sticky);
 * every other service goes to its highest-ranked best-score candidate that holds fewer than
 * ceil(services / nodes), visiting services in a fixed hash order. The planned node tries at
 * once; the others follow by rank after rank * step (ranking_delay_ms()).
 */

#include <stddef.h>
#include <stdint.h>

#define RANKING_NONE (-1L)

/* Rendezvous weight of node for service_key ("namespace/name"): the same on every speaker. */
uint64_t ranking_weight(const char *node, const char *service_key);

struct ranking_node {
	const char *name; /* borrowed */
	int candidate;	  /* eligible for this service and live (presence lease valid) */
	int score;	  /* preferredNodeSelectors score, 0 when none match */
};

/* The highest score among candidates, or -1 when there is none. */
int ranking_best_score(const struct ranking_node *nodes, size_t n);

/* Writes the indexes of the candidates into order[] (room for n), best first; returns how many.
 * O(n^2) comparisons for n nodes, each weight hashed once. */
size_t ranking_order(const char *service_key, const struct ranking_node *nodes, size_t n,
		     size_t *order);

/*
 * The rank of nodes[self] (0 = tries first) when nodes[planned] (RANKING_NONE: no plan) is put
 * first and the rest follow ranking_order(); -1 when self is not a candidate.
 */
int ranking_rank(const char *service_key, const struct ranking_node *nodes, size_t n, long planned,
		 size_t self);

/* How long a candidate of this rank waits after the lease became free: rank * step_ms
 * (INT64_MAX for rank < 0). */
int64_t ranking_delay_ms(int rank, int64_t step_ms);

struct ranking_service {
	const char *key; /* "namespace/name", borrowed */
	long holder;	 /* index of the node whose lease is held and valid, or RANKING_NONE */
};

/* 1 when node is a candidate for service svc, with its score in *score; 0 when not. */
typedef int (*ranking_candidate_fn)(void *arg, size_t svc, size_t node, int *score);

/*
 * Plans who should announce each service: assigned[i] = node index or RANKING_NONE (no
 * candidate). Costs O(services * nodes) calls and memory. Returns 0, or -1 out of memory.
 */
int ranking_plan(const char *const *node_names, size_t n_nodes, const struct ranking_service *svcs,
		 size_t n_svcs, ranking_candidate_fn fn, void *arg, long *assigned);

#endif
