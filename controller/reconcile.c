/* reconcile: the controller's decision for one Service (pure; see reconcile.h). */
#include "controller/reconcile.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_POOLS 64

const char *reconcile_outcome_str(enum reconcile_outcome o)
{
	switch (o) {
	case RECONCILE_IGNORED:
		return "ignored";
	case RECONCILE_RELEASED:
		return "released";
	case RECONCILE_UNCHANGED:
		return "unchanged";
	case RECONCILE_ASSIGNED:
		return "assigned";
	case RECONCILE_FAILED:
		return "failed";
	case RECONCILE_MALFORMED:
		return "malformed";
	}
	return "?";
}

const char *reconcile_reason_str(enum reconcile_reason r)
{
	switch (r) {
	case RECONCILE_REASON_NONE:
		return "none";
	case RECONCILE_REASON_NO_CLUSTER_IP:
		return "no-cluster-ip";
	case RECONCILE_REASON_BAD_REQUEST:
		return "bad-requested-ip";
	case RECONCILE_REASON_NO_POOL:
		return "no-pool";
	case RECONCILE_REASON_UNKNOWN_POOL:
		return "unknown-pool";
	case RECONCILE_REASON_POOL_REFUSES:
		return "pool-refuses";
	case RECONCILE_REASON_NOT_IN_POOL:
		return "not-in-pool";
	case RECONCILE_REASON_POOL_MISMATCH:
		return "pool-mismatch";
	case RECONCILE_REASON_NO_FAMILY:
		return "no-family";
	case RECONCILE_REASON_EXHAUSTED:
		return "pool-exhausted";
	case RECONCILE_REASON_IN_USE:
		return "in-use";
	case RECONCILE_REASON_SHARING_REFUSED:
		return "sharing-refused";
	case RECONCILE_REASON_SHARING_DENIED:
		return "sharing-denied";
	case RECONCILE_REASON_NOMEM:
		return "nomem";
	}
	return "?";
}

const char *reconcile_restore_str(enum reconcile_restore r)
{
	switch (r) {
	case RESTORE_NONE:
		return "none";
	case RESTORE_OK:
		return "ok";
	case RESTORE_CONFLICT:
		return "conflict";
	case RESTORE_NOMEM:
		return "nomem";
	}
	return "?";
}

static void say(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	if (buf == NULL || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
}

static const char *meta_str(const json_t *obj, const char *field)
{
	const json_t *v = json_object_get(json_object_get(obj, "metadata"), field);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *annotation(const json_t *svc, const char *k)
{
	const json_t *a = json_object_get(json_object_get(svc, "metadata"), "annotations");
	const json_t *v = json_object_get(a, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

size_t reconcile_status_addrs(const json_t *svc, struct ipam_addr *out, size_t cap)
{
	const json_t *st = json_object_get(svc, "status");
	const json_t *ing = json_object_get(json_object_get(st, "loadBalancer"), "ingress");
	size_t n = 0, i;
	const json_t *e;
	if (!json_is_array(ing))
		return 0;
	json_array_foreach(ing, i, e)
	{
		const json_t *ipv = json_object_get(e, "ip");
		struct ipam_addr a;
		if (!json_is_string(ipv) || ipam_addr_parse(json_string_value(ipv), &a) < 0)
			continue;
		if (n < cap)
			out[n] = a;
		n++;
	}
	return n < cap ? n : cap;
}

static enum reconcile_reason from_ipam(enum ipam_status st)
{
	switch (st) {
	case IPAM_OK:
		return RECONCILE_REASON_NONE;
	case IPAM_NO_POOL:
		return RECONCILE_REASON_NO_POOL;
	case IPAM_NO_FAMILY:
		return RECONCILE_REASON_NO_FAMILY;
	case IPAM_EXHAUSTED:
		return RECONCILE_REASON_EXHAUSTED;
	case IPAM_NOT_IN_POOL:
		return RECONCILE_REASON_NOT_IN_POOL;
	case IPAM_IN_USE:
		return RECONCILE_REASON_IN_USE;
	case IPAM_SHARING_KEY:
	case IPAM_SHARING_PORTS:
	case IPAM_SHARING_POLICY:
		return RECONCILE_REASON_SHARING_REFUSED;
	case IPAM_NOMEM:
		return RECONCILE_REASON_NOMEM;
	}
	return RECONCILE_REASON_NOMEM;
}

static enum reconcile_reason from_choice(enum mlb_choice c)
{
	switch (c) {
	case MLB_CHOICE_OK:
		return RECONCILE_REASON_NONE;
	case MLB_CHOICE_NO_POOL:
		return RECONCILE_REASON_NO_POOL;
	case MLB_CHOICE_UNKNOWN_POOL:
		return RECONCILE_REASON_UNKNOWN_POOL;
	case MLB_CHOICE_POOL_REFUSES:
		return RECONCILE_REASON_POOL_REFUSES;
	case MLB_CHOICE_NOT_IN_POOL:
		return RECONCILE_REASON_NOT_IN_POOL;
	case MLB_CHOICE_SPLIT_POOLS:
	case MLB_CHOICE_POOL_MISMATCH:
		return RECONCILE_REASON_POOL_MISMATCH;
	case MLB_CHOICE_SHARING_DENIED:
		return RECONCILE_REASON_SHARING_DENIED;
	}
	return RECONCILE_REASON_NO_POOL;
}

/* The words that follow "cannot allocate: " in an AllocationFailed Event. */
static void choice_message(enum mlb_choice c, const struct mlb_service *s, char *buf, size_t cap)
{
	const char *pool = mlb_service_pool(s);
	switch (c) {
	case MLB_CHOICE_OK:
		say(buf, cap, "ok");
		return;
	case MLB_CHOICE_NO_POOL:
		say(buf, cap, "no IPAddressPool with autoAssign serves this service");
		return;
	case MLB_CHOICE_UNKNOWN_POOL:
		say(buf, cap, "address-pool \"%s\" names no valid IPAddressPool", pool ? pool : "");
		return;
	case MLB_CHOICE_POOL_REFUSES:
		say(buf, cap, "the pool's serviceAllocation does not admit this service");
		return;
	case MLB_CHOICE_NOT_IN_POOL:
		say(buf, cap, "requested address is not in any IPAddressPool");
		return;
	case MLB_CHOICE_SPLIT_POOLS:
		say(buf, cap, "requested addresses lie in different pools");
		return;
	case MLB_CHOICE_POOL_MISMATCH:
		say(buf, cap, "requested addresses are not in address-pool \"%s\"",
		    pool ? pool : "");
		return;
	case MLB_CHOICE_SHARING_DENIED:
		say(buf, cap,
		    "allow-shared-ip is not allowed on a service an L2Advertisement selects with "
		    "serviceSelectors");
		return;
	}
}

static int fam_idx(enum ipam_family f)
{
	return f == IPAM_V4 ? 0 : 1;
}

/* Current holdings, by family index. */
struct holding {
	bool have[2];
	struct ipam_addr a[2];
};

static void holdings(const struct ipam *ip, const char *key, struct holding *h)
{
	memset(h, 0, sizeof(*h));
	h->have[0] = ipam_service_addr(ip, key, IPAM_V4, &h->a[0]) == 0;
	h->have[1] = ipam_service_addr(ip, key, IPAM_V6, &h->a[1]) == 0;
}

static bool same_holding(const struct holding *x, const struct holding *y)
{
	for (int i = 0; i < 2; i++) {
		if (x->have[i] != y->have[i])
			return false;
		if (x->have[i] && ipam_addr_cmp(&x->a[i], &y->a[i]) != 0)
			return false;
	}
	return true;
}

/* Fills addrs, pool, write_status and write_annotation from what the allocator holds now. */
static void finish(const char *key, const json_t *svc, const struct mlb_config *cfg,
		   const struct ipam *ip, const char *kept_pool, struct reconcile_result *out)
{
	struct holding h;
	holdings(ip, key, &h);
	out->naddrs = 0;
	for (int i = 0; i < 2; i++)
		if (h.have[i])
			out->addrs[out->naddrs++] = h.a[i];
	out->pool[0] = '\0';
	if (out->naddrs > 0) {
		const struct mlb_pool *p = mlb_config_pool_for_addr(cfg, &out->addrs[0]);
		/* An address outside every pool keeps the pool it was recorded under. */
		if (kept_pool == NULL && svc != NULL)
			kept_pool = annotation(svc, RECONCILE_POOL_ANNOTATION);
		const char *name = p != NULL ? mlb_pool_name(p) : kept_pool;
		if (name != NULL)
			say(out->pool, sizeof(out->pool), "%s", name);
	}
	if (svc == NULL)
		return;
	struct ipam_addr cur[4];
	size_t ncur = reconcile_status_addrs(svc, cur, 4);
	const json_t *ing = json_object_get(
		json_object_get(json_object_get(svc, "status"), "loadBalancer"), "ingress");
	size_t nraw = json_is_array(ing) ? json_array_size(ing) : 0;
	out->write_status = ncur != out->naddrs || nraw != ncur;
	for (size_t i = 0; !out->write_status && i < ncur; i++)
		out->write_status = ipam_addr_cmp(&cur[i], &out->addrs[i]) != 0;
	const char *ann = annotation(svc, RECONCILE_POOL_ANNOTATION);
	out->write_annotation = strcmp(ann != NULL ? ann : "", out->pool) != 0 ||
				(ann != NULL && out->pool[0] == '\0');
}

/* A service that is not (or no longer) ours: free what it held, undo what we wrote. */
static void not_ours(const char *key, const json_t *svc, struct ipam *ip, const char *why,
		     struct reconcile_result *out)
{
	int held = ipam_release(ip, key);
	bool ann = svc != NULL && annotation(svc, RECONCILE_POOL_ANNOTATION) != NULL;
	if (held == 0 && !ann) {
		out->outcome = RECONCILE_IGNORED;
		return;
	}
	out->outcome = RECONCILE_RELEASED;
	say(out->message, sizeof(out->message), "released its addresses: %s", why);
	if (svc != NULL) {
		struct ipam_addr cur[2];
		out->write_status = reconcile_status_addrs(svc, cur, 2) > 0;
		out->write_annotation = ann;
	}
}

static void fail(struct reconcile_result *out, enum reconcile_reason r, const char *why)
{
	out->outcome = RECONCILE_FAILED;
	out->reason = r;
	if (why != NULL && why != out->message)
		say(out->message, sizeof(out->message), "%s", why);
}

/* Whether some L2Advertisement announces the pool's addresses for this service. */
static bool announced(const struct mlb_config *cfg, const char *pool, const struct mlb_service *s)
{
	const struct mlb_l2adv *ads[MAX_POOLS];
	size_t n = mlb_config_l2advs_for_pool(cfg, pool, ads, MAX_POOLS);
	for (size_t i = 0; i < n && i < MAX_POOLS; i++)
		if (mlb_l2adv_selects_service(ads[i], mlb_service_labels(s)))
			return true;
	return n > MAX_POOLS;
}

/* The words of an AllocationFailed Event when the allocator (not the pool choice) refused. */
static void alloc_message(const struct mlb_result *m, const struct mlb_service *s,
			  const struct ipam *ip, char *buf, size_t cap)
{
	const char *pool = m->where != NULL ? mlb_pool_name(m->where) : "";
	char txt[IPAM_ADDR_STRLEN];
	if (m->has_refused) {
		ipam_addr_format(&m->refused, txt, sizeof(txt));
		if (from_ipam(m->status) == RECONCILE_REASON_IN_USE ||
		    from_ipam(m->status) == RECONCILE_REASON_SHARING_REFUSED) {
			const char *holder[1] = { NULL };
			ipam_holders(ip, &m->refused, holder, 1);
			say(buf, cap, "requested address %s is in use by %s (%s)", txt,
			    holder[0] ? holder[0] : "another service", ipam_status_str(m->status));
		} else {
			say(buf, cap, "requested address %s: %s in pool \"%s\"", txt,
			    ipam_status_str(m->status), pool);
		}
		return;
	}
	switch (from_ipam(m->status)) {
	case RECONCILE_REASON_EXHAUSTED:
		say(buf, cap, "pool \"%s\" exhausted", pool);
		return;
	case RECONCILE_REASON_NO_FAMILY: {
		size_t n = mlb_service_nfamilies(s);
		say(buf, cap, "no pool that serves this service has %s%s%s addresses",
		    ipam_family_str(mlb_service_family(s, 0)), n > 1 ? " and " : "",
		    n > 1 ? ipam_family_str(mlb_service_family(s, 1)) : "");
		return;
	}
	case RECONCILE_REASON_SHARING_REFUSED:
		say(buf, cap, "sharing refused in pool \"%s\" (allow-shared-ip, ports or policy)",
		    pool);
		return;
	default:
		say(buf, cap, "pool \"%s\": %s", pool, ipam_status_str(m->status));
		return;
	}
}

/* Kept addresses outside the (still valid) pool they were recorded from: warn why they stay. */
static void warn_outside(const struct mlb_config *cfg, const char *ann,
			 const struct reconcile_result *r, struct reconcile_result *out)
{
	if (ann == NULL || mlb_config_pool_by_name(cfg, ann) == NULL)
		return;
	for (size_t i = 0; i < r->naddrs; i++) {
		if (mlb_config_pool_for_addr(cfg, &r->addrs[i]) != NULL)
			continue;
		char txt[IPAM_ADDR_STRLEN];
		out->warnings |= RECONCILE_WARN_OUTSIDE_POOL;
		say(out->warning, sizeof(out->warning),
		    "address %s is no longer in pool \"%s\"; kept so the service keeps working "
		    "(delete the service or name another address to move it)",
		    ipam_addr_format(&r->addrs[i], txt, sizeof(txt)), ann);
		return;
	}
}

/* The allocation is mlb_allocate()'s (the one policy); this turns it into writes and Events. */
static void decide(const char *key, const json_t *svc, const struct mlb_service *s,
		   const struct mlb_config *cfg, struct ipam *ip, const json_t *ns_labels,
		   struct reconcile_result *out)
{
	struct holding before, h;
	holdings(ip, key, &before);
	const char *ann = annotation(svc, RECONCILE_POOL_ANNOTATION);
	struct mlb_result m;
	mlb_allocate(ip, cfg, s, ns_labels, ann, &m);
	holdings(ip, key, &h);
	finish(key, svc, cfg, ip, NULL, out);
	warn_outside(cfg, ann, out, out);
	if (m.status != IPAM_OK) {
		char why[384] = "";
		enum reconcile_reason r;
		if (m.choice != MLB_CHOICE_OK) {
			choice_message(m.choice, s, why, sizeof(why));
			r = from_choice(m.choice);
		} else {
			alloc_message(&m, s, ip, why, sizeof(why));
			r = from_ipam(m.status);
		}
		fail(out, r, why);
		return;
	}
	out->outcome = same_holding(&before, &h) ? RECONCILE_UNCHANGED : RECONCILE_ASSIGNED;
	if (out->naddrs > 0 && out->pool[0] != '\0' && !announced(cfg, out->pool, s)) {
		out->warnings |= RECONCILE_WARN_NOT_ANNOUNCED;
		say(out->warning, sizeof(out->warning),
		    "no L2Advertisement announces pool \"%s\" for this service: its address is "
		    "assigned but not announced",
		    out->pool);
	}
	if (out->outcome == RECONCILE_ASSIGNED) {
		char a0[IPAM_ADDR_STRLEN], a1[IPAM_ADDR_STRLEN];
		ipam_addr_format(&out->addrs[0], a0, sizeof(a0));
		if (out->naddrs > 1)
			ipam_addr_format(&out->addrs[1], a1, sizeof(a1));
		say(out->message, sizeof(out->message),
		    "Assigned IP [\"%s\"%s%s%s] from pool \"%s\"", a0, out->naddrs > 1 ? " \"" : "",
		    out->naddrs > 1 ? a1 : "", out->naddrs > 1 ? "\"" : "", out->pool);
	}
}

void reconcile_service(const char *key, const json_t *svc, const struct mlb_config *cfg,
		       struct ipam *ip, const char *lb_class, const json_t *ns_labels,
		       struct reconcile_result *out)
{
	memset(out, 0, sizeof(*out));
	if (svc == NULL) {
		not_ours(key, NULL, ip, "service deleted", out);
		return;
	}
	struct mlb_service *s = NULL;
	char msg[384] = "";
	enum mlb_svc_status st = mlb_service_parse(svc, lb_class, &s, msg, sizeof(msg));
	switch (st) {
	case MLB_SVC_OK:
		break;
	case MLB_SVC_NOT_LB:
		not_ours(key, svc, ip, "no longer of type LoadBalancer", out);
		return;
	case MLB_SVC_OTHER_CLASS:
		not_ours(key, svc, ip, "spec.loadBalancerClass names another implementation", out);
		return;
	case MLB_SVC_NO_CLUSTER_IP:
		ipam_release(ip, key);
		finish(key, svc, cfg, ip, NULL, out);
		fail(out, RECONCILE_REASON_NO_CLUSTER_IP,
		     "the service has no cluster IP, so no address family to serve");
		return;
	case MLB_SVC_BAD_REQUESTED_IP:
	case MLB_SVC_REQUESTED_FAMILY:
		finish(key, svc, cfg, ip, annotation(svc, RECONCILE_POOL_ANNOTATION), out);
		fail(out, RECONCILE_REASON_BAD_REQUEST, msg);
		return;
	case MLB_SVC_MALFORMED:
		out->outcome = RECONCILE_MALFORMED;
		say(out->message, sizeof(out->message), "%s", msg);
		return;
	case MLB_SVC_NOMEM:
		finish(key, svc, cfg, ip, annotation(svc, RECONCILE_POOL_ANNOTATION), out);
		fail(out, RECONCILE_REASON_NOMEM, "out of memory");
		return;
	}
	out->deprecated = mlb_service_deprecated(s);
	if (out->deprecated != 0)
		out->warnings |= RECONCILE_WARN_DEPRECATED;
	decide(key, svc, s, cfg, ip, ns_labels, out);
	mlb_service_free(s);
}

/*
 * The service as restore reads it. Only what it holds matters there: a requested-address
 * annotation (or spec.loadBalancerIP) it cannot read, or that does not fit its families, is set
 * aside, so the address its status shows is still taken back and never handed to another
 * service; reconcile then reports the bad request while the service keeps its address.
 */
static enum mlb_svc_status parse_held(const json_t *svc, const char *lb_class,
				      struct mlb_service **s)
{
	enum mlb_svc_status st = mlb_service_parse(svc, lb_class, s, NULL, 0);
	if (st != MLB_SVC_BAD_REQUESTED_IP && st != MLB_SVC_REQUESTED_FAMILY)
		return st;
	json_t *copy = json_deep_copy(svc);
	if (copy == NULL)
		return MLB_SVC_NOMEM;
	json_t *ann = json_object_get(json_object_get(copy, "metadata"), "annotations");
	json_object_del(ann, "metallb.io/loadBalancerIPs");
	json_object_del(ann, "metallb.universe.tf/loadBalancerIPs");
	json_object_del(json_object_get(copy, "spec"), "loadBalancerIP");
	st = mlb_service_parse(copy, lb_class, s, NULL, 0);
	json_decref(copy);
	return st;
}

enum reconcile_restore reconcile_restore(const json_t *svc, struct ipam *ip, const char *lb_class,
					 char *msg, size_t cap)
{
	struct ipam_addr addrs[4];
	size_t n = reconcile_status_addrs(svc, addrs, 4);
	if (n == 0)
		return RESTORE_NONE;
	struct mlb_service *s = NULL;
	enum mlb_svc_status st0 = parse_held(svc, lb_class, &s);
	if (st0 == MLB_SVC_NOMEM)
		return RESTORE_NOMEM;
	if (st0 != MLB_SVC_OK)
		return RESTORE_NONE;
	struct ipam_claim claim;
	mlb_service_claim(s, &claim);
	enum reconcile_restore res = RESTORE_OK;
	bool seen[2] = { false, false };
	for (size_t i = 0; i < n; i++) {
		int fi = fam_idx(addrs[i].family);
		if (seen[fi])
			continue; /* one address per family, as we write it */
		seen[fi] = true;
		enum ipam_status st = ipam_assign(ip, NULL, &addrs[i], &claim);
		if (st == IPAM_OK)
			continue;
		if (st == IPAM_NOMEM) {
			res = RESTORE_NOMEM;
			break;
		}
		const char *holder[1] = { NULL };
		char txt[IPAM_ADDR_STRLEN];
		ipam_holders(ip, &addrs[i], holder, 1);
		say(msg, cap,
		    "address %s is also held by older service %s (%s); giving this one another",
		    ipam_addr_format(&addrs[i], txt, sizeof(txt)), holder[0] ? holder[0] : "?",
		    ipam_status_str(st));
		res = RESTORE_CONFLICT;
	}
	if (res != RESTORE_OK)
		ipam_release(ip, mlb_service_key(s));
	mlb_service_free(s);
	return res;
}

bool reconcile_pool_affects(const json_t *svc, const char *name, const struct ipam_pool *old_def,
			    const struct ipam_pool *new_def, bool waiting)
{
	const char *ann = annotation(svc, RECONCILE_POOL_ANNOTATION);
	if (ann != NULL && name != NULL && strcmp(ann, name) == 0)
		return true;
	struct ipam_addr cur[4];
	size_t n = reconcile_status_addrs(svc, cur, 4);
	for (size_t i = 0; i < n; i++)
		if ((old_def != NULL && ipam_pool_contains(old_def, &cur[i])) ||
		    (new_def != NULL && ipam_pool_contains(new_def, &cur[i])))
			return true;
	const char *type = json_string_value(json_object_get(json_object_get(svc, "spec"), "type"));
	return waiting && type != NULL && strcmp(type, "LoadBalancer") == 0;
}

int reconcile_compare_age(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	const char *tx = meta_str(x, "creationTimestamp"), *ty = meta_str(y, "creationTimestamp");
	/* RFC 3339 in UTC with a fixed layout sorts as text. */
	int c = strcmp(tx ? tx : "", ty ? ty : "");
	if (c != 0)
		return c;
	const char *nx = meta_str(x, "namespace"), *ny = meta_str(y, "namespace");
	c = strcmp(nx ? nx : "", ny ? ny : "");
	if (c != 0)
		return c;
	const char *mx = meta_str(x, "name"), *my = meta_str(y, "name");
	return strcmp(mx ? mx : "", my ? my : "");
}
