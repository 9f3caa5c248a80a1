/* presence: which speakers are alive (see presence.h). */
#include "speaker/presence.h"

#include "speaker/leasename.h"

#include <stdlib.h>
#include <string.h>

struct entry {
	char name[LEASEFSM_HOLDER_MAX]; /* lease names are <= 253 */
	struct leasefsm_record rec;
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

static int same(const struct leasefsm_record *a, const struct leasefsm_record *b)
{
	return !strcmp(a->holder, b->holder) && a->duration_s == b->duration_s &&
	       !strcmp(a->acquire_time, b->acquire_time) && !strcmp(a->renew_time, b->renew_time) &&
	       a->transitions == b->transitions;
}

int presence_observe(struct presence *p, const char *lease_name, const struct leasefsm_record *rec,
		     int64_t now_ms)
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
		if (!same(&p->v[i].rec, rec)) {
			p->v[i].rec = *rec;
			p->v[i].rec.holder[LEASEFSM_HOLDER_MAX - 1] = '\0';
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
	p->v[i].rec = *rec;
	p->v[i].rec.holder[LEASEFSM_HOLDER_MAX - 1] = '\0';
	p->v[i].changed_ms = now_ms;
	return 0;
}

static int entry_live(const struct presence *p, const struct entry *e, const char *node,
		      int64_t now_ms)
{
	return !strcmp(e->rec.holder, node) && now_ms - e->changed_ms < p->lease_ms;
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
		if (e->rec.holder[0] && t > now_ms && t < next)
			next = t;
	}
	return next;
}
