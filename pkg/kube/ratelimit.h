/* kube/ratelimit: pure token bucket (QPS and burst, like client-go's) and retry backoff. */
#ifndef L2LB_KUBE_RATELIMIT_H
#define L2LB_KUBE_RATELIMIT_H

#include <stdint.h>

/*
 * Token bucket: `burst` requests may go at once, then `qps` per second. A reservation always
 * succeeds and says how long the caller must wait before sending; waiting callers queue in order
 * because each takes its token in advance (the bucket may go into debt). The clock is passed
 * in (CLOCK_MONOTONIC nanoseconds), so the limiter is tested without sleeping.
 */
struct ratelimit {
	double qps;
	double burst;
	double tokens;
	uint64_t last_ns;
};

/* qps <= 0 disables limiting (every reservation waits 0). burst < 1 is taken as 1. */
void ratelimit_init(struct ratelimit *rl, double qps, int burst, uint64_t now_ns);
/* Takes one token; returns how many nanoseconds from now_ns the request may be sent. */
uint64_t ratelimit_reserve(struct ratelimit *rl, uint64_t now_ns);
/* Takes one token if one is there now (1), else takes nothing (0): for dropping, not waiting. */
int ratelimit_allow(struct ratelimit *rl, uint64_t now_ns);

/*
 * Exponential backoff with jitter: the n-th consecutive failure waits a random time in
 * [d/2, d] where d = min(base * 2^(n-1), max). The random draw is passed in, so tests choose it.
 */
struct backoff {
	uint32_t base_ms;
	uint32_t max_ms;
	uint32_t failures;
};

void backoff_init(struct backoff *b, uint32_t base_ms, uint32_t max_ms);
/* Records one more failure and returns how long to wait (ms) before the next try. */
uint32_t backoff_next(struct backoff *b, uint32_t random);
/* A success: the next failure starts again at base. */
void backoff_reset(struct backoff *b);

/* A small deterministic PRNG (xorshift32) for jitter; state must start non-zero. */
uint32_t ratelimit_rand(uint32_t *state);

#endif
