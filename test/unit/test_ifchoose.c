/* Unit tests for pkg/net/ifchoose: each interface-choice rule as a table row. */
#include "net/ifchoose.h"
#include "unit.h"

#include <string.h>

static struct if_prefix p_lan[2], p_lan2[1], p_lo[1], p_veth[1], p_wg[1], p_down[1];
static struct if_info links[7];

static void prefix(struct if_prefix *p, const char *a, unsigned plen)
{
	ck_assert_int_eq(netaddr_parse(a, &p->addr), 0);
	p->plen = plen;
}

static void link_(int i, int ifindex, const char *name, int up, int lo, int eth,
		  const struct if_prefix *a, size_t na)
{
	memset(&links[i], 0, sizeof(links[i]));
	links[i].ifindex = ifindex;
	snprintf(links[i].name, sizeof(links[i].name), "%s", name);
	links[i].up = up;
	links[i].loopback = lo;
	links[i].ethernet = eth;
	links[i].addrs = a;
	links[i].naddrs = na;
}

/* lo; eth0 192.0.2.10/24 + 2001:db8::10/64; eth1 198.51.100.10/24; veth1a 203.0.113.1/24 (a
 * CNI link); wg0 (not Ethernet) 203.0.113.0/25... and eth2 down in 2001:db8:1::/64. */
static void setup(void)
{
	prefix(&p_lo[0], "127.0.0.1", 8);
	prefix(&p_lan[0], "192.0.2.10", 24);
	prefix(&p_lan[1], "2001:db8::10", 64);
	prefix(&p_lan2[0], "198.51.100.10", 24);
	prefix(&p_veth[0], "203.0.113.1", 24);
	prefix(&p_wg[0], "203.0.113.129", 25);
	prefix(&p_down[0], "2001:db8:1::10", 64);
	link_(0, 1, "lo", 1, 1, 0, p_lo, 1);
	link_(1, 2, "eth0", 1, 0, 1, p_lan, 2);
	link_(2, 3, "eth1", 1, 0, 1, p_lan2, 1);
	link_(3, 4, "veth1a", 1, 0, 1, p_veth, 1);
	link_(4, 5, "wg0", 1, 0, 0, p_wg, 1);
	link_(5, 6, "eth2", 0, 0, 1, p_down, 1);
	link_(6, 7, "cali123", 1, 0, 1, p_lan2, 1);
}

static const struct {
	const char *addr;
	const char *names; /* comma-separated, or NULL */
	enum ifchoose_result want;
	int chosen[3]; /* ifindexes, 0-terminated */
} rows[] = {
	{ "192.0.2.200", NULL, IFCHOOSE_OK, { 2 } },
	{ "2001:db8::200", NULL, IFCHOOSE_OK, { 2 } },
	{ "198.51.100.200", NULL, IFCHOOSE_OK, { 3 } }, /* not cali123, same subnet */
	{ "203.0.113.5", NULL, IFCHOOSE_SUBNET_EXCLUDED, { 0 } },
	{ "203.0.113.200", NULL, IFCHOOSE_SUBNET_EXCLUDED, { 0 } }, /* wg0 is not Ethernet */
	{ "2001:db8:1::200", NULL, IFCHOOSE_SUBNET_DOWN, { 0 } },
	{ "127.0.0.5", NULL, IFCHOOSE_NO_SUBNET, { 0 } },
	{ "100.64.0.1", NULL, IFCHOOSE_NO_SUBNET, { 0 } },
	{ "100.64.0.1", "eth1", IFCHOOSE_OK, { 3 } }, /* a list needs no subnet */
	{ "192.0.2.200", "eth1,eth0", IFCHOOSE_OK, { 3, 2 } },
	{ "192.0.2.200", "veth1a", IFCHOOSE_OK, { 4 } }, /* named: allowed */
	{ "192.0.2.200", "eth9", IFCHOOSE_NAMED_MISSING, { 0 } },
	{ "192.0.2.200", "eth9,eth0", IFCHOOSE_OK, { 2 } },
	{ "192.0.2.200", "eth2", IFCHOOSE_NAMED_DOWN, { 0 } },
	{ "192.0.2.200", "lo", IFCHOOSE_NAMED_UNSUITABLE, { 0 } },
	{ "192.0.2.200", "wg0,eth2", IFCHOOSE_NAMED_UNSUITABLE, { 0 } },
	{ "192.0.2.200", "eth0,eth0", IFCHOOSE_OK, { 2 } },
};

START_TEST(test_pick)
{
	struct netaddr a;
	const char *names[4];
	char buf[64];
	size_t nnames = 0, nout = 99;
	int out[8];

	setup();
	ck_assert_int_eq(netaddr_parse(rows[_i].addr, &a), 0);
	if (rows[_i].names != NULL) {
		snprintf(buf, sizeof(buf), "%s", rows[_i].names);
		for (char *s = strtok(buf, ","); s != NULL; s = strtok(NULL, ","))
			names[nnames++] = s;
	}
	enum ifchoose_result r = ifchoose_pick(links, 7, &a, names, nnames, out, 8, &nout);
	ck_assert_msg(r == rows[_i].want, "%s [%s]: got %s want %s", rows[_i].addr,
		      rows[_i].names ? rows[_i].names : "", ifchoose_result_str(r),
		      ifchoose_result_str(rows[_i].want));
	size_t want_n = 0;
	while (want_n < 3 && rows[_i].chosen[want_n] != 0)
		want_n++;
	ck_assert_uint_eq(nout, want_n);
	for (size_t i = 0; i < want_n; i++)
		ck_assert_int_eq(out[i], rows[_i].chosen[i]);
}
END_TEST

START_TEST(test_excluded_names)
{
	static const char *const yes[] = { "veth0",	"vethabc",     "cni0",
					   "flannel.1", "cali12ab",    "docker0",
					   "lxcbr0",	"cilium_host", "kube-ipvs0" };
	static const char *const no[] = { "eth0",	"enp3s0",  "br0",    "bond0",
					  "kube-ipvs1", "cilium0", "vlan10", "wlan0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(ifchoose_is_excluded(yes[i]), "%s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(!ifchoose_is_excluded(no[i]), "%s", no[i]);
}
END_TEST

START_TEST(test_cap_limits_output)
{
	struct netaddr a;
	int out[1];
	size_t nout;
	const char *names[] = { "eth0", "eth1" };

	setup();
	ck_assert_int_eq(netaddr_parse("192.0.2.1", &a), 0);
	ck_assert_int_eq(ifchoose_pick(links, 7, &a, names, 2, out, 1, &nout), IFCHOOSE_OK);
	ck_assert_uint_eq(nout, 1);
	ck_assert_int_eq(out[0], 2);
}
END_TEST

static Suite *ifchoose_suite(void)
{
	Suite *s = suite_create("ifchoose");
	TCase *tc = tcase_create("core");
	tcase_add_loop_test(tc, test_pick, 0, sizeof(rows) / sizeof(rows[0]));
	tcase_add_test(tc, test_excluded_names);
	tcase_add_test(tc, test_cap_limits_output);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(ifchoose_suite)
