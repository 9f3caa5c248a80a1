/* ndp: parse and build ICMPv6 Neighbor Solicitation / Advertisement frames (RFC 4861) the way
 * Linux checks and forms them; pure, so the responder is unit-tested and fuzzed without a network.
 */
#ifndef L2LB_NET_NDP_H
#define L2LB_NET_NDP_H

#include "net/eth.h"

#include <stddef.h>
#include <stdint.h>

/* Ethernet + IPv6 + a 24-byte NS/NA + one 8-byte link-layer option. */
#define NDP_FRAME_LEN 86
/* Room for any frame the builders write, an 802.1Q tag included. */
#define NDP_FRAME_MAX (NDP_FRAME_LEN + ETH_VLAN_LEN)

#define NDP_TYPE_NS 135
#define NDP_TYPE_NA 136

/* Neighbor Advertisement flags, in the first byte after the checksum. */
#define NDP_NA_ROUTER	 0x80
#define NDP_NA_SOLICITED 0x40
#define NDP_NA_OVERRIDE	 0x20

/* The interface a frame arrived on, as far as checking it goes. */
struct ndp_ifc {
	uint8_t mac[ETH_ADDR_LEN];
	uint16_t vlan; /* the VLAN id whose tagged frames it answers; 0: untagged frames only */
};

/* A parsed NS or NA; lla is the source (NS) or target (NA) link-layer option when has_lla. */
struct ndp_msg {
	uint8_t eth_dst[ETH_ADDR_LEN];
	uint8_t eth_src[ETH_ADDR_LEN];
	uint16_t vlan;
	uint8_t type;  /* NDP_TYPE_NS or NDP_TYPE_NA */
	uint8_t flags; /* NA only: NDP_NA_* */
	uint8_t src[16];
	uint8_t dst[16];
	uint8_t target[16];
	int has_lla;
	uint8_t lla[ETH_ADDR_LEN];
};

enum ndp_verdict {
	NDP_NS,			   /* well formed solicitation */
	NDP_NA,			   /* well formed advertisement */
	NDP_DROP_SHORT,		   /* frame ends before a header or the length it announces */
	NDP_DROP_ETHERTYPE,	   /* not IPv6 */
	NDP_DROP_VLAN,		   /* tagged with a VLAN the interface is not on, or stacked tags */
	NDP_DROP_ETH_DST,	   /* Ethernet destination neither ours nor IPv6 multicast */
	NDP_DROP_IP_VERSION,	   /* IP version field not 6 */
	NDP_DROP_NEXT_HEADER,	   /* not ICMPv6 right after the IPv6 header */
	NDP_DROP_HOP_LIMIT,	   /* not 255: it crossed a router */
	NDP_DROP_ICMP_TYPE,	   /* an ICMPv6 message other than NS or NA */
	NDP_DROP_ICMP_CODE,	   /* code not 0 */
	NDP_DROP_ICMP_LENGTH,	   /* shorter than the 24 bytes NS and NA need */
	NDP_DROP_CHECKSUM,	   /* ICMPv6 checksum wrong */
	NDP_DROP_SRC_MULTICAST,	   /* IPv6 source is multicast */
	NDP_DROP_TARGET_MULTICAST, /* target address is multicast */
	NDP_DROP_IP_DST, /* NS neither to its target nor to the target's solicited-node group */
	NDP_DROP_OPT_ZERO_LEN,	/* an option with length 0 */
	NDP_DROP_OPT_TRUNCATED, /* an option running past the message */
	NDP_DROP_LLA_LEN,	/* a link-layer address option not 8 bytes long */
	NDP_DROP_NO_SLLA,	/* NS from a unicast source without a source link-layer option */
	NDP_DROP_DAD_SLLA,	/* NS from :: with a source link-layer option */
	NDP_DROP_DAD_DST,	/* NS from :: not sent to a solicited-node group */
	NDP_DROP_NA_SOLICITED_MCAST, /* NA to a multicast destination with Solicited set */
};

#define NDP_VERDICT_COUNT (NDP_DROP_NA_SOLICITED_MCAST + 1)

/* The verdict's name for logs, metrics and tests ("drop_checksum"). */
const char *ndp_verdict_str(enum ndp_verdict v);

/* Checks one frame as received on ifc; on NDP_NS or NDP_NA fills *out. */
enum ndp_verdict ndp_parse(const uint8_t *p, size_t len, const struct ndp_ifc *ifc,
			   struct ndp_msg *out);

enum ndp_na_kind {
	NDP_NA_KIND_SOLICITED, /* answer to ns: to its source and link-layer address, S=1 O=1 */
	NDP_NA_KIND_DAD, /* answer to a duplicate-address probe (source ::): ff02::1, S=0 O=1 */
	NDP_NA_KIND_UNSOLICITED, /* announcement: ff02::1, S=0 O=1 */
};

/* The kind of NA that answers ns: DAD when its source is ::, else solicited. */
enum ndp_na_kind ndp_answer_kind(const struct ndp_msg *ns);

/*
 * An NA for target (our address) from mac with a target link-layer option, hop limit 255, source
 * = target, as Linux's ndisc_send_na forms it. ns is the solicitation answered (its VLAN tag is
 * kept); NULL for an unsolicited NA, which is tagged with vlan. Returns the frame's length, or 0
 * when cap is too small or a solicited answer has no ns.
 */
size_t ndp_build_na(uint8_t *buf, size_t cap, const uint8_t mac[ETH_ADDR_LEN],
		    const uint8_t target[16], enum ndp_na_kind kind, const struct ndp_msg *ns,
		    uint16_t vlan);

/*
 * A multicast NS for target from src (:: for a duplicate-address probe, which then carries no
 * source link-layer option) and mac, as a host resolving target sends it. Returns the length or 0.
 */
size_t ndp_build_ns(uint8_t *buf, size_t cap, const uint8_t mac[ETH_ADDR_LEN],
		    const uint8_t src[16], const uint8_t target[16], uint16_t vlan);

/*
 * The ICMPv6 checksum field's value for msg[0..len) sent from src to dst (the field itself
 * counted as zero). The fuzzer uses it to reach the checks that follow the checksum.
 */
uint16_t ndp_checksum(const uint8_t src[16], const uint8_t dst[16], const uint8_t *msg, size_t len);

/* ff02::1:ffXX:XXXX, the solicited-node group of addr. */
void ndp_solicited_node(const uint8_t addr[16], uint8_t group[16]);

/* 33:33 + the group's last 4 bytes, the Ethernet address an IPv6 multicast group maps to. */
void ndp_multicast_mac(const uint8_t group[16], uint8_t mac[ETH_ADDR_LEN]);

#endif
