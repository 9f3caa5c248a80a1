/* Unit tests for pkg/ipam: entry parsing, pool validation, allocation order, sharing, dual-stack.
 */
#include "ipam/ipam.h"
#include "unit.h"

#include <stdint.h>
#include <string.h>

static struct ipam_addr A(const char *s) {
	struct ipam_addr a;
	ck_assert_msg(ipam_addr_parse(s, &a) == 0, "bad test address %s", s);
	return a;
}

static const char *
fmt(const struct ipam_addr *a)
{
	static char buf[4][IPAM_ADDR_STRLEN];
	static int i;
	i = (i + 1) % 4;
	return ipam_addr_format(a, buf[i], sizeof(buf[i]));
}

static bool buggy(const char *s)
{
	struct ipam_addr a = A(s);
	return ipam_addr_is_buggy(&a);
}

START_TEST(test_addr_math)
{
	struct ipam_addr a = A("192.0.2.255"), b;
	ck_assert_int_eq(ipam_addr_add(&a, 1, &b), 0);
	ck_assert_str_eq(fmt(&b), "192.0.3.0");
	a = A("255.255.255.255");
	ck_assert_int_eq(ipam_addr_add(&a, 1, &b), -1);
	a = A("2001:db8::ffff:ffff:ffff:ffff");
	ck_assert_int_eq(ipam_addr_add(&a, 1, &b), 0);
	ck_assert_str_eq(fmt(&b), "2001:db8:0:1::");
	a = A("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	ck_assert_int_eq(ipam_addr_add(&a, 1, &b), -1);
	a = A("192.0.2.1");
	b = A("::1");
	ck_assert_int_lt(ipam_addr_cmp(&a, &b), 0); /* IPv4 orders first */
	ck_assert(buggy("10.0.0.0"));
	ck_assert(buggy("10.0.0.255"));
	ck_assert(!buggy("10.0.1.1"));
	ck_assert(!buggy("2001:db8::ff"));
	ck_assert_int_eq(ipam_addr_parse("::ffff:192.0.2.1", &b), -1);
	ck_assert_int_eq(ipam_addr_parse("192.0.2.01", &b), -1);
	ck_assert_int_eq(ipam_addr_parse(" 192.0.2.1", &b), -1);
}
END_TEST

static const struct {
	const char *in;
	enum ipam_entry_status want;
	const char *first, *last;
} entries[] = {
	{ "192.0.2.0/24", IPAM_ENTRY_OK, "192.0.2.0", "192.0.2.255" },
	{ "192.0.2.7/24", IPAM_ENTRY_OK, "192.0.2.0", "192.0.2.255" }, /* host bits: as MetalLB */
	{ "192.0.2.200/32", IPAM_ENTRY_OK, "192.0.2.200", "192.0.2.200" },
	{ "0.0.0.0/0", IPAM_ENTRY_OK, "0.0.0.0", "255.255.255.255" },
	{ "2001:db8::/120", IPAM_ENTRY_OK, "2001:db8::", "2001:db8::ff" },
	{ "2001:db8::1/64", IPAM_ENTRY_OK, "2001:db8::", "2001:db8::ffff:ffff:ffff:ffff" },
	{ "2001:db8::200/128", IPAM_ENTRY_OK, "2001:db8::200", "2001:db8::200" },
	{ "192.0.2.10-192.0.2.20", IPAM_ENTRY_OK, "192.0.2.10", "192.0.2.20" },
	{ "192.0.2.10 - 192.0.2.20", IPAM_ENTRY_OK, "192.0.2.10", "192.0.2.20" },
	{ "192.0.2.10-192.0.2.10", IPAM_ENTRY_OK, "192.0.2.10", "192.0.2.10" },
	{ "2001:db8::10-2001:db8::ff", IPAM_ENTRY_OK, "2001:db8::10", "2001:db8::ff" },
	{ "", IPAM_ENTRY_EMPTY, NULL, NULL },
	{ "   ", IPAM_ENTRY_EMPTY, NULL, NULL },
	{ "banana", IPAM_ENTRY_GARBAGE, NULL, NULL },
	{ "192.0.2.0/24x", IPAM_ENTRY_BAD_PREFIX, NULL, NULL },
	{ "192.0.2.1", IPAM_ENTRY_BARE_IP, NULL, NULL },
	{ "2001:db8::1", IPAM_ENTRY_BARE_IP, NULL, NULL },
	{ "192.0.2.0/33", IPAM_ENTRY_BAD_PREFIX, NULL, NULL },
	{ "2001:db8::/129", IPAM_ENTRY_BAD_PREFIX, NULL, NULL },
	{ "192.0.2.0/", IPAM_ENTRY_BAD_PREFIX, NULL, NULL },
	{ "192.0.2.0/024", IPAM_ENTRY_BAD_PREFIX, NULL, NULL },
	{ "192.0.2.0/-1", IPAM_ENTRY_BAD_START, NULL, NULL },
	{ "300.0.2.0/24", IPAM_ENTRY_GARBAGE, NULL, NULL },
	{ "-192.0.2.5", IPAM_ENTRY_BAD_START, NULL, NULL },
	{ "192.0.2.5-", IPAM_ENTRY_BAD_END, NULL, NULL },
	{ "192.0.2.5-x", IPAM_ENTRY_BAD_END, NULL, NULL },
	{ "192.0.2.0/24-192.0.2.9", IPAM_ENTRY_BAD_START, NULL, NULL },
	{ "192.0.2.1-2001:db8::1", IPAM_ENTRY_MIXED_FAMILY, NULL, NULL },
	{ "2001:db8::1-192.0.2.1", IPAM_ENTRY_MIXED_FAMILY, NULL, NULL },
	{ "192.0.2.20-192.0.2.10", IPAM_ENTRY_END_BEFORE_START, NULL, NULL },
	{ "2001:db8::ff-2001:db8::10", IPAM_ENTRY_END_BEFORE_START, NULL, NULL },
};

START_TEST(test_entry_parse)
{
	struct ipam_range r;
	enum ipam_entry_status st = ipam_entry_parse(entries[_i].in, &r);
	ck_assert_msg(st == entries[_i].want, "\"%s\": got %s want %s", entries[_i].in,
		      ipam_entry_status_str(st), ipam_entry_status_str(entries[_i].want));
	if (st == IPAM_ENTRY_OK) {
		ck_assert_str_eq(fmt(&r.first), entries[_i].first);
		ck_assert_str_eq(fmt(&r.last), entries[_i].last);
	}
}
END_TEST

static struct ipam_pool *mkpool(const char *name, const char *const *addrs)
{
	struct ipam_pool *p = ipam_pool_new(name);
	char msg[256];
	ck_assert_ptr_nonnull(p);
	for (; *addrs != NULL; addrs++)
		ck_assert_msg(ipam_pool_add_entry(p, *addrs, NULL, msg, sizeof(msg)) ==
				      IPAM_POOL_OK,
			      "%s", msg);
	return p;
}

START_TEST(test_pool_rejections)
{
	char msg[256];
	enum ipam_entry_status why;
	struct ipam_pool *p = ipam_pool_new("lan");
	ck_assert_int_eq(ipam_pool_check(p, msg, sizeof(msg)), IPAM_POOL_NO_ADDRESSES);
	ck_assert_str_eq(msg, "pool \"lan\": spec.addresses is empty");
	ck_assert_int_eq(ipam_pool_add_entry(p, "192.0.2.9-192.0.2.1", &why, msg, sizeof(msg)),
			 IPAM_POOL_BAD_ENTRY);
	ck_assert_int_eq(why, IPAM_ENTRY_END_BEFORE_START);
	ck_assert_str_eq(
		msg, "pool \"lan\": address \"192.0.2.9-192.0.2.1\": range ends before it starts");
	ck_assert_int_eq(ipam_pool_add_entry(p, "192.0.2.1", &why, msg, sizeof(msg)),
			 IPAM_POOL_BAD_ENTRY);
	ck_assert_str_eq(
		msg,
		"pool \"lan\": address \"192.0.2.1\": a bare address is not a CIDR, write /32 or /128");
	ck_assert_int_eq(ipam_pool_add_entry(p, "192.0.2.100-192.0.2.110", &why, msg, sizeof(msg)),
			 IPAM_POOL_OK);
	ck_assert_int_eq(ipam_pool_add_entry(p, "192.0.2.0/25", &why, msg, sizeof(msg)),
			 IPAM_POOL_OVERLAP);
	ck_assert_str_eq(
		msg, "pool \"lan\": address \"192.0.2.0/25\" overlaps \"192.0.2.100-192.0.2.110\"");
	ck_assert_int_eq(ipam_pool_add_entry(p, "2001:db8::/120", &why, msg, sizeof(msg)),
			 IPAM_POOL_OK);
	ck_assert_int_eq(ipam_pool_check(p, msg, sizeof(msg)), IPAM_POOL_OK);
	ck_assert_uint_eq(ipam_pool_nranges(p), 2);

	struct ipam_pool *q = mkpool("wifi", (const char *[]){ "192.0.2.110/32", NULL });
	ck_assert_int_eq(ipam_pool_check_overlap(q, p, msg, sizeof(msg)), IPAM_POOL_OVERLAP_OTHER);
	ck_assert_str_eq(
		msg,
		"pool \"wifi\": address \"192.0.2.110/32\" overlaps \"192.0.2.100-192.0.2.110\" of pool \"lan\"");
	struct ipam_pool *r =
		mkpool("far", (const char *[]){ "192.0.2.111/32", "2001:db8::100/120", NULL });
	ck_assert_int_eq(ipam_pool_check_overlap(r, p, msg, sizeof(msg)), IPAM_POOL_OK);
	ck_assert_int_eq(ipam_pool_check_overlap(p, r, msg, sizeof(msg)), IPAM_POOL_OK);
	ipam_pool_free(p);
	ipam_pool_free(q);
	ipam_pool_free(r);
	ipam_pool_free(NULL);
}
END_TEST

START_TEST(test_pool_size_and_contains)
{
	struct ipam_pool *p =
		mkpool("p", (const char *[]){ "192.0.2.0/24", "198.51.100.250-198.51.101.5",
					      "2001:db8::/64", NULL });
	ck_assert(ipam_pool_size(p, IPAM_V4) == 256 + 12);
	ck_assert(ipam_pool_size(p, IPAM_V6) == (ipam_u128)1 << 64);
	struct ipam_addr zero = A("192.0.2.0");
	ck_assert(ipam_pool_contains(p, &zero));
	ipam_pool_set_avoid_buggy(p, true);
	ck_assert(!ipam_pool_contains(p, &zero));
	/* .1-.254, then .250-.254 and .1-.5 of the next /24. */
	ck_assert(ipam_pool_size(p, IPAM_V4) == 254 + 10);
	ck_assert(ipam_pool_size(p, IPAM_V6) == (ipam_u128)1 << 64);
	struct ipam_addr out = A("203.0.113.1");
	ck_assert(!ipam_pool_contains(p, &out));
	ipam_pool_free(p);
}
END_TEST

static struct ipam_claim claim(const char *svc)
{
	return (struct ipam_claim){ .service = svc };
}

START_TEST(test_alloc_order)
{
	struct ipam_pool *p =
		mkpool("p", (const char *[]){ "192.0.2.200-192.0.2.201", "192.0.2.0/31", NULL });
	struct ipam *ip = ipam_new();
	struct ipam_addr a;
	static const char *want[] = { "192.0.2.0", "192.0.2.1", "192.0.2.200", "192.0.2.201" };
	char name[16];
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "ns/s%d", i);
		struct ipam_claim c = claim(name);
		ck_assert_int_eq(ipam_alloc(ip, p, IPAM_V4, &c, &a), IPAM_OK);
		ck_assert_str_eq(fmt(&a), want[i]);
	}
	struct ipam_claim c = claim("ns/late");
	ck_assert_int_eq(ipam_alloc(ip, p, IPAM_V4, &c, &a), IPAM_EXHAUSTED);
	ck_assert_int_eq(ipam_alloc(ip, p, IPAM_V6, &c, &a), IPAM_NO_FAMILY);
	ck_assert_int_eq(ipam_alloc(ip, NULL, IPAM_V4, &c, &a), IPAM_NO_POOL);
	/* Freeing in the middle makes that the next one handed out. */
	ck_assert_int_eq(ipam_release(ip, "ns/s1"), 1);
	ck_assert_int_eq(ipam_alloc(ip, p, IPAM_V4, &c, &a), IPAM_OK);
	ck_assert_str_eq(fmt(&a), "192.0.2.1");
	/* Asking again returns what the service already holds. */
	ck_assert_int_eq(ipam_alloc(ip, p, IPAM_V4, &c, &a), IPAM_OK);
	ck_assert_str_eq(fmt(&a), "192.0.2.1");
	ck_assert_uint_eq(ipam_count_in_pool(ip, p, IPAM_V4), 4);
	ck_assert_uint_eq(ipam_count(ip), 4);
	ipam_free(ip);
	ipam_pool_free(p);
}
END_TEST

START_TEST(test_alloc_avoid_buggy)
{
	struct ipam_pool *p = mkpool("p", (const char *[]){ "192.0.2.254-192.0.4.1", NULL });
	ipam_pool_set_avoid_buggy(p, true);
	struct ipam *ip = ipam_new();
	struct ipam_addr a;
	char name[16];
	/* 192.0.2.254, 192.0.3.1 ... 192.0.3.254, 192.0.4.1: 256 usable. */
	for (int i = 0; i < 256; i++) {
		snprintf(name, sizeof(name), "ns/s%d", i);
		struct ipam_claim c = claim(name);
		ck_assert_int_eq(ipam_alloc(ip, p, IPAM_V4, &c, &a), IPAM_OK);
		ck_assert(!ipam_addr_is_buggy(&a));
		if (i == 0)
			ck_assert_str_eq(fmt(&a), "192.0.2.254");
		if (i == 1)
			ck_assert_str_eq(fmt(&a), "192.0.3.1");
		if (i == 255)
			ck_assert_str_eq(fmt(&a), "192.0.4.1");
	}
	struct ipam_claim c = claim("ns/late");
	ck_assert_int_eq(ipam_alloc(ip, p, IPAM_V4, &c, &a), IPAM_EXHAUSTED);
	ck_assert(ipam_pool_size(p, IPAM_V4) == 256);
	/* A buggy address cannot be requested from such a pool either. */
	struct ipam_addr bug = A("192.0.3.0");
	ck_assert_int_eq(ipam_assign(ip, p, &bug, &c), IPAM_NOT_IN_POOL);
	ipam_free(ip);
	ipam_pool_free(p);
}
END_TEST

/* Cross-checks the tree search against a plain scan over random allocations and frees. */
START_TEST(test_alloc_matches_naive)
{
	enum { N = 600 };
	for (int avoid = 0; avoid < 2; avoid++) {
		struct ipam_pool *p = mkpool("p", (const char *[]){ "10.0.0.3-10.0.2.40", NULL });
		ipam_pool_set_avoid_buggy(p, avoid);
		struct ipam *ip = ipam_new();
		bool used[N] = { false };
		unsigned seed = 12345;
		char name[24];
		for (int step = 0; step < 4000; step++) {
			seed = seed * 1103515245u + 12345u;
			unsigned off = (seed >> 8) % N;
			struct ipam_addr base = A("10.0.0.3"), x;
			ck_assert_int_eq(ipam_addr_add(&base, off, &x), 0);
			snprintf(name, sizeof(name), "ns/%u", off);
			if (used[off] && (seed & 0x10000)) {
				ck_assert_int_eq(ipam_release(ip, name), 1);
				used[off] = false;
				continue;
			}
			/* Allocate the lowest for a fresh name and compare with a scan. */
			int expect = -1;
			for (int i = 0; i < N; i++) {
				struct ipam_addr y;
				ck_assert_int_eq(ipam_addr_add(&base, (unsigned)i, &y), 0);
				if (!used[i] && !(avoid && ipam_addr_is_buggy(&y)) &&
				    ipam_pool_contains(p, &y)) {
					expect = i;
					break;
				}
			}
			snprintf(name, sizeof(name), "ns/%d", expect);
			struct ipam_claim c = claim(name);
			struct ipam_addr got;
			enum ipam_status st = ipam_alloc(ip, p, IPAM_V4, &c, &got);
			if (expect < 0) {
				ck_assert_int_eq(st, IPAM_EXHAUSTED);
				continue;
			}
			ck_assert_int_eq(st, IPAM_OK);
			ck_assert_int_eq(ipam_addr_add(&base, (unsigned)expect, &x), 0);
			ck_assert_str_eq(fmt(&got), fmt(&x));
			used[expect] = true;
		}
		ipam_free(ip);
		ipam_pool_free(p);
	}
}
END_TEST

START_TEST(test_big_v6_pool_memory)
{
	enum { N = 100000 };
	struct ipam_pool *p = mkpool("v6", (const char *[]){ "2001:db8::/64", NULL });
	struct ipam *ip = ipam_new();
	size_t base = ipam_mem_bytes(ip);
	struct ipam_addr a, first = A("2001:db8::"), want;
	char name[32];
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "default/svc-%06d", i);
		struct ipam_claim c = claim(name);
		ck_assert_int_eq(ipam_alloc(ip, p, IPAM_V6, &c, &a), IPAM_OK);
	}
	ck_assert_int_eq(ipam_addr_add(&first, N - 1, &want), 0);
	ck_assert_str_eq(fmt(&a), fmt(&want));
	size_t per = (ipam_mem_bytes(ip) - base) / N;
	printf("ipam: %d allocations in a /64 hold %zu bytes, %zu bytes per allocation "
	       "(tree node, service record with its name, holder list, hash slot)\n",
	       N, ipam_mem_bytes(ip) - base, per);
	ck_assert_uint_lt(per, 256);
	ck_assert_uint_eq(ipam_count_in_pool(ip, p, IPAM_V6), N);
	/* A hole in the middle is found again. */
	ck_assert_int_eq(ipam_release(ip, "default/svc-050000"), 1);
	struct ipam_claim c = claim("default/again");
	ck_assert_int_eq(ipam_alloc(ip, p, IPAM_V6, &c, &a), IPAM_OK);
	ck_assert_int_eq(ipam_addr_add(&first, 50000, &want), 0);
	ck_assert_str_eq(fmt(&a), fmt(&want));
	for (int i = 0; i < N; i += 2) {
		snprintf(name, sizeof(name), "default/svc-%06d", i);
		ipam_release(ip, name);
	}
	ck_assert_uint_eq(ipam_count(ip), N / 2 + 1); /* the odd ones and default/again */
	ipam_free(ip);
	ipam_pool_free(p);
}
END_TEST

static const struct ipam_port tcp80[] = { { 80, IPAM_PROTO_TCP } };
static const struct ipam_port udp80[] = { { 80, IPAM_PROTO_UDP } };
static const struct ipam_port tcp443[] = { { 443, IPAM_PROTO_TCP }, { 8443, IPAM_PROTO_TCP } };

static const struct {
	const char *name;
	struct ipam_claim first, second;
	enum ipam_status want;
} sharing[] = {
	{ "same key, other ports",
	  { "ns/a", "k", NULL, tcp80, 1 },
	  { "ns/b", "k", NULL, tcp443, 2 },
	  IPAM_OK },
	{ "same port, other protocol",
	  { "ns/a", "k", NULL, tcp80, 1 },
	  { "ns/b", "k", NULL, udp80, 1 },
	  IPAM_OK },
	{ "port clash",
	  { "ns/a", "k", NULL, tcp80, 1 },
	  { "ns/b", "k", NULL, tcp80, 1 },
	  IPAM_SHARING_PORTS },
	{ "other key",
	  { "ns/a", "k", NULL, tcp80, 1 },
	  { "ns/b", "j", NULL, tcp443, 2 },
	  IPAM_SHARING_KEY },
	{ "first does not share",
	  { "ns/a", NULL, NULL, tcp80, 1 },
	  { "ns/b", "k", NULL, tcp443, 2 },
	  IPAM_IN_USE },
	{ "second does not share",
	  { "ns/a", "k", NULL, tcp80, 1 },
	  { "ns/b", "", NULL, tcp443, 2 },
	  IPAM_IN_USE },
	{ "Local and Cluster",
	  { "ns/a", "k", "app=web", tcp80, 1 },
	  { "ns/b", "k", NULL, tcp443, 2 },
	  IPAM_SHARING_POLICY },
	{ "Local, other pods",
	  { "ns/a", "k", "app=web", tcp80, 1 },
	  { "ns/b", "k", "app=db", tcp443, 2 },
	  IPAM_SHARING_POLICY },
	{ "Local, same pods",
	  { "ns/a", "k", "app=web", tcp80, 1 },
	  { "ns/b", "k", "app=web", tcp443, 2 },
	  IPAM_OK },
};

START_TEST(test_sharing)
{
	struct ipam_pool *p = mkpool("p", (const char *[]){ "192.0.2.200-192.0.2.201", NULL });
	struct ipam *ip = ipam_new();
	struct ipam_addr a, b, want = A("192.0.2.200");
	ck_assert_int_eq(ipam_alloc(ip, p, IPAM_V4, &sharing[_i].first, &a), IPAM_OK);
	ck_assert_str_eq(fmt(&a), "192.0.2.200");
	enum ipam_status st = ipam_assign(ip, p, &want, &sharing[_i].second);
	ck_assert_msg(st == sharing[_i].want, "%s: got %s", sharing[_i].name, ipam_status_str(st));
	const char *who[4];
	if (st == IPAM_OK) {
		ck_assert_uint_eq(ipam_holders(ip, &want, who, 4), 2);
		ck_assert_str_eq(who[0], "ns/a");
		ck_assert_str_eq(who[1], "ns/b");
		ck_assert_uint_eq(ipam_count_in_pool(ip, p, IPAM_V4), 1);
		/* Freeing one leaves the other holding it. */
		ipam_release(ip, "ns/a");
		ck_assert_uint_eq(ipam_holders(ip, &want, who, 4), 1);
		ck_assert_str_eq(who[0], "ns/b");
	} else {
		/* Automatic allocation moves on to a free address instead. */
		ck_assert_int_eq(ipam_alloc(ip, p, IPAM_V4, &sharing[_i].second, &b), IPAM_OK);
		ck_assert_str_eq(fmt(&b), "192.0.2.201");
		ck_assert_uint_eq(ipam_holders(ip, &want, who, 4), 1);
		ck_assert_str_eq(who[0], "ns/a");
	}
	ipam_free(ip);
	ipam_pool_free(p);
}
END_TEST

START_TEST(test_sharing_prefers_lowest)
{
	struct ipam_pool *p = mkpool("p", (const char *[]){ "192.0.2.10-192.0.2.20", NULL });
	struct ipam *ip = ipam_new();
	struct ipam_addr a, want = A("192.0.2.15");
	struct ipam_claim x = { "ns/x", "k", NULL, tcp80, 1 };
	struct ipam_claim y = { "ns/y", "k", NULL, tcp443, 2 };
	struct ipam_claim z = { "ns/z", NULL, NULL, tcp80, 1 };
	ck_assert_int_eq(ipam_assign(ip, p, &want, &x), IPAM_OK);
	/* .10 is free and lower than the shared .15: lowest wins. */
	ck_assert_int_eq(ipam_alloc(ip, p, IPAM_V4, &y, &a), IPAM_OK);
	ck_assert_str_eq(fmt(&a), "192.0.2.10");
	ck_assert_int_eq(ipam_release(ip, "ns/y"), 1);
	for (int i = 10; i < 15; i++) {
		char n[16];
		snprintf(n, sizeof(n), "ns/f%d", i);
		struct ipam_claim f = claim(n);
		ck_assert_int_eq(ipam_alloc(ip, p, IPAM_V4, &f, &a), IPAM_OK);
	}
	ck_assert_int_eq(ipam_alloc(ip, p, IPAM_V4, &y, &a), IPAM_OK);
	ck_assert_str_eq(fmt(&a), "192.0.2.15");
	ck_assert_int_eq(ipam_alloc(ip, p, IPAM_V4, &z, &a), IPAM_OK);
	ck_assert_str_eq(fmt(&a), "192.0.2.16");
	ipam_free(ip);
	ipam_pool_free(p);
}
END_TEST

START_TEST(test_assign_requested)
{
	struct ipam_pool *p =
		mkpool("p", (const char *[]){ "192.0.2.200/29", "2001:db8::200/125", NULL });
	struct ipam *ip = ipam_new();
	struct ipam_claim a = claim("ns/a"), b = claim("ns/b");
	struct ipam_addr x = A("192.0.2.203"), y = A("192.0.2.100"), z = A("192.0.2.204"), got;
	ck_assert_int_eq(ipam_assign(ip, p, &x, &a), IPAM_OK);
	ck_assert_int_eq(ipam_assign(ip, p, &x, &a), IPAM_OK); /* idempotent */
	ck_assert_int_eq(ipam_assign(ip, p, &x, &b), IPAM_IN_USE);
	ck_assert_int_eq(ipam_assign(ip, p, &y, &b), IPAM_NOT_IN_POOL);
	/* Moving to another address frees the old one. */
	ck_assert_int_eq(ipam_assign(ip, p, &z, &a), IPAM_OK);
	ck_assert_uint_eq(ipam_holders(ip, &x, NULL, 0), 0);
	ck_assert_int_eq(ipam_service_addr(ip, "ns/a", IPAM_V4, &got), 0);
	ck_assert_str_eq(fmt(&got), "192.0.2.204");
	ck_assert_int_eq(ipam_service_addr(ip, "ns/a", IPAM_V6, &got), -1);
	ck_assert_int_eq(ipam_release_family(ip, "ns/a", IPAM_V4), 1);
	ck_assert_int_eq(ipam_release(ip, "ns/a"), 0);
	ck_assert_int_eq(ipam_service_addr(ip, "ns/a", IPAM_V4, &got), -1);
	ck_assert_uint_eq(ipam_count(ip), 0);
	ipam_free(ip);
	ipam_pool_free(p);
}
END_TEST

START_TEST(test_dual_stack)
{
	struct ipam_pool *both =
		mkpool("both", (const char *[]){ "2001:db8::200/127", "192.0.2.200/31", NULL });
	struct ipam_pool *v4 = mkpool("v4", (const char *[]){ "198.51.100.200/32", NULL });
	struct ipam *ip = ipam_new();
	struct ipam_claim c = claim("ns/dual");
	struct ipam_addr a4, a6;
	ck_assert_int_eq(ipam_alloc_dual(ip, both, &c, &a4, &a6), IPAM_OK);
	ck_assert_str_eq(fmt(&a4), "192.0.2.200");
	ck_assert_str_eq(fmt(&a6), "2001:db8::200");
	ck_assert_uint_eq(ipam_count_in_pool(ip, both, IPAM_V4), 1);
	ck_assert_uint_eq(ipam_count_in_pool(ip, both, IPAM_V6), 1);
	/* A pool without IPv6 cannot serve it, and leaves nothing behind. */
	struct ipam_claim d = claim("ns/other");
	ck_assert_int_eq(ipam_alloc_dual(ip, v4, &d, &a4, &a6), IPAM_NO_FAMILY);
	ck_assert_int_eq(ipam_service_addr(ip, "ns/other", IPAM_V4, &a4), -1);
	ck_assert_uint_eq(ipam_count_in_pool(ip, v4, IPAM_V4), 0);
	/* Exhausted IPv6 half: the IPv4 half is undone too. */
	struct ipam_claim e = claim("ns/e"), f = claim("ns/f");
	ck_assert_int_eq(ipam_alloc_dual(ip, both, &e, &a4, &a6), IPAM_OK);
	ck_assert_int_eq(ipam_alloc(ip, both, IPAM_V4, &f, &a4), IPAM_EXHAUSTED);
	ck_assert_int_eq(ipam_release_family(ip, "ns/e", IPAM_V4), 1);
	ck_assert_int_eq(ipam_alloc_dual(ip, both, &f, &a4, &a6), IPAM_EXHAUSTED);
	ck_assert_int_eq(ipam_service_addr(ip, "ns/f", IPAM_V4, &a4), -1);
	ck_assert_uint_eq(ipam_count_in_pool(ip, both, IPAM_V4), 1);
	ipam_free(ip);
	ipam_pool_free(both);
	ipam_pool_free(v4);
}
END_TEST

START_TEST(test_pool_usage)
{
	struct ipam_pool *p =
		mkpool("p", (const char *[]){ "192.0.2.0/30", "2001:db8::/64", NULL });
	ipam_pool_set_avoid_buggy(p, true);
	struct ipam *ip = ipam_new();
	struct ipam_claim a = claim("ns/a"), b = claim("ns/b");
	struct ipam_addr x, y;
	ck_assert_int_eq(ipam_alloc_dual(ip, p, &a, &x, &y), IPAM_OK);
	ck_assert_str_eq(fmt(&x), "192.0.2.1");
	ck_assert_int_eq(ipam_alloc(ip, p, IPAM_V4, &b, &x), IPAM_OK);
	struct ipam_pool_usage u;
	ipam_pool_usage(ip, p, &u);
	/* 192.0.2.0/30 without .0: three usable, two taken; a /64 is more than int64 can say. */
	ck_assert_int_eq(u.assigned_v4, 2);
	ck_assert_int_eq(u.available_v4, 1);
	ck_assert_int_eq(u.assigned_v6, 1);
	ck_assert_int_eq(u.available_v6, INT64_MAX);
	ipam_free(ip);
	ipam_pool_free(p);
}
END_TEST

START_TEST(test_status_strings)
{
	for (int s = IPAM_OK; s <= IPAM_NOMEM; s++)
		ck_assert_str_ne(ipam_status_str((enum ipam_status)s), "?");
	for (int s = IPAM_ENTRY_OK; s <= IPAM_ENTRY_END_BEFORE_START; s++)
		ck_assert_str_ne(ipam_entry_status_str((enum ipam_entry_status)s), "?");
	for (int s = IPAM_POOL_OK; s <= IPAM_POOL_NOMEM; s++)
		ck_assert_str_ne(ipam_pool_status_str((enum ipam_pool_status)s), "?");
	enum ipam_proto pr;
	ck_assert_int_eq(ipam_proto_parse("UDP", &pr), 0);
	ck_assert_int_eq(pr, IPAM_PROTO_UDP);
	ck_assert_int_eq(ipam_proto_parse("udp", &pr), -1);
	ck_assert_str_eq(ipam_family_str(IPAM_V6), "IPv6");
}
END_TEST

static Suite *ipam_suite(void)
{
	Suite *s = suite_create("ipam");
	TCase *tc = tcase_create("ipam");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_addr_math);
	tcase_add_loop_test(tc, test_entry_parse, 0, sizeof(entries) / sizeof(entries[0]));
	tcase_add_test(tc, test_pool_rejections);
	tcase_add_test(tc, test_pool_size_and_contains);
	tcase_add_test(tc, test_alloc_order);
	tcase_add_test(tc, test_alloc_avoid_buggy);
	tcase_add_test(tc, test_alloc_matches_naive);
	tcase_add_test(tc, test_big_v6_pool_memory);
	tcase_add_loop_test(tc, test_sharing, 0, sizeof(sharing) / sizeof(sharing[0]));
	tcase_add_test(tc, test_sharing_prefers_lowest);
	tcase_add_test(tc, test_assign_requested);
	tcase_add_test(tc, test_dual_stack);
	tcase_add_test(tc, test_pool_usage);
	tcase_add_test(tc, test_status_strings);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(ipam_suite)
