/* siphash: SipHash-2-4, a keyed 64-bit hash with good distribution for names (pure). */
#ifndef L2LB_HASH_SIPHASH_H
#define L2LB_HASH_SIPHASH_H

/*
 * Used where every process must agree on the same hash of the same strings (rendezvous
 * ranking, lease names), so the key is a published constant there, not a secret. The state
 * lives in the caller's storage; feed it any number of pieces, then take the value.
 */

#include <stddef.h>
#include <stdint.h>

struct siphash {
	uint64_t v[4];
	uint8_t tail[8];
	size_t ntail;
	uint64_t len;
};

void siphash_init(struct siphash *h, const uint8_t key[16]);
void siphash_update(struct siphash *h, const void *data, size_t len);
uint64_t siphash_final(const struct siphash *h);

/* One call: the hash of data[0..len). */
uint64_t siphash_sum(const uint8_t key[16], const void *data, size_t len);

#endif
