/* Unit tests for pkg/net/arp: byte-exact replies and GARPs, and every malformed frame rejected
 * with its reason. */
#include "net/arp.h"
#include "hexframe.h"
#include "unit.h"

static const struct arp_ifc ifc = { .mac = { 2, 0, 0, 0, 0, 2 }, .vlan = 0 };

/* 192.0.2.1 (02:..:01) asks who has 192.0.2.200, padded to 60 bytes as on the wire. */
#define REQ_HEX                                      \
	"ffffffffffff 020000000001 0806"             \
	"0001 0800 06 04 0001 020000000001 c0000201" \
	"000000000000 c00002c8"                      \
	"000000000000000000000000000000000000"

/* The same request with an 802.1Q tag for VLAN 100. */
#define REQ_TAGGED_HEX                               \
	"ffffffffffff 020000000001 8100 0064 0806"   \
	"0001 0800 06 04 0001 020000000001 c0000201" \
	"000000000000 c00002c8"

static enum arp_verdict parse_hex(const char *hex, const struct arp_ifc *i, struct arp_msg *m)
{
	uint8_t f[128];
	size_t n = hex_frame(hex, f, sizeof(f));
	return arp_parse(f, n, i, m);
}

START_TEST(test_reply_is_kernel_form)
{
	struct arp_msg m;
	uint8_t out[ARP_FRAME_MAX];

	ck_assert_int_eq(parse_hex(REQ_HEX, &ifc, &m), ARP_REQUEST);
	size_t n = arp_build_reply(out, sizeof(out), ifc.mac, &m);
	assert_frame(out, n,
		     "020000000001 020000000002 0806"
		     "0001 0800 06 04 0002 020000000002 c00002c8"
		     "020000000001 c0000201");
}
END_TEST

START_TEST(test_probe_reply_keeps_zero_sender)
{
	struct arp_msg m;
	uint8_t out[ARP_FRAME_MAX];

	/* RFC 5227 probe: sender IP 0.0.0.0; Linux answers it unicast with tpa 0.0.0.0. */
	ck_assert_int_eq(parse_hex("ffffffffffff 020000000001 0806"
				   "0001 0800 06 04 0001 020000000001 00000000"
				   "000000000000 c00002c8",
				   &ifc, &m),
			 ARP_REQUEST);
	size_t n = arp_build_reply(out, sizeof(out), ifc.mac, &m);
	assert_frame(out, n,
		     "020000000001 020000000002 0806"
		     "0001 0800 06 04 0002 020000000002 c00002c8"
		     "020000000001 00000000");
}
END_TEST

START_TEST(test_garp_forms)
{
	static const uint8_t ip[4] = { 192, 0, 2, 200 };
	uint8_t out[ARP_FRAME_MAX];

	size_t n = arp_build_garp(out, sizeof(out), ifc.mac, ip, 0, ARP_GARP_REQUEST);
	assert_frame(out, n,
		     "ffffffffffff 020000000002 0806"
		     "0001 0800 06 04 0001 020000000002 c00002c8"
		     "000000000000 c00002c8");
	n = arp_build_garp(out, sizeof(out), ifc.mac, ip, 0, ARP_GARP_REPLY);
	assert_frame(out, n,
		     "ffffffffffff 020000000002 0806"
		     "0001 0800 06 04 0002 020000000002 c00002c8"
		     "020000000002 c00002c8");
	n = arp_build_garp(out, sizeof(out), ifc.mac, ip, 100, ARP_GARP_REQUEST);
	assert_frame(out, n,
		     "ffffffffffff 020000000002 8100 0064 0806"
		     "0001 0800 06 04 0001 020000000002 c00002c8"
		     "000000000000 c00002c8");
}
END_TEST

START_TEST(test_builders_refuse_small_buffers)
{
	static const uint8_t ip[4] = { 192, 0, 2, 200 };
	struct arp_msg m;
	uint8_t out[ARP_FRAME_MAX];

	ck_assert_int_eq(parse_hex(REQ_HEX, &ifc, &m), ARP_REQUEST);
	for (size_t cap = 0; cap < ARP_FRAME_LEN; cap++) {
		ck_assert_uint_eq(arp_build_reply(out, cap, ifc.mac, &m), 0);
		ck_assert_uint_eq(arp_build_garp(out, cap, ifc.mac, ip, 0, ARP_GARP_REPLY), 0);
	}
	ck_assert_uint_eq(arp_build_reply(out, ARP_FRAME_LEN, ifc.mac, &m), ARP_FRAME_LEN);
}
END_TEST

START_TEST(test_parsed_fields)
{
	struct arp_msg m;
	static const uint8_t spa[4] = { 192, 0, 2, 1 }, tpa[4] = { 192, 0, 2, 200 };

	ck_assert_int_eq(parse_hex(REQ_HEX, &ifc, &m), ARP_REQUEST);
	ck_assert_int_eq(m.op, ARP_OP_REQUEST);
	ck_assert_mem_eq(m.spa, spa, 4);
	ck_assert_mem_eq(m.tpa, tpa, 4);
	ck_assert_int_eq(m.sha[5], 1);
	ck_assert_int_eq(m.vlan, 0);
}
END_TEST

START_TEST(test_every_short_length_is_short)
{
	uint8_t f[128];
	struct arp_msg m;
	size_t n = hex_frame(REQ_HEX, f, sizeof(f));

	for (size_t len = 0; len < ARP_FRAME_LEN; len++)
		ck_assert_str_eq(arp_verdict_str(arp_parse(f, len, &ifc, &m)), "drop_short");
	ck_assert_int_eq(arp_parse(f, ARP_FRAME_LEN, &ifc, &m), ARP_REQUEST);
	ck_assert_int_eq(arp_parse(f, n, &ifc, &m), ARP_REQUEST);

	n = hex_frame(REQ_TAGGED_HEX, f, sizeof(f));
	struct arp_ifc v100 = ifc;
	v100.vlan = 100;
	for (size_t len = 0; len < n; len++)
		ck_assert_int_eq(arp_parse(f, len, &v100, &m), ARP_DROP_SHORT);
	ck_assert_int_eq(arp_parse(f, n, &v100, &m), ARP_REQUEST);
}
END_TEST

/* One byte of the good request changed, and the verdict that must follow. */
static const struct {
	size_t off;
	uint8_t val;
	enum arp_verdict want;
} mutations[] = {
	{ 13, 0x35, ARP_DROP_ETHERTYPE }, /* 0x0835 */
	{ 13, 0x00, ARP_DROP_ETHERTYPE }, /* IPv4 */
	{ 12, 0x86, ARP_DROP_ETHERTYPE }, /* 0x8606 */
	{ 0, 0x02, ARP_DROP_ETH_DST },	  /* not broadcast, not ours */
	{ 0, 0x01, ARP_DROP_ETH_DST },	  /* a multicast group */
	{ 6, 0x01, ARP_DROP_ETH_SRC },	  /* multicast source */
	{ 15, 0x06, ARP_DROP_HTYPE },	  /* htype 6 (IEEE 802) */
	{ 14, 0x01, ARP_DROP_HTYPE },	   { 16, 0x86, ARP_DROP_PTYPE }, /* 0x8600 */
	{ 17, 0x06, ARP_DROP_PTYPE },	   { 18, 0x08, ARP_DROP_HLEN },
	{ 19, 0x10, ARP_DROP_PLEN },	   { 21, 0x03, ARP_DROP_OPCODE }, /* RARP request */
	{ 21, 0x00, ARP_DROP_OPCODE },	   { 20, 0x01, ARP_DROP_OPCODE },
	{ 22, 0x03, ARP_DROP_SENDER_MAC }, /* multicast sha */
	{ 38, 0xe0, ARP_DROP_TARGET_IP },  /* 224.0.2.200 */
	{ 38, 0x7f, ARP_DROP_TARGET_IP },  /* 127.0.2.200 */
	{ 28, 0x7f, ARP_DROP_SENDER_IP },  /* 127.0.2.1 */
	{ 28, 0xef, ARP_DROP_SENDER_IP },  /* 239.0.2.1 */
	{ 21, 0x02, ARP_REPLY },	   /* a reply is well formed, not a drop */
	{ 5, 0xfe, ARP_DROP_ETH_DST },	   /* ff:ff:ff:ff:ff:fe */
};

START_TEST(test_malformed_rejected_with_reason)
{
	uint8_t f[128];
	struct arp_msg m;
	size_t n = hex_frame(REQ_HEX, f, sizeof(f));

	f[mutations[_i].off] = mutations[_i].val;
	enum arp_verdict got = arp_parse(f, n, &ifc, &m);
	ck_assert_msg(got == mutations[_i].want, "byte %zu = 0x%02x: got %s, want %s",
		      mutations[_i].off, mutations[_i].val, arp_verdict_str(got),
		      arp_verdict_str(mutations[_i].want));
}
END_TEST

START_TEST(test_eth_dst_ours_is_accepted)
{
	uint8_t f[128];
	struct arp_msg m;
	size_t n = hex_frame(REQ_HEX, f, sizeof(f));

	memcpy(f, ifc.mac, 6);
	ck_assert_int_eq(arp_parse(f, n, &ifc, &m), ARP_REQUEST);
}
END_TEST

START_TEST(test_sender_zero_mac_dropped)
{
	uint8_t f[128];
	struct arp_msg m;
	size_t n = hex_frame(REQ_HEX, f, sizeof(f));

	memset(f + 22, 0, 6);
	ck_assert_int_eq(arp_parse(f, n, &ifc, &m), ARP_DROP_SENDER_MAC);
	n = hex_frame(REQ_HEX, f, sizeof(f));
	memset(f + 38, 0xff, 4);
	ck_assert_int_eq(arp_parse(f, n, &ifc, &m), ARP_DROP_TARGET_IP);
}
END_TEST

START_TEST(test_vlan_tag_must_match_interface)
{
	struct arp_msg m;
	uint8_t out[ARP_FRAME_MAX];
	struct arp_ifc v100 = ifc, v200 = ifc;

	v100.vlan = 100;
	v200.vlan = 200;
	/* Tagged frame seen on an untagged interface (libpcap puts stripped tags back): not ours.
	 */
	ck_assert_int_eq(parse_hex(REQ_TAGGED_HEX, &ifc, &m), ARP_DROP_VLAN);
	ck_assert_int_eq(parse_hex(REQ_TAGGED_HEX, &v200, &m), ARP_DROP_VLAN);
	ck_assert_int_eq(parse_hex(REQ_HEX, &v100, &m), ARP_DROP_VLAN);
	/* Stacked or 802.1ad tags are never answered. */
	ck_assert_int_eq(parse_hex("ffffffffffff 020000000001 88a8 0064 8100 0064 0806"
				   "0001 0800 06 04 0001 020000000001 c0000201"
				   "000000000000 c00002c8",
				   &v100, &m),
			 ARP_DROP_VLAN);
	/* A priority tag (VLAN 0) is an untagged frame. */
	ck_assert_int_eq(parse_hex("ffffffffffff 020000000001 8100 6000 0806"
				   "0001 0800 06 04 0001 020000000001 c0000201"
				   "000000000000 c00002c8",
				   &ifc, &m),
			 ARP_REQUEST);
	/* On the matching VLAN the reply carries the same tag. */
	ck_assert_int_eq(parse_hex(REQ_TAGGED_HEX, &v100, &m), ARP_REQUEST);
	size_t n = arp_build_reply(out, sizeof(out), ifc.mac, &m);
	assert_frame(out, n,
		     "020000000001 020000000002 8100 0064 0806"
		     "0001 0800 06 04 0002 020000000002 c00002c8"
		     "020000000001 c0000201");
}
END_TEST

START_TEST(test_verdict_names_are_distinct)
{
	for (int a = ARP_REQUEST; a <= ARP_DROP_TARGET_IP; a++) {
		ck_assert_str_ne(arp_verdict_str((enum arp_verdict)a), "unknown");
		for (int b = a + 1; b <= ARP_DROP_TARGET_IP; b++)
			ck_assert_str_ne(arp_verdict_str((enum arp_verdict)a),
					 arp_verdict_str((enum arp_verdict)b));
	}
}
END_TEST

static Suite *arp_suite(void)
{
	Suite *s = suite_create("arp");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_reply_is_kernel_form);
	tcase_add_test(tc, test_probe_reply_keeps_zero_sender);
	tcase_add_test(tc, test_garp_forms);
	tcase_add_test(tc, test_builders_refuse_small_buffers);
	tcase_add_test(tc, test_parsed_fields);
	tcase_add_test(tc, test_every_short_length_is_short);
	tcase_add_loop_test(tc, test_malformed_rejected_with_reason, 0,
			    sizeof(mutations) / sizeof(mutations[0]));
	tcase_add_test(tc, test_eth_dst_ours_is_accepted);
	tcase_add_test(tc, test_sender_zero_mac_dropped);
	tcase_add_test(tc, test_vlan_tag_must_match_interface);
	tcase_add_test(tc, test_verdict_names_are_distinct);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(arp_suite)
