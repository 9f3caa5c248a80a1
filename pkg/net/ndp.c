/* ndp: validation mirrors RFC 4861 7.1.1/7.1.2 and net/ipv6/ndisc.c, since libpcap bypasses it. */
#include "net/ndp.h"

#include <string.h>

#define IP6_HDR_LEN	40
#define IP6_NH_ICMP6	58
#define NDP_BODY_LEN	24
#define NDP_OPT_SLLA	1
#define NDP_OPT_TLLA	2
#define NDP_LLA_OPT_LEN 8

const char *ndp_verdict_str(enum ndp_verdict v)
{
	switch (v) {
	case NDP_NS:
		return "ns";
	case NDP_NA:
		return "na";
	case NDP_DROP_SHORT:
		return "drop_short";
	case NDP_DROP_ETHERTYPE:
		return "drop_ethertype";
	case NDP_DROP_VLAN:
		return "drop_vlan";
	case NDP_DROP_ETH_DST:
		return "drop_eth_dst";
	case NDP_DROP_IP_VERSION:
		return "drop_ip_version";
	case NDP_DROP_NEXT_HEADER:
		return "drop_next_header";
	case NDP_DROP_HOP_LIMIT:
		return "drop_hop_limit";
	case NDP_DROP_ICMP_TYPE:
		return "drop_icmp_type";
	case NDP_DROP_ICMP_CODE:
		return "drop_icmp_code";
	case NDP_DROP_ICMP_LENGTH:
		return "drop_icmp_length";
	case NDP_DROP_CHECKSUM:
		return "drop_checksum";
	case NDP_DROP_SRC_MULTICAST:
		return "drop_src_multicast";
	case NDP_DROP_TARGET_MULTICAST:
		return "drop_target_multicast";
	case NDP_DROP_IP_DST:
		return "drop_ip_dst";
	case NDP_DROP_OPT_ZERO_LEN:
		return "drop_opt_zero_len";
	case NDP_DROP_OPT_TRUNCATED:
		return "drop_opt_truncated";
	case NDP_DROP_LLA_LEN:
		return "drop_lla_len";
	case NDP_DROP_NO_SLLA:
		return "drop_no_slla";
	case NDP_DROP_DAD_SLLA:
		return "drop_dad_slla";
	case NDP_DROP_DAD_DST:
		return "drop_dad_dst";
	case NDP_DROP_NA_SOLICITED_MCAST:
		return "drop_na_solicited_mcast";
	}
	return "unknown";
}

static int ip6_is_multicast(const uint8_t a[16])
{
	return a[0] == 0xff;
}

static int ip6_is_unspecified(const uint8_t a[16])
{
	static const uint8_t z[16];

	return memcmp(a, z, 16) == 0;
}

void ndp_solicited_node(const uint8_t addr[16], uint8_t group[16])
{
	static const uint8_t prefix[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };

	memcpy(group, prefix, sizeof(prefix));
	memcpy(group + 13, addr + 13, 3);
}

void ndp_multicast_mac(const uint8_t group[16], uint8_t mac[ETH_ADDR_LEN])
{
	mac[0] = 0x33;
	mac[1] = 0x33;
	memcpy(mac + 2, group + 12, 4);
}

/* The ICMPv6 checksum over the pseudo-header and msg, with msg's checksum field included. */
static uint16_t icmp6_sum(const uint8_t src[16], const uint8_t dst[16], const uint8_t *msg,
			  size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < 16; i += 2)
		sum += eth_get16(src + i) + eth_get16(dst + i);
	sum += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff) + IP6_NH_ICMP6;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += eth_get16(msg + i);
	if (len & 1)
		sum += (uint32_t)msg[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint16_t ndp_checksum(const uint8_t src[16], const uint8_t dst[16], const uint8_t *msg, size_t len)
{
	uint32_t sum = icmp6_sum(src, dst, msg, len);

	/* Take the current field back out, so the result does not depend on it. */
	if (len >= 4) {
		sum += (uint16_t)~eth_get16(msg + 2);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)~sum;
}

/* Walks the options after the fixed part; finds the link-layer option of type want. */
static enum ndp_verdict parse_opts(const uint8_t *o, size_t len, uint8_t want, struct ndp_msg *m)
{
	m->has_lla = 0;
	while (len > 0) {
		if (len < 2)
			return NDP_DROP_OPT_TRUNCATED;
		size_t olen = (size_t)o[1] * 8;
		if (olen == 0)
			return NDP_DROP_OPT_ZERO_LEN;
		if (olen > len)
			return NDP_DROP_OPT_TRUNCATED;
		if (o[0] == want && !m->has_lla) {
			if (olen != NDP_LLA_OPT_LEN)
				return NDP_DROP_LLA_LEN;
			memcpy(m->lla, o + 2, ETH_ADDR_LEN);
			m->has_lla = 1;
		}
		o += olen;
		len -= olen;
	}
	return NDP_NS; /* "no objection"; the caller picks the real verdict */
}

static enum ndp_verdict check_ns(struct ndp_msg *m)
{
	uint8_t group[16];

	ndp_solicited_node(m->target, group);
	if (ip6_is_unspecified(m->src)) {
		if (m->has_lla)
			return NDP_DROP_DAD_SLLA;
		if (memcmp(m->dst, group, 16) != 0)
			return NDP_DROP_DAD_DST;
		return NDP_NS;
	}
	if (!m->has_lla)
		return NDP_DROP_NO_SLLA;
	if (memcmp(m->dst, group, 16) != 0 && memcmp(m->dst, m->target, 16) != 0)
		return NDP_DROP_IP_DST;
	return NDP_NS;
}

enum ndp_verdict ndp_parse(const uint8_t *p, size_t len, const struct ndp_ifc *ifc,
			   struct ndp_msg *out)
{
	struct eth_hdr eh;
	struct ndp_msg m;

	switch (eth_parse(p, len, &eh)) {
	case ETH_OK:
		break;
	case ETH_SHORT:
		return NDP_DROP_SHORT;
	case ETH_VLAN_STACKED:
		return NDP_DROP_VLAN;
	}
	if (eh.type != ETH_TYPE_IPV6)
		return NDP_DROP_ETHERTYPE;
	if (eh.vlan != ifc->vlan)
		return NDP_DROP_VLAN;
	if (!(eh.dst[0] == 0x33 && eh.dst[1] == 0x33) &&
	    memcmp(eh.dst, ifc->mac, ETH_ADDR_LEN) != 0)
		return NDP_DROP_ETH_DST;
	if (len - eh.len < IP6_HDR_LEN)
		return NDP_DROP_SHORT;

	const uint8_t *ip = p + eh.len;
	if ((ip[0] >> 4) != 6)
		return NDP_DROP_IP_VERSION;
	size_t plen = eth_get16(ip + 4);
	if (ip[6] != IP6_NH_ICMP6)
		return NDP_DROP_NEXT_HEADER;
	if (plen > len - eh.len - IP6_HDR_LEN)
		return NDP_DROP_SHORT;
	if (plen < 4)
		return NDP_DROP_ICMP_LENGTH;

	const uint8_t *icmp = ip + IP6_HDR_LEN;
	if (icmp[0] != NDP_TYPE_NS && icmp[0] != NDP_TYPE_NA)
		return NDP_DROP_ICMP_TYPE;
	if (ip[7] != 255)
		return NDP_DROP_HOP_LIMIT;
	if (icmp[1] != 0)
		return NDP_DROP_ICMP_CODE;
	if (plen < NDP_BODY_LEN)
		return NDP_DROP_ICMP_LENGTH;
	memcpy(m.src, ip + 8, 16);
	memcpy(m.dst, ip + 24, 16);
	if (icmp6_sum(m.src, m.dst, icmp, plen) != 0xffff)
		return NDP_DROP_CHECKSUM;
	if (ip6_is_multicast(m.src))
		return NDP_DROP_SRC_MULTICAST;
	m.type = icmp[0];
	m.flags = m.type == NDP_TYPE_NA ? icmp[4] & 0xe0 : 0;
	memcpy(m.target, icmp + 8, 16);
	if (ip6_is_multicast(m.target))
		return NDP_DROP_TARGET_MULTICAST;

	enum ndp_verdict v = parse_opts(icmp + NDP_BODY_LEN, plen - NDP_BODY_LEN,
					m.type == NDP_TYPE_NS ? NDP_OPT_SLLA : NDP_OPT_TLLA, &m);
	if (v != NDP_NS)
		return v;
	if (m.type == NDP_TYPE_NS) {
		v = check_ns(&m);
		if (v != NDP_NS)
			return v;
	} else {
		if (ip6_is_multicast(m.dst) && (m.flags & NDP_NA_SOLICITED))
			return NDP_DROP_NA_SOLICITED_MCAST;
		v = NDP_NA;
	}
	memcpy(m.eth_dst, eh.dst, ETH_ADDR_LEN);
	memcpy(m.eth_src, eh.src, ETH_ADDR_LEN);
	m.vlan = eh.vlan;
	*out = m;
	return v;
}

enum ndp_na_kind ndp_answer_kind(const struct ndp_msg *ns)
{
	return ip6_is_unspecified(ns->src) ? NDP_NA_KIND_DAD : NDP_NA_KIND_SOLICITED;
}

/*
 * Writes Ethernet + IPv6 + a 24-byte NS/NA body + an optional link-layer option, then the checksum.
 * word is the 4 bytes after the checksum (NA flags, or zero).
 */
static size_t build_nd(uint8_t *buf, size_t cap, const uint8_t eth_dst[ETH_ADDR_LEN],
		       const uint8_t mac[ETH_ADDR_LEN], uint16_t vlan, const uint8_t src[16],
		       const uint8_t dst[16], uint8_t type, uint8_t flags, const uint8_t target[16],
		       uint8_t opt)
{
	size_t h = eth_build(buf, cap, eth_dst, mac, vlan, ETH_TYPE_IPV6);
	size_t plen = NDP_BODY_LEN + (opt != 0 ? NDP_LLA_OPT_LEN : 0);

	if (h == 0 || cap - h < IP6_HDR_LEN + plen)
		return 0;
	uint8_t *ip = buf + h;
	memset(ip, 0, IP6_HDR_LEN + plen);
	ip[0] = 0x60;
	eth_put16(ip + 4, (uint16_t)plen);
	ip[6] = IP6_NH_ICMP6;
	ip[7] = 255;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	uint8_t *icmp = ip + IP6_HDR_LEN;
	icmp[0] = type;
	icmp[4] = flags;
	memcpy(icmp + 8, target, 16);
	if (opt != 0) {
		icmp[24] = opt;
		icmp[25] = 1;
		memcpy(icmp + 26, mac, ETH_ADDR_LEN);
	}
	eth_put16(icmp + 2, (uint16_t)~icmp6_sum(src, dst, icmp, plen));
	return h + IP6_HDR_LEN + plen;
}

size_t ndp_build_na(uint8_t *buf, size_t cap, const uint8_t mac[ETH_ADDR_LEN],
		    const uint8_t target[16], enum ndp_na_kind kind, const struct ndp_msg *ns,
		    uint16_t vlan)
{
	static const uint8_t all_nodes[16] = {
		0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
	};
	uint8_t eth_dst[ETH_ADDR_LEN];

	if (ns != NULL)
		vlan = ns->vlan;
	switch (kind) {
	case NDP_NA_KIND_SOLICITED:
		if (ns == NULL)
			return 0;
		memcpy(eth_dst, ns->has_lla ? ns->lla : ns->eth_src, ETH_ADDR_LEN);
		return build_nd(buf, cap, eth_dst, mac, vlan, target, ns->src, NDP_TYPE_NA,
				NDP_NA_SOLICITED | NDP_NA_OVERRIDE, target, NDP_OPT_TLLA);
	case NDP_NA_KIND_DAD:
	case NDP_NA_KIND_UNSOLICITED:
		break;
	}
	ndp_multicast_mac(all_nodes, eth_dst);
	return build_nd(buf, cap, eth_dst, mac, vlan, target, all_nodes, NDP_TYPE_NA,
			NDP_NA_OVERRIDE, target, NDP_OPT_TLLA);
}

size_t ndp_build_ns(uint8_t *buf, size_t cap, const uint8_t mac[ETH_ADDR_LEN],
		    const uint8_t src[16], const uint8_t target[16], uint16_t vlan)
{
	uint8_t group[16], eth_dst[ETH_ADDR_LEN];

	ndp_solicited_node(target, group);
	ndp_multicast_mac(group, eth_dst);
	return build_nd(buf, cap, eth_dst, mac, vlan, src, group, NDP_TYPE_NS, 0, target,
			ip6_is_unspecified(src) ? 0 : NDP_OPT_SLLA);
}
