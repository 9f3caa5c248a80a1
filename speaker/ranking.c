/* ranking: preference, rendezvous and balance for choosing announcers (see ranking.h). */
#include "speaker/ranking.h"

#include "hash/siphash.h"

#include <stdlib.h>
#include <string.h>

/* Published, not secret: every speaker must rank alike. */
static const uint8_t rank_key[16] = { 'l', '2', 'l', 'b', '-', 'r', 'e', 'n',
				      'd', 'e', 'z', 'v', 'o', 'u', 's', '1' };

uint64_t ranking_weight(const char *node, const char *service_key)
{
	struct siphash h;
	siphash_init(&h, rank_key);
	/* The NUL keeps ("ab","c") and ("a","bc") apart. */
	siphash_update(&h, service_key, strlen(service_key) + 1);
	siphash_update(&h, node, strlen(node));
	return siphash_final(&h);
}

/* 1 when (score a, weight a, name a) ranks before b. */
static int before(int sa, uint64_t wa, const char *na, int sb, uint64_t wb, const char *nb)
{
	if (sa != sb)
		return sa > sb;
	if (wa != wb)
		return wa > wb;
	return strcmp(na, nb) < 0;
}

int ranking_best_score(const struct ranking_node *nodes, size_t n)
{
	int best = -1;
	for (size_t i = 0; i < n; i++)
		if (nodes[i].candidate && nodes[i].score > best)
			best = nodes[i].score;
	return best;
}

size_t ranking_order(const char *service_key, const struct ranking_node *nodes, size_t n,
		     size_t *order)
{
	/* Each weight is one SipHash: compute them once when memory allows, else as needed. */
	uint64_t *w = n ? malloc(n * sizeof(*w)) : NULL;
	if (w)
		for (size_t i = 0; i < n; i++)
			w[i] = nodes[i].candidate ? ranking_weight(nodes[i].name, service_key) : 0;
	size_t k = 0;
	/* Insertion sort: node counts are small. */
	for (size_t i = 0; i < n; i++) {
		if (!nodes[i].candidate)
			continue;
		uint64_t wi = w ? w[i] : ranking_weight(nodes[i].name, service_key);
		size_t j = k;
		while (j > 0) {
			size_t p = order[j - 1];
			uint64_t wp = w ? w[p] : ranking_weight(nodes[p].name, service_key);
			if (!before(nodes[i].score, wi, nodes[i].name, nodes[p].score, wp,
				    nodes[p].name))
				break;
			order[j] = p;
			j--;
		}
		order[j] = i;
		k++;
	}
	free(w);
	return k;
}

int ranking_rank(const char *service_key, const struct ranking_node *nodes, size_t n, long planned,
		 size_t self)
{
	if (self >= n || !nodes[self].candidate)
		return -1;
	int has_plan = planned >= 0 && (size_t)planned < n && nodes[planned].candidate;
	if (has_plan && (size_t)planned == self)
		return 0;
	uint64_t ws = ranking_weight(nodes[self].name, service_key);
	int rank = has_plan;
	for (size_t i = 0; i < n; i++) {
		if (i == self || !nodes[i].candidate || (has_plan && i == (size_t)planned))
			continue;
		if (before(nodes[i].score, ranking_weight(nodes[i].name, service_key),
			   nodes[i].name, nodes[self].score, ws, nodes[self].name))
			rank++;
	}
	return rank;
}

int64_t ranking_delay_ms(int rank, int64_t step_ms)
{
	if (rank < 0)
		return INT64_MAX;
	if (step_ms > 0 && rank > INT64_MAX / step_ms)
		return INT64_MAX;
	return rank * step_ms;
}

struct svc_order {
	uint64_t h;
	size_t idx;
	const char *key;
};

static int cmp_svc(const void *a, const void *b)
{
	const struct svc_order *x = a, *y = b;
	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return strcmp(x->key, y->key);
}

int ranking_plan(const char *const *node_names, size_t n_nodes, const struct ranking_service *svcs,
		 size_t n_svcs, ranking_candidate_fn fn, void *arg, long *assigned)
{
	for (size_t s = 0; s < n_svcs; s++)
		assigned[s] = RANKING_NONE;
	if (n_nodes == 0 || n_svcs == 0)
		return 0;
	if (n_svcs > SIZE_MAX / n_nodes / sizeof(int))
		return -1;
	/* score[s][i]: the node's score when it is a best-score candidate, else -1. */
	int *score = malloc(n_svcs * n_nodes * sizeof(int));
	size_t *load = calloc(n_nodes, sizeof(size_t));
	unsigned char *active = calloc(n_nodes, 1);
	struct svc_order *ord = malloc(n_svcs * sizeof(*ord));
	int rc = -1;
	if (!score || !load || !active || !ord)
		goto out;

	size_t s_active = 0, n_active = 0, n_ord = 0;
	for (size_t s = 0; s < n_svcs; s++) {
		int *row = score + s * n_nodes, best = -1;
		for (size_t i = 0; i < n_nodes; i++) {
			int sc = 0;
			row[i] = fn(arg, s, i, &sc) ? (sc < 0 ? 0 : sc) : -1;
			if (row[i] > best)
				best = row[i];
		}
		if (best < 0)
			continue;
		s_active++;
		for (size_t i = 0; i < n_nodes; i++) {
			if (row[i] != best)
				row[i] = -1;
			else if (!active[i])
				active[i] = 1, n_active++;
		}
		long h = svcs[s].holder;
		/* Sticky: a valid holder keeps it unless another candidate scores higher. */
		if (h >= 0 && (size_t)h < n_nodes && row[h] >= 0) {
			assigned[s] = h;
			load[h]++;
		} else {
			ord[n_ord].h = ranking_weight("", svcs[s].key);
			ord[n_ord].idx = s;
			ord[n_ord].key = svcs[s].key;
			n_ord++;
		}
	}
	size_t cap = (s_active + n_active - 1) / (n_active ? n_active : 1);
	qsort(ord, n_ord, sizeof(*ord), cmp_svc);
	for (size_t k = 0; k < n_ord; k++) {
		size_t s = ord[k].idx;
		const int *row = score + s * n_nodes;
		long pick = RANKING_NONE, fallback = RANKING_NONE;
		uint64_t pw = 0, fw = 0;
		for (size_t i = 0; i < n_nodes; i++) {
			if (row[i] < 0)
				continue;
			uint64_t w = ranking_weight(node_names[i], svcs[s].key);
			if (load[i] < cap &&
			    (pick < 0 || before(0, w, node_names[i], 0, pw, node_names[pick])))
				pick = (long)i, pw = w;
			if (fallback < 0 || load[i] < load[fallback] ||
			    (load[i] == load[fallback] &&
			     before(0, w, node_names[i], 0, fw, node_names[fallback])))
				fallback = (long)i, fw = w;
		}
		if (pick < 0)
			pick = fallback;
		if (pick < 0)
			continue; /* cannot happen: the service has a best-score candidate */
		assigned[s] = pick;
		load[pick]++;
	}
	rc = 0;
out:
	free(score);
	free(load);
	free(active);
	free(ord);
	return rc;
}
