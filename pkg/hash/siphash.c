/* siphash: SipHash-2-4 (Aumasson and Bernstein), written from the paper's description. */
#include "hash/siphash.h"

#include <string.h>

static uint64_t rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

static uint64_t load_le64(const uint8_t *p)
{
	uint64_t x = 0;
	for (int i = 7; i >= 0; i--)
		x = (x << 8) | p[i];
	return x;
}

static void sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl(v[1], 13);
	v[1] ^= v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3];
	v[3] = rotl(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = rotl(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = rotl(v[1], 17);
	v[1] ^= v[2];
	v[2] = rotl(v[2], 32);
}

static void compress(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sipround(v);
	sipround(v);
	v[0] ^= m;
}

void siphash_init(struct siphash *h, const uint8_t key[16])
{
	uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
	h->v[0] = k0 ^ 0x736f6d6570736575ULL;
	h->v[1] = k1 ^ 0x646f72616e646f6dULL;
	h->v[2] = k0 ^ 0x6c7967656e657261ULL;
	h->v[3] = k1 ^ 0x7465646279746573ULL;
	h->ntail = 0;
	h->len = 0;
}

void siphash_update(struct siphash *h, const void *data, size_t len)
{
	const uint8_t *p = data;
	h->len += len;
	while (len) {
		size_t take = 8 - h->ntail;
		if (take > len)
			take = len;
		memcpy(h->tail + h->ntail, p, take);
		h->ntail += take;
		p += take;
		len -= take;
		if (h->ntail == 8) {
			compress(h->v, load_le64(h->tail));
			h->ntail = 0;
		}
	}
}

uint64_t siphash_final(const struct siphash *h)
{
	uint64_t v[4] = { h->v[0], h->v[1], h->v[2], h->v[3] };
	uint64_t b = h->len << 56;
	for (size_t i = 0; i < h->ntail; i++)
		b |= (uint64_t)h->tail[i] << (8 * i);
	compress(v, b);
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

uint64_t siphash_sum(const uint8_t key[16], const void *data, size_t len)
{
	struct siphash h;
	siphash_init(&h, key);
	siphash_update(&h, data, len);
	return siphash_final(&h);
}
