/*
 * ipam: the allocator. Addresses in use live in one AVL tree keyed by address; each node also
 * knows its subtree's lowest and highest key and how many keys it holds, so "is this subtree a
 * solid run of used addresses?" is one comparison and the lowest free address of a range is
 * found in O(log n) without ever materialising free space (a /64 costs what its users cost).
 */
#include "ipam/ipam.h"

#include "hash/fnv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* IPv4 keys sit in ::ffff:0:0/96, which ipam_addr_parse() refuses as IPv6, so keys are unique. */
#define V4_TAG ((ipam_u128)0xffff << 32)

/* Bytes of an array of n object pointers (all the same size on the platforms we build for). */
#define PTRS(n) ((size_t)(n) * sizeof(void *))

struct hnode {
	struct hnode *next;
	const char *key;
};

struct htab {
	struct hnode **b;
	size_t nb, n;
};

struct share {
	struct hnode h; /* first: a share is found through its hnode */
	struct use **uses;
	size_t n, cap;
	char key[];
};

struct use {
	struct use *l, *r;
	ipam_u128 key, min, max;
	uint32_t cnt, cnt_nb;
	int h;
	enum ipam_family family;
	struct share *share; /* NULL: does not share */
	char *backend;	     /* NULL: externalTrafficPolicy Cluster */
	struct svc **holders;
	uint32_t nholders, hcap;
};

struct svc {
	struct hnode h;
	struct use *use[2]; /* IPv4, IPv6 */
	struct ipam_port *ports;
	size_t nports;
	char name[];
};

struct ipam {
	struct use *root;
	struct htab svcs, shares;
	size_t bytes;
};

const char *ipam_proto_str(enum ipam_proto p)
{
	switch (p) {
	case IPAM_PROTO_TCP:
		return "TCP";
	case IPAM_PROTO_UDP:
		return "UDP";
	case IPAM_PROTO_SCTP:
		return "SCTP";
	}
	return "?";
}

int ipam_proto_parse(const char *s, enum ipam_proto *out)
{
	static const enum ipam_proto all[] = { IPAM_PROTO_TCP, IPAM_PROTO_UDP, IPAM_PROTO_SCTP };
	for (size_t i = 0; s != NULL && i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(s, ipam_proto_str(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	}
	return -1;
}

const char *ipam_status_str(enum ipam_status s)
{
	switch (s) {
	case IPAM_OK:
		return "ok";
	case IPAM_NO_POOL:
		return "no-pool";
	case IPAM_NO_FAMILY:
		return "no-family";
	case IPAM_EXHAUSTED:
		return "pool-exhausted";
	case IPAM_NOT_IN_POOL:
		return "not-in-pool";
	case IPAM_IN_USE:
		return "in-use";
	case IPAM_SHARING_KEY:
		return "sharing-key-mismatch";
	case IPAM_SHARING_PORTS:
		return "sharing-port-clash";
	case IPAM_SHARING_POLICY:
		return "sharing-policy-mismatch";
	case IPAM_NOMEM:
		return "nomem";
	}
	return "?";
}

/* ---- memory, counted so tests can bound what an allocation costs ---- */

static void *xalloc(struct ipam *ip, size_t n)
{
	void *p = calloc(1, n);
	if (p != NULL)
		ip->bytes += n;
	return p;
}

static void xfree(struct ipam *ip, void *p, size_t n)
{
	if (p == NULL)
		return;
	ip->bytes -= n;
	free(p);
}

static char *xstrdup(struct ipam *ip, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = xalloc(ip, n);
	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

/* ---- string hash tables ---- */

static struct hnode *ht_get(const struct htab *t, const char *key)
{
	if (t->nb == 0)
		return NULL;
	for (struct hnode *n = t->b[fnv_str(key) & (t->nb - 1)]; n != NULL; n = n->next)
		if (strcmp(n->key, key) == 0)
			return n;
	return NULL;
}

static int ht_put(struct ipam *ip, struct htab *t, struct hnode *node)
{
	if (t->n >= t->nb) {
		size_t nb = t->nb ? t->nb * 2 : 16;
		struct hnode **b = xalloc(ip, PTRS(nb));
		if (b == NULL)
			return -1;
		for (size_t i = 0; i < t->nb; i++) {
			struct hnode *n = t->b[i];
			while (n != NULL) {
				struct hnode *next = n->next;
				size_t k = fnv_str(n->key) & (nb - 1);
				n->next = b[k];
				b[k] = n;
				n = next;
			}
		}
		xfree(ip, t->b, PTRS(t->nb));
		t->b = b;
		t->nb = nb;
	}
	size_t k = fnv_str(node->key) & (t->nb - 1);
	node->next = t->b[k];
	t->b[k] = node;
	t->n++;
	return 0;
}

static void ht_del(struct htab *t, struct hnode *node)
{
	struct hnode **pp = &t->b[fnv_str(node->key) & (t->nb - 1)];
	while (*pp != NULL && *pp != node)
		pp = &(*pp)->next;
	if (*pp != NULL) {
		*pp = node->next;
		t->n--;
	}
}

/* ---- the augmented AVL tree of used addresses ---- */

static ipam_u128 key_of(const struct ipam_addr *a)
{
	return a->family == IPAM_V4 ? (V4_TAG | a->v) : a->v;
}

static void addr_of(const struct use *u, struct ipam_addr *out)
{
	out->family = u->family;
	out->v = u->family == IPAM_V4 ? (u->key & 0xffffffffu) : u->key;
}

/*
 * In avoid-buggy searches the universe is every key whose low byte is neither 0 nor 255; the
 * rule is applied to the whole key space alike so subtree counts stay comparable, and only IPv4
 * searches ever use it.
 */
static bool key_nb(ipam_u128 k)
{
	unsigned low = (unsigned)(k & 0xff);
	return low != 0 && low != 255;
}

static int ht(const struct use *u)
{
	return u != NULL ? u->h : 0;
}

static uint32_t cnt(const struct use *u, bool nb)
{
	return u == NULL ? 0 : (nb ? u->cnt_nb : u->cnt);
}

static void pull(struct use *u)
{
	int hl = ht(u->l), hr = ht(u->r);
	u->h = 1 + (hl > hr ? hl : hr);
	u->cnt = 1 + cnt(u->l, false) + cnt(u->r, false);
	u->cnt_nb = (key_nb(u->key) ? 1 : 0) + cnt(u->l, true) + cnt(u->r, true);
	u->min = u->l != NULL ? u->l->min : u->key;
	u->max = u->r != NULL ? u->r->max : u->key;
}

static struct use *rot_right(struct use *u)
{
	struct use *l = u->l;
	u->l = l->r;
	l->r = u;
	pull(u);
	pull(l);
	return l;
}

static struct use *rot_left(struct use *u)
{
	struct use *r = u->r;
	u->r = r->l;
	r->l = u;
	pull(u);
	pull(r);
	return r;
}

static struct use *balance(struct use *u)
{
	pull(u);
	int bf = ht(u->l) - ht(u->r);
	if (bf > 1) {
		if (ht(u->l->l) < ht(u->l->r))
			u->l = rot_left(u->l);
		return rot_right(u);
	}
	if (bf < -1) {
		if (ht(u->r->r) < ht(u->r->l))
			u->r = rot_right(u->r);
		return rot_left(u);
	}
	return u;
}

static struct use *tree_insert(struct use *t, struct use *n)
{
	if (t == NULL) {
		n->l = n->r = NULL;
		pull(n);
		return n;
	}
	if (n->key < t->key)
		t->l = tree_insert(t->l, n);
	else
		t->r = tree_insert(t->r, n);
	return balance(t);
}

static struct use *tree_pop_min(struct use *t, struct use **min)
{
	if (t->l == NULL) {
		*min = t;
		return t->r;
	}
	t->l = tree_pop_min(t->l, min);
	return balance(t);
}

static struct use *tree_remove(struct use *t, ipam_u128 key)
{
	if (t == NULL)
		return NULL;
	if (key < t->key) {
		t->l = tree_remove(t->l, key);
	} else if (key > t->key) {
		t->r = tree_remove(t->r, key);
	} else {
		if (t->l == NULL)
			return t->r;
		if (t->r == NULL)
			return t->l;
		struct use *m;
		struct use *r = tree_pop_min(t->r, &m);
		m->l = t->l;
		m->r = r;
		t = m;
	}
	return balance(t);
}

static struct use *tree_find(const struct use *t, ipam_u128 key)
{
	while (t != NULL && t->key != key)
		t = key < t->key ? t->l : t->r;
	return (struct use *)t;
}

/* Keys <= x. */
static size_t tree_count_le(const struct use *t, ipam_u128 x)
{
	size_t n = 0;
	while (t != NULL) {
		if (t->key <= x) {
			n += 1 + cnt(t->l, false);
			t = t->r;
		} else {
			t = t->l;
		}
	}
	return n;
}

/* Non-buggy keys in [0, x] (same formula as the IPv4 one in addr.c, over the key space). */
static ipam_u128 nb_upto(ipam_u128 x)
{
	unsigned low = (unsigned)(x & 0xff);
	return (x >> 8) * 254 + (low == 0 ? 0 : (low > 254 ? 254 : low));
}

static ipam_u128 universe_count(ipam_u128 a, ipam_u128 b, bool avoid)
{
	if (avoid)
		return nb_upto(b) - (a == 0 ? 0 : nb_upto(a - 1));
	return b - a + 1; /* 0 for the whole space, which no subtree can fill */
}

/* Smallest universe key >= x, if it is <= hi. */
static bool universe_next(ipam_u128 x, ipam_u128 hi, bool avoid, ipam_u128 *out)
{
	if (avoid) {
		unsigned low = (unsigned)(x & 0xff);
		if (low == 0)
			x += 1;
		else if (low == 255)
			x += 2;
	}
	if (x > hi)
		return false;
	*out = x;
	return true;
}

/*
 * Smallest universe key y with x <= y <= hi that is not in t (x must be a universe key). A
 * subtree whose universe keys are all used is skipped whole; otherwise the answer lies inside
 * it, so at most one descent per level continues: O(log n).
 */
static bool first_free(const struct use *t, ipam_u128 x, ipam_u128 hi, bool avoid, ipam_u128 *out)
{
	while (t != NULL && x >= t->min && x <= t->max) {
		if (cnt(t, avoid) == universe_count(t->min, t->max, avoid)) {
			if (t->max >= hi)
				return false;
			return universe_next(t->max + 1, hi, avoid, out);
		}
		if (x < t->key) {
			ipam_u128 y;
			if (!first_free(t->l, x, hi, avoid, &y))
				return false;
			if (y < t->key) {
				*out = y;
				return true;
			}
			if (y == t->key) {
				if (t->key >= hi || !universe_next(t->key + 1, hi, avoid, &y))
					return false;
			}
			x = y;
		} else if (x == t->key) {
			if (x >= hi || !universe_next(x + 1, hi, avoid, &x))
				return false;
		}
		t = t->r;
	}
	*out = x;
	return true;
}

/* ---- services and sharing ---- */

struct ipam *ipam_new(void)
{
	struct ipam *ip = calloc(1, sizeof(*ip));
	if (ip != NULL)
		ip->bytes = sizeof(*ip);
	return ip;
}

static void free_tree(struct use *t)
{
	if (t == NULL)
		return;
	free_tree(t->l);
	free_tree(t->r);
	free(t->backend);
	free(t->holders);
	free(t);
}

/* Frees every node of a table whose nodes were allocated whole (a share or a svc). */
static void free_shares(struct htab *t)
{
	for (size_t i = 0; i < t->nb; i++) {
		struct hnode *n = t->b[i];
		while (n != NULL) {
			struct hnode *next = n->next;
			free(((struct share *)(void *)n)->uses);
			free(n);
			n = next;
		}
	}
	free(t->b);
}

static void free_svcs(struct htab *t)
{
	for (size_t i = 0; i < t->nb; i++) {
		struct hnode *n = t->b[i];
		while (n != NULL) {
			struct hnode *next = n->next;
			free(((struct svc *)(void *)n)->ports);
			free(n);
			n = next;
		}
	}
	free(t->b);
}

void ipam_free(struct ipam *ip)
{
	if (ip == NULL)
		return;
	free_tree(ip->root);
	free_svcs(&ip->svcs);
	free_shares(&ip->shares);
	free(ip);
}

static struct svc *svc_get(const struct ipam *ip, const char *name)
{
	return (struct svc *)(void *)ht_get(&ip->svcs, name);
}

static size_t svc_size(const struct svc *s)
{
	return sizeof(*s) + strlen(s->name) + 1;
}

static struct svc *svc_get_or_add(struct ipam *ip, const char *name)
{
	struct svc *s = svc_get(ip, name);
	if (s != NULL)
		return s;
	size_t n = strlen(name) + 1;
	s = xalloc(ip, sizeof(*s) + n);
	if (s == NULL)
		return NULL;
	memcpy(s->name, name, n);
	s->h.key = s->name;
	if (ht_put(ip, &ip->svcs, &s->h) < 0) {
		xfree(ip, s, sizeof(*s) + n);
		return NULL;
	}
	return s;
}

static void svc_drop_if_idle(struct ipam *ip, struct svc *s)
{
	if (s->use[0] != NULL || s->use[1] != NULL)
		return;
	ht_del(&ip->svcs, &s->h);
	xfree(ip, s->ports, s->nports * sizeof(*s->ports));
	xfree(ip, s, svc_size(s));
}

static int svc_set_ports(struct ipam *ip, struct svc *s, const struct ipam_claim *c)
{
	struct ipam_port *p = NULL;
	if (c->nports > 0) {
		p = xalloc(ip, c->nports * sizeof(*p));
		if (p == NULL)
			return -1;
		memcpy(p, c->ports, c->nports * sizeof(*p));
	}
	xfree(ip, s->ports, s->nports * sizeof(*s->ports));
	s->ports = p;
	s->nports = c->nports;
	return 0;
}

static bool has_text(const char *s)
{
	return s != NULL && *s != '\0';
}

static bool same_text(const char *a, const char *b)
{
	return (!has_text(a) && !has_text(b)) || (has_text(a) && has_text(b) && strcmp(a, b) == 0);
}

static bool holds(const struct use *u, const struct svc *s)
{
	for (uint32_t i = 0; i < u->nholders; i++)
		if (u->holders[i] == s)
			return true;
	return false;
}

/* May claim c join the users of u? s is the claiming service, if it exists yet. */
static enum ipam_status sharing_ok(const struct use *u, const struct svc *s,
				   const struct ipam_claim *c)
{
	bool others = false;
	for (uint32_t i = 0; i < u->nholders; i++)
		if (u->holders[i] != s)
			others = true;
	if (!others)
		return IPAM_OK;
	if (u->share == NULL || !has_text(c->sharing_key))
		return IPAM_IN_USE;
	if (strcmp(u->share->key, c->sharing_key) != 0)
		return IPAM_SHARING_KEY;
	if (!same_text(u->backend, c->backend_key))
		return IPAM_SHARING_POLICY;
	for (uint32_t i = 0; i < u->nholders; i++) {
		const struct svc *o = u->holders[i];
		if (o == s)
			continue;
		for (size_t a = 0; a < o->nports; a++)
			for (size_t b = 0; b < c->nports; b++)
				if (o->ports[a].port == c->ports[b].port &&
				    o->ports[a].proto == c->ports[b].proto)
					return IPAM_SHARING_PORTS;
	}
	return IPAM_OK;
}

static int share_add(struct ipam *ip, struct use *u, const char *key)
{
	struct share *sh = (struct share *)(void *)ht_get(&ip->shares, key);
	if (sh == NULL) {
		size_t n = strlen(key) + 1;
		sh = xalloc(ip, sizeof(*sh) + n);
		if (sh == NULL)
			return -1;
		memcpy(sh->key, key, n);
		sh->h.key = sh->key;
		if (ht_put(ip, &ip->shares, &sh->h) < 0) {
			xfree(ip, sh, sizeof(*sh) + n);
			return -1;
		}
	}
	if (sh->n == sh->cap) {
		size_t ncap = sh->cap ? sh->cap * 2 : 2;
		struct use **nu = xalloc(ip, PTRS(ncap));
		if (nu == NULL)
			return -1;
		if (sh->n > 0)
			memcpy(nu, sh->uses, PTRS(sh->n));
		xfree(ip, sh->uses, PTRS(sh->cap));
		sh->uses = nu;
		sh->cap = ncap;
	}
	sh->uses[sh->n++] = u;
	u->share = sh;
	return 0;
}

static void share_remove(struct ipam *ip, struct use *u)
{
	struct share *sh = u->share;
	if (sh == NULL)
		return;
	for (size_t i = 0; i < sh->n; i++) {
		if (sh->uses[i] == u) {
			sh->uses[i] = sh->uses[--sh->n];
			break;
		}
	}
	u->share = NULL;
	if (sh->n == 0) {
		ht_del(&ip->shares, &sh->h);
		xfree(ip, sh->uses, PTRS(sh->cap));
		xfree(ip, sh, sizeof(*sh) + strlen(sh->key) + 1);
	}
}

static void use_destroy(struct ipam *ip, struct use *u)
{
	ip->root = tree_remove(ip->root, u->key);
	share_remove(ip, u);
	if (u->backend != NULL)
		xfree(ip, u->backend, strlen(u->backend) + 1);
	xfree(ip, u->holders, PTRS(u->hcap));
	xfree(ip, u, sizeof(*u));
}

static int fam_idx(enum ipam_family f)
{
	return f == IPAM_V4 ? 0 : 1;
}

/* Takes s off u; frees u when nobody holds it any more. */
static void use_drop_holder(struct ipam *ip, struct use *u, struct svc *s)
{
	for (uint32_t i = 0; i < u->nholders; i++) {
		if (u->holders[i] == s) {
			memmove(&u->holders[i], &u->holders[i + 1], (PTRS(u->nholders - i - 1)));
			u->nholders--;
			break;
		}
	}
	if (s->use[fam_idx(u->family)] == u)
		s->use[fam_idx(u->family)] = NULL;
	if (u->nholders == 0)
		use_destroy(ip, u);
}

/* Sets the sharing and policy keys of a use that only s (or nobody) holds. */
static int use_set_keys(struct ipam *ip, struct use *u, const struct ipam_claim *c)
{
	if (!(u->share != NULL && has_text(c->sharing_key) &&
	      strcmp(u->share->key, c->sharing_key) == 0)) {
		share_remove(ip, u);
		if (has_text(c->sharing_key) && share_add(ip, u, c->sharing_key) < 0)
			return -1;
	}
	if (!same_text(u->backend, c->backend_key)) {
		if (u->backend != NULL)
			xfree(ip, u->backend, strlen(u->backend) + 1);
		u->backend = NULL;
		if (has_text(c->backend_key) && (u->backend = xstrdup(ip, c->backend_key)) == NULL)
			return -1;
	}
	return 0;
}

static int use_add_holder(struct ipam *ip, struct use *u, struct svc *s)
{
	if (holds(u, s))
		return 0;
	if (u->nholders == u->hcap) {
		uint32_t ncap = u->hcap ? u->hcap * 2 : 1;
		struct svc **nh = xalloc(ip, PTRS(ncap));
		if (nh == NULL)
			return -1;
		if (u->nholders > 0)
			memcpy(nh, u->holders, PTRS(u->nholders));
		xfree(ip, u->holders, PTRS(u->hcap));
		u->holders = nh;
		u->hcap = ncap;
	}
	u->holders[u->nholders++] = s;
	return 0;
}

/*
 * Records that c holds a (already checked by sharing_ok). The service's previous address of that
 * family, if another, is released only now that the new one is certain.
 */
static enum ipam_status take(struct ipam *ip, const struct ipam_addr *a, const struct ipam_claim *c)
{
	struct svc *s = svc_get_or_add(ip, c->service);
	if (s == NULL)
		return IPAM_NOMEM;
	ipam_u128 k = key_of(a);
	struct use *u = tree_find(ip->root, k);
	bool added = false;
	if (u == NULL) {
		u = xalloc(ip, sizeof(*u));
		if (u == NULL)
			goto nomem;
		u->key = k;
		u->family = a->family;
		ip->root = tree_insert(ip->root, u);
	}
	if (!holds(u, s)) {
		if (use_add_holder(ip, u, s) < 0)
			goto nomem;
		added = true;
	}
	if (u->nholders == 1 && use_set_keys(ip, u, c) < 0)
		goto nomem;
	if (svc_set_ports(ip, s, c) < 0)
		goto nomem;
	struct use *old = s->use[fam_idx(a->family)];
	s->use[fam_idx(a->family)] = u;
	if (old != NULL && old != u)
		use_drop_holder(ip, old, s);
	return IPAM_OK;
nomem:
	if (u != NULL) {
		if (added)
			use_drop_holder(ip, u, s);
		else if (u->nholders == 0)
			use_destroy(ip, u);
	}
	svc_drop_if_idle(ip, s);
	return IPAM_NOMEM;
}

enum ipam_status ipam_assign(struct ipam *ip, const struct ipam_pool *pool,
			     const struct ipam_addr *a, const struct ipam_claim *c)
{
	if (pool != NULL && !ipam_pool_contains(pool, a))
		return IPAM_NOT_IN_POOL;
	const struct svc *s = svc_get(ip, c->service);
	const struct use *u = tree_find(ip->root, key_of(a));
	if (u != NULL) {
		enum ipam_status st = sharing_ok(u, s, c);
		if (st != IPAM_OK)
			return st;
	}
	return take(ip, a, c);
}

/* Lowest address of family f in pool that c may join under its sharing key, if any. */
static bool lowest_shared(const struct ipam *ip, const struct ipam_pool *pool, enum ipam_family f,
			  const struct svc *s, const struct ipam_claim *c, ipam_u128 *out)
{
	if (!has_text(c->sharing_key))
		return false;
	const struct share *sh =
		(const struct share *)(const void *)ht_get(&ip->shares, c->sharing_key);
	bool found = false;
	for (size_t i = 0; sh != NULL && i < sh->n; i++) {
		const struct use *u = sh->uses[i];
		struct ipam_addr a;
		addr_of(u, &a);
		if (u->family != f || !ipam_pool_contains(pool, &a) ||
		    sharing_ok(u, s, c) != IPAM_OK)
			continue;
		if (!found || u->key < *out) {
			*out = u->key;
			found = true;
		}
	}
	return found;
}

enum ipam_status ipam_alloc(struct ipam *ip, const struct ipam_pool *pool, enum ipam_family f,
			    const struct ipam_claim *c, struct ipam_addr *out)
{
	if (pool == NULL)
		return IPAM_NO_POOL;
	if (!ipam_pool_has_family(pool, f))
		return IPAM_NO_FAMILY;
	const struct svc *s = svc_get(ip, c->service);
	const struct use *have = s != NULL ? s->use[fam_idx(f)] : NULL;
	if (have != NULL) {
		struct ipam_addr a;
		addr_of(have, &a);
		if (ipam_pool_contains(pool, &a)) {
			enum ipam_status st = ipam_assign(ip, NULL, &a, c);
			if (st == IPAM_OK)
				*out = a;
			return st;
		}
	}
	bool avoid = ipam_pool_avoid_buggy(pool) && f == IPAM_V4;
	ipam_u128 best = 0;
	bool found = lowest_shared(ip, pool, f, s, c, &best);
	for (size_t i = 0; i < ipam_pool_nranges(pool); i++) {
		const struct ipam_range *r = ipam_pool_range(pool, i);
		if (r->first.family != f)
			continue;
		ipam_u128 lo = key_of(&r->first), hi = key_of(&r->last), x;
		if (found && best < lo)
			break;
		if (universe_next(lo, hi, avoid, &x) && first_free(ip->root, x, hi, avoid, &x)) {
			if (!found || x < best)
				best = x;
			found = true;
			break;
		}
	}
	if (!found)
		return IPAM_EXHAUSTED;
	struct ipam_addr a = { .family = f, .v = f == IPAM_V4 ? (best & 0xffffffffu) : best };
	enum ipam_status st = take(ip, &a, c);
	if (st == IPAM_OK)
		*out = a;
	return st;
}

enum ipam_status ipam_alloc_dual(struct ipam *ip, const struct ipam_pool *pool,
				 const struct ipam_claim *c, struct ipam_addr *out4,
				 struct ipam_addr *out6)
{
	struct ipam_addr before;
	bool had4 = ipam_service_addr(ip, c->service, IPAM_V4, &before) == 0;
	enum ipam_status st = ipam_alloc(ip, pool, IPAM_V4, c, out4);
	if (st != IPAM_OK)
		return st;
	st = ipam_alloc(ip, pool, IPAM_V6, c, out6);
	if (st != IPAM_OK) {
		/* All or nothing: undo the IPv4 half unless the service already had exactly it. */
		if (!had4)
			ipam_release_family(ip, c->service, IPAM_V4);
		else if (ipam_addr_cmp(&before, out4) != 0 &&
			 ipam_assign(ip, NULL, &before, c) != IPAM_OK)
			ipam_release_family(ip, c->service, IPAM_V4);
	}
	return st;
}

int ipam_release_family(struct ipam *ip, const char *service, enum ipam_family f)
{
	struct svc *s = svc_get(ip, service);
	if (s == NULL || s->use[fam_idx(f)] == NULL)
		return 0;
	use_drop_holder(ip, s->use[fam_idx(f)], s);
	svc_drop_if_idle(ip, s);
	return 1;
}

int ipam_release(struct ipam *ip, const char *service)
{
	struct svc *s = svc_get(ip, service);
	if (s == NULL)
		return 0;
	int n = 0;
	for (int i = 0; i < 2; i++) {
		if (s->use[i] != NULL) {
			use_drop_holder(ip, s->use[i], s);
			n++;
		}
	}
	svc_drop_if_idle(ip, s);
	return n;
}

int ipam_service_addr(const struct ipam *ip, const char *service, enum ipam_family f,
		      struct ipam_addr *out)
{
	const struct svc *s = svc_get(ip, service);
	if (s == NULL || s->use[fam_idx(f)] == NULL)
		return -1;
	addr_of(s->use[fam_idx(f)], out);
	return 0;
}

size_t ipam_holders(const struct ipam *ip, const struct ipam_addr *a, const char **out, size_t cap)
{
	const struct use *u = tree_find(ip->root, key_of(a));
	if (u == NULL)
		return 0;
	for (uint32_t i = 0; i < u->nholders && i < cap; i++)
		out[i] = u->holders[i]->name;
	return u->nholders;
}

size_t ipam_count_in_pool(const struct ipam *ip, const struct ipam_pool *pool, enum ipam_family f)
{
	size_t n = 0;
	for (size_t i = 0; i < ipam_pool_nranges(pool); i++) {
		const struct ipam_range *r = ipam_pool_range(pool, i);
		if (r->first.family != f)
			continue;
		ipam_u128 lo = key_of(&r->first), hi = key_of(&r->last);
		n += tree_count_le(ip->root, hi) - (lo == 0 ? 0 : tree_count_le(ip->root, lo - 1));
	}
	return n;
}

static int64_t clamp64(ipam_u128 v)
{
	return v > (ipam_u128)INT64_MAX ? INT64_MAX : (int64_t)v;
}

void ipam_pool_usage(const struct ipam *ip, const struct ipam_pool *pool,
		     struct ipam_pool_usage *out)
{
	ipam_u128 used4 = ipam_count_in_pool(ip, pool, IPAM_V4);
	ipam_u128 used6 = ipam_count_in_pool(ip, pool, IPAM_V6);
	ipam_u128 size4 = ipam_pool_size(pool, IPAM_V4), size6 = ipam_pool_size(pool, IPAM_V6);
	out->assigned_v4 = clamp64(used4);
	out->assigned_v6 = clamp64(used6);
	out->available_v4 = clamp64(size4 > used4 ? size4 - used4 : 0);
	out->available_v6 = clamp64(size6 > used6 ? size6 - used6 : 0);
}

size_t ipam_count(const struct ipam *ip)
{
	return cnt(ip->root, false);
}

size_t ipam_mem_bytes(const struct ipam *ip)
{
	return ip->bytes;
}
