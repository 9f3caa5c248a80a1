/* libFuzzer target for pkg/net/arp: any bytes parse without a crash, and an accepted request
 * builds a reply that parses back as a reply. */
#include "net/arp.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct arp_ifc ifc = { .mac = { 2, 0, 0, 0, 0, 2 }, .vlan = 0 };
	struct arp_msg m, r;
	uint8_t out[ARP_FRAME_MAX];
	/* A copy of exactly size bytes, so ASan sees any read past the end. */
	uint8_t *p = malloc(size ? size : 1);

	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	if (arp_parse(p, size, &ifc, &m) == ARP_REQUEST) {
		size_t n = arp_build_reply(out, sizeof(out), ifc.mac, &m);
		struct arp_ifc peer = { .vlan = m.vlan };
		memcpy(peer.mac, m.sha, ETH_ADDR_LEN);
		if (n == 0 || arp_parse(out, n, &peer, &r) != ARP_REPLY)
			abort();
	}
	free(p);
	return 0;
}
