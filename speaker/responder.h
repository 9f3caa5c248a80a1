/* responder: answers ARP and NDP for the announced (address, interface) pairs with libpcap, on the
 * event loop, and announces them with gratuitous ARP / unsolicited NA. */
#ifndef L2LB_SPEAKER_RESPONDER_H
#define L2LB_SPEAKER_RESPONDER_H

#include "log/log.h"
#include "loop/loop.h"
#include "net/arp.h"
#include "net/link.h"
#include "net/ndp.h"
#include "net/netaddr.h"

#include <stddef.h>
#include <stdint.h>

struct responder;

/* How another host was seen claiming an address we announce. */
enum responder_seen {
	RESPONDER_SEEN_ARP_REQUEST, /* an ARP request (a gratuitous one included) with it as sender
				     */
	RESPONDER_SEEN_ARP_REPLY,   /* an ARP reply with it as sender */
	RESPONDER_SEEN_NA,	    /* a Neighbor Advertisement for it */
};

const char *responder_seen_str(enum responder_seen s);

/* Another MAC claims addr on ifindex: the owner may be in a split brain and should act. */
struct responder_conflict {
	const struct netaddr *addr; /* borrowed for the callback's duration */
	int ifindex;
	uint8_t mac[ETH_ADDR_LEN];
	enum responder_seen how;
};

typedef void (*responder_conflict_cb)(const struct responder_conflict *c, void *arg);

/* What the responder tells an observer (the speaker's metrics), as each thing happens. */
enum responder_event {
	RESPONDER_EV_REQUEST,  /* a well-formed ARP request or NS was seen */
	RESPONDER_EV_REPLY,    /* an ARP reply or NA answering one was sent */
	RESPONDER_EV_ANNOUNCE, /* a gratuitous ARP or unsolicited NA frame was sent */
	RESPONDER_EV_DROP,     /* a malformed frame was dropped */
	RESPONDER_EV_UP,       /* an address starts being answered on an interface */
	RESPONDER_EV_DOWN,     /* an address stops being answered on an interface */
};

const char *responder_event_str(enum responder_event e);

struct responder_event_info {
	enum responder_event ev;
	int ipv6;		    /* NDP rather than ARP */
	const char *iface;	    /* the interface's name */
	const struct netaddr *addr; /* the address concerned (a request's target); NULL for DROP */
	int ours;		    /* REQUEST: for an address answered on this interface */
	const char *reason;	    /* DROP: arp_verdict_str() / ndp_verdict_str(); else NULL */
};

/* Called on the loop for every event; everything in e is borrowed for the call. */
typedef void (*responder_observer)(const struct responder_event_info *e, void *arg);

struct responder_opts {
	/* Repeat the GARP / unsolicited NA every this many ms after the start burst; 0: never. */
	uint64_t garp_interval_ms;
	/*
	 * Called when another MAC (not one of this host's links) claims an announced address. When
	 * set, the capture filter also passes ARP replies and NAs, which are otherwise kept in the
	 * kernel.
	 */
	responder_conflict_cb on_conflict;
	void *arg;
	/* Told of every request, answer, announcement, drop and (address, interface) change;
	 * NULL: nobody. Must not call back into the responder. */
	responder_observer observe;
	void *observe_arg;
};

/* Per-interface counters, kept from the first announcement on that interface until free. */
struct responder_counters {
	uint64_t requests_seen;	     /* well-formed ARP requests and NS */
	uint64_t replies_sent;	     /* ARP replies and NA answering them */
	uint64_t not_ours;	     /* well-formed requests for addresses not announced here */
	uint64_t announcements_sent; /* gratuitous ARP and unsolicited NA frames */
	uint64_t send_errors;	     /* frames pcap_inject refused */
	uint64_t conflicts;	     /* claims by other MACs reported to on_conflict */
	uint64_t arp_drops[ARP_VERDICT_COUNT]; /* malformed ARP frames by arp_verdict */
	uint64_t ndp_drops[NDP_VERDICT_COUNT]; /* malformed NS/NA frames by ndp_verdict */
};

/*
 * Returns an owned responder, or NULL when out of memory. lp, lg and links are borrowed and
 * must outlive it; opts is copied. Nothing is captured until something is announced.
 */
struct responder *responder_new(struct loop *lp, struct log *lg, const struct link_set *links,
				const struct responder_opts *opts);
/* Stops answering for everything, leaves multicast groups, closes the captures. Accepts NULL. */
void responder_free(struct responder *r);

/*
 * Makes the set of interfaces answering for addr exactly ifindexes[0..n) (n == 0 withdraws it),
 * keeping only those that are up Ethernet links now. Pairs no longer wanted stop answering before
 * this returns; new pairs open the interface's capture if needed, join the solicited-node group
 * (IPv6) and send the gratuitous ARP / unsolicited NA burst (at once, +1.1 s, +2.2 s, then every
 * garp_interval_ms if set). Call it again after every link change (link_change_cb): a link that
 * went down is dropped, one that came back up is announced afresh; unchanged pairs cost nothing.
 * Returns 0, or -1 when some interface could not be used (logged; the others still answer).
 */
int responder_announce(struct responder *r, const struct netaddr *addr, const int *ifindexes,
		       size_t n);
/* Stops answering for addr on every interface before returning. */
void responder_withdraw(struct responder *r, const struct netaddr *addr);

/* Whether addr is answered on ifindex right now. */
int responder_is_announcing(const struct responder *r, const struct netaddr *addr, int ifindex);

/* The ifindexes that have counters (up to cap written to out); returns how many there are. */
size_t responder_interfaces(const struct responder *r, int *out, size_t cap);
/* Copies ifindex's counters to *out; returns 0, or -1 when it has none. */
int responder_get_counters(const struct responder *r, int ifindex, struct responder_counters *out);

#endif
