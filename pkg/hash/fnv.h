/* fnv: FNV-1a, an unkeyed 64-bit hash for in-memory tables and change digests (pure). */
#ifndef L2LB_HASH_FNV_H
#define L2LB_HASH_FNV_H

#include <stddef.h>
#include <stdint.h>

/*
 * Fast and good enough for hash tables of names and for noticing that a record changed; not
 * for anything an adversary could aim at, nor for values that must agree between processes
 * (rendezvous ranking and lease names use siphash with a published key).
 */
#define FNV_BASIS 14695981039346656037ull

/* h fed with the n bytes at p; start from FNV_BASIS. */
uint64_t fnv_add(uint64_t h, const void *p, size_t n);
/* The hash of the NUL-terminated s. */
uint64_t fnv_str(const char *s);

#endif
