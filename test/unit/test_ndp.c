/* Unit tests for pkg/net/ndp: byte-exact NA forms, solicited-node math, and every malformed
 * NS/NA rejected with its reason. */
#include "net/ndp.h"
#include "hexframe.h"
#include "unit.h"

static const struct ndp_ifc ifc = { .mac = { 2, 0, 0, 0, 0, 2 }, .vlan = 0 };
static const uint8_t target[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0 };
static const uint8_t client[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t unspec[16];
static const uint8_t client_mac[6] = { 2, 0, 0, 0, 0, 1 };

/* 2001:db8::1 (02:..:01) solicits 2001:db8::200 at ff02::1:ff00:200, with its SLLA. */
#define NS_HEX                                                 \
	"3333ff000200 020000000001 86dd"                       \
	"60000000 0020 3a ff 20010db8000000000000000000000001" \
	"ff0200000000000000000001ff000200"                     \
	"87 00 182b 00000000 20010db8000000000000000000000200 01 01 020000000001"

/* The answer: from 2001:db8::200 to the solicitor, S=1 O=1, TLLA = our MAC. */
#define NA_SOLICITED_HEX                                       \
	"020000000001 020000000002 86dd"                       \
	"60000000 0020 3a ff 20010db8000000000000000000000200" \
	"20010db8000000000000000000000001"                     \
	"88 00 8675 60000000 20010db8000000000000000000000200 02 01 020000000002"

/* To all nodes, S=0 O=1, TLLA = our MAC: the unsolicited form, and Linux's answer to DAD. */
#define NA_ALLNODES_HEX                                        \
	"333300000001 020000000002 86dd"                       \
	"60000000 0020 3a ff 20010db8000000000000000000000200" \
	"ff020000000000000000000000000001"                     \
	"88 00 f52b 20000000 20010db8000000000000000000000200 02 01 020000000002"

/* A duplicate-address probe: from ::, no options. */
#define NS_DAD_HEX                                             \
	"3333ff000200 020000000001 86dd"                       \
	"60000000 0018 3a ff 00000000000000000000000000000000" \
	"ff0200000000000000000001ff000200"                     \
	"87 00 48ef 00000000 20010db8000000000000000000000200"

/* An independent ICMPv6 checksum, so a test can change a field and keep the sum right. */
static void fix_cksum(uint8_t *f)
{
	size_t plen = (size_t)f[18] << 8 | f[19];
	uint32_t sum = 58 + (uint32_t)plen;

	f[56] = f[57] = 0;
	for (size_t i = 22; i < 54; i += 2)
		sum += (uint32_t)f[i] << 8 | f[i + 1];
	for (size_t i = 0; i < plen; i += 2)
		sum += (uint32_t)f[54 + i] << 8 | (i + 1 < plen ? f[55 + i] : 0);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	f[56] = (uint8_t)(~sum >> 8);
	f[57] = (uint8_t)~sum;
}

static enum ndp_verdict parse_hex(const char *hex, struct ndp_msg *m)
{
	uint8_t f[256];
	size_t n = hex_frame(hex, f, sizeof(f));
	return ndp_parse(f, n, &ifc, m);
}

START_TEST(test_builders_match_kernel_forms)
{
	uint8_t f[NDP_FRAME_MAX];
	size_t n;

	/* ndp_build_ns writes what a resolving host sends: the test's input frames. */
	n = ndp_build_ns(f, sizeof(f), client_mac, client, target, 0);
	assert_frame(f, n, NS_HEX);
	n = ndp_build_ns(f, sizeof(f), client_mac, unspec, target, 0);
	assert_frame(f, n, NS_DAD_HEX);
	n = ndp_build_na(f, sizeof(f), ifc.mac, target, NDP_NA_KIND_UNSOLICITED, NULL, 0);
	assert_frame(f, n, NA_ALLNODES_HEX);
}
END_TEST

START_TEST(test_solicited_answer)
{
	struct ndp_msg m;
	uint8_t f[NDP_FRAME_MAX];

	ck_assert_int_eq(parse_hex(NS_HEX, &m), NDP_NS);
	ck_assert_mem_eq(m.target, target, 16);
	ck_assert_mem_eq(m.src, client, 16);
	ck_assert(m.has_lla);
	ck_assert_mem_eq(m.lla, client_mac, 6);
	ck_assert_int_eq(ndp_answer_kind(&m), NDP_NA_KIND_SOLICITED);
	size_t n = ndp_build_na(f, sizeof(f), ifc.mac, m.target, ndp_answer_kind(&m), &m, 0);
	assert_frame(f, n, NA_SOLICITED_HEX);
}
END_TEST

START_TEST(test_dad_answer_goes_to_all_nodes)
{
	struct ndp_msg m;
	uint8_t f[NDP_FRAME_MAX];

	ck_assert_int_eq(parse_hex(NS_DAD_HEX, &m), NDP_NS);
	ck_assert(!m.has_lla);
	ck_assert_int_eq(ndp_answer_kind(&m), NDP_NA_KIND_DAD);
	size_t n = ndp_build_na(f, sizeof(f), ifc.mac, m.target, NDP_NA_KIND_DAD, &m, 0);
	assert_frame(f, n, NA_ALLNODES_HEX);
}
END_TEST

START_TEST(test_unicast_ns_without_slla_uses_eth_source)
{
	struct ndp_msg m;
	uint8_t f[256];
	uint8_t out[NDP_FRAME_MAX];

	/* Unicast NUD probe to the target itself, to our MAC. */
	size_t n = hex_frame(NS_HEX, f, sizeof(f));
	memcpy(f, ifc.mac, 6);
	memcpy(f + 38, target, 16);
	fix_cksum(f);
	ck_assert_int_eq(ndp_parse(f, n, &ifc, &m), NDP_NS);
	/* The answer goes to the SLLA; with none it would go to the Ethernet source. */
	m.has_lla = 0;
	memset(m.eth_src, 0x0a, 6);
	n = ndp_build_na(out, sizeof(out), ifc.mac, m.target, NDP_NA_KIND_SOLICITED, &m, 0);
	ck_assert_uint_eq(n, NDP_FRAME_LEN);
	ck_assert_int_eq(out[0], 0x0a);
	ck_assert_uint_eq(
		ndp_build_na(out, sizeof(out), ifc.mac, target, NDP_NA_KIND_SOLICITED, NULL, 0), 0);
}
END_TEST

START_TEST(test_parse_na)
{
	struct ndp_msg m;

	ck_assert_int_eq(parse_hex(NA_ALLNODES_HEX, &m), NDP_NA);
	ck_assert_int_eq(m.flags, NDP_NA_OVERRIDE);
	ck_assert(m.has_lla);
	ck_assert_mem_eq(m.lla, ifc.mac, 6);
	ck_assert_mem_eq(m.target, target, 16);
	/* Solicited set on a multicast NA is invalid (RFC 4861 7.1.2). */
	uint8_t f[256];
	size_t n = hex_frame(NA_ALLNODES_HEX, f, sizeof(f));
	f[58] = NDP_NA_SOLICITED | NDP_NA_OVERRIDE;
	fix_cksum(f);
	ck_assert_int_eq(ndp_parse(f, n, &ifc, &m), NDP_DROP_NA_SOLICITED_MCAST);
}
END_TEST

START_TEST(test_solicited_node_group)
{
	uint8_t g[16], mac[6];
	static const uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0,	0,    0,
				       1,    2,	   3,	 4,    5, 0xab, 0xcd, 0xef };
	static const uint8_t want[16] = { 0xff, 0x02, 0, 0, 0,	  0,	0,    0,
					  0,	0,    0, 1, 0xff, 0xab, 0xcd, 0xef };
	static const uint8_t want_mac[6] = { 0x33, 0x33, 0xff, 0xab, 0xcd, 0xef };

	ndp_solicited_node(a, g);
	ck_assert_mem_eq(g, want, 16);
	ndp_multicast_mac(g, mac);
	ck_assert_mem_eq(mac, want_mac, 6);
}
END_TEST

START_TEST(test_every_short_length_is_short)
{
	uint8_t f[256];
	struct ndp_msg m;
	size_t n = hex_frame(NS_HEX, f, sizeof(f));

	ck_assert_uint_eq(n, NDP_FRAME_LEN);
	for (size_t len = 0; len < n; len++)
		ck_assert_str_eq(ndp_verdict_str(ndp_parse(f, len, &ifc, &m)), "drop_short");
	ck_assert_int_eq(ndp_parse(f, n, &ifc, &m), NDP_NS);
	n = hex_frame(NS_DAD_HEX, f, sizeof(f));
	for (size_t len = 0; len < n; len++)
		ck_assert_int_eq(ndp_parse(f, len, &ifc, &m), NDP_DROP_SHORT);
}
END_TEST

/* One byte of the good NS changed (checksum recomputed when fix is set), and the verdict. */
static const struct {
	size_t off;
	uint8_t val;
	int fix;
	enum ndp_verdict want;
} mutations[] = {
	{ 12, 0x08, 1, NDP_DROP_ETHERTYPE }, /* 0x08dd */
	{ 0, 0x01, 1, NDP_DROP_ETH_DST },    /* not 33:33:..., not ours */
	{ 14, 0x40, 1, NDP_DROP_IP_VERSION },
	{ 20, 0x00, 1, NDP_DROP_NEXT_HEADER }, /* hop-by-hop header first */
	{ 21, 64, 1, NDP_DROP_HOP_LIMIT },     /* it crossed a router */
	{ 21, 254, 1, NDP_DROP_HOP_LIMIT },
	{ 54, 128, 1, NDP_DROP_ICMP_TYPE }, /* echo request */
	{ 54, 134, 1, NDP_DROP_ICMP_TYPE }, /* router advertisement */
	{ 55, 1, 1, NDP_DROP_ICMP_CODE },
	{ 57, 0x2c, 0, NDP_DROP_CHECKSUM }, /* checksum off by one */
	{ 77, 0x01, 0, NDP_DROP_CHECKSUM }, /* target changed, sum not */
	{ 22, 0xff, 1, NDP_DROP_SRC_MULTICAST },
	{ 62, 0xff, 1, NDP_DROP_TARGET_MULTICAST },
	{ 53, 0x01, 1, NDP_DROP_IP_DST }, /* another target's group */
	{ 79, 0, 1, NDP_DROP_OPT_ZERO_LEN },
	{ 79, 2, 1, NDP_DROP_OPT_TRUNCATED },	 /* 16 bytes announced, 8 there */
	{ 19, 0x1f, 1, NDP_DROP_OPT_TRUNCATED }, /* payload ends inside the option */
	{ 19, 0x21, 1, NDP_DROP_SHORT },	 /* payload longer than the frame */
	{ 19, 0x17, 1, NDP_DROP_ICMP_LENGTH },	 /* 23 bytes: no room for the target */
	{ 19, 0x03, 1, NDP_DROP_ICMP_LENGTH },
	{ 78, 3, 1, NDP_DROP_NO_SLLA }, /* only a prefix option */
	{ 58, 0xe0, 1, NDP_NS },	/* reserved bits are ignored */
};

START_TEST(test_malformed_rejected_with_reason)
{
	uint8_t f[256];
	struct ndp_msg m;
	size_t n = hex_frame(NS_HEX, f, sizeof(f));

	f[mutations[_i].off] = mutations[_i].val;
	if (mutations[_i].fix)
		fix_cksum(f);
	enum ndp_verdict got = ndp_parse(f, n, &ifc, &m);
	ck_assert_msg(got == mutations[_i].want, "byte %zu = 0x%02x: got %s, want %s",
		      mutations[_i].off, mutations[_i].val, ndp_verdict_str(got),
		      ndp_verdict_str(mutations[_i].want));
}
END_TEST

START_TEST(test_dad_rules)
{
	uint8_t f[256];
	struct ndp_msg m;

	/* DAD probe to its target's address instead of the solicited-node group. */
	size_t n = hex_frame(NS_DAD_HEX, f, sizeof(f));
	memcpy(f + 38, target, 16);
	fix_cksum(f);
	ck_assert_int_eq(ndp_parse(f, n, &ifc, &m), NDP_DROP_DAD_DST);
	/* DAD probe to all nodes. */
	n = hex_frame(NS_DAD_HEX, f, sizeof(f));
	f[49] = 0;
	f[50] = 0;
	f[51] = 0;
	f[52] = 0;
	f[53] = 1;
	fix_cksum(f);
	ck_assert_int_eq(ndp_parse(f, n, &ifc, &m), NDP_DROP_DAD_DST);
	/* DAD probe carrying a source link-layer option. */
	n = hex_frame(NS_HEX, f, sizeof(f));
	memset(f + 22, 0, 16);
	fix_cksum(f);
	ck_assert_int_eq(ndp_parse(f, n, &ifc, &m), NDP_DROP_DAD_SLLA);
}
END_TEST

START_TEST(test_option_lengths)
{
	uint8_t f[256];
	struct ndp_msg m;
	size_t n = hex_frame(NS_HEX, f, sizeof(f));

	/* A 16-byte SLLA: wrong length for Ethernet. */
	memset(f + n, 0, 8);
	n += 8;
	f[19] = 0x28;
	f[79] = 2;
	fix_cksum(f);
	ck_assert_int_eq(ndp_parse(f, n, &ifc, &m), NDP_DROP_LLA_LEN);
	/* Another option first, then the SLLA: found. Then a zero-length one after it. */
	n = hex_frame(NS_HEX, f, sizeof(f));
	memmove(f + 86, f + 78, 8);
	memset(f + 78, 0, 8);
	f[78] = 14; /* nonce */
	f[79] = 1;
	n += 8;
	f[19] = 0x28;
	fix_cksum(f);
	ck_assert_int_eq(ndp_parse(f, n, &ifc, &m), NDP_NS);
	ck_assert_mem_eq(m.lla, client_mac, 6);
	f[n] = 14;
	f[n + 1] = 0;
	n += 8;
	f[19] = 0x30;
	fix_cksum(f);
	ck_assert_int_eq(ndp_parse(f, n, &ifc, &m), NDP_DROP_OPT_ZERO_LEN);
	/* One odd byte of options: truncated. */
	n = hex_frame(NS_DAD_HEX, f, sizeof(f));
	f[n++] = 1;
	f[19] = 0x19;
	fix_cksum(f);
	ck_assert_int_eq(ndp_parse(f, n, &ifc, &m), NDP_DROP_OPT_TRUNCATED);
}
END_TEST

START_TEST(test_vlan_and_padding)
{
	uint8_t f[256], t[256];
	struct ndp_msg m;
	struct ndp_ifc v7 = ifc;
	size_t n = hex_frame(NS_HEX, f, sizeof(f));

	/* Trailing padding after the IPv6 payload is ignored. */
	memset(f + n, 0, 10);
	ck_assert_int_eq(ndp_parse(f, n + 10, &ifc, &m), NDP_NS);
	/* The same NS tagged for VLAN 7. */
	memcpy(t, f, 12);
	t[12] = 0x81;
	t[13] = 0x00;
	t[14] = 0x00;
	t[15] = 0x07;
	memcpy(t + 16, f + 12, n - 12);
	v7.vlan = 7;
	ck_assert_int_eq(ndp_parse(t, n + 4, &ifc, &m), NDP_DROP_VLAN);
	ck_assert_int_eq(ndp_parse(t, n + 4, &v7, &m), NDP_NS);
	ck_assert_int_eq(m.vlan, 7);
	ck_assert_int_eq(ndp_parse(f, n, &v7, &m), NDP_DROP_VLAN);
	for (size_t len = 0; len < n + 4; len++)
		ck_assert_int_eq(ndp_parse(t, len, &v7, &m), NDP_DROP_SHORT);
}
END_TEST

START_TEST(test_checksum_helper_matches_frames)
{
	uint8_t f[256];
	size_t n = hex_frame(NS_HEX, f, sizeof(f));

	ck_assert_uint_eq(n, NDP_FRAME_LEN);
	ck_assert_uint_eq(ndp_checksum(f + 22, f + 38, f + 54, 32), 0x182b);
	f[57] ^= 0x5a; /* the field's current value does not matter */
	ck_assert_uint_eq(ndp_checksum(f + 22, f + 38, f + 54, 32), 0x182b);
	ck_assert_uint_eq(hex_frame(NA_SOLICITED_HEX, f, sizeof(f)), NDP_FRAME_LEN);
	ck_assert_uint_eq(ndp_checksum(f + 22, f + 38, f + 54, 32), 0x8675);
}
END_TEST

START_TEST(test_verdict_names_are_distinct)
{
	for (int a = NDP_NS; a <= NDP_DROP_NA_SOLICITED_MCAST; a++) {
		ck_assert_str_ne(ndp_verdict_str((enum ndp_verdict)a), "unknown");
		for (int b = a + 1; b <= NDP_DROP_NA_SOLICITED_MCAST; b++)
			ck_assert_str_ne(ndp_verdict_str((enum ndp_verdict)a),
					 ndp_verdict_str((enum ndp_verdict)b));
	}
}
END_TEST

static Suite *ndp_suite(void)
{
	Suite *s = suite_create("ndp");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_builders_match_kernel_forms);
	tcase_add_test(tc, test_solicited_answer);
	tcase_add_test(tc, test_dad_answer_goes_to_all_nodes);
	tcase_add_test(tc, test_unicast_ns_without_slla_uses_eth_source);
	tcase_add_test(tc, test_parse_na);
	tcase_add_test(tc, test_solicited_node_group);
	tcase_add_test(tc, test_every_short_length_is_short);
	tcase_add_loop_test(tc, test_malformed_rejected_with_reason, 0,
			    sizeof(mutations) / sizeof(mutations[0]));
	tcase_add_test(tc, test_dad_rules);
	tcase_add_test(tc, test_option_lengths);
	tcase_add_test(tc, test_vlan_and_padding);
	tcase_add_test(tc, test_checksum_helper_matches_frames);
	tcase_add_test(tc, test_verdict_names_are_distinct);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(ndp_suite)
