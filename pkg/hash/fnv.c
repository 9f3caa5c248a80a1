/* fnv: FNV-1a (see fnv.h). */
#include "hash/fnv.h"

#define FNV_PRIME 1099511628211ull

uint64_t fnv_add(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * FNV_PRIME;
	return h;
}

uint64_t fnv_str(const char *s)
{
	uint64_t h = FNV_BASIS;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * FNV_PRIME;
	return h;
}
