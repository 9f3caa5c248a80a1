/* eth: the Ethernet II header with an optional 802.1Q tag, parsed and written for arp and ndp
 * (pure). */
#ifndef L2LB_NET_ETH_H
#define L2LB_NET_ETH_H

#include <stddef.h>
#include <stdint.h>

#define ETH_ADDR_LEN 6
#define ETH_HDR_LEN  14
#define ETH_VLAN_LEN 4

#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_ARP  0x0806
#define ETH_TYPE_VLAN 0x8100
#define ETH_TYPE_QINQ 0x88a8
#define ETH_TYPE_IPV6 0x86dd

enum eth_verdict {
	ETH_OK,
	ETH_SHORT,	  /* shorter than the header (and tag) it announces */
	ETH_VLAN_STACKED, /* 802.1ad or a second tag: never ours */
};

/* One frame's link header. vlan is the 802.1Q VLAN id, 0 when untagged or priority-tagged. */
struct eth_hdr {
	uint8_t dst[ETH_ADDR_LEN];
	uint8_t src[ETH_ADDR_LEN];
	uint16_t vlan;
	uint16_t type; /* the inner EtherType, after any tag */
	size_t len;    /* bytes of header, tag included: where the payload starts */
};

enum eth_verdict eth_parse(const uint8_t *p, size_t len, struct eth_hdr *out);

/* Writes a header (with a tag when vlan != 0); returns its length, or 0 when cap is too small. */
size_t eth_build(uint8_t *buf, size_t cap, const uint8_t dst[ETH_ADDR_LEN],
		 const uint8_t src[ETH_ADDR_LEN], uint16_t vlan, uint16_t type);

int eth_is_broadcast(const uint8_t a[ETH_ADDR_LEN]);
/* Multicast and broadcast both have the group bit set. */
int eth_is_multicast(const uint8_t a[ETH_ADDR_LEN]);
int eth_is_zero(const uint8_t a[ETH_ADDR_LEN]);

/* Big-endian loads and stores, so no code casts a buffer to a wider type. */
static inline uint16_t eth_get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline void eth_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

#endif
