/* heap: returning freed heap pages (see heap.h). */
#include "heap/heap.h"

#include <malloc.h>
#include <stdlib.h>

struct heap_trim {
	size_t threshold;
	size_t low; /* the fewest free bytes seen since the last trim */
	uint64_t trims;
};

struct heap_trim *heap_trim_new(size_t threshold)
{
	struct heap_trim *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->threshold = threshold != 0 ? threshold : (size_t)1 << 20;
	t->low = 0;
	return t;
}

void heap_trim_free(struct heap_trim *t)
{
	free(t);
}

int heap_trim_due(struct heap_trim *t, size_t free_now)
{
	if (free_now < t->low)
		t->low = free_now;
	return free_now - t->low > t->threshold;
}

void heap_trim_done(struct heap_trim *t, size_t free_after)
{
	t->low = free_after;
	t->trims++;
}

int heap_trim_tick(struct heap_trim *t)
{
	struct mallinfo2 mi = mallinfo2();

	if (!heap_trim_due(t, mi.fordblks))
		return 0;
	malloc_trim(0);
	mi = mallinfo2();
	heap_trim_done(t, mi.fordblks);
	return 1;
}

uint64_t heap_trim_count(const struct heap_trim *t)
{
	return t->trims;
}
