/* badframe: the warning rate limit for malformed frames (see badframe.h). */
#include "speaker/badframe.h"

int badframe_note(struct badframe *b, int64_t now_ms, int64_t period_ms, uint64_t *suppressed)
{
	/* A clock that went backwards (it should not: monotonic) must not silence us forever. */
	if (b->warned && now_ms >= b->last_ms && now_ms - b->last_ms < period_ms) {
		b->suppressed++;
		return 0;
	}
	*suppressed = b->suppressed;
	b->suppressed = 0;
	b->warned = 1;
	b->last_ms = now_ms;
	return 1;
}
