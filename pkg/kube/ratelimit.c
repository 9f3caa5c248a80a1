/* kube/ratelimit: pure token bucket and retry backoff. */
#include "kube/ratelimit.h"

void ratelimit_init(struct ratelimit *rl, double qps, int burst, uint64_t now_ns)
{
	rl->qps = qps;
	rl->burst = burst < 1 ? 1.0 : (double)burst;
	rl->tokens = rl->burst;
	rl->last_ns = now_ns;
}

static void refill(struct ratelimit *rl, uint64_t now_ns)
{
	if (now_ns > rl->last_ns) {
		rl->tokens += (double)(now_ns - rl->last_ns) / 1e9 * rl->qps;
		if (rl->tokens > rl->burst)
			rl->tokens = rl->burst;
		rl->last_ns = now_ns;
	}
}

int ratelimit_allow(struct ratelimit *rl, uint64_t now_ns)
{
	if (rl->qps <= 0)
		return 1;
	refill(rl, now_ns);
	if (rl->tokens < 1.0)
		return 0;
	rl->tokens -= 1.0;
	return 1;
}

uint64_t ratelimit_reserve(struct ratelimit *rl, uint64_t now_ns)
{
	if (rl->qps <= 0)
		return 0;
	refill(rl, now_ns);
	rl->tokens -= 1.0;
	if (rl->tokens >= 0)
		return 0;
	double wait = -rl->tokens / rl->qps * 1e9;
	return wait > 0 ? (uint64_t)(wait + 0.5) : 0;
}

void backoff_init(struct backoff *b, uint32_t base_ms, uint32_t max_ms)
{
	b->base_ms = base_ms ? base_ms : 1;
	b->max_ms = max_ms < b->base_ms ? b->base_ms : max_ms;
	b->failures = 0;
}

uint32_t backoff_next(struct backoff *b, uint32_t random)
{
	uint64_t d = b->base_ms;
	for (uint32_t i = 0; i < b->failures && d < b->max_ms; i++)
		d *= 2;
	if (d > b->max_ms)
		d = b->max_ms;
	if (b->failures < UINT32_MAX)
		b->failures++;
	uint64_t half = d / 2;
	return (uint32_t)(d - half + (half ? random % (half + 1) : 0));
}

void backoff_reset(struct backoff *b)
{
	b->failures = 0;
}

uint32_t ratelimit_rand(uint32_t *state)
{
	uint32_t x = *state ? *state : 0x9e3779b9u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}
