/* eth: Ethernet II and 802.1Q header parsing and writing. */
#include "net/eth.h"

#include <string.h>

enum eth_verdict eth_parse(const uint8_t *p, size_t len, struct eth_hdr *out)
{
	struct eth_hdr h;

	if (len < ETH_HDR_LEN)
		return ETH_SHORT;
	memcpy(h.dst, p, ETH_ADDR_LEN);
	memcpy(h.src, p + ETH_ADDR_LEN, ETH_ADDR_LEN);
	h.type = eth_get16(p + 12);
	h.vlan = 0;
	h.len = ETH_HDR_LEN;
	if (h.type == ETH_TYPE_QINQ)
		return ETH_VLAN_STACKED;
	if (h.type == ETH_TYPE_VLAN) {
		if (len < ETH_HDR_LEN + ETH_VLAN_LEN)
			return ETH_SHORT;
		h.vlan = eth_get16(p + 14) & 0x0fff;
		h.type = eth_get16(p + 16);
		h.len += ETH_VLAN_LEN;
		if (h.type == ETH_TYPE_VLAN || h.type == ETH_TYPE_QINQ)
			return ETH_VLAN_STACKED;
	}
	*out = h;
	return ETH_OK;
}

size_t eth_build(uint8_t *buf, size_t cap, const uint8_t dst[ETH_ADDR_LEN],
		 const uint8_t src[ETH_ADDR_LEN], uint16_t vlan, uint16_t type)
{
	size_t n = ETH_HDR_LEN + (vlan != 0 ? ETH_VLAN_LEN : 0);

	if (cap < n)
		return 0;
	memcpy(buf, dst, ETH_ADDR_LEN);
	memcpy(buf + ETH_ADDR_LEN, src, ETH_ADDR_LEN);
	if (vlan != 0) {
		eth_put16(buf + 12, ETH_TYPE_VLAN);
		eth_put16(buf + 14, vlan & 0x0fff);
	}
	eth_put16(buf + n - 2, type);
	return n;
}

int eth_is_broadcast(const uint8_t a[ETH_ADDR_LEN])
{
	static const uint8_t bc[ETH_ADDR_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	return memcmp(a, bc, ETH_ADDR_LEN) == 0;
}

int eth_is_multicast(const uint8_t a[ETH_ADDR_LEN])
{
	return (a[0] & 1) != 0;
}

int eth_is_zero(const uint8_t a[ETH_ADDR_LEN])
{
	static const uint8_t z[ETH_ADDR_LEN];

	return memcmp(a, z, ETH_ADDR_LEN) == 0;
}
