/* Unit tests for speaker/responder on a real veth pair in a private network namespace (Check
 * forks per test): the responder captures on a0, the test plays the LAN through a packet socket
 * on b0, so replies, withdrawal, bursts, conflicts and counters are checked frame by frame. */
#include "speaker/responder.h"
#include "unit.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_SEEN 64

struct frame {
	uint8_t b[256];
	size_t n;
	uint64_t at_ms;
	uint64_t stamp_us; /* the kernel's arrival stamp, for spacing */
};

struct bed {
	struct loop *lp;
	struct log *lg;
	struct link_set *ls;
	struct responder *r;
	int sock; /* packet socket on b0, the LAN side */
	uint8_t mac_a[6], mac_b[6];
	int ifindex_a;
	struct frame seen[MAX_SEEN];
	size_t nseen;
	struct responder_conflict conflict;
	struct netaddr conflict_addr;
	int conflicts;
	/* What the observer was told, as "event iface addr ours reason" lines. */
	char events[32][96];
	size_t nevents;
};

static const uint8_t other_mac[6] = { 0x02, 0, 0, 0, 0x99, 0x99 };

static void on_conflict(const struct responder_conflict *c, void *arg)
{
	struct bed *b = arg;

	b->conflict = *c;
	b->conflict_addr = *c->addr;
	b->conflict.addr = &b->conflict_addr;
	b->conflicts++;
}

static void on_event(const struct responder_event_info *e, void *arg)
{
	struct bed *b = arg;
	char a[NETADDR_STRLEN] = "-";

	if (b->nevents == 32)
		return;
	if (e->addr != NULL)
		netaddr_format(e->addr, a, sizeof(a));
	snprintf(b->events[b->nevents++], sizeof(b->events[0]), "%s %s %s %s %d %s",
		 responder_event_str(e->ev), e->ipv6 ? "ndp" : "arp", e->iface, a, e->ours,
		 e->reason != NULL ? e->reason : "-");
}

static void sh(const char *cmd)
{
	ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

static int setup(struct bed *b, uint64_t garp_interval_ms)
{
	memset(b, 0, sizeof(*b));
	if (unshare(CLONE_NEWNET) < 0) {
		printf("skip: responder tests need root for a network namespace\n");
		return 0;
	}
	/* b0 is the test's: its kernel stays silent (no IPv6 DAD or RS to count as requests). */
	sh("ip link add a0 type veth peer name b0 && sysctl -qw net.ipv6.conf.b0.disable_ipv6=1 && "
	   "ip link set a0 up && ip link set b0 up && "
	   "ip addr add 192.0.2.10/24 dev a0 && ip -6 addr add 2001:db8::10/64 dev a0 nodad");
	b->lp = loop_new();
	ck_assert_ptr_nonnull(b->lp);
	b->lg = log_new(open("/dev/null", O_WRONLY | O_CLOEXEC), LOG_LEVEL_DEBUG);
	b->ls = link_set_new(b->lp, b->lg, NULL, NULL);
	ck_assert_ptr_nonnull(b->ls);
	const struct if_info *a0 = link_set_by_name(b->ls, "a0");
	const struct if_info *b0 = link_set_by_name(b->ls, "b0");
	ck_assert(a0 != NULL && b0 != NULL && a0->up);
	memcpy(b->mac_a, a0->mac, 6);
	memcpy(b->mac_b, b0->mac, 6);
	b->ifindex_a = a0->ifindex;
	struct responder_opts o = { .garp_interval_ms = garp_interval_ms,
				    .on_conflict = on_conflict,
				    .arg = b,
				    .observe = on_event,
				    .observe_arg = b };
	b->r = responder_new(b->lp, b->lg, b->ls, &o);
	ck_assert_ptr_nonnull(b->r);

	b->sock = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	ck_assert_int_ge(b->sock, 0);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = b0->ifindex };
	ck_assert_int_eq(bind(b->sock, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return 1;
}

static void teardown(struct bed *b)
{
	responder_free(b->r);
	link_set_free(b->ls);
	loop_free(b->lp);
	log_free(b->lg);
	close(b->sock);
}

static void lan_send(struct bed *b, const uint8_t *f, size_t n)
{
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(send(b->sock, f, n, 0), (ssize_t)n);
}

/* Runs the loop for ms, recording every frame arriving at b0 from a0. */
static void pump(struct bed *b, uint64_t ms)
{
	uint64_t end = loop_now_ms(b->lp) + ms;

	while (loop_now_ms(b->lp) < end) {
		ck_assert_int_eq(loop_run_once(b->lp, 10), 0);
		loop_update_time(b->lp);
		for (;;) {
			struct sockaddr_ll from = { .sll_family = AF_PACKET };
			socklen_t fl = sizeof(from);
			struct frame fr;
			ssize_t n = recvfrom(b->sock, fr.b, sizeof(fr.b), 0,
					     (struct sockaddr *)&from, &fl);
			if (n < 0)
				break;
			if (from.sll_pkttype == PACKET_OUTGOING || b->nseen == MAX_SEEN)
				continue;
			fr.n = (size_t)n;
			fr.at_ms = loop_now_ms(b->lp);
			struct timeval tv;
			ck_assert_int_eq(ioctl(b->sock, SIOCGSTAMP, &tv), 0);
			fr.stamp_us = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
			b->seen[b->nseen++] = fr;
		}
	}
}

/* Counts recorded frames equal to want[0..n). */
static size_t count_seen(struct bed *b, const uint8_t *want, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < b->nseen; i++)
		c += b->seen[i].n == n && memcmp(b->seen[i].b, want, n) == 0;
	return c;
}

/* Counts recorded frames of ethertype sent unicast to b0: replies, not announcements. */
static size_t replies_seen(struct bed *b, uint16_t ethertype)
{
	size_t c = 0;

	for (size_t i = 0; i < b->nseen; i++) {
		const uint8_t *f = b->seen[i].b;
		if (b->seen[i].n < 14 || f[12] != ethertype >> 8 || f[13] != (ethertype & 0xff))
			continue;
		if (memcmp(f, b->mac_b, 6) == 0) /* unicast to the LAN host: a reply */
			c++;
	}
	return c;
}

static struct netaddr addr(const char *s)
{
	struct netaddr a;

	ck_assert_int_eq(netaddr_parse(s, &a), 0);
	return a;
}

/* An ARP request from b0 (192.0.2.1) for target. */
static size_t request(struct bed *b, uint8_t *f, const char *target)
{
	struct netaddr t = addr(target);
	static const uint8_t spa[4] = { 192, 0, 2, 1 };
	size_t n = arp_build_garp(f, 64, b->mac_b, spa, 0, ARP_GARP_REQUEST);
	memcpy(f + 38, t.b, 4); /* same form, other target */
	return n;
}

START_TEST(test_answers_arp_exactly_and_counts)
{
	struct bed b;
	uint8_t req[64], want[64];
	struct arp_msg m;
	struct arp_ifc ifc = { .vlan = 0 };

	if (!setup(&b, 0))
		return;
	struct netaddr a = addr("192.0.2.200");
	ck_assert_int_eq(responder_announce(b.r, &a, &b.ifindex_a, 1), 0);
	ck_assert(responder_is_announcing(b.r, &a, b.ifindex_a));
	pump(&b, 50);
	b.nseen = 0;

	size_t n = request(&b, req, "192.0.2.200");
	lan_send(&b, req, n);
	lan_send(&b, req, request(&b, req, "192.0.2.201"));
	req[18] = 8; /* hlen 8: malformed */
	lan_send(&b, req, n);
	pump(&b, 200);

	memcpy(ifc.mac, b.mac_a, 6);
	request(&b, req, "192.0.2.200");
	ck_assert_int_eq(arp_parse(req, n, &ifc, &m), ARP_REQUEST);
	size_t wn = arp_build_reply(want, sizeof(want), b.mac_a, &m);
	ck_assert_uint_eq(count_seen(&b, want, wn), 1);
	ck_assert_uint_eq(replies_seen(&b, ETH_TYPE_ARP), 1);

	struct responder_counters c;
	ck_assert_int_eq(responder_get_counters(b.r, b.ifindex_a, &c), 0);
	ck_assert_uint_eq(c.requests_seen, 2);
	ck_assert_uint_eq(c.replies_sent, 1);
	ck_assert_uint_eq(c.not_ours, 1);
	ck_assert_uint_eq(c.arp_drops[ARP_DROP_HLEN], 1);
	ck_assert_uint_eq(c.announcements_sent, 2); /* the burst's first GARP pair */
	ck_assert_int_eq(responder_get_counters(b.r, 12345, &c), -1);

	/* The observer (metrics) was told the same, one event per thing done. */
	responder_withdraw(b.r, &a);
	static const char *const want_ev[] = {
		"up arp a0 192.0.2.200 1 -",	   "announce arp a0 192.0.2.200 1 -",
		"announce arp a0 192.0.2.200 1 -", "request arp a0 192.0.2.200 1 -",
		"reply arp a0 192.0.2.200 1 -",	   "request arp a0 192.0.2.201 0 -",
		"drop arp a0 - 0 drop_hlen",	   "down arp a0 192.0.2.200 1 -",
	};
	ck_assert_uint_eq(b.nevents, sizeof(want_ev) / sizeof(want_ev[0]));
	for (size_t i = 0; i < b.nevents; i++)
		ck_assert_str_eq(b.events[i], want_ev[i]);
	teardown(&b);
}
END_TEST

START_TEST(test_withdraw_stops_before_returning)
{
	struct bed b;
	uint8_t req[64];

	if (!setup(&b, 0))
		return;
	struct netaddr a = addr("192.0.2.200");
	ck_assert_int_eq(responder_announce(b.r, &a, &b.ifindex_a, 1), 0);
	pump(&b, 50);
	/* The request is already queued in the capture when the address is withdrawn. */
	lan_send(&b, req, request(&b, req, "192.0.2.200"));
	responder_withdraw(b.r, &a);
	ck_assert(!responder_is_announcing(b.r, &a, b.ifindex_a));
	b.nseen = 0;
	pump(&b, 300);
	/* No reply, and no more of the burst either (the kernel's own IPv6 chatter may appear). */
	for (size_t i = 0; i < b.nseen; i++)
		ck_assert(!(b.seen[i].b[12] == 0x08 && b.seen[i].b[13] == 0x06));
	teardown(&b);
}
END_TEST

START_TEST(test_burst_forms_and_spacing)
{
	struct bed b;
	uint8_t greq[64], grep_[64], na[128];

	if (!setup(&b, 1000))
		return;
	struct netaddr v4 = addr("192.0.2.200"), v6 = addr("2001:db8::200");
	uint64_t t0 = loop_now_ms(b.lp);
	ck_assert_int_eq(responder_announce(b.r, &v4, &b.ifindex_a, 1), 0);
	ck_assert_int_eq(responder_announce(b.r, &v6, &b.ifindex_a, 1), 0);
	pump(&b, 3400);
	size_t n1 = arp_build_garp(greq, sizeof(greq), b.mac_a, v4.b, 0, ARP_GARP_REQUEST);
	size_t n2 = arp_build_garp(grep_, sizeof(grep_), b.mac_a, v4.b, 0, ARP_GARP_REPLY);
	size_t n3 = ndp_build_na(na, sizeof(na), b.mac_a, v6.b, NDP_NA_KIND_UNSOLICITED, NULL, 0);
	/* 0, 1.1, 2.2 s, then the 1 s refresh at 3.2 s. */
	ck_assert_uint_eq(count_seen(&b, greq, n1), 4);
	ck_assert_uint_eq(count_seen(&b, grep_, n2), 4);
	ck_assert_uint_eq(count_seen(&b, na, n3), 4);
	/* Gaps come from the kernel's arrival stamps, in ms, so a test process that wakes late
	 * under load does not shrink them. */
	uint64_t at[4] = { 0, 0, 0, 0 };
	uint64_t first_ms = 0;
	size_t k = 0;
	for (size_t i = 0; i < b.nseen && k < 4; i++)
		if (b.seen[i].n == n1 && memcmp(b.seen[i].b, greq, n1) == 0) {
			if (k == 0)
				first_ms = b.seen[i].at_ms - t0;
			at[k++] = b.seen[i].stamp_us / 1000;
		}
	ck_assert_uint_eq(k, 4);
	ck_assert_uint_lt(first_ms, 300);
	ck_assert_uint_ge(at[1] - at[0], 1050);
	ck_assert_uint_le(at[1] - at[0], 1600); /* generous: a busy machine delays */
	ck_assert_uint_ge(at[2] - at[1], 1050);
	ck_assert_uint_ge(at[3] - at[2], 950);
	ck_assert_uint_le(at[3] - at[2], 1500);
	teardown(&b);
}
END_TEST

START_TEST(test_answers_ns)
{
	struct bed b;
	uint8_t ns[128], want[128];
	struct ndp_msg m;
	struct ndp_ifc ifc = { .vlan = 0 };
	static const uint8_t src[16] = {
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
	};

	if (!setup(&b, 0))
		return;
	struct netaddr a = addr("2001:db8::200");
	ck_assert_int_eq(responder_announce(b.r, &a, &b.ifindex_a, 1), 0);
	pump(&b, 50);
	b.nseen = 0;
	size_t n = ndp_build_ns(ns, sizeof(ns), b.mac_b, src, a.b, 0);
	lan_send(&b, ns, n);
	pump(&b, 200);
	memcpy(ifc.mac, b.mac_a, 6);
	ck_assert_int_eq(ndp_parse(ns, n, &ifc, &m), NDP_NS);
	size_t wn = ndp_build_na(want, sizeof(want), b.mac_a, a.b, NDP_NA_KIND_SOLICITED, &m, 0);
	ck_assert_uint_eq(count_seen(&b, want, wn), 1);
	teardown(&b);
}
END_TEST

START_TEST(test_reports_other_macs)
{
	struct bed b;
	uint8_t f[128];

	if (!setup(&b, 0))
		return;
	struct netaddr v4 = addr("192.0.2.200"), v6 = addr("2001:db8::200"),
		       other = addr("192.0.2.250");
	ck_assert_int_eq(responder_announce(b.r, &v4, &b.ifindex_a, 1), 0);
	ck_assert_int_eq(responder_announce(b.r, &v6, &b.ifindex_a, 1), 0);
	pump(&b, 50);
	/* Our own MAC on another local link (b0 here) is not a rival. */
	lan_send(&b, f, arp_build_garp(f, sizeof(f), b.mac_b, v4.b, 0, ARP_GARP_REQUEST));
	pump(&b, 100);
	ck_assert_int_eq(b.conflicts, 0);
	/* A GARP for an address we do not announce is none of our business. */
	lan_send(&b, f, arp_build_garp(f, sizeof(f), other_mac, other.b, 0, ARP_GARP_REQUEST));
	pump(&b, 100);
	ck_assert_int_eq(b.conflicts, 0);
	lan_send(&b, f, arp_build_garp(f, sizeof(f), other_mac, v4.b, 0, ARP_GARP_REPLY));
	pump(&b, 100);
	ck_assert_int_eq(b.conflicts, 1);
	ck_assert(netaddr_equal(b.conflict.addr, &v4));
	ck_assert_mem_eq(b.conflict.mac, other_mac, 6);
	ck_assert_int_eq(b.conflict.how, RESPONDER_SEEN_ARP_REPLY);
	ck_assert_int_eq(b.conflict.ifindex, b.ifindex_a);
	lan_send(&b, f,
		 ndp_build_na(f, sizeof(f), other_mac, v6.b, NDP_NA_KIND_UNSOLICITED, NULL, 0));
	pump(&b, 100);
	ck_assert_int_eq(b.conflicts, 2);
	ck_assert(netaddr_equal(b.conflict.addr, &v6));
	ck_assert_int_eq(b.conflict.how, RESPONDER_SEEN_NA);
	teardown(&b);
}
END_TEST

static void withdraw_on_conflict(const struct responder_conflict *c, void *arg)
{
	struct bed *b = arg;

	b->conflicts++;
	/* What election does on split brain: give up from inside the callback. */
	responder_withdraw(b->r, c->addr);
}

START_TEST(test_withdraw_from_callback)
{
	struct bed b;
	uint8_t f[64];

	if (!setup(&b, 0))
		return;
	responder_free(b.r);
	struct responder_opts o = { .on_conflict = withdraw_on_conflict, .arg = &b };
	b.r = responder_new(b.lp, b.lg, b.ls, &o);
	struct netaddr v4 = addr("192.0.2.200");
	ck_assert_int_eq(responder_announce(b.r, &v4, &b.ifindex_a, 1), 0);
	pump(&b, 50);
	lan_send(&b, f, arp_build_garp(f, sizeof(f), other_mac, v4.b, 0, ARP_GARP_REQUEST));
	lan_send(&b, f, request(&b, f, "192.0.2.200"));
	pump(&b, 200);
	ck_assert_int_eq(b.conflicts, 1);
	ck_assert(!responder_is_announcing(b.r, &v4, b.ifindex_a));
	ck_assert_uint_eq(replies_seen(&b, ETH_TYPE_ARP), 0);
	/* And it can announce again afterwards. */
	ck_assert_int_eq(responder_announce(b.r, &v4, &b.ifindex_a, 1), 0);
	b.nseen = 0;
	lan_send(&b, f, request(&b, f, "192.0.2.200"));
	pump(&b, 200);
	ck_assert_uint_eq(replies_seen(&b, ETH_TYPE_ARP), 1);
	teardown(&b);
}
END_TEST

START_TEST(test_link_down_drops_and_up_reannounces)
{
	struct bed b;
	uint8_t greq[64];

	if (!setup(&b, 0))
		return;
	struct netaddr v4 = addr("192.0.2.200");
	ck_assert_int_eq(responder_announce(b.r, &v4, &b.ifindex_a, 1), 0);
	sh("ip link set a0 down");
	for (int i = 0; i < 50 && link_set_by_name(b.ls, "a0")->up; i++)
		loop_run_once(b.lp, 100);
	ck_assert(!link_set_by_name(b.ls, "a0")->up);
	ck_assert_int_eq(responder_announce(b.r, &v4, &b.ifindex_a, 1), 0);
	ck_assert(!responder_is_announcing(b.r, &v4, b.ifindex_a));
	sh("ip link set a0 up");
	for (int i = 0; i < 50 && !link_set_by_name(b.ls, "a0")->up; i++)
		loop_run_once(b.lp, 100);
	pump(&b, 20); /* drain the first burst's frame still queued on b0 */
	b.nseen = 0;
	ck_assert_int_eq(responder_announce(b.r, &v4, &b.ifindex_a, 1), 0);
	ck_assert(responder_is_announcing(b.r, &v4, b.ifindex_a));
	pump(&b, 100);
	size_t n = arp_build_garp(greq, sizeof(greq), b.mac_a, v4.b, 0, ARP_GARP_REQUEST);
	ck_assert_uint_eq(count_seen(&b, greq, n), 1);
	teardown(&b);
}
END_TEST

/* Whether /proc/net/igmp6 lists group (32 hex digits) on a0. */
static int a0_in_group(const char *group)
{
	char line[256], name[32], g[64];
	int found = 0;
	FILE *f = fopen("/proc/net/igmp6", "r");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%*d %31s %63s", name, g) == 2 && strcmp(name, "a0") == 0 &&
		    strcmp(g, group) == 0)
			found = 1;
	fclose(f);
	return found;
}

START_TEST(test_solicited_node_membership)
{
	struct bed b;
	static const char *group = "ff0200000000000000000001ff000200";

	if (!setup(&b, 0))
		return;
	/* Two addresses share one group (same last 24 bits): joined once, left with the last. */
	struct netaddr x = addr("2001:db8::200"), y = addr("2001:db8:0:0:1::200");
	ck_assert(!a0_in_group(group));
	ck_assert_int_eq(responder_announce(b.r, &x, &b.ifindex_a, 1), 0);
	ck_assert(a0_in_group(group));
	ck_assert_int_eq(responder_announce(b.r, &y, &b.ifindex_a, 1), 0);
	responder_withdraw(b.r, &x);
	ck_assert(a0_in_group(group));
	responder_withdraw(b.r, &y);
	ck_assert(!a0_in_group(group));
	teardown(&b);
}
END_TEST

START_TEST(test_seen_names_and_free_null)
{
	ck_assert_str_eq(responder_seen_str(RESPONDER_SEEN_ARP_REQUEST), "arp_request");
	ck_assert_str_eq(responder_seen_str(RESPONDER_SEEN_ARP_REPLY), "arp_reply");
	ck_assert_str_eq(responder_seen_str(RESPONDER_SEEN_NA), "na");
	responder_free(NULL);
}
END_TEST

static Suite *responder_suite(void)
{
	Suite *s = suite_create("responder");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_answers_arp_exactly_and_counts);
	tcase_add_test(tc, test_withdraw_stops_before_returning);
	tcase_add_test(tc, test_burst_forms_and_spacing);
	tcase_add_test(tc, test_answers_ns);
	tcase_add_test(tc, test_reports_other_macs);
	tcase_add_test(tc, test_withdraw_from_callback);
	tcase_add_test(tc, test_link_down_drops_and_up_reannounces);
	tcase_add_test(tc, test_solicited_node_membership);
	tcase_add_test(tc, test_seen_names_and_free_null);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(responder_suite)
