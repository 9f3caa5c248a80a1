/* heap: gives freed heap pages back to the system once enough of them came free (glibc malloc). */
#ifndef L2LB_HEAP_HEAP_H
#define L2LB_HEAP_HEAP_H

#include <stddef.h>
#include <stdint.h>

/*
 * glibc returns memory to the system only from the top of its heap. A burst of short-lived
 * allocations (the first list of a thousand Services, a thousand Lease creations) leaves
 * megabytes of free chunks under live ones, resident for good: a third of the speaker's
 * memory with 1,000 services. malloc_trim() hands those pages back. This module decides when:
 * once the allocator's free bytes grew by more than a threshold since the last trim, so a
 * quiet daemon never trims and a burst is followed by one trim, not a trim per tick.
 */
struct heap_trim;

/* Returns an owned trimmer, or NULL when out of memory. threshold: bytes; 0 means 1 MiB. */
struct heap_trim *heap_trim_new(size_t threshold);
/* Accepts NULL. */
void heap_trim_free(struct heap_trim *t);

/*
 * Pure: whether free_now (the allocator's free bytes) calls for a trim. Remembers the lowest
 * level seen since the last trim, so memory freed, reused and freed again counts once.
 */
int heap_trim_due(struct heap_trim *t, size_t free_now);
/* After a trim: free_after is the allocator's free bytes then (a trim leaves them free). */
void heap_trim_done(struct heap_trim *t, size_t free_after);

/* Reads the allocator's free bytes and trims when due. Returns 1 when it trimmed, else 0. */
int heap_trim_tick(struct heap_trim *t);
/* Trims done so far. */
uint64_t heap_trim_count(const struct heap_trim *t);

#endif
