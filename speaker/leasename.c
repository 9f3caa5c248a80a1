/* leasename: the names of the speaker's Leases (see leasename.h). */
#include "speaker/leasename.h"

#include "hash/siphash.h"

#include <stdio.h>
#include <string.h>

/* Published, not secret: every speaker must compute the same names. */
static const uint8_t name_key[16] = { 'l', '2', 'l', 'b', '-', 'l', 'e', 'a',
				      's', 'e', '-', 'n', 'a', 'm', 'e', 's' };

static int alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A label of exactly len characters starting at s. */
static int label_ok(const char *s, size_t len)
{
	if (len == 0 || len > 63 || !alnum(s[0]) || !alnum(s[len - 1]))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!alnum(s[i]) && s[i] != '-')
			return 0;
	return 1;
}

int leasename_is_label(const char *s)
{
	return s && label_ok(s, strlen(s));
}

int leasename_is_subdomain(const char *s)
{
	if (!s)
		return 0;
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return 0;
	const char *p = s;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (!label_ok(p, len))
			return 0;
		if (!dot)
			return 1;
		p = dot + 1;
	}
}

/*
 * prefix + tail when it fits in 63, else prefix + "-" + readable start of tail + "-" + hash of
 * the key. tail is valid subdomain text (labels joined by '.'), so a prefix of it is too once
 * trailing '-' and '.' are cut.
 */
static int build(const char *prefix, const char *tail, const char *key, size_t keylen, char *buf,
		 size_t cap)
{
	if (cap < LEASENAME_MAX)
		return -1;
	size_t np = strlen(prefix), nt = strlen(tail);
	if (np + nt <= LEASENAME_MAX - 1) {
		int n = snprintf(buf, cap, "%s%s", prefix, tail);
		return n < 0 || (size_t)n >= cap ? -1 : n;
	}
	/* prefix "-" readable "-" 16 hex */
	size_t room = LEASENAME_MAX - 1 - np - 1 - 1 - 16;
	size_t nr = nt < room ? nt : room;
	while (nr > 0 && (tail[nr - 1] == '-' || tail[nr - 1] == '.'))
		nr--;
	uint64_t h = siphash_sum(name_key, key, keylen);
	int n = snprintf(buf, cap, "%s-%.*s-%016llx", prefix, (int)nr, tail, (unsigned long long)h);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}

int leasename_service(const char *ns, const char *name, char *buf, size_t cap)
{
	if (!leasename_is_label(ns) || !leasename_is_label(name) || cap < LEASENAME_MAX)
		return -1;
	char key[128];
	/* ns and name are at most 63 each: "ns/name" always fits. */
	int nk = snprintf(key, sizeof(key), "%s/%s", ns, name);
	char tail[128];
	snprintf(tail, sizeof(tail), "%s.%s", ns, name);
	return build("l2lb-svc-", tail, key, (size_t)nk, buf, cap);
}

int leasename_node(const char *node, char *buf, size_t cap)
{
	if (!leasename_is_subdomain(node) || cap < LEASENAME_MAX)
		return -1;
	return build("l2lb-node-", node, node, strlen(node), buf, cap);
}

const char *leasename_kind_str(enum leasename_kind k)
{
	switch (k) {
	case LEASENAME_OTHER:
		return "other";
	case LEASENAME_SERVICE:
		return "service";
	case LEASENAME_NODE:
		return "node";
	}
	return "?";
}

enum leasename_kind leasename_kind_of(const char *lease_name)
{
	/* Both forms put at least one alphanumeric character after the prefix. */
	if (!lease_name || strlen(lease_name) > LEASENAME_MAX - 1)
		return LEASENAME_OTHER;
	if (!strncmp(lease_name, "l2lb-svc-", 9) && lease_name[9])
		return LEASENAME_SERVICE;
	if (!strncmp(lease_name, "l2lb-node-", 10) && lease_name[10])
		return LEASENAME_NODE;
	return LEASENAME_OTHER;
}
