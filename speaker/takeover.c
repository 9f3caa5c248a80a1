/* takeover: what a speaker does about one service's ownership lease (see takeover.h). */
#include "speaker/takeover.h"

#include <string.h>

const char *takeover_decision_str(enum takeover_decision d)
{
	switch (d) {
	case TAKEOVER_IDLE:
		return "idle";
	case TAKEOVER_WAIT:
		return "wait";
	case TAKEOVER_ACQUIRE:
		return "acquire";
	case TAKEOVER_HOLD:
		return "hold";
	case TAKEOVER_SUSPEND:
		return "suspend";
	case TAKEOVER_RELEASE:
		return "release";
	case TAKEOVER_STOP:
		return "stop";
	}
	return "?";
}

static int64_t add_sat(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	return a + b;
}

enum takeover_decision takeover_decide(const struct takeover_input *in, struct takeover_out *out)
{
	memset(out, 0, sizeof(*out));
	out->wake_ms = TAKEOVER_NEVER;

	if ((in->leading || in->names_us) && !in->eligible) {
		out->release = 1;
		return TAKEOVER_RELEASE;
	}
	if (in->leading) {
		out->campaign = 1;
		if (!in->api_ok && (in->api_loss_stop || in->wire_conflict))
			return TAKEOVER_SUSPEND;
		out->announce = 1;
		return TAKEOVER_HOLD;
	}

	enum takeover_decision d = TAKEOVER_IDLE;
	if (in->eligible && in->rank >= 0) {
		out->campaign = 1;
		/* A lease that names us (a restart) is ours to take back at once. */
		int64_t step = in->rank_step_ms > 0 ? in->rank_step_ms : 0;
		if (in->names_us)
			out->delay_ms = 0;
		else if (step && in->rank > INT64_MAX / step)
			out->delay_ms = INT64_MAX;
		else
			out->delay_ms = in->rank * step;
		int64_t free_at = in->free_since;
		if (in->held_by_other && (in->holder_dead || in->preempt)) {
			out->declare_gone = 1;
			free_at = in->now_ms;
		}
		int64_t at = add_sat(free_at, out->delay_ms);
		if (in->now_ms >= at) {
			d = TAKEOVER_ACQUIRE;
		} else {
			d = TAKEOVER_WAIT;
			out->wake_ms = at;
		}
	}
	return in->announcing ? TAKEOVER_STOP : d;
}
