/* leasefsm: client-go leader election on one coordination.k8s.io/v1 Lease, as a pure state machine.
 */
#ifndef L2LB_KUBE_LEASEFSM_H
#define L2LB_KUBE_LEASEFSM_H

/*
 * The machine does no I/O and reads no clock: the caller feeds it what it observed of the Lease
 * (from an informer or a GET), the outcome of each write it asked for, and the monotonic time in
 * milliseconds; it answers with one action at a time. Semantics are client-go's leaderelection
 * with a LeaseLock, plus two things the speaker needs:
 *
 *  - Expiry is judged by local monotonic time since the record was last seen to CHANGE, with the
 *    candidate's own configured lease duration, never by comparing renewTime with a clock.
 *  - The leader gives up leadership (STOPPED_LEADING) when no renewal it SENT within the renew
 *    deadline has succeeded. Measured from the send time, which is no later than the moment the
 *    API server committed it, and renew < lease, so leadership ends before any other candidate
 *    (who counts the lease from when it saw that commit) may take the lease.
 *  - The leader renews every renew interval (client-go: every retry period); failed attempts are
 *    retried every retry period until the renew deadline.
 *  - leasefsm_holder_gone(): the caller may declare the observed holder dead (its node presence
 *    lease expired), which makes the lease free at once, still written with the usual
 *    resourceVersion precondition.
 *  - A free lease (absent ones included) is taken only `delay` ms after it became free (rank
 *    delay, leasefsm_campaign()), and, after leasefsm_hold_off(), no earlier than the hold-off.
 *
 * One machine is about 160 bytes (plus its resourceVersion and, when another node holds the
 * lease, that holder's name, shared with the last leader's) and arms no timer itself: the caller
 * keeps one timer per machine (or one for all) at the wake time the machine returns, so
 * thousands are cheap. It keeps of the observed record only a struct leasefsm_brief: the fields
 * it acts on and a digest of the rest.
 *
 * Driving it: after every input (observe, write_done, campaign, release, holder_gone, a timer),
 * call leasefsm_step() until it returns LEASEFSM_WAIT or a write action. Notification actions
 * (STARTED_LEADING, STOPPED_LEADING, NEW_LEADER) come before writes, so a caller that stops
 * announcing on STOPPED_LEADING does so before its release is written. At most one write is in
 * flight: after a write action, report its outcome with leasefsm_write_done().
 */

#include <stdint.h>

#define LEASEFSM_HOLDER_MAX 254 /* holderIdentity incl. NUL: node names are <= 253 chars */
#define LEASEFSM_TIME_MAX   32	/* MicroTime "2006-01-02T15:04:05.000000Z" incl. NUL */
#define LEASEFSM_RV_MAX	    64	/* metadata.resourceVersion incl. NUL */
#define LEASEFSM_NEVER	    INT64_MAX
#define LEASEFSM_NO_TIME    INT64_MIN /* leasefsm_brief.acquire_us: none */

/* The Lease spec fields election uses. Strings are NUL-terminated and always fit. */
struct leasefsm_record {
	char holder[LEASEFSM_HOLDER_MAX];     /* spec.holderIdentity; "" = none (released) */
	int64_t duration_s;		      /* spec.leaseDurationSeconds */
	char acquire_time[LEASEFSM_TIME_MAX]; /* spec.acquireTime, as on the wire; may be "" */
	char renew_time[LEASEFSM_TIME_MAX];   /* spec.renewTime, as on the wire; may be "" */
	int64_t transitions;		      /* spec.leaseTransitions */
};

/*
 * What a machine keeps of a record, and all a caller must keep to feed it the same record again
 * (kube/lease caches this, not the Lease): acquireTime as a number, renewTime only in the
 * digest. An acquireTime that is not in MicroTime form (leasefsm_format_microtime(), what every
 * client-go writer and the API server write) reads as none, so renewing a record naming us
 * that carries such a time writes acquireTime "".
 */
struct leasefsm_brief {
	const char *holder; /* spec.holderIdentity, "" = none; borrowed */
	int64_t duration_s;
	int64_t transitions;
	int64_t acquire_us; /* spec.acquireTime, microseconds since the epoch, or LEASEFSM_NO_TIME
			     */
	uint64_t digest;    /* of every field, renewTime included: equal records, equal digests */
};

/* Fills *b from rec, whose strings must be NUL-terminated; b->holder points into rec. */
void leasefsm_brief_of(const struct leasefsm_record *rec, struct leasefsm_brief *b);

struct leasefsm_config {
	const char *identity;	   /* our holderIdentity */
	int64_t lease_ms;	   /* how long a record that stopped changing stays valid */
	int64_t renew_ms;	   /* renew deadline: leader stops if no renewal succeeded within */
	int64_t retry_ms;	   /* retry period for acquire attempts and failed renewals */
	int64_t renew_interval_ms; /* leader renews this often; 0 = retry_ms (client-go) */
};

enum leasefsm_config_error {
	LEASEFSM_CONFIG_OK,
	LEASEFSM_CONFIG_NO_IDENTITY,
	LEASEFSM_CONFIG_IDENTITY_TOO_LONG,
	LEASEFSM_CONFIG_NOT_POSITIVE,	       /* a duration is <= 0 */
	LEASEFSM_CONFIG_RENEW_NOT_BELOW_LEASE, /* needs lease > renew */
	LEASEFSM_CONFIG_RETRY_TOO_LONG,	       /* needs renew > 1.2 * retry */
	LEASEFSM_CONFIG_BAD_INTERVAL,	       /* needs retry <= renew interval < renew */
};
const char *leasefsm_config_error_str(enum leasefsm_config_error e);
enum leasefsm_config_error leasefsm_config_validate(const struct leasefsm_config *c);

enum leasefsm_action {
	LEASEFSM_WAIT,		  /* nothing now; step again at out->wake_ms or after new input */
	LEASEFSM_CREATE,	  /* create the Lease with out->rec */
	LEASEFSM_ACQUIRE,	  /* update with out->rec, precondition out->rv: take the lease */
	LEASEFSM_RENEW,		  /* update with out->rec, precondition out->rv: we lead */
	LEASEFSM_RELEASE,	  /* update with out->rec (empty holder), precondition out->rv */
	LEASEFSM_STARTED_LEADING, /* we lead now: start announcing */
	LEASEFSM_STOPPED_LEADING, /* we no longer lead: stop announcing at once */
	LEASEFSM_NEW_LEADER,	  /* a different non-empty holder is observed: leasefsm_leader() */
};
const char *leasefsm_action_str(enum leasefsm_action a);

enum leasefsm_write_result {
	LEASEFSM_WRITE_OK,
	LEASEFSM_WRITE_CONFLICT, /* 409 (stale resourceVersion, or AlreadyExists on create), 404 */
	LEASEFSM_WRITE_ERROR, /* transport error, timeout, 429, 5xx: it may or may not have applied
			       */
};
const char *leasefsm_write_result_str(enum leasefsm_write_result r);

/* Why we last stopped leading (for the log line that goes with STOPPED_LEADING). */
enum leasefsm_stop_reason {
	LEASEFSM_STOP_NONE,
	LEASEFSM_STOP_RENEW_DEADLINE, /* no renewal succeeded within the renew deadline */
	LEASEFSM_STOP_TAKEN,	      /* the observed record names another holder, or none */
	LEASEFSM_STOP_DELETED,	      /* the Lease was deleted */
	LEASEFSM_STOP_CONFLICT,	      /* a renewal got 409: someone else wrote the record */
	LEASEFSM_STOP_RELEASED,	      /* leasefsm_release() */
};
const char *leasefsm_stop_reason_str(enum leasefsm_stop_reason r);

struct leasefsm_out {
	struct leasefsm_record rec; /* CREATE, ACQUIRE, RENEW, RELEASE: the spec to write */
	char rv[LEASEFSM_RV_MAX];   /* ACQUIRE, RENEW, RELEASE: metadata.resourceVersion to send */
	int64_t wake_ms; /* WAIT: step again then at the latest (LEASEFSM_NEVER: no timer) */
};

struct leasefsm;

/* Returns an owned machine that is not campaigning, or NULL if c is invalid or out of memory. c
 * is borrowed, its identity too: both must outlive the machine (kube/lease shares one per set
 * among a thousand machines). */
struct leasefsm *leasefsm_new(const struct leasefsm_config *c);
void leasefsm_free(struct leasefsm *m);

/*
 * What the caller saw of the Lease at now_ms: rec NULL means absent (404 or deleted). rv is its
 * metadata.resourceVersion. Call on every informer add/update/delete and every GET. Until the
 * first call the machine does not know the Lease and does nothing. Returns 0, or -1 when out of
 * memory (nothing was observed).
 */
int leasefsm_observe(struct leasefsm *m, const struct leasefsm_record *rec, const char *rv,
		     int64_t now_ms);
/* The same from a brief (leasefsm_brief_of()); b NULL means absent. */
int leasefsm_observe_brief(struct leasefsm *m, const struct leasefsm_brief *b, const char *rv,
			   int64_t now_ms);

/* The outcome of the write the last write action asked for; new_rv is the resourceVersion the
 * server returned on success. Returns 0, or -1 when no write was in flight (ignored). Out of
 * memory for new_rv, the old one is kept: the next write then fails its precondition, safely. */
int leasefsm_write_done(struct leasefsm *m, enum leasefsm_write_result r, const char *new_rv,
			int64_t now_ms);

/*
 * Try to lead: take the lease when it is absent, released, expired, or its holder was declared
 * gone, but only delay_ms after it became free; a lease that names us is taken back at once.
 * Calling again only changes the delay.
 */
void leasefsm_campaign(struct leasefsm *m, int64_t delay_ms);

/*
 * Start-up hold-off: a lease that does not name us counts as free no earlier than until_ms (the
 * rank delay counts from then), unless its holder was declared gone. A candidate that has not
 * yet seen its peers' presence would otherwise judge every lease free and rank itself first.
 * INT64_MIN (the default): none.
 */
void leasefsm_hold_off(struct leasefsm *m, int64_t until_ms);

/* Stop campaigning; if leading, stop at once (STOPPED_LEADING) and then write an empty holder so
 * others take over without waiting for expiry. Retried while the observed record names us. */
void leasefsm_release(struct leasefsm *m);

/* Declare that `holder` is dead: if it is the observed holder (and not us), the lease counts as
 * free from now_ms until the record changes. */
void leasefsm_holder_gone(struct leasefsm *m, const char *holder, int64_t now_ms);

/* The next action, filling *out. See the driving rules above. wall_us is the wall clock in
 * microseconds since the epoch, used only for the acquireTime/renewTime written. */
enum leasefsm_action leasefsm_step(struct leasefsm *m, int64_t now_ms, int64_t wall_us,
				   struct leasefsm_out *out);

int leasefsm_is_leading(const struct leasefsm *m);
/* Our holderIdentity (borrowed). */
const char *leasefsm_identity(const struct leasefsm *m);
/* The observed holder ("" when none or unknown); borrowed, valid until the next call. */
const char *leasefsm_holder(const struct leasefsm *m);
/* The last non-empty holder reported by NEW_LEADER ("" before any). */
const char *leasefsm_leader(const struct leasefsm *m);
/* 1 when a record was observed present, else 0. With rec not NULL, copies what the machine keeps
 * of it: holder, duration, transitions, acquireTime (reformatted; "" when none); renewTime "". */
int leasefsm_observed(const struct leasefsm *m, struct leasefsm_record *rec);
/*
 * When the lease became (or will become) free for us to take: the time it was seen absent or
 * released, the expiry (last change + lease duration), the time its holder was declared gone,
 * or, for a record naming us, the time it was seen; no earlier than the hold-off for a record
 * that does not name us and whose holder was not declared gone. LEASEFSM_NEVER when not yet
 * observed. The rank delay counts from it.
 */
int64_t leasefsm_free_since(const struct leasefsm *m);
/* 1 when the observed lease is held by another holder that is neither expired nor gone (the
 * hold-off does not count). */
int leasefsm_held_by_other(const struct leasefsm *m, int64_t now_ms);
enum leasefsm_stop_reason leasefsm_stop_reason(const struct leasefsm *m);

/* Formats wall_us as a Kubernetes MicroTime ("2026-11-25T18:59:18.123456Z"); returns 0, or -1
 * when cap is too small or the time is out of range (buf then holds ""). */
int leasefsm_format_microtime(int64_t wall_us, char *buf, unsigned long cap);
/* The inverse: 0 with *wall_us set when s is exactly what leasefsm_format_microtime() writes,
 * else -1. */
int leasefsm_parse_microtime(const char *s, int64_t *wall_us);

/* leaseDurationSeconds for a duration in ms: rounded up, at least 1. */
int64_t leasefsm_duration_seconds(int64_t ms);

#endif
