/* Unit tests for pkg/heap: when freed heap pages are handed back, and that they are. */
#include "heap/heap.h"
#include "unit.h"

#include <string.h>

START_TEST(due_only_after_threshold_growth)
{
	struct heap_trim *t = heap_trim_new(1000);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(heap_trim_due(t, 500), 0);
	ck_assert_int_eq(heap_trim_due(t, 1000), 0);
	ck_assert_int_eq(heap_trim_due(t, 1001), 1);
	heap_trim_done(t, 1001);
	ck_assert_uint_eq(heap_trim_count(t), 1);
	/* A trim leaves the bytes free: the same level is not due again. */
	ck_assert_int_eq(heap_trim_due(t, 1001), 0);
	ck_assert_int_eq(heap_trim_due(t, 1900), 0);
	/* Reused, then freed again: growth counts from the lowest level seen. */
	ck_assert_int_eq(heap_trim_due(t, 300), 0);
	ck_assert_int_eq(heap_trim_due(t, 1200), 0);
	ck_assert_int_eq(heap_trim_due(t, 1301), 1);
	heap_trim_free(t);
	heap_trim_free(NULL);
}
END_TEST

START_TEST(default_threshold_is_one_mib)
{
	struct heap_trim *t = heap_trim_new(0);
	ck_assert_int_eq(heap_trim_due(t, 1 << 20), 0);
	ck_assert_int_eq(heap_trim_due(t, (1 << 20) + 1), 1);
	heap_trim_free(t);
}
END_TEST

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#ifndef UNDER_ASAN
static long rss_anon_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "RssAnon:", 8) == 0)
			kb = strtol(line + 8, NULL, 10);
	if (f != NULL)
		fclose(f);
	return kb;
}
#endif

/* Freed small chunks under a live one stay resident until the trim, and not after it. */
START_TEST(tick_gives_pages_back)
{
#ifdef UNDER_ASAN
	/* ASan's allocator is not glibc's: nothing to trim. */
	return;
#else
	enum { N = 40000, SZ = 400 };
	static void *p[N];
	/* Through volatile pointers: a malloc() that a free() undoes may be optimised away. */
	void *(*volatile alloc)(size_t) = malloc;
	void (*volatile release)(void *) = free;
	struct heap_trim *t = heap_trim_new(0);
	ck_assert_int_eq(heap_trim_tick(t), 0);
	for (int i = 0; i < N; i++) {
		p[i] = alloc(SZ);
		ck_assert_ptr_nonnull(p[i]);
		memset(p[i], 0xa5, SZ);
	}
	void *top = alloc(SZ); /* keeps the heap's top from shrinking on its own */
	for (int i = 0; i < N; i++)
		release(p[i]);
	long before = rss_anon_kb();
	ck_assert_int_eq(heap_trim_tick(t), 1);
	long after = rss_anon_kb();
	ck_assert_msg(before - after > 8 * 1024, "RssAnon %ld KiB: %ld, then %ld", before - after,
		      before, after);
	/* Nothing new came free: no second trim. */
	ck_assert_int_eq(heap_trim_tick(t), 0);
	ck_assert_uint_eq(heap_trim_count(t), 1);
	release(top);
	heap_trim_free(t);
#endif
}
END_TEST

static Suite *heap_suite(void)
{
	Suite *s = suite_create("heap");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, due_only_after_threshold_growth);
	tcase_add_test(tc, default_threshold_is_one_mib);
	tcase_add_test(tc, tick_gives_pages_back);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(heap_suite)
