/* ipam/pool: a named set of non-overlapping address ranges with MetalLB's pool flags. */
#include "ipam/ipam.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pool_range {
	struct ipam_range r;
	char *entry;
};

struct ipam_pool {
	char *name;
	bool auto_assign;
	bool avoid_buggy;
	struct pool_range *ranges; /* sorted by first address */
	size_t n, cap;
};

const char *ipam_pool_status_str(enum ipam_pool_status s)
{
	switch (s) {
	case IPAM_POOL_OK:
		return "ok";
	case IPAM_POOL_BAD_ENTRY:
		return "bad-entry";
	case IPAM_POOL_OVERLAP:
		return "overlap";
	case IPAM_POOL_OVERLAP_OTHER:
		return "overlap-other-pool";
	case IPAM_POOL_NO_ADDRESSES:
		return "no-addresses";
	case IPAM_POOL_NOMEM:
		return "nomem";
	}
	return "?";
}

struct ipam_pool *ipam_pool_new(const char *name)
{
	struct ipam_pool *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->name = strdup(name != NULL ? name : "");
	if (p->name == NULL) {
		free(p);
		return NULL;
	}
	p->auto_assign = true;
	return p;
}

void ipam_pool_free(struct ipam_pool *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->ranges[i].entry);
	free(p->ranges);
	free(p->name);
	free(p);
}

void ipam_pool_set_auto_assign(struct ipam_pool *p, bool on)
{
	p->auto_assign = on;
}

void ipam_pool_set_avoid_buggy(struct ipam_pool *p, bool on)
{
	p->avoid_buggy = on;
}

static void say(char *msg, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;
	if (msg == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, cap, fmt, ap);
	va_end(ap);
}

enum ipam_pool_status ipam_pool_add_entry(struct ipam_pool *p, const char *entry,
					  enum ipam_entry_status *why, char *msg, size_t cap)
{
	struct ipam_range r;
	enum ipam_entry_status st = ipam_entry_parse(entry, &r);
	if (why != NULL)
		*why = st;
	if (st != IPAM_ENTRY_OK) {
		say(msg, cap, "pool \"%s\": address \"%s\": %s", p->name,
		    entry != NULL ? entry : "", ipam_entry_status_explain(st));
		return IPAM_POOL_BAD_ENTRY;
	}
	size_t at = 0;
	while (at < p->n && ipam_addr_cmp(&p->ranges[at].r.first, &r.first) < 0)
		at++;
	for (size_t i = 0; i < p->n; i++) {
		if (ipam_range_overlaps(&p->ranges[i].r, &r)) {
			say(msg, cap, "pool \"%s\": address \"%s\" overlaps \"%s\"", p->name, entry,
			    p->ranges[i].entry);
			return IPAM_POOL_OVERLAP;
		}
	}
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 4;
		struct pool_range *nr = realloc(p->ranges, ncap * sizeof(*nr));
		if (nr == NULL)
			return IPAM_POOL_NOMEM;
		p->ranges = nr;
		p->cap = ncap;
	}
	char *copy = strdup(entry);
	if (copy == NULL)
		return IPAM_POOL_NOMEM;
	memmove(&p->ranges[at + 1], &p->ranges[at], (p->n - at) * sizeof(*p->ranges));
	p->ranges[at].r = r;
	p->ranges[at].entry = copy;
	p->n++;
	return IPAM_POOL_OK;
}

enum ipam_pool_status ipam_pool_check(const struct ipam_pool *p, char *msg, size_t cap)
{
	if (p->n == 0) {
		say(msg, cap, "pool \"%s\": spec.addresses is empty", p->name);
		return IPAM_POOL_NO_ADDRESSES;
	}
	return IPAM_POOL_OK;
}

enum ipam_pool_status ipam_pool_check_overlap(const struct ipam_pool *p,
					      const struct ipam_pool *other, char *msg, size_t cap)
{
	size_t i = 0, j = 0;
	/* Both lists are sorted and each is disjoint, so a merge walk finds any overlap. */
	while (i < p->n && j < other->n) {
		const struct ipam_range *a = &p->ranges[i].r, *b = &other->ranges[j].r;
		if (ipam_range_overlaps(a, b)) {
			say(msg, cap, "pool \"%s\": address \"%s\" overlaps \"%s\" of pool \"%s\"",
			    p->name, p->ranges[i].entry, other->ranges[j].entry, other->name);
			return IPAM_POOL_OVERLAP_OTHER;
		}
		if (ipam_addr_cmp(&a->last, &b->last) < 0)
			i++;
		else
			j++;
	}
	return IPAM_POOL_OK;
}

const char *ipam_pool_name(const struct ipam_pool *p)
{
	return p->name;
}

bool ipam_pool_auto_assign(const struct ipam_pool *p)
{
	return p->auto_assign;
}

bool ipam_pool_avoid_buggy(const struct ipam_pool *p)
{
	return p->avoid_buggy;
}

size_t ipam_pool_nranges(const struct ipam_pool *p)
{
	return p->n;
}

const struct ipam_range *ipam_pool_range(const struct ipam_pool *p, size_t i)
{
	return i < p->n ? &p->ranges[i].r : NULL;
}

const char *ipam_pool_range_entry(const struct ipam_pool *p, size_t i)
{
	return i < p->n ? p->ranges[i].entry : NULL;
}

bool ipam_pool_contains(const struct ipam_pool *p, const struct ipam_addr *a)
{
	if (p->avoid_buggy && ipam_addr_is_buggy(a))
		return false;
	size_t lo = 0, hi = p->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ipam_range *r = &p->ranges[mid].r;
		if (ipam_addr_cmp(&r->last, a) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->n && ipam_range_contains(&p->ranges[lo].r, a);
}

bool ipam_pool_has_family(const struct ipam_pool *p, enum ipam_family f)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->ranges[i].r.first.family == f)
			return true;
	return false;
}

ipam_u128 ipam_pool_size(const struct ipam_pool *p, enum ipam_family f)
{
	ipam_u128 total = 0, max = ~(ipam_u128)0;
	for (size_t i = 0; i < p->n; i++) {
		if (p->ranges[i].r.first.family != f)
			continue;
		ipam_u128 n = ipam_range_size(&p->ranges[i].r, p->avoid_buggy);
		total = n > max - total ? max : total + n;
	}
	return total;
}
