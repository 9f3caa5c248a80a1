/* takeover: what a speaker does about one service's ownership lease right now (pure). */
#ifndef L2LB_SPEAKER_TAKEOVER_H
#define L2LB_SPEAKER_TAKEOVER_H

/*
 * The rules of issue 7, as one decision per service, from facts the caller gathers:
 *   - a candidate (eligible and ranked) may take the lease when it is absent, released,
 *     expired, or its holder's presence lease expired (then it is declared gone at once, which
 *     makes failover as fast as the presence lease, whatever the ownership lease's timings);
 *     rank r tries r * rank_step_ms after the lease became free;
 *   - a holder keeps it while eligible (sticky), and releases it at once (having stopped
 *     answering) when it became ineligible;
 *   - a candidate that scores higher on preferredNodeSelectors than the live holder takes the
 *     lease from it (preempt): only the node that would announce knows it can (its own links),
 *     so the preferred node acts and the holder yields when it sees the lease taken, rather
 *     than a holder releasing to a node it merely assumes able;
 *   - a node that answered but no longer leads (taken by another, renew deadline) stops
 *     answering at once;
 *   - a holder whose own presence lease is not renewed within its deadline (API lost) keeps
 *     answering, unless --api-loss=stop, or unless another node answers for the address on
 *     the wire (the new holder's GARP/NA, what a node cut off alone sees).
 * Apply the output to the service's leasefsm (campaign / release / holder_gone) and to the
 * announcer (announce), then step the leasefsm; decide again on any change or at wake_ms.
 */

#include <stdint.h>

#define TAKEOVER_NEVER INT64_MAX

enum takeover_decision {
	TAKEOVER_IDLE,	  /* not a candidate, and no lease of ours to give up */
	TAKEOVER_WAIT,	  /* a candidate: held by a live node, or our turn has not come yet */
	TAKEOVER_ACQUIRE, /* a candidate whose turn has come: try to take the lease now */
	TAKEOVER_HOLD,	  /* we lead and stay: keep renewing and answering */
	TAKEOVER_SUSPEND, /* we lead but must not answer now (API lost, see above) */
	TAKEOVER_RELEASE, /* the lease names us but we must give it up: stop answering, release */
	TAKEOVER_STOP,	  /* we answered but no longer lead: stop answering at once */
};
const char *takeover_decision_str(enum takeover_decision d);

struct takeover_input {
	int64_t now_ms;
	int eligible; /* eligibility_evaluate() == ELIG_OK for this node */
	int rank;     /* ranking_rank() of this node, -1 when not a candidate */
	int preempt;  /* a candidate scoring higher than the live holder: take it from it */
	int64_t rank_step_ms;
	/* From the service's leasefsm: */
	int leading;	    /* leasefsm_is_leading() */
	int names_us;	    /* the observed lease names this node as holder */
	int held_by_other;  /* leasefsm_held_by_other(now) */
	int holder_dead;    /* the observed holder's presence lease is not live */
	int64_t free_since; /* leasefsm_free_since() */
	/* From the rest of the speaker: */
	int announcing;	   /* we answer for the address now */
	int api_ok;	   /* our own presence lease is led (renewed within its deadline) */
	int api_loss_stop; /* --api-loss=stop */
	int wire_conflict; /* another MAC announced the address on the wire */
};

struct takeover_out {
	int announce; /* answer ARP/NDP for the address */
	int campaign; /* leasefsm_campaign(m, delay_ms) */
	int64_t delay_ms;
	int release;	  /* leasefsm_release(m) */
	int declare_gone; /* leasefsm_holder_gone(m, holder, now) */
	int64_t wake_ms;  /* decide again then at the latest (TAKEOVER_NEVER: on new input only) */
};

enum takeover_decision takeover_decide(const struct takeover_input *in, struct takeover_out *out);

#endif
