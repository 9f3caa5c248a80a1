/* Unit tests for speaker/takeover and speaker/presence: every takeover rule of issue 7, with an
 * injected clock, alone and driving real lease machines against a simulated API server. */
#include "kube/leasefsm.h"
#include "speaker/leasename.h"
#include "speaker/presence.h"
#include "speaker/ranking.h"
#include "speaker/takeover.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N TAKEOVER_NEVER

/* A candidate at rank 0 that sees the lease free since 1000, at 1000. */
static const struct takeover_input base = {
	.now_ms = 1000,
	.eligible = 1,
	.rank = 0,
	.rank_step_ms = 200,
	.free_since = 1000,
	.api_ok = 1,
};

static const struct {
	const char *rule;
	struct takeover_input d; /* differences from base, applied field by field below */
	unsigned set;
	enum takeover_decision want;
	int announce, campaign, release, gone;
	int64_t delay, wake;
} cases[] = {
#define S_NOW	1u
#define S_ELIG	2u
#define S_RANK	4u
#define S_OUT	8u
#define S_LEAD	16u
#define S_NAMES 32u
#define S_OTHER 64u
#define S_DEAD	128u
#define S_FREE	256u
#define S_ANN	512u
#define S_API	1024u
#define S_STOP	2048u
#define S_WIRE	4096u
	{ "absent/released lease: the top rank tries at once",
	  { 0 },
	  0,
	  TAKEOVER_ACQUIRE,
	  0,
	  1,
	  0,
	  0,
	  0,
	  N },
	{ "rank 2 waits 2 steps after the lease became free",
	  { .rank = 2 },
	  S_RANK,
	  TAKEOVER_WAIT,
	  0,
	  1,
	  0,
	  0,
	  400,
	  1400 },
	{ "rank 2, its turn has come",
	  { .rank = 2, .now_ms = 1400 },
	  S_RANK | S_NOW,
	  TAKEOVER_ACQUIRE,
	  0,
	  1,
	  0,
	  0,
	  400,
	  N },
	{ "held by a live holder: wait for expiry",
	  { .held_by_other = 1, .free_since = 16000 },
	  S_OTHER | S_FREE,
	  TAKEOVER_WAIT,
	  0,
	  1,
	  0,
	  0,
	  0,
	  16000 },
	{ "expired: take it",
	  { .now_ms = 16000, .free_since = 16000 },
	  S_NOW | S_FREE,
	  TAKEOVER_ACQUIRE,
	  0,
	  1,
	  0,
	  0,
	  0,
	  N },
	{ "holder's presence expired: declared gone, taken at once",
	  { .held_by_other = 1, .holder_dead = 1, .free_since = 16000 },
	  S_OTHER | S_DEAD | S_FREE,
	  TAKEOVER_ACQUIRE,
	  0,
	  1,
	  0,
	  1,
	  0,
	  N },
	{ "holder dead, rank 1 still waits its step",
	  { .held_by_other = 1, .holder_dead = 1, .free_since = 16000, .rank = 1 },
	  S_OTHER | S_DEAD | S_FREE | S_RANK,
	  TAKEOVER_WAIT,
	  0,
	  1,
	  0,
	  1,
	  200,
	  1200 },
	{ "not eligible, not holding: nothing",
	  { .eligible = 0, .rank = -1 },
	  S_ELIG | S_RANK,
	  TAKEOVER_IDLE,
	  0,
	  0,
	  0,
	  0,
	  0,
	  N },
	{ "eligible but not ranked (not live in our view): nothing",
	  { .rank = -1 },
	  S_RANK,
	  TAKEOVER_IDLE,
	  0,
	  0,
	  0,
	  0,
	  0,
	  N },
	{ "holder stays while eligible, even ranked lower (sticky)",
	  { .leading = 1, .names_us = 1, .rank = 3, .announcing = 1 },
	  S_LEAD | S_NAMES | S_RANK | S_ANN,
	  TAKEOVER_HOLD,
	  1,
	  1,
	  0,
	  0,
	  0,
	  N },
	{ "a candidate scoring higher than the live holder takes the lease from it at once",
	  { .held_by_other = 1, .preempt = 1 },
	  S_OTHER | S_OUT,
	  TAKEOVER_ACQUIRE,
	  0,
	  1,
	  0,
	  1,
	  0,
	  N },
	{ "...ranked second among such candidates, it waits its turn",
	  { .held_by_other = 1, .preempt = 1, .rank = 1 },
	  S_OTHER | S_OUT | S_RANK,
	  TAKEOVER_WAIT,
	  0,
	  1,
	  0,
	  1,
	  200,
	  1200 },
	{ "holder became ineligible: release at once",
	  { .leading = 1, .names_us = 1, .eligible = 0, .rank = -1, .announcing = 1 },
	  S_LEAD | S_NAMES | S_ELIG | S_RANK | S_ANN,
	  TAKEOVER_RELEASE,
	  0,
	  0,
	  1,
	  0,
	  0,
	  N },
	{ "after a restart the lease names us but we are ineligible: release",
	  { .names_us = 1, .eligible = 0, .rank = -1 },
	  S_NAMES | S_ELIG | S_RANK,
	  TAKEOVER_RELEASE,
	  0,
	  0,
	  1,
	  0,
	  0,
	  N },
	{ "after a restart the lease names us: take it back without rank delay",
	  { .names_us = 1, .rank = 2, .free_since = 900 },
	  S_NAMES | S_RANK | S_FREE,
	  TAKEOVER_ACQUIRE,
	  0,
	  1,
	  0,
	  0,
	  0,
	  N },
	{ "lease taken by another while answering: stop at once",
	  { .held_by_other = 1, .free_since = 16000, .announcing = 1, .rank = 1 },
	  S_OTHER | S_FREE | S_ANN | S_RANK,
	  TAKEOVER_STOP,
	  0,
	  1,
	  0,
	  0,
	  200,
	  16200 },
	{ "lost and ineligible while answering: stop",
	  { .eligible = 0, .rank = -1, .announcing = 1, .held_by_other = 1 },
	  S_ELIG | S_RANK | S_ANN | S_OTHER,
	  TAKEOVER_STOP,
	  0,
	  0,
	  0,
	  0,
	  0,
	  N },
	{ "API lost, --api-loss=keep: keep answering",
	  { .leading = 1, .names_us = 1, .api_ok = 0, .announcing = 1 },
	  S_LEAD | S_NAMES | S_API | S_ANN,
	  TAKEOVER_HOLD,
	  1,
	  1,
	  0,
	  0,
	  0,
	  N },
	{ "API lost, --api-loss=stop: stop answering, keep trying to renew",
	  { .leading = 1, .names_us = 1, .api_ok = 0, .api_loss_stop = 1, .announcing = 1 },
	  S_LEAD | S_NAMES | S_API | S_STOP | S_ANN,
	  TAKEOVER_SUSPEND,
	  0,
	  1,
	  0,
	  0,
	  0,
	  N },
	{ "API lost and another node answers on the wire: stop answering",
	  { .leading = 1, .names_us = 1, .api_ok = 0, .wire_conflict = 1, .announcing = 1 },
	  S_LEAD | S_NAMES | S_API | S_WIRE | S_ANN,
	  TAKEOVER_SUSPEND,
	  0,
	  1,
	  0,
	  0,
	  0,
	  N },
	{ "API fine, a stale node answers on the wire: we are the holder, keep answering",
	  { .leading = 1, .names_us = 1, .wire_conflict = 1, .announcing = 1 },
	  S_LEAD | S_NAMES | S_WIRE | S_ANN,
	  TAKEOVER_HOLD,
	  1,
	  1,
	  0,
	  0,
	  0,
	  N },
};

START_TEST(test_rules)
{
	struct takeover_input in = base;
	const struct takeover_input *d = &cases[_i].d;
	unsigned s = cases[_i].set;
	if (s & S_NOW)
		in.now_ms = d->now_ms;
	if (s & S_ELIG)
		in.eligible = d->eligible;
	if (s & S_RANK)
		in.rank = d->rank;
	if (s & S_OUT)
		in.preempt = d->preempt;
	if (s & S_LEAD)
		in.leading = d->leading;
	if (s & S_NAMES)
		in.names_us = d->names_us;
	if (s & S_OTHER)
		in.held_by_other = d->held_by_other;
	if (s & S_DEAD)
		in.holder_dead = d->holder_dead;
	if (s & S_FREE)
		in.free_since = d->free_since;
	if (s & S_ANN)
		in.announcing = d->announcing;
	if (s & S_API)
		in.api_ok = d->api_ok;
	if (s & S_STOP)
		in.api_loss_stop = d->api_loss_stop;
	if (s & S_WIRE)
		in.wire_conflict = d->wire_conflict;
	struct takeover_out o;
	enum takeover_decision got = takeover_decide(&in, &o);
	ck_assert_msg(got == cases[_i].want, "%s: got %s, want %s", cases[_i].rule,
		      takeover_decision_str(got), takeover_decision_str(cases[_i].want));
	ck_assert_msg(o.announce == cases[_i].announce, "%s: announce", cases[_i].rule);
	ck_assert_msg(o.campaign == cases[_i].campaign, "%s: campaign", cases[_i].rule);
	ck_assert_msg(o.release == cases[_i].release, "%s: release", cases[_i].rule);
	ck_assert_msg(o.declare_gone == cases[_i].gone, "%s: gone", cases[_i].rule);
	if (o.campaign)
		ck_assert_int_eq(o.delay_ms, cases[_i].delay);
	ck_assert_msg(o.wake_ms == cases[_i].wake, "%s: wake %lld", cases[_i].rule,
		      (long long)o.wake_ms);
}
END_TEST

START_TEST(test_decision_strings)
{
	for (int i = 0; i <= TAKEOVER_STOP; i++)
		ck_assert_str_ne(takeover_decision_str((enum takeover_decision)i), "?");
}
END_TEST

static struct leasefsm_record holder_rec(const char *holder, const char *renew)
{
	struct leasefsm_record r;
	memset(&r, 0, sizeof(r));
	snprintf(r.holder, sizeof(r.holder), "%s", holder);
	snprintf(r.renew_time, sizeof(r.renew_time), "%s", renew);
	r.duration_s = 2;
	return r;
}

START_TEST(test_presence_liveness)
{
	struct presence *p = presence_new(1500);
	char name[LEASENAME_MAX];
	ck_assert_int_gt(leasename_node("node-a", name, sizeof(name)), 0);
	ck_assert(!presence_is_live(p, "node-a", 0));
	struct leasefsm_record r = holder_rec("node-a", "t1");
	ck_assert_int_eq(presence_observe(p, name, &r, 100), 0);
	ck_assert(presence_is_live(p, "node-a", 100));
	ck_assert(presence_is_live(p, "node-a", 1599));
	ck_assert_int_eq(presence_next_expiry(p, 200), 1600);
	/* Seen again unchanged: the clock does not restart. */
	presence_observe(p, name, &r, 1000);
	ck_assert(!presence_is_live(p, "node-a", 1600));
	ck_assert(presence_next_expiry(p, 1600) == LEASEFSM_NEVER);
	/* Renewed: live again for a full lease from when we saw it. */
	r = holder_rec("node-a", "t2");
	presence_observe(p, name, &r, 2000);
	ck_assert(presence_is_live(p, "node-a", 3499));
	/* Released on graceful stop: dead at once. */
	r = holder_rec("", "t3");
	presence_observe(p, name, &r, 2100);
	ck_assert(!presence_is_live(p, "node-a", 2100));
	/* Held by the wrong identity: not node-a's presence. */
	r = holder_rec("node-b", "t4");
	presence_observe(p, name, &r, 2200);
	ck_assert(!presence_is_live(p, "node-a", 2200));
	/* Deleted. */
	r = holder_rec("node-a", "t5");
	presence_observe(p, name, &r, 2300);
	ck_assert(presence_is_live(p, "node-a", 2300));
	presence_observe(p, name, NULL, 2400);
	ck_assert(!presence_is_live(p, "node-a", 2400));
	/* Many nodes, in any order. */
	char nn[32];
	for (int i = 40; i > 0; i--) {
		snprintf(nn, sizeof(nn), "n%d", i);
		ck_assert_int_gt(leasename_node(nn, name, sizeof(name)), 0);
		r = holder_rec(nn, "x");
		ck_assert_int_eq(presence_observe(p, name, &r, 10000 + i), 0);
	}
	for (int i = 1; i <= 40; i++) {
		snprintf(nn, sizeof(nn), "n%d", i);
		ck_assert(presence_is_live(p, nn, 11500));
		ck_assert_int_eq(presence_is_live(p, nn, 11500 + i), 0);
	}
	ck_assert_int_eq(presence_next_expiry(p, 11500), 11501);
	ck_assert(!presence_is_live(p, "Not A Name", 0));
	ck_assert_ptr_null(presence_new(0));
	presence_free(p);
	presence_free(NULL);
}
END_TEST

/*
 * Two speakers, each with a presence lease and one service's ownership lease, against one
 * simulated API server with instant writes and watches. Timings are the defaults of issue 7.
 */
struct api_lease {
	char name[LEASENAME_MAX];
	int present;
	struct leasefsm_record rec;
	long rv;
};

struct api {
	struct api_lease l[3];
};

struct speaker {
	const char *node;
	int alive, eligible, announcing;
	struct leasefsm_config pres_cfg, own_cfg; /* the machines borrow them */
	struct leasefsm *pres, *own;
	struct presence *peers;
	long seen[3];
};

static const char *svc_key = "default/web";

static struct api_lease *api_find(struct api *a, const char *name)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(a->l[i].name, name))
			return &a->l[i];
	ck_abort_msg("no lease %s", name);
	return NULL;
}

/* Applies one write action to the server and reports the outcome to the machine. */
static void api_write(struct api *a, const char *name, struct leasefsm *m, enum leasefsm_action act,
		      const struct leasefsm_out *o, int64_t now)
{
	struct api_lease *l = api_find(a, name);
	char rv[24];
	int ok = act == LEASEFSM_CREATE ? !l->present
					: l->present && l->rv == strtol(o->rv, NULL, 10);
	if (ok) {
		l->present = 1;
		l->rec = o->rec;
		l->rv++;
	}
	snprintf(rv, sizeof(rv), "%ld", l->rv);
	leasefsm_write_done(m, ok ? LEASEFSM_WRITE_OK : LEASEFSM_WRITE_CONFLICT, rv, now);
}

/* Steps a machine to rest, writing as asked; records whether it leads. */
static void settle(struct api *a, const char *name, struct leasefsm *m, int64_t now)
{
	for (int i = 0; i < 16; i++) {
		struct leasefsm_out o;
		enum leasefsm_action act =
			leasefsm_step(m, now, 1764097158000000LL + now * 1000, &o);
		if (act == LEASEFSM_WAIT)
			return;
		if (act == LEASEFSM_CREATE || act == LEASEFSM_ACQUIRE || act == LEASEFSM_RENEW ||
		    act == LEASEFSM_RELEASE)
			api_write(a, name, m, act, &o, now);
	}
}

static void speaker_tick(struct api *a, struct speaker *sp, struct speaker *all, int n, int64_t now)
{
	if (!sp->alive)
		return;
	char own_name[LEASENAME_MAX], pres_name[LEASENAME_MAX];
	leasename_service("default", "web", own_name, sizeof(own_name));
	leasename_node(sp->node, pres_name, sizeof(pres_name));
	/* Watches: deliver every lease that changed. */
	for (int i = 0; i < 3; i++) {
		struct api_lease *l = &a->l[i];
		if (sp->seen[i] == l->rv)
			continue;
		sp->seen[i] = l->rv;
		char rv[24];
		snprintf(rv, sizeof(rv), "%ld", l->rv);
		const struct leasefsm_record *rec = l->present ? &l->rec : NULL;
		if (!strcmp(l->name, own_name))
			leasefsm_observe(sp->own, rec, rv, now);
		else if (!strcmp(l->name, pres_name))
			leasefsm_observe(sp->pres, rec, rv, now);
		presence_observe(sp->peers, l->name, rec, now);
	}
	settle(a, pres_name, sp->pres, now);

	/* Candidates: eligible (the test says who) and live (presence, or ourselves). */
	struct ranking_node rn[4];
	size_t self = 0;
	for (int i = 0; i < n; i++) {
		int live = &all[i] == sp ? leasefsm_is_leading(sp->pres)
					 : presence_is_live(sp->peers, all[i].node, now);
		rn[i] = (struct ranking_node){ all[i].node, all[i].eligible && live, 0 };
		if (&all[i] == sp)
			self = (size_t)i;
	}
	const char *holder = leasefsm_holder(sp->own);
	struct takeover_input in = {
		.now_ms = now,
		.eligible = sp->eligible,
		.rank = ranking_rank(svc_key, rn, (size_t)n, RANKING_NONE, self),
		.rank_step_ms = 200,
		.leading = leasefsm_is_leading(sp->own),
		.names_us = !strcmp(holder, sp->node),
		.held_by_other = leasefsm_held_by_other(sp->own, now),
		.holder_dead = holder[0] && !presence_is_live(sp->peers, holder, now),
		.free_since = leasefsm_free_since(sp->own),
		.announcing = sp->announcing,
		.api_ok = leasefsm_is_leading(sp->pres),
	};
	struct takeover_out o;
	takeover_decide(&in, &o);
	sp->announcing = o.announce;
	if (o.release)
		leasefsm_release(sp->own);
	if (o.campaign)
		leasefsm_campaign(sp->own, o.delay_ms);
	if (o.declare_gone)
		leasefsm_holder_gone(sp->own, holder, now);
	settle(a, own_name, sp->own, now);
	/* Answer only while the machine leads after this round's writes. */
	sp->announcing = o.announce && leasefsm_is_leading(sp->own);
}

static void world_init(struct api *a, struct speaker *sp, int n)
{
	static const struct leasefsm_config pres = { NULL, 1500, 1000, 250, 0 };
	static const struct leasefsm_config own = { NULL, 15000, 10000, 2000, 5000 };
	memset(a, 0, sizeof(*a));
	leasename_service("default", "web", a->l[0].name, LEASENAME_MAX);
	for (int i = 0; i < n; i++) {
		leasename_node(sp[i].node, a->l[i + 1].name, LEASENAME_MAX);
		sp[i].pres_cfg = pres;
		sp[i].pres_cfg.identity = sp[i].node;
		sp[i].pres = leasefsm_new(&sp[i].pres_cfg);
		sp[i].own_cfg = own;
		sp[i].own_cfg.identity = sp[i].node;
		sp[i].own = leasefsm_new(&sp[i].own_cfg);
		sp[i].peers = presence_new(1500);
		leasefsm_campaign(sp[i].pres, 0);
		sp[i].alive = 1;
		sp[i].eligible = 1;
		for (int k = 0; k < 3; k++)
			sp[i].seen[k] = -1;
	}
}

static void world_free(struct speaker *sp, int n)
{
	for (int i = 0; i < n; i++) {
		leasefsm_free(sp[i].pres);
		leasefsm_free(sp[i].own);
		presence_free(sp[i].peers);
	}
}

static int who_announces(struct speaker *sp, int n)
{
	int who = -1;
	for (int i = 0; i < n; i++) {
		if (!sp[i].alive || !sp[i].announcing)
			continue;
		ck_assert_msg(who < 0, "two speakers answer at once");
		who = i;
	}
	return who;
}

START_TEST(test_dead_holder_replaced_at_presence_expiry)
{
	struct api a;
	struct speaker sp[2] = { { .node = "node-a" }, { .node = "node-b" } };
	world_init(&a, sp, 2);
	int64_t t, died = -1, took = -1;
	int first = -1;
	for (t = 0; t < 30000; t += 10) {
		for (int i = 0; i < 2; i++)
			speaker_tick(&a, &sp[i], sp, 2, t);
		int w = who_announces(sp, 2);
		if (t == 3000) {
			ck_assert_int_ge(w, 0);
			first = w;
			sp[w].alive = 0; /* kill -9: no release, no more renewals */
			sp[w].announcing = 0;
			died = t;
		}
		if (died >= 0 && t > died && w >= 0 && took < 0) {
			ck_assert_int_eq(w, 1 - first);
			took = t;
		}
	}
	ck_assert_int_ge(took, 0);
	/* Its presence lease was last renewed at most one retry period before it died; the
	 * survivor takes over once that lease expires, not after the 15 s ownership lease. */
	ck_assert_int_ge(took - died, 1500 - 250);
	ck_assert_int_le(took - died, 1500 + 100);
	world_free(sp, 2);
}
END_TEST

START_TEST(test_ineligible_holder_hands_over_within_retry)
{
	struct api a;
	struct speaker sp[2] = { { .node = "node-a" }, { .node = "node-b" } };
	world_init(&a, sp, 2);
	int64_t t, moved = -1, took = -1;
	int first = -1;
	for (t = 0; t < 10000; t += 10) {
		for (int i = 0; i < 2; i++)
			speaker_tick(&a, &sp[i], sp, 2, t);
		int w = who_announces(sp, 2);
		if (t == 3000) {
			ck_assert_int_ge(w, 0);
			first = w;
			sp[w].eligible = 0; /* e.g. its last local endpoint went away */
			moved = t;
		}
		if (moved >= 0 && t > moved && w == 1 - first && took < 0)
			took = t;
	}
	ck_assert_int_ge(took, 0);
	ck_assert_int_le(took - moved, 250);
	/* The lease counts one transition per change of holder. */
	ck_assert_int_eq(a.l[0].rec.transitions, 1);
	world_free(sp, 2);
}
END_TEST

START_TEST(test_returning_node_does_not_steal)
{
	struct api a;
	struct speaker sp[2] = { { .node = "node-a" }, { .node = "node-b" } };
	world_init(&a, sp, 2);
	int top = ranking_weight("node-a", svc_key) > ranking_weight("node-b", svc_key) ? 0 : 1;
	/* The top-ranked node starts late: the other one takes the service first... */
	sp[top].alive = 0;
	int64_t t;
	for (t = 0; t < 12000; t += 10) {
		if (t == 2000)
			sp[top].alive = 1;
		for (int i = 0; i < 2; i++)
			speaker_tick(&a, &sp[i], sp, 2, t);
		int w = who_announces(sp, 2);
		/* ...and keeps it when the better-ranked node arrives (sticky, no ARP churn). */
		if (t >= 1000)
			ck_assert_int_eq(w, 1 - top);
	}
	ck_assert_int_eq(a.l[0].rec.transitions, 0);
	world_free(sp, 2);
}
END_TEST

static Suite *takeover_suite(void)
{
	Suite *s = suite_create("takeover");
	TCase *tc = tcase_create("core");
	tcase_add_loop_test(tc, test_rules, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_decision_strings);
	tcase_add_test(tc, test_presence_liveness);
	tcase_add_test(tc, test_dead_holder_replaced_at_presence_expiry);
	tcase_add_test(tc, test_ineligible_holder_hands_over_within_retry);
	tcase_add_test(tc, test_returning_node_does_not_steal);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(takeover_suite)
