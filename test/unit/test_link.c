/* Unit tests for pkg/net/link against the kernel: each test runs in its own network namespace
 * (Check forks per test) and changes links with ip(8), then waits on the loop for the update. */
#include "net/link.h"
#include "unit.h"

#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct fixture {
	struct loop *lp;
	struct log *lg;
	struct link_set *ls;
	int calls;
	int last_ifindex;
};

static void on_change(struct link_set *ls, int ifindex, void *arg)
{
	struct fixture *f = arg;

	ck_assert_ptr_eq(ls, f->ls);
	f->calls++;
	f->last_ifindex = ifindex;
}

/* A fresh namespace, or 0 when this process may not make one (not root): the test then skips. */
static int setup(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	if (unshare(CLONE_NEWNET) < 0) {
		printf("skip: link tests need root for a network namespace\n");
		return 0;
	}
	f->lp = loop_new();
	ck_assert_ptr_nonnull(f->lp);
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	f->lg = log_new(null, LOG_LEVEL_ERROR);
	f->ls = link_set_new(f->lp, f->lg, on_change, f);
	ck_assert_ptr_nonnull(f->ls);
	return 1;
}

static void teardown(struct fixture *f)
{
	link_set_free(f->ls);
	loop_free(f->lp);
	log_free(f->lg);
}

static void sh(const char *cmd)
{
	ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

typedef int (*cond_fn)(struct fixture *f);

/* Runs the loop until cond holds: at most 50 iterations of 100 ms, never a fixed sleep. */
static void wait_for(struct fixture *f, cond_fn cond, const char *what)
{
	for (int i = 0; i < 50 && !cond(f); i++)
		ck_assert_int_eq(loop_run_once(f->lp, 100), 0);
	ck_assert_msg(cond(f), "timed out waiting for %s", what);
}

static const struct if_info *a0(struct fixture *f)
{
	return link_set_by_name(f->ls, "a0");
}

static int has_prefix(const struct if_info *l, const char *addr, unsigned plen)
{
	struct netaddr a;

	ck_assert_int_eq(netaddr_parse(addr, &a), 0);
	for (size_t i = 0; l != NULL && i < l->naddrs; i++)
		if (netaddr_equal(&l->addrs[i].addr, &a) && l->addrs[i].plen == plen)
			return 1;
	return 0;
}

static int a0_exists(struct fixture *f)
{
	return a0(f) != NULL;
}
static int a0_up(struct fixture *f)
{
	return a0(f) != NULL && a0(f)->up;
}
static int a0_down(struct fixture *f)
{
	return a0(f) != NULL && !a0(f)->up;
}
static int a0_gone(struct fixture *f)
{
	return a0(f) == NULL;
}
static int a0_has_v4(struct fixture *f)
{
	return has_prefix(a0(f), "192.0.2.10", 24);
}
static int a0_has_v6(struct fixture *f)
{
	return has_prefix(a0(f), "2001:db8::10", 64);
}
static int a0_lost_v4(struct fixture *f)
{
	return a0(f) != NULL && !a0_has_v4(f) && a0_has_v6(f);
}
static int a0_new_mac(struct fixture *f)
{
	static const uint8_t want[6] = { 0x02, 0, 0, 0, 0, 0xaa };
	return a0(f) != NULL && memcmp(a0(f)->mac, want, 6) == 0 && a0(f)->mtu == 1400;
}

START_TEST(test_initial_load)
{
	struct fixture f;

	if (!setup(&f))
		return;
	const struct if_info *lo = link_set_by_name(f.ls, "lo");
	ck_assert_ptr_nonnull(lo);
	ck_assert(lo->loopback);
	ck_assert(!lo->ethernet);
	ck_assert_ptr_eq(link_set_by_index(f.ls, lo->ifindex), lo);
	ck_assert_ptr_null(link_set_by_index(f.ls, 99999));
	ck_assert_ptr_null(link_set_by_name(f.ls, "a0"));
	size_t n;
	link_set_links(f.ls, &n);
	ck_assert_uint_eq(n, 1);
	teardown(&f);
}
END_TEST

START_TEST(test_follows_links_and_addresses)
{
	struct fixture f;
	struct netaddr a;
	int chosen[4];
	size_t n, nlinks;

	if (!setup(&f))
		return;
	sh("ip link add a0 type veth peer name b0");
	wait_for(&f, a0_exists, "a0 to appear");
	ck_assert(a0(&f)->ethernet);
	ck_assert(!a0(&f)->up);
	ck_assert(!a0(&f)->loopback);
	int ifindex = a0(&f)->ifindex;

	sh("ip link set a0 up && ip link set b0 up");
	wait_for(&f, a0_up, "a0 to be up");

	int calls = f.calls;
	sh("ip addr add 192.0.2.10/24 dev a0");
	wait_for(&f, a0_has_v4, "a0's IPv4 address");
	ck_assert_int_gt(f.calls, calls);
	sh("ip -6 addr add 2001:db8::10/64 dev a0 nodad");
	wait_for(&f, a0_has_v6, "a0's IPv6 address");

	/* What the speaker does with it: choose a0 for an address in its subnet. */
	ck_assert_int_eq(netaddr_parse("192.0.2.200", &a), 0);
	const struct if_info *links = link_set_links(f.ls, &nlinks);
	ck_assert_int_eq(ifchoose_pick(links, nlinks, &a, NULL, 0, chosen, 4, &n), IFCHOOSE_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(chosen[0], ifindex);

	sh("ip addr del 192.0.2.10/24 dev a0");
	wait_for(&f, a0_lost_v4, "a0's IPv4 address to go");
	ck_assert_int_eq(f.last_ifindex, ifindex); /* only a0 changed */

	/* IPv4 addresses stay on a link that goes down (IPv6 ones go): its subnet is then down. */
	sh("ip addr add 198.51.100.10/24 dev a0 && ip link set a0 down");
	wait_for(&f, a0_down, "a0 to be down");
	links = link_set_links(f.ls, &nlinks);
	ck_assert_int_eq(netaddr_parse("198.51.100.200", &a), 0);
	ck_assert_int_eq(ifchoose_pick(links, nlinks, &a, NULL, 0, chosen, 4, &n),
			 IFCHOOSE_SUBNET_DOWN);

	sh("ip link set a0 address 02:00:00:00:00:aa mtu 1400");
	wait_for(&f, a0_new_mac, "a0's new MAC and MTU");

	sh("ip link del a0");
	wait_for(&f, a0_gone, "a0 to go");
	ck_assert_ptr_null(link_set_by_index(f.ls, ifindex));
	teardown(&f);
}
END_TEST

START_TEST(test_free_null)
{
	link_set_free(NULL);
}
END_TEST

static Suite *link_suite(void)
{
	Suite *s = suite_create("link");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_initial_load);
	tcase_add_test(tc, test_follows_links_and_addresses);
	tcase_add_test(tc, test_free_null);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(link_suite)
