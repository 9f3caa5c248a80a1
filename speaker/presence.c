/* presence: which speakers are alive (see presence.h). */
#include "speaker/presence.h"

#include "speaker/leasename.h"

#include <stdlib.h>
#include <string.h>

struct entry {
	char name[LEASEFSM_HOLDER_MAX];	  /* lease names are <= 253 */
	char holder[LEASEFSM_HOLDER_MAX]; /* spec.holderIdentity */
	uint64_t digest;		  /* of the record (leasefsm_brief): tells a change */
	int64_t changed_ms;
};

struct presence {
	int64_t lease_ms;
	struct entry *v; /* sorted by name */
	size_t n, cap;
};

struct presence *presence_new(int64_t lease_ms)
{
	if (lease_ms <= 0)
		return NULL;
	struct presence *p = calloc(1, sizeof(*p));
	if (p)
		p->lease_ms = lease_ms;
	return p;
}

void presence_free(struct presence *p)
{
	if (!p)
		return;
	free(p->v);
	free(p);
}

/* Index of name, or of where it would go (*found says which). */
static size_t find(const struct presence *p, const char *name, int *found)
{
	size_t lo = 0, hi = p->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(p->v[mid].name, name);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

static void set_holder(struct entry *e, const struct leasefsm_brief *b)
{
	size_t n = strnlen(b->holder, LEASEFSM_HOLDER_MAX - 1);
	memcpy(e->holder, b->holder, n);
	e->holder[n] = '\0';
	e->digest = b->digest;
}

int presence_observe(struct presence *p, const char *lease_name, const struct leasefsm_record *rec,
		     int64_t now_ms)
{
	struct leasefsm_record r;
	struct leasefsm_brief b;

	if (!rec)
		return presence_observe_brief(p, lease_name, NULL, now_ms);
	r = *rec;
	r.holder[LEASEFSM_HOLDER_MAX - 1] = '\0';
	r.acquire_time[LEASEFSM_TIME_MAX - 1] = '\0';
	r.renew_time[LEASEFSM_TIME_MAX - 1] = '\0';
	leasefsm_brief_of(&r, &b);
	return presence_observe_brief(p, lease_name, &b, now_ms);
}

int presence_observe_brief(struct presence *p, const char *lease_name,
			   const struct leasefsm_brief *rec, int64_t now_ms)
{
	if (!lease_name || strlen(lease_name) >= LEASEFSM_HOLDER_MAX)
		return 0;
	int found;
	size_t i = find(p, lease_name, &found);
	if (!rec) {
		if (found) {
			memmove(&p->v[i], &p->v[i + 1], (p->n - i - 1) * sizeof(*p->v));
			p->n--;
		}
		return 0;
	}
	if (found) {
		if (p->v[i].digest != rec->digest || strcmp(p->v[i].holder, rec->holder) != 0) {
			set_holder(&p->v[i], rec);
			p->v[i].changed_ms = now_ms;
		}
		return 0;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct entry *v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			return -1;
		p->v = v;
		p->cap = cap;
	}
	memmove(&p->v[i + 1], &p->v[i], (p->n - i) * sizeof(*p->v));
	p->n++;
	memset(&p->v[i], 0, sizeof(p->v[i]));
	memcpy(p->v[i].name, lease_name, strlen(lease_name) + 1);
	set_holder(&p->v[i], rec);
	p->v[i].changed_ms = now_ms;
	return 0;
}

static int entry_live(const struct presence *p, const struct entry *e, const char *node,
		      int64_t now_ms)
{
	return !strcmp(e->holder, node) && now_ms - e->changed_ms < p->lease_ms;
}

int presence_is_live(const struct presence *p, const char *node, int64_t now_ms)
{
	char name[LEASENAME_MAX];
	if (!node || leasename_node(node, name, sizeof(name)) < 0)
		return 0;
	int found;
	size_t i = find(p, name, &found);
	return found && entry_live(p, &p->v[i], node, now_ms);
}

int64_t presence_next_expiry(const struct presence *p, int64_t now_ms)
{
	int64_t next = LEASEFSM_NEVER;
	for (size_t i = 0; i < p->n; i++) {
		const struct entry *e = &p->v[i];
		int64_t t = e->changed_ms + p->lease_ms;
		if (e->holder[0] && t > now_ms && t < next)
			next = t;
	}
	return next;
}
