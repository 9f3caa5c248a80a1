/* link: a libnl cache manager (links and addresses) on the loop; each change rebuilds a plain
 * snapshot (struct if_info) from the in-memory caches, so callers never touch libnl objects. */
#include "net/link.h"

#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netlink/cache.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define LINK_EVENT_BUFFER (1 << 20)

struct link_set {
	struct loop *lp;
	struct log *lg;
	link_change_cb cb;
	void *arg;

	struct nl_sock *sk; /* the manager's event socket, ours so its buffer can be enlarged */
	struct nl_cache_mngr *mngr;
	struct nl_cache *links_cache;
	struct nl_cache *addrs_cache;
	struct loop_io io;

	/* The snapshot: links sorted by ifindex; prefixes in one array the links point into. */
	struct if_info *links;
	size_t nlinks;
	struct if_prefix *prefixes;
	size_t nprefixes;

	/* Set by the cache callbacks while a batch is read. */
	int changed;
	int changed_ifindex;
};

struct build {
	struct if_info *links;
	size_t nlinks, caplinks;
	struct if_prefix *prefixes;
	size_t nprefixes, capprefixes;
	size_t *owner; /* prefixes[i] belongs to links[owner[i]] */
	int failed;
};

static void add_link(struct nl_object *obj, void *arg)
{
	struct build *b = arg;
	struct rtnl_link *l = (struct rtnl_link *)obj;

	/* The kernel also sends per-family link messages (AF_INET6, AF_BRIDGE): the same link
	 * again. */
	if (b->failed || rtnl_link_get_family(l) != AF_UNSPEC)
		return;
	if (b->nlinks == b->caplinks) {
		size_t cap = b->caplinks ? b->caplinks * 2 : 16;
		struct if_info *n = realloc(b->links, cap * sizeof(*n));
		if (n == NULL) {
			b->failed = 1;
			return;
		}
		b->links = n;
		b->caplinks = cap;
	}
	struct if_info *i = &b->links[b->nlinks++];
	memset(i, 0, sizeof(*i));
	i->ifindex = rtnl_link_get_ifindex(l);
	const char *name = rtnl_link_get_name(l);
	snprintf(i->name, sizeof(i->name), "%s", name != NULL ? name : "");
	struct nl_addr *mac = rtnl_link_get_addr(l);
	if (mac != NULL && nl_addr_get_len(mac) == ETH_ADDR_LEN)
		memcpy(i->mac, nl_addr_get_binary_addr(mac), ETH_ADDR_LEN);
	i->mtu = rtnl_link_get_mtu(l);
	unsigned flags = rtnl_link_get_flags(l);
	i->up = (flags & IFF_UP) && (flags & IFF_RUNNING);
	i->loopback = (flags & IFF_LOOPBACK) != 0;
	i->ethernet = rtnl_link_get_arptype(l) == ARPHRD_ETHER && mac != NULL &&
		      nl_addr_get_len(mac) == ETH_ADDR_LEN;
}

static int by_ifindex(const void *a, const void *b)
{
	const struct if_info *x = a, *y = b;

	return (x->ifindex > y->ifindex) - (x->ifindex < y->ifindex);
}

static struct if_info *find_link(struct if_info *links, size_t n, int ifindex)
{
	struct if_info key = { .ifindex = ifindex };

	return bsearch(&key, links, n, sizeof(*links), by_ifindex);
}

static void add_addr(struct nl_object *obj, void *arg)
{
	struct build *b = arg;
	struct rtnl_addr *a = (struct rtnl_addr *)obj;
	struct nl_addr *local = rtnl_addr_get_local(a);

	if (b->failed || local == NULL)
		return;
	struct if_info *l = find_link(b->links, b->nlinks, rtnl_addr_get_ifindex(a));
	struct if_prefix p;
	if (l == NULL ||
	    netaddr_from_bytes(nl_addr_get_binary_addr(local), nl_addr_get_len(local), &p.addr) < 0)
		return;
	p.plen = (unsigned)rtnl_addr_get_prefixlen(a);
	if (b->nprefixes == b->capprefixes) {
		size_t cap = b->capprefixes ? b->capprefixes * 2 : 16;
		struct if_prefix *n = realloc(b->prefixes, cap * sizeof(*n));
		size_t *o = realloc(b->owner, cap * sizeof(*o));
		if (n != NULL)
			b->prefixes = n;
		if (o != NULL)
			b->owner = o;
		if (n == NULL || o == NULL) {
			b->failed = 1;
			return;
		}
		b->capprefixes = cap;
	}
	b->owner[b->nprefixes] = (size_t)(l - b->links);
	b->prefixes[b->nprefixes++] = p;
}

static int by_owner_cmp(size_t a, size_t b)
{
	return (a > b) - (a < b);
}

/* Rebuilds the snapshot from the caches; the old one stays when memory runs out. */
static int rebuild(struct link_set *ls)
{
	struct build b;

	memset(&b, 0, sizeof(b));
	nl_cache_foreach(ls->links_cache, add_link, &b);
	if (!b.failed && b.nlinks > 0)
		qsort(b.links, b.nlinks, sizeof(*b.links), by_ifindex);
	nl_cache_foreach(ls->addrs_cache, add_addr, &b);
	if (b.failed) {
		free(b.links);
		free(b.prefixes);
		free(b.owner);
		log_error(ls->lg, "links: out of memory reading links and addresses");
		return -1;
	}
	/* Group each link's prefixes together (stable insertion sort: a handful per link). */
	for (size_t i = 1; i < b.nprefixes; i++) {
		struct if_prefix p = b.prefixes[i];
		size_t o = b.owner[i], j = i;
		while (j > 0 && by_owner_cmp(b.owner[j - 1], o) > 0) {
			b.prefixes[j] = b.prefixes[j - 1];
			b.owner[j] = b.owner[j - 1];
			j--;
		}
		b.prefixes[j] = p;
		b.owner[j] = o;
	}
	for (size_t i = 0; i < b.nprefixes; i++) {
		struct if_info *l = &b.links[b.owner[i]];
		if (l->naddrs++ == 0)
			l->addrs = &b.prefixes[i];
	}
	free(b.owner);
	free(ls->links);
	free(ls->prefixes);
	ls->links = b.links;
	ls->nlinks = b.nlinks;
	ls->prefixes = b.prefixes;
	ls->nprefixes = b.nprefixes;
	return 0;
}

static void on_change(struct nl_cache *cache, struct nl_object *obj, int action, void *arg)
{
	struct link_set *ls = arg;
	int ifindex = 0;

	(void)action;
	if (cache == ls->links_cache)
		ifindex = rtnl_link_get_ifindex((struct rtnl_link *)obj);
	else
		ifindex = rtnl_addr_get_ifindex((struct rtnl_addr *)obj);
	if (ls->changed && ls->changed_ifindex != ifindex)
		ifindex = 0;
	ls->changed = 1;
	ls->changed_ifindex = ifindex;
}

static void on_readable(struct loop_io *w, uint32_t events, void *arg)
{
	struct link_set *ls = arg;

	(void)w;
	(void)events;
	ls->changed = 0;
	ls->changed_ifindex = 0;
	int err = nl_cache_mngr_data_ready(ls->mngr);
	if (err < 0) {
		/* Lost messages (a full socket buffer): reload whole rather than trust the cache.
		 */
		log_warn(ls->lg, "links: netlink events lost, reloading links and addresses",
			 "error", nl_geterror(err));
		struct nl_sock *sk = nl_socket_alloc();
		if (sk != NULL && nl_connect(sk, NETLINK_ROUTE) == 0) {
			nl_cache_refill(sk, ls->links_cache);
			nl_cache_refill(sk, ls->addrs_cache);
		}
		nl_socket_free(sk);
		ls->changed = 1;
		ls->changed_ifindex = 0;
	}
	if (!ls->changed)
		return;
	if (rebuild(ls) == 0 && ls->cb != NULL)
		ls->cb(ls, ls->changed_ifindex, ls->arg);
}

struct link_set *link_set_new(struct loop *lp, struct log *lg, link_change_cb cb, void *arg)
{
	struct link_set *ls = calloc(1, sizeof(*ls));
	int err;

	if (ls == NULL) {
		log_error(lg, "links: out of memory");
		return NULL;
	}
	ls->lp = lp;
	ls->lg = lg;
	ls->cb = cb;
	ls->arg = arg;
	ls->sk = nl_socket_alloc();
	err = ls->sk != NULL
		      ? nl_cache_mngr_alloc(ls->sk, NETLINK_ROUTE, NL_AUTO_PROVIDE, &ls->mngr)
		      : -NLE_NOMEM;
	/* A node with many pods changes many links at once: room for a burst of events. */
	if (err == 0)
		err = nl_socket_set_buffer_size(ls->sk, LINK_EVENT_BUFFER, 0);
	if (err == 0)
		err = nl_cache_mngr_add(ls->mngr, "route/link", on_change, ls, &ls->links_cache);
	if (err == 0)
		err = nl_cache_mngr_add(ls->mngr, "route/addr", on_change, ls, &ls->addrs_cache);
	if (err < 0) {
		log_error(lg, "links: cannot subscribe to rtnetlink", "error", nl_geterror(err));
		link_set_free(ls);
		return NULL;
	}
	if (rebuild(ls) < 0) {
		link_set_free(ls);
		return NULL;
	}
	if (loop_io_start(lp, &ls->io, nl_cache_mngr_get_fd(ls->mngr), EPOLLIN, on_readable, ls) <
	    0) {
		log_error(lg, "links: cannot watch the netlink socket", "error", strerror(errno));
		link_set_free(ls);
		return NULL;
	}
	return ls;
}

void link_set_free(struct link_set *ls)
{
	if (ls == NULL)
		return;
	if (ls->io.active)
		loop_io_stop(ls->lp, &ls->io);
	if (ls->mngr != NULL)
		nl_cache_mngr_free(ls->mngr); /* closes ls->sk, does not free it */
	nl_socket_free(ls->sk);
	free(ls->links);
	free(ls->prefixes);
	free(ls);
}

const struct if_info *link_set_links(const struct link_set *ls, size_t *n)
{
	*n = ls->nlinks;
	return ls->links;
}

const struct if_info *link_set_by_index(const struct link_set *ls, int ifindex)
{
	if (ls->nlinks == 0)
		return NULL;
	return find_link(ls->links, ls->nlinks, ifindex);
}

const struct if_info *link_set_by_name(const struct link_set *ls, const char *name)
{
	for (size_t i = 0; i < ls->nlinks; i++)
		if (strcmp(ls->links[i].name, name) == 0)
			return &ls->links[i];
	return NULL;
}
