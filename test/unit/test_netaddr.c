/* Unit tests for pkg/net/netaddr: parsing, formatting and prefix containment. */
#include "net/netaddr.h"
#include "unit.h"

#include <sys/socket.h>

static const struct {
	const char *addr;
	const char *net;
	unsigned plen;
	int want;
} prefixes[] = {
	{ "192.0.2.200", "192.0.2.0", 24, 1 },	      { "192.0.2.200", "192.0.2.128", 25, 1 },
	{ "192.0.2.100", "192.0.2.128", 25, 0 },      { "198.51.100.7", "192.0.2.0", 24, 0 },
	{ "192.0.2.1", "192.0.2.1", 32, 1 },	      { "192.0.2.1", "0.0.0.0", 0, 1 },
	{ "192.0.2.1", "192.0.2.0", 33, 0 },	      { "2001:db8::200", "2001:db8::", 64, 1 },
	{ "2001:db8:1::200", "2001:db8::", 64, 0 },   { "2001:db8::200", "2001:db8::", 127, 0 },
	{ "2001:db8::200", "2001:db8::201", 127, 1 }, { "2001:db8::200", "192.0.2.0", 24, 0 },
	{ "192.0.2.1", "2001:db8::", 0, 0 },
};

START_TEST(test_in_prefix)
{
	struct netaddr a, n;

	ck_assert_int_eq(netaddr_parse(prefixes[_i].addr, &a), 0);
	ck_assert_int_eq(netaddr_parse(prefixes[_i].net, &n), 0);
	ck_assert_msg(netaddr_in_prefix(&a, &n, prefixes[_i].plen) == prefixes[_i].want,
		      "%s in %s/%u", prefixes[_i].addr, prefixes[_i].net, prefixes[_i].plen);
}
END_TEST

START_TEST(test_parse_and_format)
{
	struct netaddr a, b;
	char buf[NETADDR_STRLEN];

	ck_assert_int_eq(netaddr_parse("2001:DB8:0::0200", &a), 0);
	ck_assert_int_eq(a.family, AF_INET6);
	ck_assert_str_eq(netaddr_format(&a, buf, sizeof(buf)), "2001:db8::200");
	ck_assert_int_eq(netaddr_parse("192.0.2.1", &b), 0);
	ck_assert_int_eq(b.family, AF_INET);
	ck_assert_str_eq(netaddr_format(&b, buf, sizeof(buf)), "192.0.2.1");
	ck_assert(!netaddr_equal(&a, &b));
	ck_assert_int_eq(netaddr_from_bytes(b.b, 4, &a), 0);
	ck_assert(netaddr_equal(&a, &b));
	ck_assert_int_eq(netaddr_from_bytes(b.b, 5, &a), -1);
	ck_assert_int_eq(netaddr_parse("192.0.2.1/24", &a), -1);
	ck_assert_int_eq(netaddr_parse("192.0.2", &a), -1);
	ck_assert_int_eq(netaddr_parse("", &a), -1);
	ck_assert_int_eq(netaddr_parse(NULL, &a), -1);
	ck_assert_int_eq(netaddr_parse("fe80::1%eth0", &a), -1);
}
END_TEST

static Suite *netaddr_suite(void)
{
	Suite *s = suite_create("netaddr");
	TCase *tc = tcase_create("core");
	tcase_add_loop_test(tc, test_in_prefix, 0, sizeof(prefixes) / sizeof(prefixes[0]));
	tcase_add_test(tc, test_parse_and_format);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(netaddr_suite)
