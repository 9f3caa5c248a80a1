/* ipam/addr: address math and spec.addresses entry parsing. */
#include "ipam/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

const char *ipam_family_str(enum ipam_family f)
{
	switch (f) {
	case IPAM_V4:
		return "IPv4";
	case IPAM_V6:
		return "IPv6";
	}
	return "?";
}

ipam_u128 ipam_family_max(enum ipam_family f)
{
	return f == IPAM_V4 ? (ipam_u128)0xffffffffu : ~(ipam_u128)0;
}

static ipam_u128 bytes_to_u128(const uint8_t *b, size_t n)
{
	ipam_u128 v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | b[i];
	return v;
}

int ipam_addr_parse(const char *s, struct ipam_addr *out)
{
	uint8_t b[16];
	if (s == NULL)
		return -1;
	if (inet_pton(AF_INET, s, b) == 1) {
		out->family = IPAM_V4;
		out->v = bytes_to_u128(b, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, b) == 1) {
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (memcmp(b, mapped, sizeof(mapped)) == 0)
			return -1;
		out->family = IPAM_V6;
		out->v = bytes_to_u128(b, 16);
		return 0;
	}
	return -1;
}

const char *ipam_addr_format(const struct ipam_addr *a, char *buf, size_t cap)
{
	uint8_t b[16];
	size_t n = a->family == IPAM_V4 ? 4 : 16;
	ipam_u128 v = a->v;
	for (size_t i = n; i-- > 0;) {
		b[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
	if (cap == 0)
		return buf;
	if (inet_ntop(a->family == IPAM_V4 ? AF_INET : AF_INET6, b, buf, (socklen_t)cap) == NULL)
		snprintf(buf, cap, "?");
	return buf;
}

int ipam_addr_cmp(const struct ipam_addr *a, const struct ipam_addr *b)
{
	if (a->family != b->family)
		return a->family == IPAM_V4 ? -1 : 1;
	if (a->v != b->v)
		return a->v < b->v ? -1 : 1;
	return 0;
}

int ipam_addr_add(const struct ipam_addr *a, ipam_u128 n, struct ipam_addr *out)
{
	ipam_u128 max = ipam_family_max(a->family);
	if (a->v > max || n > max - a->v)
		return -1;
	out->family = a->family;
	out->v = a->v + n;
	return 0;
}

bool ipam_addr_is_buggy(const struct ipam_addr *a)
{
	unsigned low = (unsigned)(a->v & 0xff);
	return a->family == IPAM_V4 && (low == 0 || low == 255);
}

bool ipam_range_contains(const struct ipam_range *r, const struct ipam_addr *a)
{
	return a->family == r->first.family && a->v >= r->first.v && a->v <= r->last.v;
}

bool ipam_range_overlaps(const struct ipam_range *a, const struct ipam_range *b)
{
	return a->first.family == b->first.family && a->first.v <= b->last.v &&
	       b->first.v <= a->last.v;
}

/* Non-buggy IPv4 addresses in [0, x]: 254 per full /24, .1-.254 of the last one. */
static ipam_u128 nonbuggy_upto(ipam_u128 x)
{
	unsigned low = (unsigned)(x & 0xff);
	return (x >> 8) * 254 + (low == 0 ? 0 : (low > 254 ? 254 : low));
}

ipam_u128 ipam_range_size(const struct ipam_range *r, bool avoid_buggy)
{
	if (avoid_buggy && r->first.family == IPAM_V4) {
		ipam_u128 below = r->first.v == 0 ? 0 : nonbuggy_upto(r->first.v - 1);
		return nonbuggy_upto(r->last.v) - below;
	}
	ipam_u128 span = r->last.v - r->first.v;
	return span == ~(ipam_u128)0 ? span : span + 1;
}

const char *ipam_entry_status_str(enum ipam_entry_status s)
{
	switch (s) {
	case IPAM_ENTRY_OK:
		return "ok";
	case IPAM_ENTRY_EMPTY:
		return "empty";
	case IPAM_ENTRY_GARBAGE:
		return "garbage";
	case IPAM_ENTRY_BARE_IP:
		return "bare-ip";
	case IPAM_ENTRY_BAD_PREFIX:
		return "bad-prefix";
	case IPAM_ENTRY_BAD_START:
		return "bad-start";
	case IPAM_ENTRY_BAD_END:
		return "bad-end";
	case IPAM_ENTRY_MIXED_FAMILY:
		return "mixed-family";
	case IPAM_ENTRY_END_BEFORE_START:
		return "end-before-start";
	}
	return "?";
}

const char *ipam_entry_status_explain(enum ipam_entry_status s)
{
	switch (s) {
	case IPAM_ENTRY_OK:
		return "valid";
	case IPAM_ENTRY_EMPTY:
		return "empty entry";
	case IPAM_ENTRY_GARBAGE:
		return "neither a CIDR nor an address range";
	case IPAM_ENTRY_BARE_IP:
		return "a bare address is not a CIDR, write /32 or /128";
	case IPAM_ENTRY_BAD_PREFIX:
		return "invalid prefix length";
	case IPAM_ENTRY_BAD_START:
		return "range start is not an IP address";
	case IPAM_ENTRY_BAD_END:
		return "range end is not an IP address";
	case IPAM_ENTRY_MIXED_FAMILY:
		return "range mixes IPv4 and IPv6";
	case IPAM_ENTRY_END_BEFORE_START:
		return "range ends before it starts";
	}
	return "?";
}

/* Copies s[0, n) without surrounding blanks into buf; returns -1 when it does not fit. */
static int copy_trimmed(const char *s, size_t n, char *buf, size_t cap)
{
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= cap)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

static enum ipam_entry_status parse_range(const char *s, const char *dash, struct ipam_range *out)
{
	char a[64], b[64];
	struct ipam_range r;
	if (copy_trimmed(s, (size_t)(dash - s), a, sizeof(a)) < 0 ||
	    ipam_addr_parse(a, &r.first) < 0)
		return IPAM_ENTRY_BAD_START;
	if (copy_trimmed(dash + 1, strlen(dash + 1), b, sizeof(b)) < 0 ||
	    ipam_addr_parse(b, &r.last) < 0)
		return IPAM_ENTRY_BAD_END;
	if (r.first.family != r.last.family)
		return IPAM_ENTRY_MIXED_FAMILY;
	if (r.last.v < r.first.v)
		return IPAM_ENTRY_END_BEFORE_START;
	*out = r;
	return IPAM_ENTRY_OK;
}

static enum ipam_entry_status parse_cidr(const char *s, const char *slash, struct ipam_range *out)
{
	char a[64];
	size_t n = (size_t)(slash - s);
	struct ipam_addr base;
	if (n >= sizeof(a))
		return IPAM_ENTRY_GARBAGE;
	memcpy(a, s, n);
	a[n] = '\0';
	if (ipam_addr_parse(a, &base) < 0)
		return IPAM_ENTRY_GARBAGE;
	const char *p = slash + 1;
	unsigned bits = base.family == IPAM_V4 ? 32 : 128;
	unsigned len = 0;
	size_t digits = strspn(p, "0123456789");
	if (digits == 0 || digits > 3 || p[digits] != '\0' || (digits > 1 && p[0] == '0'))
		return IPAM_ENTRY_BAD_PREFIX;
	for (size_t i = 0; i < digits; i++)
		len = len * 10 + (unsigned)(p[i] - '0');
	if (len > bits)
		return IPAM_ENTRY_BAD_PREFIX;
	unsigned host = bits - len;
	ipam_u128 hostmask = host == 128 ? ~(ipam_u128)0 : (((ipam_u128)1 << host) - 1);
	out->first.family = out->last.family = base.family;
	out->first.v = base.v & ~hostmask;
	out->last.v = out->first.v | hostmask;
	return IPAM_ENTRY_OK;
}

enum ipam_entry_status ipam_entry_parse(const char *s, struct ipam_range *out)
{
	if (s == NULL || s[strspn(s, " \t")] == '\0')
		return IPAM_ENTRY_EMPTY;
	const char *dash = strchr(s, '-');
	if (dash != NULL)
		return parse_range(s, dash, out);
	const char *slash = strchr(s, '/');
	if (slash != NULL)
		return parse_cidr(s, slash, out);
	struct ipam_addr a;
	return ipam_addr_parse(s, &a) == 0 ? IPAM_ENTRY_BARE_IP : IPAM_ENTRY_GARBAGE;
}
