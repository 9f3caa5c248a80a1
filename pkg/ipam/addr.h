/* ipam/addr: IPv4 and IPv6 addresses as 128-bit numbers, ranges of them, and pool entry parsing. */
#ifndef L2LB_IPAM_ADDR_H
#define L2LB_IPAM_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Pure code: nothing here allocates, logs or does I/O. */

typedef unsigned __int128 ipam_u128;

enum ipam_family {
	IPAM_V4 = 4,
	IPAM_V6 = 6,
};

/* "IPv4", "IPv6" (the spellings of a Service's spec.ipFamilies). */
const char *ipam_family_str(enum ipam_family f);

/* An address: for IPv4, v holds the 32-bit number (network order read as big-endian). */
struct ipam_addr {
	ipam_u128 v;
	enum ipam_family family;
};

/* Longest text ipam_addr_format() writes, with the NUL. */
#define IPAM_ADDR_STRLEN 46

/*
 * Parses one textual address (inet_pton rules: no leading zeros in IPv4 octets, no spaces).
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) is refused: it is neither family as far as a pool goes.
 * Returns 0, or -1 for anything else.
 */
int ipam_addr_parse(const char *s, struct ipam_addr *out);

/* Writes the canonical text form into buf (cap >= IPAM_ADDR_STRLEN is always enough); returns buf.
 */
const char *ipam_addr_format(const struct ipam_addr *a, char *buf, size_t cap);

/* Orders IPv4 before IPv6, then numerically; returns <0, 0, >0. */
int ipam_addr_cmp(const struct ipam_addr *a, const struct ipam_addr *b);

/* out = a + n within a's family; returns -1 (out untouched) when that passes the family's end. */
int ipam_addr_add(const struct ipam_addr *a, ipam_u128 n, struct ipam_addr *out);

/* Highest address of a family as a number (2^32-1 or 2^128-1). */
ipam_u128 ipam_family_max(enum ipam_family f);

/*
 * True for IPv4 addresses ending in .0 or .255, which some consumer firmwares drop as smurf
 * protection; pools with avoidBuggyIPs never hand them out (MetalLB's rule, any prefix length).
 */
bool ipam_addr_is_buggy(const struct ipam_addr *a);

/* An inclusive range of one family: first <= last. */
struct ipam_range {
	struct ipam_addr first;
	struct ipam_addr last;
};

bool ipam_range_contains(const struct ipam_range *r, const struct ipam_addr *a);
bool ipam_range_overlaps(const struct ipam_range *a, const struct ipam_range *b);

/*
 * Number of usable addresses, without .0/.255 when avoid_buggy (IPv4 only). Saturates at
 * 2^128-1 for ::/0, the only range whose size does not fit.
 */
ipam_u128 ipam_range_size(const struct ipam_range *r, bool avoid_buggy);

/* Why an IPAddressPool.spec.addresses entry was refused. */
enum ipam_entry_status {
	IPAM_ENTRY_OK,
	IPAM_ENTRY_EMPTY,	     /* "" or only blanks */
	IPAM_ENTRY_GARBAGE,	     /* neither a CIDR nor a range */
	IPAM_ENTRY_BARE_IP,	     /* an address without /prefix: not a CIDR (use /32 or /128) */
	IPAM_ENTRY_BAD_PREFIX,	     /* prefix length missing, not a number, or too long */
	IPAM_ENTRY_BAD_START,	     /* range start is not an address */
	IPAM_ENTRY_BAD_END,	     /* range end is not an address */
	IPAM_ENTRY_MIXED_FAMILY,     /* range from IPv4 to IPv6 or back */
	IPAM_ENTRY_END_BEFORE_START, /* range end below its start */
};

/* "ok", "empty", "garbage", "bare-ip", "bad-prefix", ... (stable, for logs and tests). */
const char *ipam_entry_status_str(enum ipam_entry_status s);

/* A sentence for users: "a bare address is not a CIDR, write /32 or /128". */
const char *ipam_entry_status_explain(enum ipam_entry_status s);

/*
 * Parses one spec.addresses entry the way MetalLB does: "192.0.2.0/24", "2001:db8::/120"
 * (host bits are accepted and ignored: 192.0.2.7/24 means 192.0.2.0/24), or
 * "192.0.2.10-192.0.2.20" / "2001:db8::10 - 2001:db8::ff" (blanks around the addresses of a
 * range are allowed, a single-address range is fine). On IPAM_ENTRY_OK *out is set.
 */
enum ipam_entry_status ipam_entry_parse(const char *s, struct ipam_range *out);

#endif
