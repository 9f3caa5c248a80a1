/* netaddr: IPv4 and IPv6 addresses as plain values: parse, format, compare, prefix tests (pure). */
#ifndef L2LB_NET_NETADDR_H
#define L2LB_NET_NETADDR_H

#include <stddef.h>
#include <stdint.h>

/* Big enough for any formatted address, IPv6 included, with its NUL. */
#define NETADDR_STRLEN 46

/* family is AF_INET (the address in b[0..3]) or AF_INET6 (b[0..15]); unused bytes are zero. */
struct netaddr {
	int family;
	uint8_t b[16];
};

/* Parses dotted IPv4 or textual IPv6 (no prefix, no zone). Returns 0, or -1 on anything else. */
int netaddr_parse(const char *s, struct netaddr *out);

/* Fills out from raw bytes: 4 for IPv4, 16 for IPv6. Returns 0, or -1 for another length. */
int netaddr_from_bytes(const void *bytes, size_t len, struct netaddr *out);

/* Writes the address into buf (cap >= NETADDR_STRLEN is always enough) and returns buf. */
const char *netaddr_format(const struct netaddr *a, char *buf, size_t cap);

int netaddr_equal(const struct netaddr *a, const struct netaddr *b);

/* True when a and net are of one family and a's first plen bits equal net's. */
int netaddr_in_prefix(const struct netaddr *a, const struct netaddr *net, unsigned plen);

#endif
