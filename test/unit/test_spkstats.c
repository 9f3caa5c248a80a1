/* Unit tests for speaker/spkstats: what the responder and the control plane report shows up in
 * the rendered metrics under MetalLB's names, and per-address series go with their address. */
#include "speaker/spkstats.h"
#include "unit.h"

#include <string.h>
#include <sys/socket.h>

static char *render(struct metrics *reg)
{
	struct textbuf *b = textbuf_new();
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(metrics_render(reg, b), 0);
	size_t n;
	char *s = textbuf_take(b, &n);
	textbuf_free(b);
	ck_assert_ptr_nonnull(s);
	return s;
}

static void has(const char *text, const char *line, int want)
{
	ck_assert_msg((strstr(text, line) != NULL) == want, "%s %s in:\n%s",
		      want ? "missing" : "unexpected", line, text);
}

static void ev(struct spkstats *st, enum responder_event e, const char *ifc, const char *ip,
	       int ours, const char *reason)
{
	struct netaddr a;
	struct responder_event_info i = { .ev = e, .iface = ifc, .ours = ours, .reason = reason };
	if (ip != NULL) {
		ck_assert_int_eq(netaddr_parse(ip, &a), 0);
		i.addr = &a;
		i.ipv6 = a.family == AF_INET6;
	}
	spkstats_responder_event(&i, st);
}

START_TEST(test_frames_and_addresses)
{
	struct metrics *reg = metrics_new();
	struct spkstats *st = spkstats_new(reg, "node1");
	ck_assert_ptr_nonnull(st);
	struct netaddr a;
	ck_assert_int_eq(netaddr_parse("192.0.2.200", &a), 0);

	ev(st, RESPONDER_EV_UP, "eth0", "192.0.2.200", 1, NULL);
	ev(st, RESPONDER_EV_UP, "eth1", "192.0.2.200", 1, NULL);
	ev(st, RESPONDER_EV_ANNOUNCE, "eth0", "192.0.2.200", 1, NULL);
	ev(st, RESPONDER_EV_ANNOUNCE, "eth0", "192.0.2.200", 1, NULL);
	for (int i = 0; i < 3; i++) {
		ev(st, RESPONDER_EV_REQUEST, "eth0", "192.0.2.200", 1, NULL);
		ev(st, RESPONDER_EV_REPLY, "eth0", "192.0.2.200", 1, NULL);
	}
	ev(st, RESPONDER_EV_REQUEST, "eth0", "192.0.2.9", 0, NULL);
	ev(st, RESPONDER_EV_REQUEST, "eth0", "2001:db8::9", 0, NULL);
	ev(st, RESPONDER_EV_DROP, "eth0", NULL, 0, "drop_hlen");
	spkstats_announced(st, "default/web", &a, 1, 1);
	char *s = render(reg);
	has(s,
	    "metallb_speaker_announced{ip=\"192.0.2.200\",node=\"node1\",protocol=\"layer2\","
	    "service=\"default/web\"} 1\n",
	    1);
	has(s, "metallb_layer2_requests_received_total{ip=\"192.0.2.200\"} 3\n", 1);
	has(s, "metallb_layer2_responses_sent_total{ip=\"192.0.2.200\"} 3\n", 1);
	has(s, "metallb_layer2_gratuitous_sent_total{ip=\"192.0.2.200\"} 2\n", 1);
	has(s, "l2lb_speaker_arp_requests_total{interface=\"eth0\"} 4\n", 1);
	has(s, "l2lb_speaker_ndp_requests_total{interface=\"eth0\"} 1\n", 1);
	has(s, "l2lb_speaker_arp_replies_total{interface=\"eth0\"} 3\n", 1);
	has(s, "l2lb_speaker_arp_drops_total{interface=\"eth0\",reason=\"drop_hlen\"} 1\n", 1);
	has(s, "l2lb_speaker_garps_sent_total{interface=\"eth0\"} 2\n", 1);
	has(s, "l2lb_speaker_announced_addresses{interface=\"eth1\"} 1\n", 1);
	has(s, "l2lb_speaker_address_interfaces{ip=\"192.0.2.200\"} 2\n", 1);
	/* Requests for addresses not ours are not per-address series. */
	has(s, "ip=\"192.0.2.9\"", 0);
	free(s);

	uint64_t rq, rp, an;
	spkstats_addr_counters(st, &a, &rq, &rp, &an);
	ck_assert(rq == 3 && rp == 3 && an == 2);
	struct netaddr other;
	ck_assert_int_eq(netaddr_parse("192.0.2.77", &other), 0);
	spkstats_addr_counters(st, &other, &rq, &rp, &an);
	ck_assert(rq == 0 && rp == 0 && an == 0);

	/* Withdrawn from one interface: the address stays; from both: its series go. */
	ev(st, RESPONDER_EV_DOWN, "eth1", "192.0.2.200", 1, NULL);
	s = render(reg);
	has(s, "metallb_layer2_requests_received_total{ip=\"192.0.2.200\"} 3\n", 1);
	has(s, "l2lb_speaker_address_interfaces{ip=\"192.0.2.200\"} 1\n", 1);
	free(s);
	ev(st, RESPONDER_EV_DOWN, "eth0", "192.0.2.200", 1, NULL);
	spkstats_announced(st, "default/web", &a, 1, 0);
	s = render(reg);
	has(s, "192.0.2.200", 0);
	has(s, "192.0.2.77", 0); /* the dump's lookup left nothing behind */
	has(s, "l2lb_speaker_announced_addresses{interface=\"eth0\"} 0\n", 1);
	has(s, "l2lb_speaker_arp_requests_total{interface=\"eth0\"} 4\n", 1);
	free(s);
	spkstats_free(st);
	metrics_free(reg);
}
END_TEST

START_TEST(test_leases_api_and_informers)
{
	struct metrics *reg = metrics_new();
	struct spkstats *st = spkstats_new(reg, "node1");
	ck_assert_ptr_nonnull(st);
	struct netaddr a[2];
	ck_assert_int_eq(netaddr_parse("192.0.2.200", &a[0]), 0);
	ck_assert_int_eq(netaddr_parse("2001:db8::200", &a[1]), 0);

	spkstats_lease_acquired(st, a, 2, 1);
	spkstats_lease_acquired(st, a, 1, 0);
	spkstats_lease_lost(st, a, 1, "released");
	ev(st, RESPONDER_EV_ANNOUNCE, "eth0", "2001:db8::200", 1, NULL);
	ev(st, RESPONDER_EV_ANNOUNCE, "eth0", "2001:db8::200", 1, NULL);
	spkstats_api_request("update", 200, st);
	spkstats_api_request("update", 200, st);
	spkstats_api_request("watch", 0, st);
	struct informer_stats is = { .lists = 3, .watches = 5 };
	spkstats_informer(st, "services", &is);
	spkstats_informer(st, "services", &is); /* cumulative: the same counts add nothing */
	char *s = render(reg);
	has(s, "l2lb_speaker_leases_held 1\n", 1);
	has(s, "l2lb_speaker_lease_acquisitions_total 2\n", 1);
	has(s, "l2lb_speaker_takeovers_total 1\n", 1);
	has(s, "l2lb_speaker_lease_losses_total{reason=\"released\"} 1\n", 1);
	/* Only the IPv6 address was announced after its lease: one delay observed, once. */
	has(s, "l2lb_speaker_garp_delay_seconds_count 1\n", 1);
	has(s, "l2lb_speaker_unsolicited_nas_sent_total{interface=\"eth0\"} 2\n", 1);
	has(s, "l2lb_speaker_api_requests_total{verb=\"update\",code=\"200\"} 2\n", 1);
	has(s, "l2lb_speaker_api_requests_total{verb=\"watch\",code=\"0\"} 1\n", 1);
	has(s, "l2lb_speaker_watch_restarts_total{resource=\"services\"} 4\n", 1);
	has(s, "l2lb_speaker_watch_relists_total{resource=\"services\"} 2\n", 1);
	free(s);
	/* A second registry-wide name clash is refused, not half-registered. */
	ck_assert_ptr_null(spkstats_new(reg, "node1"));
	spkstats_free(st);
	metrics_free(reg);
	/* NULL stats: every call is a no-op. */
	spkstats_lease_acquired(NULL, a, 1, 1);
	spkstats_api_request("get", 200, NULL);
	spkstats_free(NULL);
}
END_TEST

static Suite *spkstats_suite(void)
{
	Suite *s = suite_create("spkstats");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_frames_and_addresses);
	tcase_add_test(tc, test_leases_api_and_informers);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(spkstats_suite)
