/* netaddr: addresses as values, parsed and printed with inet_pton/inet_ntop. */
#include "net/netaddr.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

int netaddr_parse(const char *s, struct netaddr *out)
{
	struct netaddr a;

	if (s == NULL)
		return -1;
	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, a.b) == 1) {
		a.family = AF_INET;
	} else if (inet_pton(AF_INET6, s, a.b) == 1) {
		a.family = AF_INET6;
	} else {
		return -1;
	}
	*out = a;
	return 0;
}

int netaddr_from_bytes(const void *bytes, size_t len, struct netaddr *out)
{
	if (len != 4 && len != 16)
		return -1;
	memset(out, 0, sizeof(*out));
	out->family = len == 4 ? AF_INET : AF_INET6;
	memcpy(out->b, bytes, len);
	return 0;
}

const char *netaddr_format(const struct netaddr *a, char *buf, size_t cap)
{
	if (cap == 0)
		return buf;
	if ((a->family != AF_INET && a->family != AF_INET6) ||
	    inet_ntop(a->family, a->b, buf, (socklen_t)cap) == NULL)
		buf[0] = '\0';
	return buf;
}

int netaddr_equal(const struct netaddr *a, const struct netaddr *b)
{
	size_t n = a->family == AF_INET ? 4 : 16;

	return a->family == b->family && memcmp(a->b, b->b, n) == 0;
}

int netaddr_in_prefix(const struct netaddr *a, const struct netaddr *net, unsigned plen)
{
	unsigned max = a->family == AF_INET ? 32 : 128;
	unsigned full = plen / 8, rest = plen % 8;

	if (a->family != net->family || plen > max)
		return 0;
	if (memcmp(a->b, net->b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a->b[full] & mask) == (net->b[full] & mask);
}
