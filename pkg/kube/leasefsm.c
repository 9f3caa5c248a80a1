/* leasefsm: client-go leader election on one Lease, as a pure state machine (see leasefsm.h). */
#include "kube/leasefsm.h"

#include "hash/fnv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum obs_state {
	OBS_UNKNOWN,
	OBS_ABSENT,
	OBS_PRESENT,
};

enum want {
	WANT_NOTHING, /* observe only */
	WANT_LEAD,
	WANT_RELEASE,
};

#define EVQ_CAP 8

/* A holder name shared between the observed record and the last leader (refcounted). */
struct hstr {
	uint32_t refs;
	char s[];
};

/* Stands for our own identity in place of a copy (the config owns that string): only its
 * address is used, it is never written. */
static struct hstr me_mark;
#define ME (&me_mark)

struct leasefsm {
	const struct leasefsm_config *cfg; /* borrowed: every election of a set shares one */

	/* The observed record, as a brief: holder NULL is "", ME is us. */
	struct hstr *holder;
	char *rv; /* NULL: "" */
	int64_t duration_s, transitions, acquire_us;
	uint64_t digest;
	int64_t obs_ms; /* local time the record was last seen to change */
	int64_t gone_ms;

	int64_t delay_ms;
	int64_t hold_off;   /* a lease not naming us is free no earlier (INT64_MIN: none) */
	int64_t lead_until; /* send time of the last successful write + renew deadline */
	int64_t next_try;

	/* The write in flight: its holder and duration follow from the action. */
	int64_t sent_ms;
	int64_t sent_transitions, sent_acquire_us;
	uint64_t sent_digest;

	struct hstr *leader; /* last NEW_LEADER holder */
	uint8_t obs;	     /* enum obs_state */
	uint8_t want;	     /* enum want */
	uint8_t leading;
	uint8_t gone;	  /* holder declared dead, until the record changes */
	uint8_t inflight; /* enum leasefsm_action; LEASEFSM_WAIT: none */
	uint8_t stop_reason;
	uint8_t evhead, evlen;
	uint8_t evq[EVQ_CAP];
};

/* client-go renews every retry period; the speaker's service leases less often. */
static int64_t interval_ms(const struct leasefsm *m)
{
	return m->cfg->renew_interval_ms ? m->cfg->renew_interval_ms : m->cfg->retry_ms;
}

static const char *hs(const struct leasefsm *m, const struct hstr *h)
{
	return h == NULL ? "" : h == ME ? m->cfg->identity : h->s;
}

static void hput(struct hstr *h)
{
	if (h != NULL && h != ME && --h->refs == 0)
		free(h);
}

static struct hstr *href(struct hstr *h)
{
	if (h != NULL && h != ME)
		h->refs++;
	return h;
}

/* A reference for name (terminated, not the observed holder): ours, shared with the last
 * leader, or a copy. -1: no memory. */
static int hget(struct leasefsm *m, const char *name, struct hstr **out)
{
	*out = NULL;
	if (name[0] == '\0')
		return 0;
	if (strcmp(name, m->cfg->identity) == 0) {
		*out = ME;
		return 0;
	}
	if (m->leader != NULL && m->leader != ME && strcmp(m->leader->s, name) == 0) {
		*out = href(m->leader);
		return 0;
	}
	size_t n = strlen(name);
	struct hstr *h = malloc(sizeof(*h) + n + 1);
	if (h == NULL)
		return -1;
	h->refs = 1;
	memcpy(h->s, name, n + 1);
	*out = h;
	return 0;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap - 1) : 0;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* rv copied into *dst (NULL or "" -> NULL); -1 when out of memory (*dst unchanged). */
static int set_rv(char **dst, const char *rv)
{
	char *c = NULL;
	if (rv != NULL && rv[0] != '\0') {
		if (*dst != NULL && strcmp(*dst, rv) == 0)
			return 0;
		size_t n = strnlen(rv, LEASEFSM_RV_MAX - 1);
		c = malloc(n + 1);
		if (c == NULL)
			return -1;
		memcpy(c, rv, n);
		c[n] = '\0';
	}
	free(*dst);
	*dst = c;
	return 0;
}

const char *leasefsm_config_error_str(enum leasefsm_config_error e)
{
	switch (e) {
	case LEASEFSM_CONFIG_OK:
		return "ok";
	case LEASEFSM_CONFIG_NO_IDENTITY:
		return "no identity";
	case LEASEFSM_CONFIG_IDENTITY_TOO_LONG:
		return "identity longer than 253 characters";
	case LEASEFSM_CONFIG_NOT_POSITIVE:
		return "lease duration, renew deadline and retry period must be positive";
	case LEASEFSM_CONFIG_RENEW_NOT_BELOW_LEASE:
		return "lease duration must be greater than the renew deadline";
	case LEASEFSM_CONFIG_RETRY_TOO_LONG:
		return "renew deadline must be greater than 1.2 times the retry period";
	case LEASEFSM_CONFIG_BAD_INTERVAL:
		return "renew interval must be at least the retry period and below the renew deadline";
	}
	return "?";
}

const char *leasefsm_action_str(enum leasefsm_action a)
{
	switch (a) {
	case LEASEFSM_WAIT:
		return "wait";
	case LEASEFSM_CREATE:
		return "create";
	case LEASEFSM_ACQUIRE:
		return "acquire";
	case LEASEFSM_RENEW:
		return "renew";
	case LEASEFSM_RELEASE:
		return "release";
	case LEASEFSM_STARTED_LEADING:
		return "started_leading";
	case LEASEFSM_STOPPED_LEADING:
		return "stopped_leading";
	case LEASEFSM_NEW_LEADER:
		return "new_leader";
	}
	return "?";
}

const char *leasefsm_write_result_str(enum leasefsm_write_result r)
{
	switch (r) {
	case LEASEFSM_WRITE_OK:
		return "ok";
	case LEASEFSM_WRITE_CONFLICT:
		return "conflict";
	case LEASEFSM_WRITE_ERROR:
		return "error";
	}
	return "?";
}

const char *leasefsm_stop_reason_str(enum leasefsm_stop_reason r)
{
	switch (r) {
	case LEASEFSM_STOP_NONE:
		return "none";
	case LEASEFSM_STOP_RENEW_DEADLINE:
		return "renew_deadline";
	case LEASEFSM_STOP_TAKEN:
		return "taken";
	case LEASEFSM_STOP_DELETED:
		return "deleted";
	case LEASEFSM_STOP_CONFLICT:
		return "conflict";
	case LEASEFSM_STOP_RELEASED:
		return "released";
	}
	return "?";
}

enum leasefsm_config_error leasefsm_config_validate(const struct leasefsm_config *c)
{
	if (!c->identity || !c->identity[0])
		return LEASEFSM_CONFIG_NO_IDENTITY;
	if (strlen(c->identity) >= LEASEFSM_HOLDER_MAX)
		return LEASEFSM_CONFIG_IDENTITY_TOO_LONG;
	if (c->lease_ms <= 0 || c->renew_ms <= 0 || c->retry_ms <= 0 || c->renew_interval_ms < 0)
		return LEASEFSM_CONFIG_NOT_POSITIVE;
	if (c->lease_ms <= c->renew_ms)
		return LEASEFSM_CONFIG_RENEW_NOT_BELOW_LEASE;
	/* renew > 1.2 * retry, in integers: 5 * renew > 6 * retry. */
	if (c->renew_ms > INT64_MAX / 6 || c->retry_ms > INT64_MAX / 6 ||
	    5 * c->renew_ms <= 6 * c->retry_ms)
		return LEASEFSM_CONFIG_RETRY_TOO_LONG;
	if (c->renew_interval_ms &&
	    (c->renew_interval_ms < c->retry_ms || c->renew_interval_ms >= c->renew_ms))
		return LEASEFSM_CONFIG_BAD_INTERVAL;
	return LEASEFSM_CONFIG_OK;
}

int64_t leasefsm_duration_seconds(int64_t ms)
{
	if (ms <= 1000)
		return 1;
	return ms / 1000 + (ms % 1000 != 0);
}

int leasefsm_format_microtime(int64_t wall_us, char *buf, unsigned long cap)
{
	if (cap == 0)
		return -1;
	buf[0] = '\0';
	if (wall_us < 0)
		return -1;
	time_t secs = (time_t)(wall_us / 1000000);
	struct tm tm;
	if (!gmtime_r(&secs, &tm) || tm.tm_year + 1900 > 9999)
		return -1;
	int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int)(wall_us % 1000000));
	if (n < 0 || (unsigned long)n >= cap) {
		buf[0] = '\0';
		return -1;
	}
	return 0;
}

int leasefsm_parse_microtime(const char *s, int64_t *wall_us)
{
	int y, mo, d, h, mi, se, us, n = 0;
	char buf[LEASEFSM_TIME_MAX];

	if (s == NULL || strnlen(s, LEASEFSM_TIME_MAX) != 27 ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%6dZ%n", &y, &mo, &d, &h, &mi, &se, &us, &n) != 7 ||
	    n != 27 || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    se > 59 || us < 0)
		return -1;
	struct tm tm = { .tm_year = y - 1900,
			 .tm_mon = mo - 1,
			 .tm_mday = d,
			 .tm_hour = h,
			 .tm_min = mi,
			 .tm_sec = se };
	time_t t = timegm(&tm);
	if (t < 0)
		return -1;
	int64_t v = (int64_t)t * 1000000 + us;
	/* Only what formats back to the very same text: the round trip must be exact. */
	if (leasefsm_format_microtime(v, buf, sizeof(buf)) < 0 || strcmp(buf, s) != 0)
		return -1;
	*wall_us = v;
	return 0;
}

static uint64_t add_str(uint64_t h, const char *s, size_t cap)
{
	return fnv_add(h, s, strnlen(s, cap - 1) + 1);
}

static uint64_t fnv_i64(uint64_t h, int64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)v >> (8 * i));
	return fnv_add(h, b, sizeof(b));
}

void leasefsm_brief_of(const struct leasefsm_record *rec, struct leasefsm_brief *b)
{
	uint64_t h = FNV_BASIS;

	h = add_str(h, rec->holder, sizeof(rec->holder));
	h = add_str(h, rec->acquire_time, sizeof(rec->acquire_time));
	h = add_str(h, rec->renew_time, sizeof(rec->renew_time));
	h = fnv_i64(h, rec->duration_s);
	h = fnv_i64(h, rec->transitions);
	b->holder = rec->holder;
	b->duration_s = rec->duration_s;
	b->transitions = rec->transitions;
	if (leasefsm_parse_microtime(rec->acquire_time, &b->acquire_us) < 0)
		b->acquire_us = LEASEFSM_NO_TIME;
	b->digest = h;
}

struct leasefsm *leasefsm_new(const struct leasefsm_config *c)
{
	if (leasefsm_config_validate(c) != LEASEFSM_CONFIG_OK)
		return NULL;
	struct leasefsm *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->cfg = c;
	m->obs = OBS_UNKNOWN;
	m->want = WANT_NOTHING;
	m->inflight = LEASEFSM_WAIT;
	m->hold_off = INT64_MIN;
	return m;
}

void leasefsm_free(struct leasefsm *m)
{
	if (m == NULL)
		return;
	hput(m->holder);
	hput(m->leader);
	free(m->rv);
	free(m);
}

static void push_event(struct leasefsm *m, enum leasefsm_action ev)
{
	if (m->evlen == EVQ_CAP) /* cannot happen when the caller drains; keep the newest */
		m->evhead = (m->evhead + 1) % EVQ_CAP, m->evlen--;
	m->evq[(m->evhead + m->evlen) % EVQ_CAP] = (uint8_t)ev;
	m->evlen++;
}

static void stop_leading(struct leasefsm *m, enum leasefsm_stop_reason why)
{
	if (!m->leading)
		return;
	m->leading = 0;
	m->stop_reason = (uint8_t)why;
	push_event(m, LEASEFSM_STOPPED_LEADING);
}

static void note_holder(struct leasefsm *m)
{
	if (m->obs != OBS_PRESENT || m->holder == NULL || m->holder == m->leader ||
	    strcmp(hs(m, m->holder), hs(m, m->leader)) == 0)
		return;
	hput(m->leader);
	m->leader = href(m->holder);
	push_event(m, LEASEFSM_NEW_LEADER);
}

static int names_us(const struct leasefsm *m)
{
	return m->obs == OBS_PRESENT && m->holder == ME;
}

int leasefsm_observe(struct leasefsm *m, const struct leasefsm_record *rec, const char *rv,
		     int64_t now_ms)
{
	if (rec == NULL)
		return leasefsm_observe_brief(m, NULL, rv, now_ms);
	/* Fields come from the caller's decoder: never trust them to be terminated. */
	struct leasefsm_record r = *rec;
	struct leasefsm_brief b;
	r.holder[LEASEFSM_HOLDER_MAX - 1] = '\0';
	r.acquire_time[LEASEFSM_TIME_MAX - 1] = '\0';
	r.renew_time[LEASEFSM_TIME_MAX - 1] = '\0';
	leasefsm_brief_of(&r, &b);
	return leasefsm_observe_brief(m, &b, rv, now_ms);
}

int leasefsm_observe_brief(struct leasefsm *m, const struct leasefsm_brief *b, const char *rv,
			   int64_t now_ms)
{
	int changed;
	if (b == NULL) {
		changed = m->obs != OBS_ABSENT;
		m->obs = OBS_ABSENT;
		hput(m->holder);
		m->holder = NULL;
		free(m->rv);
		m->rv = NULL;
	} else {
		struct hstr *h = m->holder;
		char *nrv = NULL;
		/* Take what may fail first, so that out of memory changes nothing. */
		if (set_rv(&nrv, rv) < 0)
			return -1;
		if (strcmp(b->holder, hs(m, h)) != 0 && hget(m, b->holder, &h) < 0) {
			free(nrv);
			return -1;
		}
		changed = m->obs != OBS_PRESENT || m->digest != b->digest;
		m->obs = OBS_PRESENT;
		if (h != m->holder) {
			hput(m->holder);
			m->holder = h;
		}
		m->duration_s = b->duration_s;
		m->transitions = b->transitions;
		m->acquire_us = b->acquire_us;
		m->digest = b->digest;
		free(m->rv);
		m->rv = nrv;
	}
	if (!changed)
		return 0;
	m->obs_ms = now_ms;
	m->gone = 0;
	if (m->leading && !names_us(m))
		stop_leading(m, b ? LEASEFSM_STOP_TAKEN : LEASEFSM_STOP_DELETED);
	note_holder(m);
	/* A change may have freed the lease: a waiting candidate looks again at once. */
	if (!m->leading)
		m->next_try = now_ms;
	return 0;
}

void leasefsm_campaign(struct leasefsm *m, int64_t delay_ms)
{
	m->want = WANT_LEAD;
	m->delay_ms = delay_ms > 0 ? delay_ms : 0;
}

void leasefsm_release(struct leasefsm *m)
{
	m->want = WANT_RELEASE;
	stop_leading(m, LEASEFSM_STOP_RELEASED);
	m->next_try = 0;
}

void leasefsm_holder_gone(struct leasefsm *m, const char *holder, int64_t now_ms)
{
	if (m->obs != OBS_PRESENT || !holder || !holder[0] ||
	    strcmp(hs(m, m->holder), holder) != 0 || !strcmp(holder, m->cfg->identity) || m->gone)
		return;
	m->gone = 1;
	m->gone_ms = now_ms;
	if (!m->leading)
		m->next_try = now_ms;
}

void leasefsm_hold_off(struct leasefsm *m, int64_t until_ms)
{
	m->hold_off = until_ms;
}

/* When the record stopped binding us, by the record alone (no hold-off). */
static int64_t record_free_since(const struct leasefsm *m)
{
	switch (m->obs) {
	case OBS_UNKNOWN:
		return LEASEFSM_NEVER;
	case OBS_ABSENT:
		return m->obs_ms;
	case OBS_PRESENT:
		break;
	}
	if (m->holder == NULL || m->holder == ME)
		return m->obs_ms;
	int64_t t =
		m->obs_ms > INT64_MAX - m->cfg->lease_ms ? INT64_MAX : m->obs_ms + m->cfg->lease_ms;
	if (m->gone && m->gone_ms < t)
		t = m->gone_ms;
	return t;
}

int64_t leasefsm_free_since(const struct leasefsm *m)
{
	int64_t t = record_free_since(m);
	/* The hold-off guards against judging peers we have not seen yet; a lease naming us is
	 * ours to take back, and a holder declared gone was judged with its presence seen. */
	if (t != LEASEFSM_NEVER && !names_us(m) && !m->gone && t < m->hold_off)
		t = m->hold_off;
	return t;
}

int leasefsm_held_by_other(const struct leasefsm *m, int64_t now_ms)
{
	return m->obs == OBS_PRESENT && m->holder != NULL && !names_us(m) &&
	       now_ms < record_free_since(m);
}

static int64_t add_sat(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static enum leasefsm_action begin_write(struct leasefsm *m, enum leasefsm_action a, int64_t now_ms,
					struct leasefsm_out *out)
{
	struct leasefsm_brief b;
	leasefsm_brief_of(&out->rec, &b);
	m->inflight = (uint8_t)a;
	m->sent_ms = now_ms;
	m->sent_transitions = b.transitions;
	m->sent_acquire_us = b.acquire_us;
	m->sent_digest = b.digest;
	m->next_try = add_sat(now_ms, a == LEASEFSM_RENEW ? interval_ms(m) : m->cfg->retry_ms);
	copy_str(out->rv, sizeof(out->rv), m->rv);
	out->wake_ms = LEASEFSM_NEVER;
	return a;
}

static enum leasefsm_action wait_until(struct leasefsm *m, int64_t t, struct leasefsm_out *out)
{
	if (m->leading)
		t = min64(t, m->lead_until);
	out->wake_ms = t;
	return LEASEFSM_WAIT;
}

enum leasefsm_action leasefsm_step(struct leasefsm *m, int64_t now_ms, int64_t wall_us,
				   struct leasefsm_out *out)
{
	memset(out, 0, sizeof(*out));
	out->wake_ms = LEASEFSM_NEVER;
	if (m->leading && now_ms >= m->lead_until)
		stop_leading(m, LEASEFSM_STOP_RENEW_DEADLINE);
	if (m->evlen) {
		enum leasefsm_action ev = (enum leasefsm_action)m->evq[m->evhead];
		m->evhead = (m->evhead + 1) % EVQ_CAP;
		m->evlen--;
		return ev;
	}
	if (m->inflight != LEASEFSM_WAIT || m->obs == OBS_UNKNOWN || m->want == WANT_NOTHING)
		return wait_until(m, LEASEFSM_NEVER, out);
	if (m->want == WANT_RELEASE && !names_us(m))
		return wait_until(m, LEASEFSM_NEVER, out);
	if (now_ms < m->next_try)
		return wait_until(m, m->next_try, out);

	char now_str[LEASEFSM_TIME_MAX];
	leasefsm_format_microtime(wall_us, now_str, sizeof(now_str));
	struct leasefsm_record *r = &out->rec;

	if (m->want == WANT_RELEASE) {
		/* As client-go: empty holder, 1 s duration, transitions kept. */
		r->duration_s = 1;
		memcpy(r->acquire_time, now_str, sizeof(now_str));
		memcpy(r->renew_time, now_str, sizeof(now_str));
		r->transitions = m->transitions;
		return begin_write(m, LEASEFSM_RELEASE, now_ms, out);
	}

	copy_str(r->holder, sizeof(r->holder), m->cfg->identity);
	r->duration_s = leasefsm_duration_seconds(m->cfg->lease_ms);
	memcpy(r->renew_time, now_str, sizeof(now_str));
	/* The rank delay holds for an absent lease too: every candidate sees it absent at about
	 * the same moment, and creating at once would make them all race for it. */
	int64_t at = add_sat(leasefsm_free_since(m), m->delay_ms);
	if (m->obs == OBS_ABSENT && now_ms < at)
		return wait_until(m, at, out);
	if (m->obs == OBS_ABSENT) {
		memcpy(r->acquire_time, now_str, sizeof(now_str));
		r->transitions = 0;
		return begin_write(m, LEASEFSM_CREATE, now_ms, out);
	}
	if (names_us(m)) {
		/* Ours already (we lead, or a record from before a restart): keep its history. */
		if (m->acquire_us != LEASEFSM_NO_TIME)
			leasefsm_format_microtime(m->acquire_us, r->acquire_time,
						  sizeof(r->acquire_time));
		r->transitions = m->transitions;
		return begin_write(m, m->leading ? LEASEFSM_RENEW : LEASEFSM_ACQUIRE, now_ms, out);
	}
	if (now_ms < at)
		return wait_until(m, at, out);
	memcpy(r->acquire_time, now_str, sizeof(now_str));
	r->transitions = m->transitions + 1;
	return begin_write(m, LEASEFSM_ACQUIRE, now_ms, out);
}

int leasefsm_write_done(struct leasefsm *m, enum leasefsm_write_result res, const char *new_rv,
			int64_t now_ms)
{
	enum leasefsm_action a = (enum leasefsm_action)m->inflight;
	if (a == LEASEFSM_WAIT)
		return -1;
	m->inflight = LEASEFSM_WAIT;
	switch (res) {
	case LEASEFSM_WRITE_OK:
		if (!(m->obs == OBS_PRESENT && m->digest == m->sent_digest))
			m->obs_ms = now_ms;
		m->obs = OBS_PRESENT;
		hput(m->holder);
		m->holder = a == LEASEFSM_RELEASE ? NULL : ME;
		m->duration_s =
			a == LEASEFSM_RELEASE ? 1 : leasefsm_duration_seconds(m->cfg->lease_ms);
		m->transitions = m->sent_transitions;
		m->acquire_us = m->sent_acquire_us;
		m->digest = m->sent_digest;
		m->gone = 0;
		(void)set_rv(&m->rv, new_rv); /* out of memory: the old one, see leasefsm.h */
		if (a != LEASEFSM_RELEASE) {
			int64_t until = add_sat(m->sent_ms, m->cfg->renew_ms);
			/* A success that arrives after the deadline does not make us lead again:
			 * others may already count the lease as ours-and-expired. */
			if (m->want == WANT_LEAD && now_ms < until) {
				m->lead_until = until;
				m->next_try = add_sat(m->sent_ms, interval_ms(m));
				if (!m->leading) {
					m->leading = 1;
					m->stop_reason = (uint8_t)LEASEFSM_STOP_NONE;
					push_event(m, LEASEFSM_STARTED_LEADING);
				}
			} else if (m->want == WANT_LEAD) {
				m->next_try = now_ms; /* renew it at once, now as an acquire */
			}
		}
		note_holder(m);
		break;
	case LEASEFSM_WRITE_CONFLICT:
		/* Someone else wrote the record: most likely a peer took it over because our
		 * node looked dead. Stop answering now rather than at the renew deadline. */
		stop_leading(m, LEASEFSM_STOP_CONFLICT);
		m->next_try = add_sat(m->sent_ms, m->cfg->retry_ms);
		break;
	case LEASEFSM_WRITE_ERROR:
		m->next_try = add_sat(m->sent_ms, m->cfg->retry_ms);
		break;
	}
	return 0;
}

int leasefsm_is_leading(const struct leasefsm *m)
{
	return m->leading;
}

const char *leasefsm_identity(const struct leasefsm *m)
{
	return m->cfg->identity;
}

const char *leasefsm_holder(const struct leasefsm *m)
{
	return m->obs == OBS_PRESENT ? hs(m, m->holder) : "";
}

const char *leasefsm_leader(const struct leasefsm *m)
{
	return hs(m, m->leader);
}

int leasefsm_observed(const struct leasefsm *m, struct leasefsm_record *rec)
{
	if (m->obs != OBS_PRESENT)
		return 0;
	if (rec) {
		memset(rec, 0, sizeof(*rec));
		copy_str(rec->holder, sizeof(rec->holder), hs(m, m->holder));
		rec->duration_s = m->duration_s;
		rec->transitions = m->transitions;
		if (m->acquire_us != LEASEFSM_NO_TIME)
			leasefsm_format_microtime(m->acquire_us, rec->acquire_time,
						  sizeof(rec->acquire_time));
	}
	return 1;
}

enum leasefsm_stop_reason leasefsm_stop_reason(const struct leasefsm *m)
{
	return (enum leasefsm_stop_reason)m->stop_reason;
}
