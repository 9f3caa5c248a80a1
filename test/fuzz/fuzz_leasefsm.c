/* libFuzzer target for pkg/kube/leasefsm: any schedule of observations, write outcomes, clock
 * steps, releases and crashes of two candidates sharing one simulated API server never has two
 * leaders, and a machine never asks for a second write while one is in flight. */
#include "kube/leasefsm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct store {
	int present;
	struct leasefsm_record rec;
	long rv;
};

struct pending {
	int active, applied, reached;
	int lost; /* applied (or not), but the caller sees an error */
	enum leasefsm_action a;
	struct leasefsm_record rec;
	long pre_rv;
	enum leasefsm_write_result res;
	long new_rv;
};

struct node {
	struct leasefsm *m;
	const char *name;
	int crashed;
	int64_t crashed_at;
	struct pending w;
};

static const struct leasefsm_config cfg = { NULL, 1500, 1000, 250, 0 };

/* A machine borrows its configuration: one per node, alive for the whole run. */
static struct leasefsm_config cfgs[2];

static struct leasefsm *start(const char *name)
{
	struct leasefsm_config *c = &cfgs[strcmp(name, "node-a") != 0];
	*c = cfg;
	c->identity = name;
	struct leasefsm *m = leasefsm_new(c);
	if (!m)
		abort();
	leasefsm_campaign(m, 0);
	return m;
}

static void drive(struct node *n, int64_t now)
{
	if (n->crashed)
		return;
	for (int i = 0; i < 16; i++) {
		struct leasefsm_out o;
		enum leasefsm_action a =
			leasefsm_step(n->m, now, 1764097158000000LL + now * 1000, &o);
		switch (a) {
		case LEASEFSM_WAIT:
			return;
		case LEASEFSM_STARTED_LEADING:
		case LEASEFSM_STOPPED_LEADING:
		case LEASEFSM_NEW_LEADER:
			continue;
		case LEASEFSM_CREATE:
		case LEASEFSM_ACQUIRE:
		case LEASEFSM_RENEW:
		case LEASEFSM_RELEASE:
			if (n->w.active)
				abort(); /* two writes in flight */
			memset(&n->w, 0, sizeof(n->w));
			n->w.active = 1;
			n->w.a = a;
			n->w.rec = o.rec;
			n->w.pre_rv = strtol(o.rv, NULL, 10);
			return;
		}
	}
	abort(); /* never settles */
}

static void apply(struct store *s, struct pending *w, int fail)
{
	int ok =
		!fail && (w->a == LEASEFSM_CREATE ? !s->present : s->present && s->rv == w->pre_rv);
	if (ok) {
		s->present = 1;
		s->rec = w->rec;
		s->rv++;
		w->new_rv = s->rv;
	}
	w->res = fail ? LEASEFSM_WRITE_ERROR : ok ? LEASEFSM_WRITE_OK : LEASEFSM_WRITE_CONFLICT;
	w->applied = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store st;
	struct node nd[2] = { { .name = "node-a" }, { .name = "node-b" } };
	int64_t now = 0;
	memset(&st, 0, sizeof(st));
	nd[0].m = start("node-a");
	nd[1].m = start("node-b");
	for (size_t i = 0; i + 1 < size; i += 2) {
		unsigned op = data[i] % 9, arg = data[i + 1];
		struct node *n = &nd[(data[i] >> 4) & 1], *peer = &nd[!((data[i] >> 4) & 1)];
		char rv[24];
		switch (op) {
		case 0: /* time passes */
			now += (int64_t)arg * 7;
			break;
		case 1: /* the informer delivers the current state */
			if (n->crashed)
				break;
			snprintf(rv, sizeof(rv), "%ld", st.rv);
			leasefsm_observe(n->m, st.present ? &st.rec : NULL, rv, now);
			break;
		case 2: /* the write reaches the server (arg & 1: it fails there) */
			if (n->w.active && !n->w.applied)
				apply(&st, &n->w, arg & 1);
			n->w.lost = (arg & 2) != 0;
			break;
		case 3: /* its response comes back (or the request never reached the server) */
			if (!n->w.active || n->crashed)
				break;
			if (!n->w.applied)
				n->w.res = LEASEFSM_WRITE_ERROR;
			snprintf(rv, sizeof(rv), "%ld", n->w.new_rv);
			leasefsm_write_done(n->m, n->w.lost ? LEASEFSM_WRITE_ERROR : n->w.res, rv,
					    now);
			n->w.active = 0;
			break;
		case 4: /* its timer fires */
			drive(n, now);
			break;
		case 5:
			if (!n->crashed)
				leasefsm_campaign(n->m, arg * 5);
			break;
		case 6:
			if (!n->crashed)
				leasefsm_release(n->m);
			break;
		case 7: /* kill -9, or a restart */
			if (!n->crashed) {
				leasefsm_free(n->m);
				n->m = NULL;
				n->crashed = 1;
				n->crashed_at = now;
				n->w.active = n->w.active && !n->w.applied; /* may still land */
			} else {
				n->m = start(n->name);
				n->crashed = 0;
				n->w.active = 0;
			}
			break;
		case 8: /* the peer's presence lease expired: it is really dead */
			if (!n->crashed && peer->crashed && now - peer->crashed_at >= 1500)
				leasefsm_holder_gone(n->m, peer->name, now);
			break;
		}
		/* A crashed node's request may still reach the server. */
		if (peer->crashed && peer->w.active && (arg & 4)) {
			apply(&st, &peer->w, 0);
			peer->w.active = 0;
		}
		/* Both run their timers now: at no time may both lead. */
		drive(&nd[0], now);
		drive(&nd[1], now);
		if (!nd[0].crashed && !nd[1].crashed && leasefsm_is_leading(nd[0].m) &&
		    leasefsm_is_leading(nd[1].m))
			abort();
	}
	leasefsm_free(nd[0].m);
	leasefsm_free(nd[1].m);
	return 0;
}
