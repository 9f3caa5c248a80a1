/* responder: one pcap handle per interface in use, the pure arp/ndp modules to judge and build
 * frames, loop timers for the announcement bursts, one UDP socket holding multicast memberships. */
#include "speaker/responder.h"
#include "speaker/caps.h"

#include "speaker/badframe.h"

#include <errno.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define GARP_BURST	  3
#define GARP_SPACING_MS	  1100 /* past Linux's 1 s ARP locktime, so each one is taken */
#define CAPTURE_SNAPLEN	  1518 /* whole frames: a long NS must not look truncated */
#define CAPTURE_BUFFER	  (1 << 20)
#define DISPATCH_ROUNDS	  8
#define DISPATCH_PER_CALL 64

/* ARP requests and NS only: everything else stays in the kernel. */
#define FILTER_ANSWER "(arp and arp[6:2] = 1) or (icmp6 and ip6[40] = 135)"
/* Also replies and NA, to see other hosts claiming our addresses. */
#define FILTER_WATCH "arp or (icmp6 and (ip6[40] = 135 or ip6[40] = 136))"

struct rif {
	struct responder *r;
	int ifindex;
	char name[IF_NAME_MAX];
	pcap_t *pc;
	struct loop_io io;
	int dispatching; /* inside pcap_dispatch: closing must wait until it returns */
	int close_pending;
	struct responder_counters c;
	struct badframe bad; /* the warning rate limit for malformed frames */
};

struct rpair {
	struct responder *r;
	struct netaddr addr;
	int ifindex;
	struct loop_timer garp;
	int garps_sent;
};

struct responder {
	struct loop *lp;
	struct log *lg;
	const struct link_set *links;
	struct responder_opts opts;
	struct rpair **pairs;
	size_t npairs, cappairs;
	struct rif **ifs;
	size_t nifs, capifs;
	int mcast_fd;
};

const char *responder_seen_str(enum responder_seen s)
{
	switch (s) {
	case RESPONDER_SEEN_ARP_REQUEST:
		return "arp_request";
	case RESPONDER_SEEN_ARP_REPLY:
		return "arp_reply";
	case RESPONDER_SEEN_NA:
		return "na";
	}
	return "unknown";
}

const char *responder_event_str(enum responder_event e)
{
	switch (e) {
	case RESPONDER_EV_REQUEST:
		return "request";
	case RESPONDER_EV_REPLY:
		return "reply";
	case RESPONDER_EV_ANNOUNCE:
		return "announce";
	case RESPONDER_EV_DROP:
		return "drop";
	case RESPONDER_EV_UP:
		return "up";
	case RESPONDER_EV_DOWN:
		return "down";
	}
	return "unknown";
}

static void observe(const struct responder *r, enum responder_event ev, const char *iface,
		    const struct netaddr *a, int ipv6, int ours, const char *reason)
{
	struct responder_event_info e = {
		.ev = ev, .ipv6 = ipv6, .iface = iface, .addr = a, .ours = ours, .reason = reason
	};

	if (r->opts.observe != NULL)
		r->opts.observe(&e, r->opts.observe_arg);
}

static const char *fmt_addr(const struct netaddr *a, char *buf)
{
	return netaddr_format(a, buf, NETADDR_STRLEN);
}

static struct rif *find_if(const struct responder *r, int ifindex)
{
	for (size_t i = 0; i < r->nifs; i++)
		if (r->ifs[i]->ifindex == ifindex)
			return r->ifs[i];
	return NULL;
}

static struct rpair *find_pair(const struct responder *r, const struct netaddr *a, int ifindex)
{
	for (size_t i = 0; i < r->npairs; i++)
		if (r->pairs[i]->ifindex == ifindex && netaddr_equal(&r->pairs[i]->addr, a))
			return r->pairs[i];
	return NULL;
}

static size_t pairs_on_if(const struct responder *r, int ifindex)
{
	size_t n = 0;

	for (size_t i = 0; i < r->npairs; i++)
		n += r->pairs[i]->ifindex == ifindex;
	return n;
}

/* The link to answer on, or NULL when it is gone, down or not Ethernet. */
static const struct if_info *usable_link(const struct responder *r, int ifindex)
{
	const struct if_info *l = link_set_by_index(r->links, ifindex);

	if (l == NULL || !l->up || !l->ethernet || l->loopback)
		return NULL;
	return l;
}

/* Returns 1 when the frame went out. */
static int send_frame(struct rif *f, const uint8_t *buf, size_t n, uint64_t *okc)
{
	if (n == 0)
		return 0;
	if (f->pc == NULL || pcap_inject(f->pc, buf, n) != (int)n) {
		f->c.send_errors++;
		log_debug(f->r->lg, "responder: send failed", "iface", f->name, "error",
			  f->pc != NULL ? pcap_geterr(f->pc) : "no capture");
		return 0;
	}
	(*okc)++;
	return 1;
}

static void report_conflict(struct rif *f, const struct netaddr *a, const uint8_t mac[],
			    enum responder_seen how)
{
	struct responder *r = f->r;
	struct responder_conflict c = { .addr = a, .ifindex = f->ifindex, .how = how };

	if (r->opts.on_conflict == NULL)
		return;
	/* Our own announcement heard on another of our links (two NICs on one LAN) is no rival. */
	size_t n;
	const struct if_info *links = link_set_links(r->links, &n);
	for (size_t i = 0; i < n; i++)
		if (memcmp(links[i].mac, mac, ETH_ADDR_LEN) == 0)
			return;
	memcpy(c.mac, mac, ETH_ADDR_LEN);
	f->c.conflicts++;
	r->opts.on_conflict(&c, r->opts.arg);
}

static void on_arp(struct rif *f, const struct if_info *l, const struct arp_msg *m)
{
	struct netaddr a;
	uint8_t out[ARP_FRAME_MAX];

	netaddr_from_bytes(m->spa, 4, &a);
	if (memcmp(m->sha, l->mac, ETH_ADDR_LEN) != 0 && find_pair(f->r, &a, f->ifindex) != NULL)
		report_conflict(f, &a, m->sha,
				m->op == ARP_OP_REQUEST ? RESPONDER_SEEN_ARP_REQUEST
							: RESPONDER_SEEN_ARP_REPLY);
	if (m->op != ARP_OP_REQUEST)
		return;
	f->c.requests_seen++;
	netaddr_from_bytes(m->tpa, 4, &a);
	int ours = find_pair(f->r, &a, f->ifindex) != NULL;
	observe(f->r, RESPONDER_EV_REQUEST, f->name, &a, 0, ours, NULL);
	if (!ours) {
		f->c.not_ours++;
		return;
	}
	if (send_frame(f, out, arp_build_reply(out, sizeof(out), l->mac, m), &f->c.replies_sent))
		observe(f->r, RESPONDER_EV_REPLY, f->name, &a, 0, 1, NULL);
}

static void on_ndp(struct rif *f, const struct if_info *l, const struct ndp_msg *m)
{
	struct netaddr a;
	uint8_t out[NDP_FRAME_MAX];

	netaddr_from_bytes(m->target, 16, &a);
	int ours = find_pair(f->r, &a, f->ifindex) != NULL;
	if (m->type == NDP_TYPE_NA) {
		const uint8_t *mac = m->has_lla ? m->lla : m->eth_src;
		if (ours && memcmp(mac, l->mac, ETH_ADDR_LEN) != 0)
			report_conflict(f, &a, mac, RESPONDER_SEEN_NA);
		return;
	}
	f->c.requests_seen++;
	observe(f->r, RESPONDER_EV_REQUEST, f->name, &a, 1, ours, NULL);
	if (!ours) {
		f->c.not_ours++;
		return;
	}
	if (send_frame(f, out,
		       ndp_build_na(out, sizeof(out), l->mac, m->target, ndp_answer_kind(m), m, 0),
		       &f->c.replies_sent))
		observe(f->r, RESPONDER_EV_REPLY, f->name, &a, 1, 1, NULL);
}

/*
 * A malformed frame: counted always, said at most once per interface per period (a flood of
 * garbage must not become a flood of log lines), with how many went unsaid.
 */
static void bad_frame(struct rif *f, int ipv6, const char *reason)
{
	uint64_t quiet;
	char b[24];

	observe(f->r, RESPONDER_EV_DROP, f->name, NULL, ipv6, 0, reason);
	if (badframe_note(&f->bad, (int64_t)loop_now_ms(f->r->lp), BADFRAME_PERIOD_MS, &quiet))
		log_warn(f->r->lg, "responder: malformed frames dropped", "iface", f->name,
			 "protocol", ipv6 ? "ndp" : "arp", "reason", reason, "unsaid_since_last",
			 log_fmt(b, sizeof(b), "%llu", (unsigned long long)quiet));
}

static void on_frame(u_char *arg, const struct pcap_pkthdr *h, const u_char *p)
{
	struct rif *f = (struct rif *)arg;
	const struct if_info *l = usable_link(f->r, f->ifindex);
	size_t len = h->caplen;
	struct arp_msg am;
	struct ndp_msg nm;

	if (l == NULL)
		return;
	struct arp_ifc aifc = { .vlan = 0 };
	memcpy(aifc.mac, l->mac, ETH_ADDR_LEN);
	enum arp_verdict av = arp_parse(p, len, &aifc, &am);
	switch (av) {
	case ARP_REQUEST:
	case ARP_REPLY:
		on_arp(f, l, &am);
		return;
	case ARP_DROP_ETHERTYPE:
		break;
	case ARP_DROP_SHORT:
	case ARP_DROP_VLAN:
	case ARP_DROP_ETH_DST:
	case ARP_DROP_ETH_SRC:
	case ARP_DROP_HTYPE:
	case ARP_DROP_PTYPE:
	case ARP_DROP_HLEN:
	case ARP_DROP_PLEN:
	case ARP_DROP_OPCODE:
	case ARP_DROP_SENDER_MAC:
	case ARP_DROP_SENDER_IP:
	case ARP_DROP_TARGET_IP:
		f->c.arp_drops[av]++;
		bad_frame(f, 0, arp_verdict_str(av));
		return;
	}
	struct ndp_ifc nifc = { .vlan = 0 };
	memcpy(nifc.mac, l->mac, ETH_ADDR_LEN);
	enum ndp_verdict nv = ndp_parse(p, len, &nifc, &nm);
	if (nv == NDP_NS || nv == NDP_NA) {
		on_ndp(f, l, &nm);
		return;
	}
	f->c.ndp_drops[nv]++;
	bad_frame(f, 1, ndp_verdict_str(nv));
}

static void close_capture(struct rif *f)
{
	if (f->pc == NULL)
		return;
	if (f->io.active)
		loop_io_stop(f->r->lp, &f->io);
	if (f->dispatching) {
		/* A callback (on_conflict) withdrew the last address: pcap is still in use. */
		f->close_pending = 1;
		return;
	}
	f->close_pending = 0;
	pcap_close(f->pc);
	f->pc = NULL;
}

static void drop_pairs_on(struct responder *r, int ifindex);

static void on_readable(struct loop_io *w, uint32_t events, void *arg)
{
	struct rif *f = arg;

	(void)w;
	(void)events;
	for (int i = 0; i < DISPATCH_ROUNDS && f->pc != NULL && !f->close_pending; i++) {
		f->dispatching = 1;
		int n = pcap_dispatch(f->pc, DISPATCH_PER_CALL, on_frame, (u_char *)f);
		f->dispatching = 0;
		if (f->close_pending) {
			close_capture(f);
			return;
		}
		if (n == 0)
			return;
		if (n < 0) {
			/* Typically the interface went down; its next announce reopens it. */
			log_warn(f->r->lg, "responder: capture failed, not answering on it",
				 "iface", f->name, "error", pcap_geterr(f->pc));
			drop_pairs_on(f->r, f->ifindex);
			return;
		}
	}
}

static int open_capture(struct responder *r, struct rif *f)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct bpf_program prog;
	const char *filter = r->opts.on_conflict != NULL ? FILTER_WATCH : FILTER_ANSWER;
	const char *what = "create";

	f->pc = pcap_create(f->name, errbuf);
	if (f->pc == NULL)
		goto fail_msg;
	what = "configure";
	if (pcap_set_snaplen(f->pc, CAPTURE_SNAPLEN) != 0 || pcap_set_promisc(f->pc, 0) != 0 ||
	    pcap_set_immediate_mode(f->pc, 1) != 0 ||
	    pcap_set_buffer_size(f->pc, CAPTURE_BUFFER) != 0)
		goto fail;
	what = "activate";
	/* The packet socket is opened here: the only moment CAP_NET_RAW is effective. */
	(void)caps_raise_net_raw();
	int act = pcap_activate(f->pc);
	caps_lower();
	if (act < 0)
		goto fail;
	what = "set direction";
	if (pcap_setdirection(f->pc, PCAP_D_IN) != 0)
		goto fail;
	what = "compile filter";
	if (pcap_compile(f->pc, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0)
		goto fail;
	int rc = pcap_setfilter(f->pc, &prog);
	pcap_freecode(&prog);
	what = "set filter";
	if (rc != 0)
		goto fail;
	what = "set non-blocking";
	if (pcap_setnonblock(f->pc, 1, errbuf) != 0)
		goto fail_msg;
	int fd = pcap_get_selectable_fd(f->pc);
	if (fd < 0 || loop_io_start(r->lp, &f->io, fd, EPOLLIN, on_readable, f) < 0) {
		log_error(r->lg, "responder: cannot watch the capture", "iface", f->name);
		close_capture(f);
		return -1;
	}
	log_debug(r->lg, "responder: capturing", "iface", f->name, "filter", filter);
	return 0;
fail:
	snprintf(errbuf, sizeof(errbuf), "%s", pcap_geterr(f->pc));
fail_msg:
	log_error(r->lg, "responder: cannot capture on interface", "iface", f->name, "step", what,
		  "error", errbuf);
	if (f->pc != NULL)
		pcap_close(f->pc);
	f->pc = NULL;
	return -1;
}

/* The interface's record (kept for its counters) with its capture open, or NULL. */
static struct rif *use_if(struct responder *r, const struct if_info *l)
{
	struct rif *f = find_if(r, l->ifindex);

	if (f == NULL) {
		if (r->nifs == r->capifs) {
			size_t cap = r->capifs ? r->capifs * 2 : 4;
			struct rif **n = realloc(r->ifs, cap * sizeof(struct rif *));
			if (n == NULL)
				return NULL;
			r->ifs = n;
			r->capifs = cap;
		}
		f = calloc(1, sizeof(*f));
		if (f == NULL)
			return NULL;
		f->r = r;
		f->ifindex = l->ifindex;
		r->ifs[r->nifs++] = f;
	}
	/* A link can be renamed; the capture opens by name. */
	snprintf(f->name, sizeof(f->name), "%s", l->name);
	if (f->close_pending) {
		/* Re-announced from inside the dispatch that was about to close it: keep it. */
		f->close_pending = 0;
		if (loop_io_start(r->lp, &f->io, pcap_get_selectable_fd(f->pc), EPOLLIN,
				  on_readable, f) < 0)
			return NULL;
	}
	if (f->pc == NULL && open_capture(r, f) < 0)
		return NULL;
	return f;
}

/* Joins or leaves addr's solicited-node group on ifindex for the first or last pair using it. */
static void membership(struct responder *r, const struct rpair *p, int join)
{
	uint8_t group[16];
	struct ipv6_mreq mr;
	char buf[NETADDR_STRLEN];

	if (p->addr.family != AF_INET6)
		return;
	ndp_solicited_node(p->addr.b, group);
	for (size_t i = 0; i < r->npairs; i++) {
		const struct rpair *q = r->pairs[i];
		if (q != p && q->ifindex == p->ifindex && q->addr.family == AF_INET6 &&
		    memcmp(q->addr.b + 13, p->addr.b + 13, 3) == 0)
			return; /* another address keeps the group */
	}
	if (r->mcast_fd < 0)
		r->mcast_fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&mr, 0, sizeof(mr));
	memcpy(&mr.ipv6mr_multiaddr, group, 16);
	mr.ipv6mr_interface = (unsigned)p->ifindex;
	if (r->mcast_fd < 0 ||
	    setsockopt(r->mcast_fd, IPPROTO_IPV6, join ? IPV6_ADD_MEMBERSHIP : IPV6_DROP_MEMBERSHIP,
		       &mr, sizeof(mr)) < 0) {
		/* Leaving fails when the link is gone, and the group went with it. */
		if (join)
			log_warn(r->lg,
				 "responder: cannot join solicited-node group; NS may not arrive",
				 "address", fmt_addr(&p->addr, buf), "error", strerror(errno));
	}
}

static void send_announcement(struct rpair *p)
{
	struct rif *f = find_if(p->r, p->ifindex);
	const struct if_info *l = usable_link(p->r, p->ifindex);
	uint8_t out[NDP_FRAME_MAX > ARP_FRAME_MAX ? NDP_FRAME_MAX : ARP_FRAME_MAX];

	if (f == NULL || l == NULL)
		return;
	if (p->addr.family == AF_INET) {
		if (send_frame(f, out,
			       arp_build_garp(out, sizeof(out), l->mac, p->addr.b, 0,
					      ARP_GARP_REQUEST),
			       &f->c.announcements_sent))
			observe(p->r, RESPONDER_EV_ANNOUNCE, f->name, &p->addr, 0, 1, NULL);
		if (send_frame(
			    f, out,
			    arp_build_garp(out, sizeof(out), l->mac, p->addr.b, 0, ARP_GARP_REPLY),
			    &f->c.announcements_sent))
			observe(p->r, RESPONDER_EV_ANNOUNCE, f->name, &p->addr, 0, 1, NULL);
	} else if (send_frame(f, out,
			      ndp_build_na(out, sizeof(out), l->mac, p->addr.b,
					   NDP_NA_KIND_UNSOLICITED, NULL, 0),
			      &f->c.announcements_sent)) {
		observe(p->r, RESPONDER_EV_ANNOUNCE, f->name, &p->addr, 1, 1, NULL);
	}
}

static void on_garp_timer(struct loop_timer *t, void *arg)
{
	struct rpair *p = arg;
	struct responder *r = p->r;

	(void)t;
	send_announcement(p);
	p->garps_sent++;
	if (p->garps_sent < GARP_BURST)
		loop_timer_start(r->lp, &p->garp, GARP_SPACING_MS, 0, on_garp_timer, p);
	else if (r->opts.garp_interval_ms > 0)
		loop_timer_start(r->lp, &p->garp, r->opts.garp_interval_ms, 0, on_garp_timer, p);
}

static void remove_pair(struct responder *r, size_t i)
{
	struct rpair *p = r->pairs[i];
	char buf[NETADDR_STRLEN];
	struct rif *f = find_if(r, p->ifindex);

	r->pairs[i] = r->pairs[--r->npairs];
	loop_timer_stop(r->lp, &p->garp);
	/* p is out of the table, so membership() sees only the others. */
	membership(r, p, 0);
	log_info(r->lg, "stopped announcing", "address", fmt_addr(&p->addr, buf), "iface",
		 f != NULL ? f->name : "?");
	observe(r, RESPONDER_EV_DOWN, f != NULL ? f->name : "?", &p->addr,
		p->addr.family == AF_INET6, 1, NULL);
	if (f != NULL && pairs_on_if(r, p->ifindex) == 0)
		close_capture(f);
	free(p);
}

static void drop_pairs_on(struct responder *r, int ifindex)
{
	for (size_t i = r->npairs; i-- > 0;)
		if (r->pairs[i]->ifindex == ifindex)
			remove_pair(r, i);
}

static int add_pair(struct responder *r, const struct netaddr *a, int ifindex)
{
	char buf[NETADDR_STRLEN];
	const struct if_info *l = usable_link(r, ifindex);

	if (l == NULL)
		return 0; /* down or gone: announced when a later call finds it up */
	if (r->npairs == r->cappairs) {
		size_t cap = r->cappairs ? r->cappairs * 2 : 8;
		struct rpair **n = realloc(r->pairs, cap * sizeof(struct rpair *));
		if (n == NULL)
			goto oom;
		r->pairs = n;
		r->cappairs = cap;
	}
	struct rif *f = use_if(r, l);
	if (f == NULL)
		return -1;
	struct rpair *p = calloc(1, sizeof(*p));
	if (p == NULL) {
		if (pairs_on_if(r, ifindex) == 0)
			close_capture(f);
		goto oom;
	}
	p->r = r;
	p->addr = *a;
	p->ifindex = ifindex;
	membership(r, p, 1);
	r->pairs[r->npairs++] = p;
	log_info(r->lg, "announcing", "address", fmt_addr(a, buf), "iface", l->name);
	observe(r, RESPONDER_EV_UP, f->name, a, a->family == AF_INET6, 1, NULL);
	on_garp_timer(&p->garp, p);
	return 0;
oom:
	log_error(r->lg, "responder: out of memory", "address", fmt_addr(a, buf));
	return -1;
}

int responder_announce(struct responder *r, const struct netaddr *addr, const int *ifindexes,
		       size_t n)
{
	int rc = 0;

	for (size_t i = r->npairs; i-- > 0;) {
		const struct rpair *p = r->pairs[i];
		if (!netaddr_equal(&p->addr, addr))
			continue;
		int keep = usable_link(r, p->ifindex) != NULL;
		size_t k = 0;
		while (keep && k < n && ifindexes[k] != p->ifindex)
			k++;
		if (!keep || k == n)
			remove_pair(r, i);
	}
	for (size_t k = 0; k < n; k++)
		if (find_pair(r, addr, ifindexes[k]) == NULL && add_pair(r, addr, ifindexes[k]) < 0)
			rc = -1;
	return rc;
}

void responder_withdraw(struct responder *r, const struct netaddr *addr)
{
	responder_announce(r, addr, NULL, 0);
}

int responder_is_announcing(const struct responder *r, const struct netaddr *addr, int ifindex)
{
	return find_pair(r, addr, ifindex) != NULL;
}

struct responder *responder_new(struct loop *lp, struct log *lg, const struct link_set *links,
				const struct responder_opts *opts)
{
	struct responder *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->lp = lp;
	r->lg = lg;
	r->links = links;
	if (opts != NULL)
		r->opts = *opts;
	r->mcast_fd = -1;
	return r;
}

void responder_free(struct responder *r)
{
	if (r == NULL)
		return;
	while (r->npairs > 0)
		remove_pair(r, r->npairs - 1);
	for (size_t i = 0; i < r->nifs; i++) {
		close_capture(r->ifs[i]);
		free(r->ifs[i]);
	}
	if (r->mcast_fd >= 0)
		close(r->mcast_fd);
	free(r->ifs);
	free(r->pairs);
	free(r);
}

size_t responder_interfaces(const struct responder *r, int *out, size_t cap)
{
	for (size_t i = 0; i < r->nifs && i < cap; i++)
		out[i] = r->ifs[i]->ifindex;
	return r->nifs;
}

int responder_get_counters(const struct responder *r, int ifindex, struct responder_counters *out)
{
	const struct rif *f = find_if(r, ifindex);

	if (f == NULL)
		return -1;
	*out = f->c;
	return 0;
}
