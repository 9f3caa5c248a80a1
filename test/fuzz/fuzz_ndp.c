/* libFuzzer target for pkg/net/ndp: any bytes parse without a crash, and an accepted NS builds
 * an NA that parses back as an NA for the same target. */
#include "net/ndp.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ndp_ifc ifc = { .mac = { 2, 0, 0, 0, 0, 2 }, .vlan = 0 };
	struct ndp_msg m, r;
	uint8_t out[NDP_FRAME_MAX];
	/* A copy of exactly size bytes, so ASan sees any read past the end. */
	uint8_t *p = malloc(size ? size : 1);

	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	/* Most mutations break the checksum; fix it up on every other input to go deeper. */
	if (size >= 58 && (size & 1) && p[12] == 0x86 && p[13] == 0xdd) {
		size_t plen = (size_t)p[18] << 8 | p[19];
		if (plen > size - 54)
			plen = size - 54;
		uint16_t c = ndp_checksum(p + 22, p + 38, p + 54, plen);
		p[56] = (uint8_t)(c >> 8);
		p[57] = (uint8_t)c;
	}
	if (ndp_parse(p, size, &ifc, &m) == NDP_NS) {
		size_t n = ndp_build_na(out, sizeof(out), ifc.mac, m.target, ndp_answer_kind(&m),
					&m, 0);
		struct ndp_ifc peer = { .vlan = m.vlan };
		memcpy(peer.mac, m.has_lla ? m.lla : m.eth_src, ETH_ADDR_LEN);
		if (n == 0 || ndp_parse(out, n, &peer, &r) != NDP_NA ||
		    memcmp(r.target, m.target, 16) != 0)
			abort();
	}
	free(p);
	return 0;
}
