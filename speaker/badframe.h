/* badframe: when a malformed frame is worth a warning: at most one line per interface per period,
 * saying how many went unsaid since the last one (pure: the caller passes the time). */
#ifndef L2LB_SPEAKER_BADFRAME_H
#define L2LB_SPEAKER_BADFRAME_H

#include <stdint.h>

/*
 * A small value kept in the caller's storage, one per interface, zeroed to start (no _new /
 * _free: it owns nothing). A flood of garbage must not become a flood of log lines, yet the
 * first bad frame is said at once and a long run of them is still visible with its count.
 */
struct badframe {
	int warned;	     /* a warning was given at least once */
	int64_t last_ms;     /* when the last warning was given */
	uint64_t suppressed; /* bad frames since then that were not warned about */
};

/* The default period between two warnings for one interface. */
#define BADFRAME_PERIOD_MS 10000

/*
 * Records one bad frame at now_ms (CLOCK_MONOTONIC). Returns 1 when the caller should warn now,
 * with *suppressed set to the bad frames since the previous warning that were kept quiet; 0
 * when this one is to be kept quiet (and is counted for the next warning).
 */
int badframe_note(struct badframe *b, int64_t now_ms, int64_t period_ms, uint64_t *suppressed);

#endif
