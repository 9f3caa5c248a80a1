/* ifchoose: the interface choice rules, kept pure so each is a table row in the tests. */
#include "net/ifchoose.h"

#include <string.h>

const char *ifchoose_result_str(enum ifchoose_result r)
{
	switch (r) {
	case IFCHOOSE_OK:
		return "ok";
	case IFCHOOSE_NAMED_MISSING:
		return "named_missing";
	case IFCHOOSE_NAMED_DOWN:
		return "named_down";
	case IFCHOOSE_NAMED_UNSUITABLE:
		return "named_unsuitable";
	case IFCHOOSE_NO_SUBNET:
		return "no_subnet";
	case IFCHOOSE_SUBNET_DOWN:
		return "subnet_down";
	case IFCHOOSE_SUBNET_EXCLUDED:
		return "subnet_excluded";
	}
	return "unknown";
}

int ifchoose_is_excluded(const char *name)
{
	static const char *const prefixes[] = { "veth",	  "cni", "flannel", "cali",
						"docker", "lxc", "cilium_" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return strcmp(name, "kube-ipvs0") == 0;
}

static int holds(const struct if_info *l, const struct netaddr *addr)
{
	for (size_t i = 0; i < l->naddrs; i++)
		if (netaddr_in_prefix(addr, &l->addrs[i].addr, l->addrs[i].plen))
			return 1;
	return 0;
}

static void add(int ifindex, int *out, size_t cap, size_t *nout)
{
	for (size_t i = 0; i < *nout; i++)
		if (out[i] == ifindex)
			return;
	if (*nout < cap)
		out[(*nout)++] = ifindex;
}

static enum ifchoose_result pick_named(const struct if_info *links, size_t n,
				       const char *const *names, size_t nnames, int *out,
				       size_t cap, size_t *nout)
{
	enum ifchoose_result why = IFCHOOSE_OK;

	for (size_t k = 0; k < nnames; k++) {
		enum ifchoose_result r = IFCHOOSE_NAMED_MISSING;
		for (size_t i = 0; i < n; i++) {
			const struct if_info *l = &links[i];
			if (strcmp(l->name, names[k]) != 0)
				continue;
			if (l->loopback || !l->ethernet)
				r = IFCHOOSE_NAMED_UNSUITABLE;
			else if (!l->up)
				r = IFCHOOSE_NAMED_DOWN;
			else
				r = IFCHOOSE_OK;
			if (r == IFCHOOSE_OK)
				add(l->ifindex, out, cap, nout);
			break;
		}
		if (why == IFCHOOSE_OK)
			why = r;
	}
	return *nout > 0 ? IFCHOOSE_OK : why;
}

enum ifchoose_result ifchoose_pick(const struct if_info *links, size_t n,
				   const struct netaddr *addr, const char *const *names,
				   size_t nnames, int *out, size_t cap, size_t *nout)
{
	int seen_down = 0, seen_excluded = 0;

	*nout = 0;
	if (nnames > 0)
		return pick_named(links, n, names, nnames, out, cap, nout);
	for (size_t i = 0; i < n; i++) {
		const struct if_info *l = &links[i];
		if (l->loopback || !l->ethernet || !holds(l, addr))
			continue;
		if (ifchoose_is_excluded(l->name))
			seen_excluded = 1;
		else if (!l->up)
			seen_down = 1;
		else
			add(l->ifindex, out, cap, nout);
	}
	if (*nout > 0)
		return IFCHOOSE_OK;
	if (seen_down)
		return IFCHOOSE_SUBNET_DOWN;
	return seen_excluded ? IFCHOOSE_SUBNET_EXCLUDED : IFCHOOSE_NO_SUBNET;
}
