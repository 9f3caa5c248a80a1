/* mlb/alloc: one service's addresses from its candidate pools, by MetalLB's family rules. */
#include "mlb/mlb.h"

#include <string.h>

#define MAX_CANDIDATES 64

/* What the service held before this decision, so a failure can put it back. */
struct held {
	bool have[2]; /* IPv4, IPv6 */
	struct ipam_addr a[2];
};

static int fi(enum ipam_family f)
{
	return f == IPAM_V4 ? 0 : 1;
}

static enum ipam_family fam_of(int i)
{
	return i == 0 ? IPAM_V4 : IPAM_V6;
}

static void snapshot(const struct ipam *ip, const char *svc, struct held *h)
{
	for (int i = 0; i < 2; i++)
		h->have[i] = ipam_service_addr(ip, svc, fam_of(i), &h->a[i]) == 0;
}

static void restore(struct ipam *ip, const struct held *h, const struct ipam_claim *c)
{
	for (int i = 0; i < 2; i++) {
		struct ipam_addr now;
		bool has = ipam_service_addr(ip, c->service, fam_of(i), &now) == 0;
		if (h->have[i]) {
			if ((!has || ipam_addr_cmp(&now, &h->a[i]) != 0) &&
			    ipam_assign(ip, NULL, &h->a[i], c) != IPAM_OK)
				ipam_release_family(ip, c->service, fam_of(i));
		} else if (has) {
			ipam_release_family(ip, c->service, fam_of(i));
		}
	}
}

/* Success: report the wanted families (IPv4 first) and drop any other the service held. */
static void finish(struct ipam *ip, const char *svc, const struct mlb_pool *p, const bool want[2],
		   struct mlb_result *out)
{
	out->status = IPAM_OK;
	out->pool = p;
	out->where = NULL;
	out->naddrs = 0;
	for (int i = 0; i < 2; i++) {
		if (!want[i]) {
			ipam_release_family(ip, svc, fam_of(i));
			continue;
		}
		if (ipam_service_addr(ip, svc, fam_of(i), &out->addrs[out->naddrs]) == 0)
			out->naddrs++;
	}
}

/* Keeps the first informative failure (and its pool): a pool without the family says least. */
static void note(struct mlb_result *out, enum ipam_status st, const struct mlb_pool *p)
{
	if (out->status == IPAM_NO_POOL ||
	    (out->status == IPAM_NO_FAMILY && st != IPAM_NO_FAMILY)) {
		out->status = st;
		out->where = p;
	}
}

static bool has_family(const struct mlb_service *s, enum ipam_family f)
{
	for (size_t i = 0; i < mlb_service_nfamilies(s); i++)
		if (mlb_service_family(s, i) == f)
			return true;
	return false;
}

/* Whether a pool of that name still exists, valid or refused (its addresses stay held). */
static bool pool_exists(const struct mlb_config *cfg, const char *name)
{
	return name != NULL &&
	       (mlb_config_pool_by_name(cfg, name) != NULL || mlb_config_pool_refused(cfg, name));
}

/*
 * Addresses no valid pool covers, recorded from a pool that no longer exists (or from no pool
 * at all), are freed: their pool was deleted. Recorded from a pool that still exists they stay.
 */
static void drop_orphans(struct ipam *ip, const struct mlb_config *cfg, const char *svc,
			 const char *from_pool)
{
	for (int i = 0; i < 2; i++) {
		struct ipam_addr a;
		if (ipam_service_addr(ip, svc, fam_of(i), &a) < 0)
			continue;
		if (mlb_config_pool_for_addr(cfg, &a) == NULL && !pool_exists(cfg, from_pool))
			ipam_release_family(ip, svc, fam_of(i));
	}
}

/* Whether the service holds one of the addresses it requests. */
static bool holds_requested(const struct ipam *ip, const struct mlb_service *s, const char *svc)
{
	for (size_t i = 0; i < mlb_service_nrequested(s); i++) {
		const struct ipam_addr *a = mlb_service_requested(s, i);
		struct ipam_addr held;
		if (ipam_service_addr(ip, svc, a->family, &held) == 0 &&
		    ipam_addr_cmp(&held, a) == 0)
			return true;
	}
	return false;
}

static void requested(struct ipam *ip, const struct mlb_service *s, const struct mlb_pool *p,
		      const struct ipam_claim *c, const struct held *h, struct mlb_result *out)
{
	bool want[2] = { false, false };
	for (size_t i = 0; i < mlb_service_nrequested(s); i++) {
		const struct ipam_addr *a = mlb_service_requested(s, i);
		enum ipam_status st = ipam_assign(ip, mlb_pool_ipam(p), a, c);
		if (st != IPAM_OK) {
			restore(ip, h, c);
			out->status = st;
			out->where = p;
			out->refused = *a;
			out->has_refused = true;
			return;
		}
		want[fi(a->family)] = true;
	}
	finish(ip, c->service, p, want, out);
}

/*
 * Keeps what the service holds when it may: its addresses stay where they are while they are
 * in one pool and the service names no other pool, whether or not that pool would be chosen
 * for it today (nothing moves when pools are added, reordered, or stop auto-assigning).
 * Returns true when the decision is made (out set), false to allocate afresh.
 */
static bool keep(struct ipam *ip, const struct mlb_config *cfg, const struct mlb_service *s,
		 const char *from_pool, const struct ipam_claim *c, const struct held *h,
		 struct mlb_result *out)
{
	const struct mlb_pool *hp = NULL;
	bool any = false, want[2] = { false, false };
	for (int i = 0; i < 2; i++) {
		if (!h->have[i])
			continue;
		const struct mlb_pool *p = mlb_config_pool_for_addr(cfg, &h->a[i]);
		if (any && p != hp)
			return false; /* split across pools: start again */
		hp = p;
		any = true;
		want[i] = true;
	}
	if (!any)
		return false;
	const char *named = mlb_service_pool(s);
	const char *cur = hp != NULL ? mlb_pool_name(hp) : from_pool;
	if (named != NULL && (cur == NULL || strcmp(cur, named) != 0))
		return false; /* the user named another pool: move there */
	for (int i = 0; i < 2; i++) {
		if (!want[i])
			continue;
		enum ipam_status st = ipam_assign(ip, NULL, &h->a[i], c);
		if (st != IPAM_OK) {
			restore(ip, h, c);
			out->status = st;
			out->where = hp;
			return true;
		}
	}
	bool missing = false;
	for (size_t k = 0; hp != NULL && k < mlb_service_nfamilies(s); k++) {
		enum ipam_family f = mlb_service_family(s, k);
		struct ipam_addr a;
		if (want[fi(f)])
			continue;
		if (ipam_alloc(ip, mlb_pool_ipam(hp), f, c, &a) == IPAM_OK)
			want[fi(f)] = true;
		else
			missing = true;
	}
	if (missing && mlb_service_policy(s) == MLB_POLICY_REQUIRE_DUAL_STACK)
		return false;
	/* A pool that no longer covers it: it keeps working; the caller warns. */
	finish(ip, c->service, hp, want, out);
	out->stale = hp == NULL;
	return true;
}

static void fresh(struct ipam *ip, const struct mlb_service *s, const struct mlb_pool *const *cand,
		  size_t n, const struct ipam_claim *c, const struct held *h,
		  struct mlb_result *out)
{
	enum ipam_family f0 = mlb_service_family(s, 0);
	bool want[2] = { false, false };
	if (mlb_service_nfamilies(s) == 2) {
		struct ipam_addr a4, a6;
		for (size_t i = 0; i < n; i++) {
			enum ipam_status st =
				ipam_alloc_dual(ip, mlb_pool_ipam(cand[i]), c, &a4, &a6);
			if (st == IPAM_OK) {
				want[0] = want[1] = true;
				finish(ip, c->service, cand[i], want, out);
				return;
			}
			note(out, st, cand[i]);
		}
		if (mlb_service_policy(s) == MLB_POLICY_PREFER_DUAL_STACK) {
			enum ipam_family order[2] = { f0, mlb_service_family(s, 1) };
			for (int k = 0; k < 2; k++) {
				for (size_t i = 0; i < n; i++) {
					struct ipam_addr a;
					if (ipam_alloc(ip, mlb_pool_ipam(cand[i]), order[k], c,
						       &a) == IPAM_OK) {
						want[fi(order[k])] = true;
						finish(ip, c->service, cand[i], want, out);
						return;
					}
				}
			}
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			struct ipam_addr a;
			enum ipam_status st = ipam_alloc(ip, mlb_pool_ipam(cand[i]), f0, c, &a);
			if (st == IPAM_OK) {
				want[fi(f0)] = true;
				finish(ip, c->service, cand[i], want, out);
				return;
			}
			note(out, st, cand[i]);
		}
	}
	restore(ip, h, c);
}

void mlb_allocate(struct ipam *ip, const struct mlb_config *cfg, const struct mlb_service *s,
		  const json_t *ns_labels, const char *from_pool, struct mlb_result *out)
{
	const struct mlb_pool *cand[MAX_CANDIDATES];
	size_t n = 0;
	memset(out, 0, sizeof(*out));
	out->status = IPAM_NO_POOL;
	struct ipam_claim c;
	mlb_service_claim(s, &c);
	/* A family the service no longer has is given back first, whatever follows. */
	for (int i = 0; i < 2; i++)
		if (!has_family(s, fam_of(i)))
			ipam_release_family(ip, c.service, fam_of(i));
	drop_orphans(ip, cfg, c.service, from_pool);
	out->choice = mlb_config_pools_for_service(cfg, s, ns_labels, cand, MAX_CANDIDATES, &n);
	if (n > MAX_CANDIDATES)
		n = MAX_CANDIDATES;
	struct held h;
	snapshot(ip, c.service, &h);
	if (mlb_service_nrequested(s) > 0) {
		if (out->choice != MLB_CHOICE_OK || n == 0) {
			/*
			 * The exact address it asked for (and holds) is in no pool any more: the
			 * one case where a working address is taken away (issue 5).
			 */
			if (out->choice == MLB_CHOICE_NOT_IN_POOL &&
			    holds_requested(ip, s, c.service))
				ipam_release(ip, c.service);
			return;
		}
		requested(ip, s, cand[0], &c, &h, out);
		return;
	}
	if (keep(ip, cfg, s, from_pool, &c, &h, out))
		return;
	if (out->choice != MLB_CHOICE_OK || n == 0)
		return;
	fresh(ip, s, cand, n, &c, &h, out);
}
