/* arp: validation mirrors net/ipv4/arp.c (arp_rcv, arp_process) since libpcap bypasses it. */
#include "net/arp.h"

#include <string.h>

#define ARP_BODY_LEN	28
#define ARP_HTYPE_ETHER 1

const char *arp_verdict_str(enum arp_verdict v)
{
	switch (v) {
	case ARP_REQUEST:
		return "request";
	case ARP_REPLY:
		return "reply";
	case ARP_DROP_SHORT:
		return "drop_short";
	case ARP_DROP_ETHERTYPE:
		return "drop_ethertype";
	case ARP_DROP_VLAN:
		return "drop_vlan";
	case ARP_DROP_ETH_DST:
		return "drop_eth_dst";
	case ARP_DROP_ETH_SRC:
		return "drop_eth_src";
	case ARP_DROP_HTYPE:
		return "drop_htype";
	case ARP_DROP_PTYPE:
		return "drop_ptype";
	case ARP_DROP_HLEN:
		return "drop_hlen";
	case ARP_DROP_PLEN:
		return "drop_plen";
	case ARP_DROP_OPCODE:
		return "drop_opcode";
	case ARP_DROP_SENDER_MAC:
		return "drop_sender_mac";
	case ARP_DROP_SENDER_IP:
		return "drop_sender_ip";
	case ARP_DROP_TARGET_IP:
		return "drop_target_ip";
	}
	return "unknown";
}

/* 224.0.0.0/4, 255.255.255.255 and 127.0.0.0/8 are never a neighbour's address. */
static int ip_unanswerable(const uint8_t ip[4])
{
	return (ip[0] & 0xf0) == 0xe0 || ip[0] == 127 ||
	       (ip[0] == 255 && ip[1] == 255 && ip[2] == 255 && ip[3] == 255);
}

enum arp_verdict arp_parse(const uint8_t *p, size_t len, const struct arp_ifc *ifc,
			   struct arp_msg *out)
{
	struct eth_hdr eh;
	struct arp_msg m;

	switch (eth_parse(p, len, &eh)) {
	case ETH_OK:
		break;
	case ETH_SHORT:
		return ARP_DROP_SHORT;
	case ETH_VLAN_STACKED:
		return ARP_DROP_VLAN;
	}
	if (eh.type != ETH_TYPE_ARP)
		return ARP_DROP_ETHERTYPE;
	if (eh.vlan != ifc->vlan)
		return ARP_DROP_VLAN;
	if (!eth_is_broadcast(eh.dst) && memcmp(eh.dst, ifc->mac, ETH_ADDR_LEN) != 0)
		return ARP_DROP_ETH_DST;
	if (eth_is_multicast(eh.src) || eth_is_zero(eh.src))
		return ARP_DROP_ETH_SRC;
	if (len - eh.len < ARP_BODY_LEN)
		return ARP_DROP_SHORT;

	const uint8_t *a = p + eh.len;
	if (eth_get16(a) != ARP_HTYPE_ETHER)
		return ARP_DROP_HTYPE;
	if (eth_get16(a + 2) != ETH_TYPE_IPV4)
		return ARP_DROP_PTYPE;
	if (a[4] != ETH_ADDR_LEN)
		return ARP_DROP_HLEN;
	if (a[5] != 4)
		return ARP_DROP_PLEN;
	m.op = eth_get16(a + 6);
	if (m.op != ARP_OP_REQUEST && m.op != ARP_OP_REPLY)
		return ARP_DROP_OPCODE;
	memcpy(m.sha, a + 8, ETH_ADDR_LEN);
	memcpy(m.spa, a + 14, 4);
	memcpy(m.tha, a + 18, ETH_ADDR_LEN);
	memcpy(m.tpa, a + 24, 4);
	if (eth_is_multicast(m.sha) || eth_is_zero(m.sha))
		return ARP_DROP_SENDER_MAC;
	if (ip_unanswerable(m.spa))
		return ARP_DROP_SENDER_IP;
	if (ip_unanswerable(m.tpa))
		return ARP_DROP_TARGET_IP;
	memcpy(m.eth_dst, eh.dst, ETH_ADDR_LEN);
	memcpy(m.eth_src, eh.src, ETH_ADDR_LEN);
	m.vlan = eh.vlan;
	*out = m;
	return m.op == ARP_OP_REQUEST ? ARP_REQUEST : ARP_REPLY;
}

static size_t arp_build(uint8_t *buf, size_t cap, const uint8_t eth_dst[ETH_ADDR_LEN],
			uint16_t vlan, uint16_t op, const uint8_t sha[ETH_ADDR_LEN],
			const uint8_t spa[4], const uint8_t tha[ETH_ADDR_LEN], const uint8_t tpa[4])
{
	size_t h = eth_build(buf, cap, eth_dst, sha, vlan, ETH_TYPE_ARP);

	if (h == 0 || cap - h < ARP_BODY_LEN)
		return 0;
	uint8_t *a = buf + h;
	eth_put16(a, ARP_HTYPE_ETHER);
	eth_put16(a + 2, ETH_TYPE_IPV4);
	a[4] = ETH_ADDR_LEN;
	a[5] = 4;
	eth_put16(a + 6, op);
	memcpy(a + 8, sha, ETH_ADDR_LEN);
	memcpy(a + 14, spa, 4);
	memcpy(a + 18, tha, ETH_ADDR_LEN);
	memcpy(a + 24, tpa, 4);
	return h + ARP_BODY_LEN;
}

size_t arp_build_reply(uint8_t *buf, size_t cap, const uint8_t mac[ETH_ADDR_LEN],
		       const struct arp_msg *req)
{
	return arp_build(buf, cap, req->sha, req->vlan, ARP_OP_REPLY, mac, req->tpa, req->sha,
			 req->spa);
}

size_t arp_build_garp(uint8_t *buf, size_t cap, const uint8_t mac[ETH_ADDR_LEN],
		      const uint8_t ip[4], uint16_t vlan, enum arp_garp_form form)
{
	static const uint8_t bcast[ETH_ADDR_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[ETH_ADDR_LEN];

	if (form == ARP_GARP_REQUEST)
		return arp_build(buf, cap, bcast, vlan, ARP_OP_REQUEST, mac, ip, zero, ip);
	return arp_build(buf, cap, bcast, vlan, ARP_OP_REPLY, mac, ip, mac, ip);
}
