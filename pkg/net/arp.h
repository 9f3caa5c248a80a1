/* arp: parse and build Ethernet/IPv4 ARP frames (RFC 826, RFC 5227) the way Linux checks and
 * forms them; pure, so the responder's decisions are unit-tested and fuzzed without a network. */
#ifndef L2LB_NET_ARP_H
#define L2LB_NET_ARP_H

#include "net/eth.h"

#include <stddef.h>
#include <stdint.h>

/* An untagged ARP frame as Linux sends it (no padding: the NIC pads to 60 bytes). */
#define ARP_FRAME_LEN 42
/* Room for any frame the builders write, an 802.1Q tag included. */
#define ARP_FRAME_MAX (ARP_FRAME_LEN + ETH_VLAN_LEN)

#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY   2

/* The interface a frame arrived on, as far as checking it goes. */
struct arp_ifc {
	uint8_t mac[ETH_ADDR_LEN];
	uint16_t vlan; /* the VLAN id whose tagged frames it answers; 0: untagged frames only */
};

/* A parsed ARP packet; the addresses are in wire order. */
struct arp_msg {
	uint8_t eth_dst[ETH_ADDR_LEN];
	uint8_t eth_src[ETH_ADDR_LEN];
	uint16_t vlan;
	uint16_t op;
	uint8_t sha[ETH_ADDR_LEN];
	uint8_t spa[4];
	uint8_t tha[ETH_ADDR_LEN];
	uint8_t tpa[4];
};

enum arp_verdict {
	ARP_REQUEST,	     /* well formed request (a probe has spa 0.0.0.0) */
	ARP_REPLY,	     /* well formed reply */
	ARP_DROP_SHORT,	     /* frame ends before the header or the ARP body */
	ARP_DROP_ETHERTYPE,  /* not 0x0806 */
	ARP_DROP_VLAN,	     /* tagged with a VLAN the interface is not on, or stacked tags */
	ARP_DROP_ETH_DST,    /* Ethernet destination neither broadcast nor ours */
	ARP_DROP_ETH_SRC,    /* Ethernet source multicast or zero */
	ARP_DROP_HTYPE,	     /* hardware type not Ethernet (1) */
	ARP_DROP_PTYPE,	     /* protocol type not IPv4 */
	ARP_DROP_HLEN,	     /* hardware address length not 6 */
	ARP_DROP_PLEN,	     /* protocol address length not 4 */
	ARP_DROP_OPCODE,     /* neither request nor reply */
	ARP_DROP_SENDER_MAC, /* sender hardware address multicast or zero */
	ARP_DROP_SENDER_IP,  /* sender multicast, broadcast or loopback: a martian source */
	ARP_DROP_TARGET_IP,  /* target multicast, broadcast or loopback: never answered */
};

#define ARP_VERDICT_COUNT (ARP_DROP_TARGET_IP + 1)

/* The verdict's name for logs, metrics and tests ("drop_eth_dst"). */
const char *arp_verdict_str(enum arp_verdict v);

/* Checks one frame as received on ifc; on ARP_REQUEST or ARP_REPLY fills *out. */
enum arp_verdict arp_parse(const uint8_t *p, size_t len, const struct arp_ifc *ifc,
			   struct arp_msg *out);

/*
 * The unicast reply to req for its target address, from mac, as Linux's arp_process forms it
 * (to the sender's hardware address; tpa stays 0.0.0.0 for a probe). Tagged like req.
 * Returns the frame's length, or 0 when cap is too small.
 */
size_t arp_build_reply(uint8_t *buf, size_t cap, const uint8_t mac[ETH_ADDR_LEN],
		       const struct arp_msg *req);

enum arp_garp_form {
	ARP_GARP_REQUEST, /* op 1, spa = tpa = ip, tha zero (RFC 5227 announcement) */
	ARP_GARP_REPLY,	  /* op 2, spa = tpa = ip, tha = mac */
};

/* A broadcast gratuitous ARP for ip (4 bytes) from mac; returns the length or 0 (cap). */
size_t arp_build_garp(uint8_t *buf, size_t cap, const uint8_t mac[ETH_ADDR_LEN],
		      const uint8_t ip[4], uint16_t vlan, enum arp_garp_form form);

#endif
