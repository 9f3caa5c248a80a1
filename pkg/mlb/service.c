/* mlb/service: what address management reads from a Service (fields and MetalLB annotations). */
#include "mlb/mlb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PORTS 256

struct mlb_service {
	char *key, *namespace, *name;
	json_t *labels; /* owned copy, or NULL */
	enum ipam_family families[2];
	size_t nfamilies;
	enum mlb_family_policy policy;
	struct ipam_addr requested[2];
	size_t nrequested;
	char *pool, *sharing, *backend;
	unsigned deprecated;
	struct ipam_port *ports;
	size_t nports;
};

const char *mlb_svc_status_str(enum mlb_svc_status s)
{
	switch (s) {
	case MLB_SVC_OK:
		return "ok";
	case MLB_SVC_NOT_LB:
		return "not-loadbalancer";
	case MLB_SVC_OTHER_CLASS:
		return "other-class";
	case MLB_SVC_NO_CLUSTER_IP:
		return "no-cluster-ip";
	case MLB_SVC_BAD_REQUESTED_IP:
		return "bad-requested-ip";
	case MLB_SVC_REQUESTED_FAMILY:
		return "requested-family";
	case MLB_SVC_MALFORMED:
		return "malformed";
	case MLB_SVC_NOMEM:
		return "nomem";
	}
	return "?";
}

const char *mlb_family_policy_str(enum mlb_family_policy p)
{
	switch (p) {
	case MLB_POLICY_SINGLE_STACK:
		return "SingleStack";
	case MLB_POLICY_PREFER_DUAL_STACK:
		return "PreferDualStack";
	case MLB_POLICY_REQUIRE_DUAL_STACK:
		return "RequireDualStack";
	}
	return "?";
}

const char *mlb_deprecated_hint(enum mlb_deprecated d)
{
	switch (d) {
	case MLB_DEPRECATED_LB_IPS:
		return "metallb.universe.tf/loadBalancerIPs is deprecated, use metallb.io/loadBalancerIPs";
	case MLB_DEPRECATED_POOL:
		return "metallb.universe.tf/address-pool is deprecated, use metallb.io/address-pool";
	case MLB_DEPRECATED_SHARED:
		return "metallb.universe.tf/allow-shared-ip is deprecated, use metallb.io/allow-shared-ip";
	case MLB_DEPRECATED_SPEC_LB_IP:
		return "spec.loadBalancerIP is deprecated, use the metallb.io/loadBalancerIPs annotation";
	}
	return "?";
}

static void say(char *msg, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;
	if (msg == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, cap, fmt, ap);
	va_end(ap);
}

void mlb_service_free(struct mlb_service *s)
{
	if (s == NULL)
		return;
	free(s->key);
	free(s->namespace);
	free(s->name);
	json_decref(s->labels);
	free(s->pool);
	free(s->sharing);
	free(s->backend);
	free(s->ports);
	free(s);
}

/*
 * The value of annotation NAME under metallb.io, else under metallb.universe.tf (setting the
 * deprecated bit whenever the old prefix is present at all, so the user hears about it).
 */
static const char *annotation(const json_t *ann, const char *name, unsigned bit,
			      unsigned *deprecated)
{
	char key[96];
	snprintf(key, sizeof(key), "metallb.io/%s", name);
	const char *v = json_string_value(json_object_get(ann, key));
	snprintf(key, sizeof(key), "metallb.universe.tf/%s", name);
	const char *old = json_string_value(json_object_get(ann, key));
	if (old != NULL)
		*deprecated |= bit;
	return v != NULL ? v : old;
}

static bool has_family(const struct mlb_service *s, enum ipam_family f)
{
	for (size_t i = 0; i < s->nfamilies; i++)
		if (s->families[i] == f)
			return true;
	return false;
}

static enum mlb_svc_status read_families(struct mlb_service *s, const json_t *spec, char *msg,
					 size_t cap)
{
	const json_t *ips = json_object_get(spec, "clusterIPs");
	const char *one = json_string_value(json_object_get(spec, "clusterIP"));
	size_t n = json_is_array(ips) ? json_array_size(ips) : (one != NULL ? 1 : 0);
	for (size_t i = 0; i < n && s->nfamilies < 2; i++) {
		const char *text =
			json_is_array(ips) ? json_string_value(json_array_get(ips, i)) : one;
		struct ipam_addr a;
		/* "None" (headless) and "" (not assigned yet) have no family. */
		if (text == NULL || ipam_addr_parse(text, &a) < 0)
			continue;
		if (!has_family(s, a.family))
			s->families[s->nfamilies++] = a.family;
	}
	if (s->nfamilies == 0) {
		say(msg, cap, "service %s has no cluster IP, so no IP family to allocate", s->key);
		return MLB_SVC_NO_CLUSTER_IP;
	}
	const char *pol = json_string_value(json_object_get(spec, "ipFamilyPolicy"));
	s->policy = MLB_POLICY_SINGLE_STACK;
	if (pol != NULL && strcmp(pol, "PreferDualStack") == 0)
		s->policy = MLB_POLICY_PREFER_DUAL_STACK;
	else if (pol != NULL && strcmp(pol, "RequireDualStack") == 0)
		s->policy = MLB_POLICY_REQUIRE_DUAL_STACK;
	return MLB_SVC_OK;
}

static enum mlb_svc_status read_requested(struct mlb_service *s, const char *list, const char *what,
					  char *msg, size_t cap)
{
	const char *p = list;
	while (*p != '\0') {
		size_t len = strcspn(p, ",");
		char one[64];
		const char *b = p, *e = p + len;
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		struct ipam_addr a;
		if ((size_t)(e - b) >= sizeof(one)) {
			say(msg, cap, "service %s: %s: \"%.*s...\" is not an IP address", s->key,
			    what, 20, b);
			return MLB_SVC_BAD_REQUESTED_IP;
		}
		memcpy(one, b, (size_t)(e - b));
		one[e - b] = '\0';
		if (ipam_addr_parse(one, &a) < 0) {
			say(msg, cap, "service %s: %s: \"%s\" is not an IP address", s->key, what,
			    one);
			return MLB_SVC_BAD_REQUESTED_IP;
		}
		for (size_t i = 0; i < s->nrequested; i++) {
			if (s->requested[i].family == a.family) {
				say(msg, cap, "service %s: %s: more than one %s address", s->key,
				    what, ipam_family_str(a.family));
				return MLB_SVC_BAD_REQUESTED_IP;
			}
		}
		if (!has_family(s, a.family)) {
			say(msg, cap,
			    "service %s: %s: %s is %s but the service has no %s cluster IP", s->key,
			    what, one, ipam_family_str(a.family), ipam_family_str(a.family));
			return MLB_SVC_REQUESTED_FAMILY;
		}
		s->requested[s->nrequested++] = a;
		p += len;
		if (*p == ',')
			p++;
	}
	if (s->nrequested == 0) {
		say(msg, cap, "service %s: %s: no address", s->key, what);
		return MLB_SVC_BAD_REQUESTED_IP;
	}
	if (s->policy == MLB_POLICY_REQUIRE_DUAL_STACK && s->nfamilies == 2 && s->nrequested < 2) {
		say(msg, cap, "service %s: %s: RequireDualStack needs one address of each family",
		    s->key, what);
		return MLB_SVC_REQUESTED_FAMILY;
	}
	return MLB_SVC_OK;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* spec.selector as sorted "k=v,k2=v2": two Local services share only with equal keys. */
static char *selector_key(const json_t *sel)
{
	size_t n = json_is_object(sel) ? json_object_size(sel) : 0, i = 0, len = 1;
	const char **keys = calloc(n > 0 ? n : 1, sizeof(char *));
	const char *k;
	json_t *v;
	if (keys == NULL)
		return NULL;
	json_object_foreach((json_t *)sel, k, v)
	{
		keys[i++] = k;
		len += strlen(k) + 2 + strlen(json_string_value(v) ? json_string_value(v) : "");
	}
	if (n > 1)
		qsort((void *)keys, n, sizeof(char *), cmp_key);
	char *out = malloc(len);
	if (out != NULL) {
		size_t at = 0;
		out[0] = '\0';
		for (i = 0; i < n; i++) {
			const char *val = json_string_value(json_object_get(sel, keys[i]));
			int w = snprintf(out + at, len - at, "%s%s=%s", i > 0 ? "," : "", keys[i],
					 val != NULL ? val : "");
			if (w > 0)
				at += (size_t)w;
		}
	}
	free((void *)keys);
	return out;
}

static enum mlb_svc_status read_ports(struct mlb_service *s, const json_t *spec, char *msg,
				      size_t cap)
{
	const json_t *ports = json_object_get(spec, "ports");
	size_t n = json_is_array(ports) ? json_array_size(ports) : 0;
	if (n > MAX_PORTS) {
		say(msg, cap, "service %s: more than %d ports", s->key, MAX_PORTS);
		return MLB_SVC_MALFORMED;
	}
	if (n == 0)
		return MLB_SVC_OK;
	s->ports = calloc(n, sizeof(*s->ports));
	if (s->ports == NULL)
		return MLB_SVC_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *p = json_array_get(ports, i);
		json_int_t num = json_integer_value(json_object_get(p, "port"));
		const char *proto = json_string_value(json_object_get(p, "protocol"));
		enum ipam_proto pr = IPAM_PROTO_TCP;
		if (num < 1 || num > 65535 || (proto != NULL && ipam_proto_parse(proto, &pr) < 0)) {
			say(msg, cap, "service %s: spec.ports[%zu] is not a port and protocol",
			    s->key, i);
			return MLB_SVC_MALFORMED;
		}
		s->ports[i].port = (uint16_t)num;
		s->ports[i].proto = pr;
	}
	s->nports = n;
	return MLB_SVC_OK;
}

static char *dup_opt(const char *v, bool *nomem)
{
	if (v == NULL || *v == '\0')
		return NULL;
	char *d = strdup(v);
	if (d == NULL)
		*nomem = true;
	return d;
}

static enum mlb_svc_status parse(struct mlb_service *s, const json_t *svc, const char *lb_class,
				 char *msg, size_t cap)
{
	const json_t *meta = json_object_get(svc, "metadata");
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	if (name == NULL || *name == '\0') {
		say(msg, cap, "service without metadata.name");
		return MLB_SVC_MALFORMED;
	}
	if (ns == NULL)
		ns = "default";
	s->namespace = strdup(ns);
	s->name = strdup(name);
	if (s->namespace == NULL || s->name == NULL || asprintf(&s->key, "%s/%s", ns, name) < 0) {
		s->key = NULL;
		return MLB_SVC_NOMEM;
	}
	const json_t *spec = json_object_get(svc, "spec");
	const char *type = json_string_value(json_object_get(spec, "type"));
	if (type == NULL || strcmp(type, "LoadBalancer") != 0) {
		say(msg, cap, "service %s is of type %s, not LoadBalancer", s->key,
		    type != NULL ? type : "ClusterIP");
		return MLB_SVC_NOT_LB;
	}
	const char *cls = json_string_value(json_object_get(spec, "loadBalancerClass"));
	if (cls != NULL && (lb_class == NULL || strcmp(cls, lb_class) != 0)) {
		say(msg, cap, "service %s has loadBalancerClass %s, not ours", s->key, cls);
		return MLB_SVC_OTHER_CLASS;
	}
	const json_t *labels = json_object_get(meta, "labels");
	if (json_is_object(labels) && (s->labels = json_deep_copy(labels)) == NULL)
		return MLB_SVC_NOMEM;
	enum mlb_svc_status st = read_families(s, spec, msg, cap);
	if (st != MLB_SVC_OK)
		return st;
	const json_t *ann = json_object_get(meta, "annotations");
	const char *ips = annotation(ann, "loadBalancerIPs", MLB_DEPRECATED_LB_IPS, &s->deprecated);
	const char *spec_ip = json_string_value(json_object_get(spec, "loadBalancerIP"));
	if (ips != NULL) {
		st = read_requested(s, ips, "annotation loadBalancerIPs", msg, cap);
	} else if (spec_ip != NULL && *spec_ip != '\0') {
		s->deprecated |= MLB_DEPRECATED_SPEC_LB_IP;
		st = read_requested(s, spec_ip, "spec.loadBalancerIP", msg, cap);
	}
	if (st != MLB_SVC_OK)
		return st;
	bool nomem = false;
	s->pool = dup_opt(annotation(ann, "address-pool", MLB_DEPRECATED_POOL, &s->deprecated),
			  &nomem);
	s->sharing = dup_opt(
		annotation(ann, "allow-shared-ip", MLB_DEPRECATED_SHARED, &s->deprecated), &nomem);
	const char *etp = json_string_value(json_object_get(spec, "externalTrafficPolicy"));
	if (etp != NULL && strcmp(etp, "Local") == 0 &&
	    (s->backend = selector_key(json_object_get(spec, "selector"))) == NULL)
		nomem = true;
	if (nomem)
		return MLB_SVC_NOMEM;
	return read_ports(s, spec, msg, cap);
}

enum mlb_svc_status mlb_service_parse(const json_t *svc, const char *lb_class,
				      struct mlb_service **out, char *msg, size_t cap)
{
	*out = NULL;
	if (!json_is_object(svc)) {
		say(msg, cap, "not a Service object");
		return MLB_SVC_MALFORMED;
	}
	struct mlb_service *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return MLB_SVC_NOMEM;
	enum mlb_svc_status st = parse(s, svc, lb_class, msg, cap);
	if (st != MLB_SVC_OK) {
		mlb_service_free(s);
		return st;
	}
	*out = s;
	return MLB_SVC_OK;
}

const char *mlb_service_key(const struct mlb_service *s)
{
	return s->key;
}

const char *mlb_service_namespace(const struct mlb_service *s)
{
	return s->namespace;
}

const char *mlb_service_name(const struct mlb_service *s)
{
	return s->name;
}

const json_t *mlb_service_labels(const struct mlb_service *s)
{
	return s->labels;
}

size_t mlb_service_nfamilies(const struct mlb_service *s)
{
	return s->nfamilies;
}

enum ipam_family mlb_service_family(const struct mlb_service *s, size_t i)
{
	return i < s->nfamilies ? s->families[i] : IPAM_V4;
}

enum mlb_family_policy mlb_service_policy(const struct mlb_service *s)
{
	return s->policy;
}

size_t mlb_service_nrequested(const struct mlb_service *s)
{
	return s->nrequested;
}

const struct ipam_addr *mlb_service_requested(const struct mlb_service *s, size_t i)
{
	return i < s->nrequested ? &s->requested[i] : NULL;
}

const char *mlb_service_pool(const struct mlb_service *s)
{
	return s->pool;
}

const char *mlb_service_sharing_key(const struct mlb_service *s)
{
	return s->sharing;
}

const char *mlb_service_backend_key(const struct mlb_service *s)
{
	return s->backend;
}

unsigned mlb_service_deprecated(const struct mlb_service *s)
{
	return s->deprecated;
}

void mlb_service_claim(const struct mlb_service *s, struct ipam_claim *out)
{
	out->service = s->key;
	out->sharing_key = s->sharing;
	out->backend_key = s->backend;
	out->ports = s->ports;
	out->nports = s->nports;
}
