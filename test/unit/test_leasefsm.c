/* Unit tests for pkg/kube/leasefsm: client-go leader election semantics with an injected clock. */
#include "kube/leasefsm.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#define WALL0 1764097158123456LL /* 2025-11-25T18:59:18.123456Z */

static const struct leasefsm_config presence = {
	.identity = "node-a", .lease_ms = 1500, .renew_ms = 1000, .retry_ms = 250
};

/* Notifications seen while driving, in order. */
struct trace {
	enum leasefsm_action ev[16];
	int n;
};

/* Steps until a write or WAIT, recording notifications; returns that action. */
static enum leasefsm_action drive(struct leasefsm *m, int64_t now, struct leasefsm_out *out,
				  struct trace *t)
{
	for (int i = 0; i < 32; i++) {
		enum leasefsm_action a = leasefsm_step(m, now, WALL0 + now * 1000, out);
		switch (a) {
		case LEASEFSM_STARTED_LEADING:
		case LEASEFSM_STOPPED_LEADING:
		case LEASEFSM_NEW_LEADER:
			if (t && t->n < 16)
				t->ev[t->n++] = a;
			continue;
		case LEASEFSM_WAIT:
		case LEASEFSM_CREATE:
		case LEASEFSM_ACQUIRE:
		case LEASEFSM_RENEW:
		case LEASEFSM_RELEASE:
			return a;
		}
	}
	ck_abort_msg("step never settled");
	return LEASEFSM_WAIT;
}

static int traced(const struct trace *t, enum leasefsm_action a)
{
	for (int i = 0; i < t->n; i++)
		if (t->ev[i] == a)
			return i + 1;
	return 0;
}

static struct leasefsm_record rec_of(const char *holder, const char *renew, int64_t trans)
{
	struct leasefsm_record r;
	memset(&r, 0, sizeof(r));
	strcpy(r.holder, holder);
	r.duration_s = 2;
	strcpy(r.acquire_time, "2025-11-25T18:00:00.000000Z");
	strcpy(r.renew_time, renew);
	r.transitions = trans;
	return r;
}

static const struct {
	struct leasefsm_config c;
	enum leasefsm_config_error want;
} configs[] = {
	{ { "n", 1500, 1000, 250, 0 }, LEASEFSM_CONFIG_OK },
	{ { "n", 15000, 10000, 2000, 5000 }, LEASEFSM_CONFIG_OK },
	{ { NULL, 1500, 1000, 250, 0 }, LEASEFSM_CONFIG_NO_IDENTITY },
	{ { "", 1500, 1000, 250, 0 }, LEASEFSM_CONFIG_NO_IDENTITY },
	{ { "n", 0, 1000, 250, 0 }, LEASEFSM_CONFIG_NOT_POSITIVE },
	{ { "n", 1500, 1000, -1, 0 }, LEASEFSM_CONFIG_NOT_POSITIVE },
	{ { "n", 1000, 1000, 250, 0 }, LEASEFSM_CONFIG_RENEW_NOT_BELOW_LEASE },
	{ { "n", 1500, 1200, 1000, 0 }, LEASEFSM_CONFIG_RETRY_TOO_LONG }, /* 1200 = 1.2 * 1000 */
	{ { "n", 1500, 1201, 1000, 0 }, LEASEFSM_CONFIG_OK },
	{ { "n", 15000, 10000, 2000, 1000 }, LEASEFSM_CONFIG_BAD_INTERVAL },
	{ { "n", 15000, 10000, 2000, 10000 }, LEASEFSM_CONFIG_BAD_INTERVAL },
};

START_TEST(test_config_validation)
{
	ck_assert_str_eq(leasefsm_config_error_str(leasefsm_config_validate(&configs[_i].c)),
			 leasefsm_config_error_str(configs[_i].want));
	if (configs[_i].want == LEASEFSM_CONFIG_OK) {
		struct leasefsm *m = leasefsm_new(&configs[_i].c);
		ck_assert_ptr_nonnull(m);
		leasefsm_free(m);
	} else {
		ck_assert_ptr_null(leasefsm_new(&configs[_i].c));
	}
}
END_TEST

START_TEST(test_identity_too_long)
{
	char id[300];
	memset(id, 'a', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	struct leasefsm_config c = presence;
	c.identity = id;
	ck_assert_int_eq(leasefsm_config_validate(&c), LEASEFSM_CONFIG_IDENTITY_TOO_LONG);
	id[253] = '\0';
	ck_assert_int_eq(leasefsm_config_validate(&c), LEASEFSM_CONFIG_OK);
}
END_TEST

START_TEST(test_duration_and_time_format)
{
	ck_assert_int_eq(leasefsm_duration_seconds(1500), 2);
	ck_assert_int_eq(leasefsm_duration_seconds(1000), 1);
	ck_assert_int_eq(leasefsm_duration_seconds(1001), 2);
	ck_assert_int_eq(leasefsm_duration_seconds(15000), 15);
	ck_assert_int_eq(leasefsm_duration_seconds(1), 1);
	char b[LEASEFSM_TIME_MAX];
	ck_assert_int_eq(leasefsm_format_microtime(WALL0, b, sizeof(b)), 0);
	ck_assert_str_eq(b, "2025-11-25T18:59:18.123456Z");
	ck_assert_int_eq(leasefsm_format_microtime(0, b, sizeof(b)), 0);
	ck_assert_str_eq(b, "1970-01-01T00:00:00.000000Z");
	ck_assert_int_eq(leasefsm_format_microtime(WALL0, b, 10), -1);
	ck_assert_str_eq(b, "");
	ck_assert_int_eq(leasefsm_format_microtime(-5, b, sizeof(b)), -1);
}
END_TEST

START_TEST(test_unknown_lease_does_nothing)
{
	struct leasefsm *m = leasefsm_new(&presence);
	struct leasefsm_out o;
	leasefsm_campaign(m, 0);
	ck_assert_int_eq(drive(m, 0, &o, NULL), LEASEFSM_WAIT);
	ck_assert(o.wake_ms == LEASEFSM_NEVER);
	ck_assert(leasefsm_free_since(m) == LEASEFSM_NEVER);
	ck_assert_int_eq(leasefsm_write_done(m, LEASEFSM_WRITE_OK, "1", 0), -1);
	leasefsm_free(m);
}
END_TEST

START_TEST(test_absent_creates_and_leads)
{
	struct leasefsm *m = leasefsm_new(&presence);
	struct leasefsm_out o;
	struct trace t = { .n = 0 };
	leasefsm_observe(m, NULL, NULL, 100);
	/* Not campaigning: an observer never writes. */
	ck_assert_int_eq(drive(m, 100, &o, &t), LEASEFSM_WAIT);
	leasefsm_campaign(m, 0);
	ck_assert_int_eq(drive(m, 100, &o, &t), LEASEFSM_CREATE);
	ck_assert_str_eq(o.rec.holder, "node-a");
	ck_assert_int_eq(o.rec.duration_s, 2); /* 1500 ms rounded up */
	ck_assert_int_eq(o.rec.transitions, 0);
	ck_assert_str_eq(o.rec.acquire_time, "2025-11-25T18:59:18.223456Z");
	ck_assert_str_eq(o.rec.renew_time, o.rec.acquire_time);
	/* In flight: nothing more until the outcome. */
	ck_assert_int_eq(drive(m, 150, &o, &t), LEASEFSM_WAIT);
	ck_assert(!leasefsm_is_leading(m));
	ck_assert_int_eq(leasefsm_write_done(m, LEASEFSM_WRITE_OK, "7", 160), 0);
	ck_assert_int_eq(drive(m, 160, &o, &t), LEASEFSM_WAIT);
	ck_assert(leasefsm_is_leading(m));
	ck_assert(traced(&t, LEASEFSM_STARTED_LEADING));
	ck_assert(traced(&t, LEASEFSM_NEW_LEADER));
	ck_assert_str_eq(leasefsm_leader(m), "node-a");
	/* Next renewal one retry period after the create was sent. */
	ck_assert_int_eq(o.wake_ms, 350);
	ck_assert_int_eq(drive(m, 350, &o, &t), LEASEFSM_RENEW);
	ck_assert_str_eq(o.rv, "7");
	ck_assert_str_eq(o.rec.acquire_time, "2025-11-25T18:59:18.223456Z");
	ck_assert_str_eq(o.rec.renew_time, "2025-11-25T18:59:18.473456Z");
	ck_assert_int_eq(o.rec.transitions, 0);
	leasefsm_free(m);
}
END_TEST

START_TEST(test_create_conflict_retries)
{
	struct leasefsm *m = leasefsm_new(&presence);
	struct leasefsm_out o;
	leasefsm_observe(m, NULL, NULL, 0);
	leasefsm_campaign(m, 0);
	ck_assert_int_eq(drive(m, 0, &o, NULL), LEASEFSM_CREATE);
	leasefsm_write_done(m, LEASEFSM_WRITE_CONFLICT, NULL, 20);
	ck_assert(!leasefsm_is_leading(m));
	ck_assert_int_eq(drive(m, 20, &o, NULL), LEASEFSM_WAIT);
	ck_assert_int_eq(o.wake_ms, 250);
	/* The informer brings the peer's record: now held by another, wait for its expiry. */
	struct leasefsm_record r = rec_of("node-b", "2025-11-25T18:59:18.000000Z", 0);
	leasefsm_observe(m, &r, "3", 30);
	ck_assert(leasefsm_held_by_other(m, 30));
	ck_assert_int_eq(drive(m, 30, &o, NULL), LEASEFSM_WAIT);
	ck_assert_int_eq(o.wake_ms, 30 + 1500);
	leasefsm_free(m);
}
END_TEST

START_TEST(test_expiry_by_local_time_of_change)
{
	struct leasefsm *m = leasefsm_new(&presence);
	struct leasefsm_out o;
	leasefsm_campaign(m, 0);
	/* renewTime is years old: irrelevant, only when we saw it change counts. */
	struct leasefsm_record r = rec_of("node-b", "2000-01-01T00:00:00.000000Z", 4);
	leasefsm_observe(m, &r, "10", 1000);
	ck_assert_int_eq(drive(m, 1000, &o, NULL), LEASEFSM_WAIT);
	ck_assert_int_eq(o.wake_ms, 2500);
	/* The same record again (an informer resync) does not restart the clock... */
	leasefsm_observe(m, &r, "10", 2000);
	ck_assert_int_eq(drive(m, 2000, &o, NULL), LEASEFSM_WAIT);
	ck_assert_int_eq(o.wake_ms, 2500);
	/* ...a renewal does. */
	strcpy(r.renew_time, "2000-01-01T00:00:01.000000Z");
	leasefsm_observe(m, &r, "11", 2400);
	ck_assert_int_eq(drive(m, 2499, &o, NULL), LEASEFSM_WAIT);
	ck_assert_int_eq(o.wake_ms, 3900);
	ck_assert_int_eq(drive(m, 3899, &o, NULL), LEASEFSM_WAIT);
	ck_assert(leasefsm_held_by_other(m, 3899));
	ck_assert(!leasefsm_held_by_other(m, 3900));
	ck_assert_int_eq(drive(m, 3900, &o, NULL), LEASEFSM_ACQUIRE);
	ck_assert_str_eq(o.rv, "11");
	ck_assert_str_eq(o.rec.holder, "node-a");
	ck_assert_int_eq(o.rec.transitions, 5);
	ck_assert_str_eq(o.rec.acquire_time, o.rec.renew_time);
	leasefsm_free(m);
}
END_TEST

START_TEST(test_holder_gone_allows_immediate_takeover)
{
	struct leasefsm *m = leasefsm_new(&presence);
	struct leasefsm_out o;
	struct leasefsm_record r = rec_of("node-b", "2025-11-25T18:59:18.000000Z", 1);
	leasefsm_observe(m, &r, "5", 0);
	leasefsm_campaign(m, 0);
	ck_assert_int_eq(drive(m, 100, &o, NULL), LEASEFSM_WAIT);
	/* Naming somebody else, or ourselves, changes nothing. */
	leasefsm_holder_gone(m, "node-c", 100);
	leasefsm_holder_gone(m, "node-a", 100);
	ck_assert_int_eq(drive(m, 100, &o, NULL), LEASEFSM_WAIT);
	leasefsm_holder_gone(m, "node-b", 200);
	ck_assert_int_eq(leasefsm_free_since(m), 200);
	ck_assert_int_eq(drive(m, 200, &o, NULL), LEASEFSM_ACQUIRE);
	ck_assert_int_eq(o.rec.transitions, 2);
	ck_assert_str_eq(o.rv, "5");
	/* The optimistic update loses: the holder renewed after all. */
	leasefsm_write_done(m, LEASEFSM_WRITE_CONFLICT, NULL, 210);
	strcpy(r.renew_time, "2025-11-25T18:59:19.000000Z");
	leasefsm_observe(m, &r, "6", 220);
	/* A changed record clears the verdict: it is held again until it expires. */
	ck_assert(leasefsm_held_by_other(m, 220));
	ck_assert_int_eq(drive(m, 500, &o, NULL), LEASEFSM_WAIT);
	ck_assert_int_eq(o.wake_ms, 220 + 1500);
	leasefsm_free(m);
}
END_TEST

/* A leader at `now` holding rv "1", created at 0. */
static struct leasefsm *leader_at_zero(const struct leasefsm_config *c, struct trace *t)
{
	struct leasefsm *m = leasefsm_new(c);
	struct leasefsm_out o;
	leasefsm_observe(m, NULL, NULL, 0);
	leasefsm_campaign(m, 0);
	ck_assert_int_eq(drive(m, 0, &o, t), LEASEFSM_CREATE);
	leasefsm_write_done(m, LEASEFSM_WRITE_OK, "1", 10);
	ck_assert_int_eq(drive(m, 10, &o, t), LEASEFSM_WAIT);
	ck_assert(leasefsm_is_leading(m));
	return m;
}

START_TEST(test_renew_deadline_stops_before_others_may_acquire)
{
	struct trace t = { .n = 0 };
	struct leasefsm *m = leader_at_zero(&presence, &t);
	struct leasefsm_out o;
	int attempts = 0;
	/* Every renewal fails: retried every retry period, until the deadline. */
	for (int64_t now = 10; now < 1000; now++) {
		enum leasefsm_action a = drive(m, now, &o, &t);
		if (a == LEASEFSM_RENEW) {
			ck_assert_int_eq(now % 250, 0);
			attempts++;
			leasefsm_write_done(m, LEASEFSM_WRITE_ERROR, NULL, now + 5);
		} else {
			ck_assert_int_eq(a, LEASEFSM_WAIT);
		}
		ck_assert_msg(leasefsm_is_leading(m), "stopped early at %lld", (long long)now);
	}
	ck_assert_int_eq(attempts, 3); /* at 250, 500, 750 */
	/* Stopped at the deadline; the lease still names us, so it tries to take it back. */
	ck_assert_int_eq(drive(m, 1000, &o, &t), LEASEFSM_ACQUIRE);
	ck_assert(!leasefsm_is_leading(m));
	ck_assert(traced(&t, LEASEFSM_STOPPED_LEADING));
	ck_assert_int_eq(leasefsm_stop_reason(m), LEASEFSM_STOP_RENEW_DEADLINE);
	/* A peer that saw our create commit at 0 could take it only at 1500. */
	ck_assert_int_lt(1000, 0 + presence.lease_ms);
	/* That write succeeds late, past its own deadline: we do not lead on it... */
	leasefsm_write_done(m, LEASEFSM_WRITE_OK, "2", 2100);
	ck_assert(!leasefsm_is_leading(m));
	/* ...but try again at once. */
	t.n = 0;
	ck_assert_int_eq(drive(m, 2100, &o, &t), LEASEFSM_ACQUIRE);
	leasefsm_write_done(m, LEASEFSM_WRITE_OK, "3", 2110);
	ck_assert_int_eq(drive(m, 2110, &o, &t), LEASEFSM_WAIT);
	ck_assert(leasefsm_is_leading(m));
	ck_assert(traced(&t, LEASEFSM_STARTED_LEADING));
	leasefsm_free(m);
}
END_TEST

START_TEST(test_renew_interval_and_deadline_from_send)
{
	struct leasefsm_config c = { "node-a", 15000, 10000, 2000, 5000 };
	struct leasefsm *m = leader_at_zero(&c, NULL);
	struct leasefsm_out o;
	ck_assert_int_eq(drive(m, 10, &o, NULL), LEASEFSM_WAIT);
	ck_assert_int_eq(o.wake_ms, 5000);
	ck_assert_int_eq(drive(m, 5000, &o, NULL), LEASEFSM_RENEW);
	/* A slow success still counts from when it was sent. */
	leasefsm_write_done(m, LEASEFSM_WRITE_OK, "2", 9000);
	ck_assert_int_eq(drive(m, 9000, &o, NULL), LEASEFSM_WAIT);
	ck_assert_int_eq(o.wake_ms, 10000);
	ck_assert_int_eq(drive(m, 10000, &o, NULL), LEASEFSM_RENEW);
	leasefsm_write_done(m, LEASEFSM_WRITE_ERROR, NULL, 10100);
	ck_assert_int_eq(drive(m, 10100, &o, NULL), LEASEFSM_WAIT);
	ck_assert_int_eq(o.wake_ms, 12000); /* failed: retry period, not the interval */
	leasefsm_free(m);
}
END_TEST

START_TEST(test_taken_or_deleted_stops_at_once)
{
	struct trace t = { .n = 0 };
	struct leasefsm *m = leader_at_zero(&presence, &t);
	struct leasefsm_out o;
	struct leasefsm_record r = rec_of("node-b", "2025-11-25T18:59:20.000000Z", 1);
	t.n = 0;
	leasefsm_observe(m, &r, "9", 100);
	ck_assert(!leasefsm_is_leading(m));
	ck_assert_int_eq(leasefsm_stop_reason(m), LEASEFSM_STOP_TAKEN);
	ck_assert_int_eq(drive(m, 100, &o, &t), LEASEFSM_WAIT);
	/* Stopped first, then told who leads. */
	ck_assert_int_eq(traced(&t, LEASEFSM_STOPPED_LEADING), 1);
	ck_assert_int_eq(traced(&t, LEASEFSM_NEW_LEADER), 2);
	ck_assert_str_eq(leasefsm_leader(m), "node-b");
	leasefsm_free(m);

	m = leader_at_zero(&presence, NULL);
	leasefsm_observe(m, NULL, NULL, 100);
	ck_assert(!leasefsm_is_leading(m));
	ck_assert_int_eq(leasefsm_stop_reason(m), LEASEFSM_STOP_DELETED);
	ck_assert_int_eq(drive(m, 100, &o, NULL), LEASEFSM_CREATE);
	leasefsm_free(m);
}
END_TEST

START_TEST(test_renew_conflict_stops_at_once)
{
	struct leasefsm *m = leader_at_zero(&presence, NULL);
	struct leasefsm_out o;
	ck_assert_int_eq(drive(m, 250, &o, NULL), LEASEFSM_RENEW);
	leasefsm_write_done(m, LEASEFSM_WRITE_CONFLICT, NULL, 260);
	ck_assert(!leasefsm_is_leading(m));
	ck_assert_int_eq(leasefsm_stop_reason(m), LEASEFSM_STOP_CONFLICT);
	leasefsm_free(m);
}
END_TEST

START_TEST(test_restart_takes_own_lease_back)
{
	struct leasefsm *m = leasefsm_new(&presence);
	struct leasefsm_out o;
	struct leasefsm_record r = rec_of("node-a", "2025-11-25T18:59:18.000000Z", 3);
	leasefsm_observe(m, &r, "40", 0);
	leasefsm_campaign(m, 500); /* the rank delay does not apply to our own lease */
	ck_assert_int_eq(drive(m, 0, &o, NULL), LEASEFSM_ACQUIRE);
	ck_assert_int_eq(o.rec.transitions, 3);
	ck_assert_str_eq(o.rec.acquire_time, "2025-11-25T18:00:00.000000Z");
	leasefsm_free(m);
}
END_TEST

START_TEST(test_campaign_delay_after_free)
{
	struct leasefsm *m = leasefsm_new(&presence);
	struct leasefsm_out o;
	struct leasefsm_record r = rec_of("", "2025-11-25T18:59:18.000000Z", 3);
	leasefsm_observe(m, &r, "40", 1000);
	ck_assert_int_eq(leasefsm_free_since(m), 1000);
	leasefsm_campaign(m, 300);
	ck_assert_int_eq(drive(m, 1100, &o, NULL), LEASEFSM_WAIT);
	ck_assert_int_eq(o.wake_ms, 1300);
	ck_assert_int_eq(drive(m, 1300, &o, NULL), LEASEFSM_ACQUIRE);
	ck_assert_int_eq(o.rec.transitions, 4);
	leasefsm_free(m);
}
END_TEST

/* Every candidate sees an absent lease at the same moment: rank r creates it only r steps later,
 * so the first in line wins and the others see it held instead of racing it. */
START_TEST(test_campaign_delay_holds_for_absent)
{
	struct leasefsm *m = leasefsm_new(&presence);
	struct leasefsm_out o;
	leasefsm_observe(m, NULL, NULL, 1000);
	leasefsm_campaign(m, 400);
	ck_assert_int_eq(drive(m, 1000, &o, NULL), LEASEFSM_WAIT);
	ck_assert_int_eq(o.wake_ms, 1400);
	ck_assert_int_eq(drive(m, 1399, &o, NULL), LEASEFSM_WAIT);
	/* The first in line created it meanwhile: held by a live node, nothing to do. */
	struct leasefsm_record r = rec_of("node-b", "2025-11-25T18:59:19.000000Z", 0);
	leasefsm_observe(m, &r, "5", 1200);
	ck_assert_int_eq(drive(m, 1399, &o, NULL), LEASEFSM_WAIT);
	ck_assert_int_eq(o.wake_ms, 1200 + 1500 + 400); /* its expiry, then our delay */
	/* Absent again, with no delay (first in line): created at once. */
	leasefsm_observe(m, NULL, NULL, 2000);
	leasefsm_campaign(m, 0);
	ck_assert_int_eq(drive(m, 2000, &o, NULL), LEASEFSM_CREATE);
	leasefsm_free(m);
}
END_TEST

/* A starting candidate holds off until it has seen its peers: free leases count as free from
 * the end of the hold-off, a lease naming us and a holder declared gone do not wait for it. */
START_TEST(test_hold_off_at_start)
{
	static const struct {
		const char *holder; /* NULL: absent */
		int64_t want_free, want_write_at;
		int gone;
		enum leasefsm_action want;
	} cases[] = {
		{ NULL, 3000, 3200, 0, LEASEFSM_CREATE },
		{ "", 3000, 3200, 0, LEASEFSM_ACQUIRE },
		{ "node-b", 3000, 3200, 0, LEASEFSM_ACQUIRE }, /* expired at 1500: still 3000 */
		{ "node-b", 1100, 1300, 1, LEASEFSM_ACQUIRE }, /* declared gone at 1100 */
		{ "node-a", 0, 1100, 0, LEASEFSM_ACQUIRE },    /* ours: taken back at once */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct leasefsm *m = leasefsm_new(&presence);
		struct leasefsm_out o;
		leasefsm_hold_off(m, 3000);
		if (cases[i].holder) {
			struct leasefsm_record r =
				rec_of(cases[i].holder, "2025-11-25T18:59:18.000000Z", 1);
			leasefsm_observe(m, &r, "1", 0);
		} else {
			leasefsm_observe(m, NULL, NULL, 0);
		}
		if (cases[i].gone)
			leasefsm_holder_gone(m, cases[i].holder, 1100);
		ck_assert_msg(leasefsm_free_since(m) == cases[i].want_free, "case %zu: free %lld",
			      i, (long long)leasefsm_free_since(m));
		/* The hold-off does not make a live holder's lease look held any longer. */
		ck_assert_int_eq(leasefsm_held_by_other(m, 1600), 0);
		int64_t delay = cases[i].holder && !strcmp(cases[i].holder, "node-a") ? 0 : 200;
		leasefsm_campaign(m, delay);
		int64_t at = cases[i].want_write_at;
		ck_assert_int_eq(drive(m, at - 1 > 1100 ? at - 1 : 1100, &o, NULL),
				 at - 1 >= 1100 ? LEASEFSM_WAIT : cases[i].want);
		if (at - 1 >= 1100) {
			ck_assert_msg(o.wake_ms == at, "case %zu: wake %lld", i,
				      (long long)o.wake_ms);
			ck_assert_int_eq(drive(m, at, &o, NULL), cases[i].want);
		}
		leasefsm_free(m);
	}
}
END_TEST

START_TEST(test_release_hands_over_within_retry)
{
	struct leasefsm_config cb = presence;
	cb.identity = "node-b";
	struct trace ta = { .n = 0 };
	struct leasefsm *a = leader_at_zero(&presence, &ta);
	struct leasefsm *b = leasefsm_new(&cb);
	struct leasefsm_out o;
	struct leasefsm_record ra;
	ck_assert(leasefsm_observed(a, &ra));
	leasefsm_observe(b, &ra, "1", 10);
	leasefsm_campaign(b, 0);
	ck_assert_int_eq(drive(b, 10, &o, NULL), LEASEFSM_WAIT);
	ck_assert_int_eq(o.wake_ms, 1510);

	ta.n = 0;
	leasefsm_release(a);
	ck_assert(!leasefsm_is_leading(a)); /* stops answering before the release is written */
	ck_assert_int_eq(drive(a, 100, &o, &ta), LEASEFSM_RELEASE);
	ck_assert_int_eq(traced(&ta, LEASEFSM_STOPPED_LEADING), 1);
	ck_assert_int_eq(leasefsm_stop_reason(a), LEASEFSM_STOP_RELEASED);
	ck_assert_str_eq(o.rec.holder, "");
	ck_assert_int_eq(o.rec.duration_s, 1);
	ck_assert_int_eq(o.rec.transitions, 0);
	ck_assert_str_eq(o.rv, "1");
	struct leasefsm_record released = o.rec;
	leasefsm_write_done(a, LEASEFSM_WRITE_OK, "2", 100);
	ck_assert_int_eq(drive(a, 100, &o, NULL), LEASEFSM_WAIT);
	ck_assert(o.wake_ms == LEASEFSM_NEVER);

	leasefsm_observe(b, &released, "2", 100);
	ck_assert_int_eq(drive(b, 100, &o, NULL), LEASEFSM_ACQUIRE);
	ck_assert_int_le(100 - 100, presence.retry_ms);
	ck_assert_int_eq(o.rec.transitions, 1);
	leasefsm_write_done(b, LEASEFSM_WRITE_OK, "3", 105);
	ck_assert_int_eq(drive(b, 105, &o, NULL), LEASEFSM_WAIT);
	ck_assert(leasefsm_is_leading(b));
	leasefsm_free(a);
	leasefsm_free(b);
}
END_TEST

START_TEST(test_release_while_renew_in_flight)
{
	struct leasefsm *m = leader_at_zero(&presence, NULL);
	struct leasefsm_out o;
	ck_assert_int_eq(drive(m, 250, &o, NULL), LEASEFSM_RENEW);
	leasefsm_release(m);
	ck_assert(!leasefsm_is_leading(m));
	ck_assert_int_eq(drive(m, 260, &o, NULL), LEASEFSM_WAIT);
	/* The renewal lands: it names us, so it is released with the new version... */
	leasefsm_write_done(m, LEASEFSM_WRITE_OK, "2", 270);
	ck_assert(!leasefsm_is_leading(m));
	ck_assert_int_eq(drive(m, 270, &o, NULL), LEASEFSM_RELEASE);
	ck_assert_str_eq(o.rv, "2");
	/* ...and retried when that write fails. */
	leasefsm_write_done(m, LEASEFSM_WRITE_ERROR, NULL, 280);
	ck_assert_int_eq(drive(m, 280, &o, NULL), LEASEFSM_WAIT);
	ck_assert_int_eq(o.wake_ms, 520);
	ck_assert_int_eq(drive(m, 520, &o, NULL), LEASEFSM_RELEASE);
	leasefsm_free(m);
}
END_TEST

START_TEST(test_enum_strings)
{
	for (int i = 0; i <= LEASEFSM_NEW_LEADER; i++)
		ck_assert_str_ne(leasefsm_action_str((enum leasefsm_action)i), "?");
	for (int i = 0; i <= LEASEFSM_WRITE_ERROR; i++)
		ck_assert_str_ne(leasefsm_write_result_str((enum leasefsm_write_result)i), "?");
	for (int i = 0; i <= LEASEFSM_STOP_RELEASED; i++)
		ck_assert_str_ne(leasefsm_stop_reason_str((enum leasefsm_stop_reason)i), "?");
	for (int i = 0; i <= LEASEFSM_CONFIG_BAD_INTERVAL; i++)
		ck_assert_str_ne(leasefsm_config_error_str((enum leasefsm_config_error)i), "?");
	leasefsm_free(NULL);
}
END_TEST

/*
 * Two candidates against one simulated API server, with write latency, lost responses,
 * failed writes, informer lag, partitions and crashes. Each candidate has its own clock
 * offset: only differences of its own clock may matter.
 */
struct sim_store {
	int present;
	struct leasefsm_record rec;
	long rv;
};

struct sim_write {
	int active;
	enum leasefsm_action a;
	struct leasefsm_record rec;
	long pre_rv;
	int64_t apply_at, done_at;
	int fate; /* 0 ok, 1 lost response, 2 not applied */
	enum leasefsm_write_result res;
	long new_rv;
};

struct sim_node {
	struct leasefsm_config cfg;
	struct leasefsm *m;
	char name[16];
	int64_t offset;
	int alive;
	int64_t crashed_at;
	int64_t down_until; /* restarts then */
	int64_t cut_until;  /* partitioned from the API until */
	int64_t next_obs;
	long seen_rv;
	struct sim_write w;
};

static uint64_t rng_state;
static uint64_t rnd(uint64_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % n;
}

static void sim_start(struct sim_node *n, const char *name)
{
	/* The machine borrows its configuration: the node keeps it. */
	n->cfg = presence;
	n->cfg.identity = name;
	n->m = leasefsm_new(&n->cfg);
	ck_assert_ptr_nonnull(n->m);
	leasefsm_campaign(n->m, 0);
	n->alive = 1;
	n->seen_rv = -1;
	n->w.active = 0;
}

static void sim_apply(struct sim_store *s, struct sim_write *w)
{
	int ok;
	if (w->fate == 2)
		ok = 0;
	else if (w->a == LEASEFSM_CREATE)
		ok = !s->present;
	else
		ok = s->present && s->rv == w->pre_rv;
	if (ok) {
		s->present = 1;
		s->rec = w->rec;
		s->rv++;
		w->new_rv = s->rv;
	}
	w->res = w->fate ? LEASEFSM_WRITE_ERROR : ok ? LEASEFSM_WRITE_OK : LEASEFSM_WRITE_CONFLICT;
}

static void sim_run(uint64_t seed, int events_wanted)
{
	rng_state = seed;
	struct sim_store st;
	memset(&st, 0, sizeof(st));
	struct sim_node nodes[2];
	memset(nodes, 0, sizeof(nodes));
	sim_start(&nodes[0], "node-a");
	sim_start(&nodes[1], "node-b");
	nodes[0].offset = 1000000;
	nodes[1].offset = 7777;
	int events = 0, both = 0;
	int64_t led_ms = 0, t;
	long took = 0;
	for (t = 0; events < events_wanted && t < 4000000; t += 5) {
		for (int i = 0; i < 2; i++) {
			struct sim_node *n = &nodes[i];
			struct sim_node *peer = &nodes[1 - i];
			int64_t now = t + n->offset;
			if (!n->alive) {
				if (t >= n->down_until)
					sim_start(n, i ? "node-b" : "node-a");
				continue;
			}
			int cut = t < n->cut_until;
			/* The write in flight lands, then its response comes back. */
			if (n->w.active && t >= n->w.apply_at && n->w.apply_at >= 0) {
				if (cut)
					n->w.fate = 2;
				sim_apply(&st, &n->w);
				n->w.apply_at = -1;
			}
			if (n->w.active && n->w.apply_at < 0 && t >= n->w.done_at) {
				char rv[24];
				snprintf(rv, sizeof(rv), "%ld", n->w.new_rv);
				leasefsm_write_done(n->m, n->w.res, rv, now);
				n->w.active = 0;
			}
			/* The informer delivers the current state, with lag. */
			if (!cut && t >= n->next_obs) {
				if (st.rv != n->seen_rv) {
					char rv[24];
					snprintf(rv, sizeof(rv), "%ld", st.rv);
					leasefsm_observe(n->m, st.present ? &st.rec : NULL, rv,
							 now);
					n->seen_rv = st.rv;
				}
				n->next_obs = t + (int64_t)rnd(120);
			}
			/* The peer's presence is gone only when it truly crashed long enough ago.
			 */
			if (!peer->alive && t >= peer->crashed_at + 1500)
				leasefsm_holder_gone(n->m, peer->name, now);
			struct leasefsm_out o;
			enum leasefsm_action a = drive(n->m, now, &o, NULL);
			if (a == LEASEFSM_CREATE || a == LEASEFSM_ACQUIRE || a == LEASEFSM_RENEW ||
			    a == LEASEFSM_RELEASE) {
				ck_assert(!n->w.active);
				n->w.active = 1;
				n->w.a = a;
				n->w.rec = o.rec;
				n->w.pre_rv = strtol(o.rv, NULL, 10);
				n->w.apply_at = t + (int64_t)rnd(60);
				n->w.done_at = n->w.apply_at + (int64_t)rnd(60);
				uint64_t f = rnd(100);
				n->w.fate = f < 4 ? 1 : f < 8 ? 2 : 0;
				n->w.res = LEASEFSM_WRITE_ERROR;
				n->w.new_rv = 0;
			}
		}
		int la = nodes[0].alive && leasefsm_is_leading(nodes[0].m);
		int lb = nodes[1].alive && leasefsm_is_leading(nodes[1].m);
		if (la && lb)
			both++;
		if (la || lb)
			led_ms += 5;
		/* Force an expiry now and then: crash the leader, or cut it off from the API. */
		if ((la || lb) && rnd(1000) < 3) {
			struct sim_node *l = la ? &nodes[0] : &nodes[1];
			if (rnd(2)) {
				leasefsm_free(l->m);
				l->m = NULL;
				l->alive = 0;
				l->crashed_at = t;
				l->down_until = t + 500 + (int64_t)rnd(3000);
			} else {
				l->cut_until = t + 500 + (int64_t)rnd(3000);
			}
			events++;
		}
	}
	took = st.rec.transitions;
	ck_assert_int_eq(events, events_wanted);
	ck_assert_msg(both == 0, "seed %llu: both led for %d ticks", (unsigned long long)seed,
		      both);
	/* Leadership moved for real many times, and someone led most of the time. */
	ck_assert_int_ge(took, events_wanted / 2);
	ck_assert_int_ge(led_ms * 10, t * 5);
	for (int i = 0; i < 2; i++)
		leasefsm_free(nodes[i].m);
}

START_TEST(test_two_candidates_never_both_lead)
{
	static const uint64_t seeds[] = { 0x9e3779b97f4a7c15ULL, 42, 0xdeadbeefULL };
	sim_run(seeds[_i], 200);
}
END_TEST

/* Node names may be 253 characters: as holder, as leader and as our own identity. */
START_TEST(test_holder_of_253_characters)
{
	char peer[254], me[254];
	memset(peer, 'p', 253);
	peer[253] = '\0';
	memset(me, 'm', 253);
	me[253] = '\0';
	struct leasefsm_config c = presence;
	c.identity = me;
	struct leasefsm *m = leasefsm_new(&c);
	struct leasefsm_out o;
	struct trace t = { .n = 0 };
	struct leasefsm_record r = rec_of("x", "2025-11-25T18:59:18.000000Z", 1);
	memcpy(r.holder, peer, sizeof(peer));
	ck_assert_int_eq(leasefsm_observe(m, &r, "7", 0), 0);
	leasefsm_campaign(m, 0);
	ck_assert_int_eq(drive(m, 0, &o, &t), LEASEFSM_WAIT);
	ck_assert_int_eq(traced(&t, LEASEFSM_NEW_LEADER), 1);
	ck_assert_str_eq(leasefsm_holder(m), peer);
	ck_assert_str_eq(leasefsm_leader(m), peer);
	ck_assert(leasefsm_held_by_other(m, 10));
	struct leasefsm_record seen;
	ck_assert(leasefsm_observed(m, &seen));
	ck_assert_str_eq(seen.holder, peer);
	ck_assert_int_eq(seen.transitions, 1);
	/* Expired: ours to take, written with the whole identity. */
	ck_assert_int_eq(drive(m, 1500, &o, NULL), LEASEFSM_ACQUIRE);
	ck_assert_str_eq(o.rec.holder, me);
	ck_assert_int_eq(o.rec.transitions, 2);
	ck_assert_str_eq(o.rv, "7");
	leasefsm_write_done(m, LEASEFSM_WRITE_OK, "8", 1510);
	t.n = 0;
	ck_assert_int_eq(drive(m, 1510, &o, &t), LEASEFSM_WAIT);
	ck_assert(leasefsm_is_leading(m));
	ck_assert_str_eq(leasefsm_holder(m), me);
	ck_assert_str_eq(leasefsm_leader(m), me);
	/* The peer comes back and takes it: it is the leader again. */
	r.transitions = 3;
	strcpy(r.renew_time, "2025-11-25T18:59:20.000000Z");
	leasefsm_observe(m, &r, "9", 1600);
	t.n = 0;
	ck_assert_int_eq(drive(m, 1600, &o, &t), LEASEFSM_WAIT);
	ck_assert(traced(&t, LEASEFSM_STOPPED_LEADING) && traced(&t, LEASEFSM_NEW_LEADER));
	ck_assert_str_eq(leasefsm_leader(m), peer);
	/* Declared gone by its full name: free at once. */
	leasefsm_holder_gone(m, peer, 1700);
	ck_assert_int_eq(leasefsm_free_since(m), 1700);
	leasefsm_free(m);
}
END_TEST

/* The brief: equal records, equal digests; any field changed, another one. */
START_TEST(test_brief_digest_and_acquire_time)
{
	struct leasefsm_record a = rec_of("n1", "2025-11-25T18:59:18.000000Z", 4), b;
	struct leasefsm_brief ba, bb;
	leasefsm_brief_of(&a, &ba);
	ck_assert_str_eq(ba.holder, "n1");
	ck_assert_int_eq(ba.duration_s, 2);
	ck_assert_int_eq(ba.transitions, 4);
	char buf[LEASEFSM_TIME_MAX];
	ck_assert_int_eq(leasefsm_format_microtime(ba.acquire_us, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "2025-11-25T18:00:00.000000Z");
	b = a;
	leasefsm_brief_of(&b, &bb);
	ck_assert(ba.digest == bb.digest);
	strcpy(b.renew_time, "2025-11-25T18:59:18.000001Z");
	leasefsm_brief_of(&b, &bb);
	ck_assert(ba.digest != bb.digest);
	b = a;
	b.duration_s = 3;
	leasefsm_brief_of(&b, &bb);
	ck_assert(ba.digest != bb.digest);
	b = a;
	strcpy(b.holder, "n2");
	leasefsm_brief_of(&b, &bb);
	ck_assert(ba.digest != bb.digest);
	/* Only the exact MicroTime form is a time. */
	int64_t us;
	ck_assert_int_eq(leasefsm_parse_microtime("2025-11-25T18:59:18.123456Z", &us), 0);
	ck_assert_int_eq(us, WALL0);
	ck_assert_int_eq(leasefsm_parse_microtime("2025-11-25T18:59:18Z", &us), -1);
	ck_assert_int_eq(leasefsm_parse_microtime("2025-11-25T18:59:18.123456+00:00", &us), -1);
	ck_assert_int_eq(leasefsm_parse_microtime("2025-02-30T18:59:18.123456Z", &us), -1);
	ck_assert_int_eq(leasefsm_parse_microtime("", &us), -1);
	strcpy(b.acquire_time, "2025-11-25T18:59:18Z");
	leasefsm_brief_of(&b, &bb);
	ck_assert(bb.acquire_us == LEASEFSM_NO_TIME);
}
END_TEST

/* A renewal the informer echoes back is no change: expiry still counts from the write. */
START_TEST(test_echo_of_own_write_is_no_change)
{
	struct leasefsm *m = leasefsm_new(&presence);
	struct leasefsm *b =
		leasefsm_new(&(struct leasefsm_config){ "node-b", 1500, 1000, 250, 0 });
	struct leasefsm_out o;
	leasefsm_observe(m, NULL, NULL, 0);
	leasefsm_campaign(m, 0);
	ck_assert_int_eq(drive(m, 0, &o, NULL), LEASEFSM_CREATE);
	struct leasefsm_record written = o.rec;
	leasefsm_write_done(m, LEASEFSM_WRITE_OK, "1", 5);
	ck_assert_int_eq(drive(m, 5, &o, NULL), LEASEFSM_WAIT);
	leasefsm_observe(m, &written, "1", 400);
	ck_assert_int_eq(leasefsm_free_since(m), 5);
	/* The peer sees it once; the same record again later does not restart expiry. */
	leasefsm_observe(b, &written, "1", 10);
	leasefsm_observe(b, &written, "1", 900);
	ck_assert_int_eq(leasefsm_free_since(b), 1510);
	leasefsm_free(m);
	leasefsm_free(b);
}
END_TEST

static Suite *leasefsm_suite(void)
{
	Suite *s = suite_create("leasefsm");
	TCase *tc = tcase_create("core");
	tcase_add_loop_test(tc, test_config_validation, 0, sizeof(configs) / sizeof(configs[0]));
	tcase_add_test(tc, test_identity_too_long);
	tcase_add_test(tc, test_duration_and_time_format);
	tcase_add_test(tc, test_unknown_lease_does_nothing);
	tcase_add_test(tc, test_absent_creates_and_leads);
	tcase_add_test(tc, test_create_conflict_retries);
	tcase_add_test(tc, test_expiry_by_local_time_of_change);
	tcase_add_test(tc, test_holder_gone_allows_immediate_takeover);
	tcase_add_test(tc, test_renew_deadline_stops_before_others_may_acquire);
	tcase_add_test(tc, test_renew_interval_and_deadline_from_send);
	tcase_add_test(tc, test_taken_or_deleted_stops_at_once);
	tcase_add_test(tc, test_renew_conflict_stops_at_once);
	tcase_add_test(tc, test_restart_takes_own_lease_back);
	tcase_add_test(tc, test_campaign_delay_after_free);
	tcase_add_test(tc, test_campaign_delay_holds_for_absent);
	tcase_add_test(tc, test_hold_off_at_start);
	tcase_add_test(tc, test_release_hands_over_within_retry);
	tcase_add_test(tc, test_release_while_renew_in_flight);
	tcase_add_test(tc, test_enum_strings);
	tcase_add_test(tc, test_holder_of_253_characters);
	tcase_add_test(tc, test_brief_digest_and_acquire_time);
	tcase_add_test(tc, test_echo_of_own_write_is_no_change);
	suite_add_tcase(s, tc);
	TCase *sim = tcase_create("simulation");
	tcase_set_timeout(sim, 60);
	tcase_add_loop_test(sim, test_two_candidates_never_both_lead, 0, 3);
	suite_add_tcase(s, sim);
	return s;
}

UNIT_MAIN(leasefsm_suite)
