/* ifchoose: which interfaces answer for an announced address (pure). An explicit list wins;
 * otherwise every up Ethernet link with an address whose prefix holds it; never a container or
 * CNI link implicitly; otherwise none, with the reason. */
#ifndef L2LB_NET_IFCHOOSE_H
#define L2LB_NET_IFCHOOSE_H

#include "net/eth.h"
#include "net/netaddr.h"

#include <stddef.h>

#define IF_NAME_MAX 16 /* IFNAMSIZ, NUL included */

/* One address on a link, with its prefix length. */
struct if_prefix {
	struct netaddr addr;
	unsigned plen;
};

/* What ifchoose (and the responder) need to know of one link. Borrowed pointers. */
struct if_info {
	int ifindex;
	char name[IF_NAME_MAX];
	uint8_t mac[ETH_ADDR_LEN];
	unsigned mtu;
	int up;	      /* administratively up and with carrier (IFF_UP and IFF_RUNNING) */
	int loopback; /* IFF_LOOPBACK */
	int ethernet; /* ARPHRD_ETHER: ARP and NDP over Ethernet frames make sense on it */
	const struct if_prefix *addrs;
	size_t naddrs;
};

enum ifchoose_result {
	IFCHOOSE_OK,		   /* at least one interface chosen */
	IFCHOOSE_NAMED_MISSING,	   /* none of the named interfaces exists */
	IFCHOOSE_NAMED_DOWN,	   /* a named interface exists but is down */
	IFCHOOSE_NAMED_UNSUITABLE, /* a named interface is loopback or not Ethernet */
	IFCHOOSE_NO_SUBNET,	   /* no interface has an address whose prefix holds it */
	IFCHOOSE_SUBNET_DOWN,	   /* only down interfaces have such a prefix */
	IFCHOOSE_SUBNET_EXCLUDED,  /* only container/CNI links (never chosen implicitly) have it */
};

/* The result's name for logs and tests ("no_subnet"). */
const char *ifchoose_result_str(enum ifchoose_result r);

/* True for names of container-runtime and CNI links: veth*, cni*, flannel*, cali*, docker*,
 * lxc*, cilium_*, kube-ipvs0. */
int ifchoose_is_excluded(const char *name);

/*
 * Picks the interfaces for addr among links[0..n). With nnames > 0 only those named are
 * considered (each must exist, be up, Ethernet and not loopback; excluded names are allowed since
 * someone asked for them); else the implicit rule above. Writes up to cap ifindexes, in the order
 * of links, to out and their count to *nout. Returns IFCHOOSE_OK when *nout > 0, else why not
 * (for a list, the reason of the first unusable name).
 */
enum ifchoose_result ifchoose_pick(const struct if_info *links, size_t n,
				   const struct netaddr *addr, const char *const *names,
				   size_t nnames, int *out, size_t cap, size_t *nout);

#endif
