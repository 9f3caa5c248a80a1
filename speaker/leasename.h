/* leasename: the names of the speaker's Leases (per-service ownership, per-node presence) (pure).
 */
#ifndef L2LB_SPEAKER_LEASENAME_H
#define L2LB_SPEAKER_LEASENAME_H

/*
 * Every speaker must derive the same name for the same service or node, the name must be a
 * valid DNS-1123 subdomain of at most 63 characters (so it also fits a label value), and two
 * different services (or nodes) must never share a name.
 *
 *   service ns/name -> "l2lb-svc-<ns>.<name>"      when that fits in 63 characters;
 *                      "l2lb-svc--<prefix>-<hash>" otherwise
 *   node    name    -> "l2lb-node-<name>"          when that fits;
 *                      "l2lb-node--<prefix>-<hash>" otherwise
 *
 * The short form is unambiguous because namespaces and service names contain no '.', so the
 * first '.' splits them. The long form is told apart from every short form by the "--" after
 * the fixed prefix (a namespace or node name never starts with '-'); <prefix> is the start of
 * the short form's tail, for people reading `kubectl get leases`, and <hash> is 16 hex digits
 * of SipHash-2-4 over the whole original name, so long forms collide only if those 64 bits do.
 */

#include <stddef.h>

#define LEASENAME_MAX 64 /* 63 characters and the NUL */

/*
 * Writes the ownership lease name of service ns/name into buf (cap >= LEASENAME_MAX) and
 * returns its length, or -1 when ns is not a DNS-1123 label, name is not a DNS-1123 label,
 * or cap is too small.
 */
int leasename_service(const char *ns, const char *name, char *buf, size_t cap);

/* Same for the presence lease of a node (name: a DNS-1123 subdomain, up to 253 characters). */
int leasename_node(const char *node, char *buf, size_t cap);

/* What a Lease is, judged by its name alone (for cleaning up ownership leases of deleted
 * services, and for feeding only presence leases to speaker/presence). */
enum leasename_kind {
	LEASENAME_OTHER,   /* not one of ours */
	LEASENAME_SERVICE, /* an ownership lease: "l2lb-svc-..." */
	LEASENAME_NODE,	   /* a presence lease: "l2lb-node-..." */
};
const char *leasename_kind_str(enum leasename_kind k);
enum leasename_kind leasename_kind_of(const char *lease_name);

/* 1 when s is a DNS-1123 label: 1-63 of [a-z0-9-], starting and ending alphanumeric. */
int leasename_is_label(const char *s);
/* 1 when s is a DNS-1123 subdomain: 1-253 characters, dot-separated labels. */
int leasename_is_subdomain(const char *s);

#endif
