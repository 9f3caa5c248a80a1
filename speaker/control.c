/* control: the speaker's control plane (see control.h). */
#include "speaker/control.h"

#include "hash/fnv.h"
#include "hash/siphash.h"
#include "kube/event.h"
#include "kube/informer.h"
#include "kube/lease.h"
#include "kube/leaseio.h"
#include "kube/leasefsm.h"
#include "mlb/lastgood.h"
#include "mlb/mlb.h"
#include "net/ifchoose.h"
#include "speaker/eligibility.h"
#include "speaker/epcache.h"
#include "speaker/keep.h"
#include "speaker/leasename.h"
#include "speaker/presence.h"
#include "speaker/ranking.h"
#include "speaker/spkstats.h"
#include "speaker/takeover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NBUCKETS      4096
#define MAX_ADDRS     2	 /* one per family */
#define MAX_IFS	      16 /* interfaces answering for one address */
#define MAX_ADVS      64 /* advertisements applying to one pool */
#define KEY_MAX	      (2 * 64 + 2)
#define EXCLUDE_LABEL "node.kubernetes.io/exclude-from-external-load-balancers"

static const struct kube_resource res_services = { "", "v1", "services", 1 };
static const struct kube_resource res_slices = { "discovery.k8s.io", "v1", "endpointslices", 1 };
static const struct kube_resource res_nodes = { "", "v1", "nodes", 0 };
static const struct kube_resource res_pools = { "metallb.io", "v1beta1", "ipaddresspools", 1 };
static const struct kube_resource res_advs = { "metallb.io", "v1beta1", "l2advertisements", 1 };
/* ServiceL2Status names are DNS subdomains: up to 253 characters and the NUL. */
#define STATUS_NAME_MAX 254

static const struct kube_resource res_l2status = { "metallb.io", "v1beta1", "servicel2statuses",
						   1 };

/* The speakers' Leases are watched by the lease set (kube/lease), not here. */
enum inf_id { INF_SERVICES, INF_SLICES, INF_NODES, INF_POOLS, INF_ADVS, INF_COUNT };

/* An interface answering for one of a service's addresses (the ifindex is 0 in a dry run). */
struct svc_if {
	int ifindex;
	unsigned char ai; /* which address */
	char name[IF_NAME_MAX];
};

/*
 * One service this speaker tracks: a LoadBalancer service of ours, or one whose lease exists.
 * A thousand of these live as long as the speaker, so strings are sized to what they hold.
 */
struct svc {
	struct svc *next;  /* chain by key */
	struct svc *lnext; /* chain by lease name */
	struct control *c;
	const char *ns, *name, *key, *lease; /* in strs */
	/* The last other node seen holding the lease: its ServiceL2Status is ours to remove once
	 * we announce, since a dead node cannot remove its own. NULL: none. */
	char *other_holder;
	struct lease *el;	  /* the election on the service's lease, once needed */
	struct kube_request *del; /* a stale lease's delete in flight */
	struct loop_timer timer;  /* the takeover rules' next wake */
	uint64_t holder_seen;	  /* hash of the holder last seen on the lease */
	int campaigning;
	int in_run, dirty; /* svc_run() is on the stack; decide again when it returns */
	/* Facts of the Service object, from its last watch event. */
	int wanted; /* a LoadBalancer service of ours with an address */
	int traffic_local;
	struct netaddr addrs[MAX_ADDRS];
	size_t naddrs;
	char *uid;
	json_t *labels; /* NULL: none */
	/* From the last evaluation. */
	struct svc_if *ifs; /* this node's interfaces for the addresses */
	size_t nifs, capifs;
	int eligible, rank, preempt;
	int judged; /* cand and score hold this evaluation's view */
	enum eligibility_reason why;
	struct eligibility_endpoint *eps;
	size_t neps, capeps;
	/* Per node of the last evaluation: a live eligible candidate, and its preference score. */
	unsigned char *cand;
	int *score;
	size_t capnodes;
	/* State. */
	int announcing;
	int wire_conflict;
	int status_ours; /* status and event written for the current leadership */
	enum takeover_decision last;
	int last_logged_why; /* -1: none */
	char strs[];	     /* "ns\0name\0ns/name\0lease" */
};

/* One node as the evaluation sees it (borrowed from the informer cache). */
struct node_view {
	const char *name;
	const json_t *labels;
	int excluded, netunavail, live;
};

struct control {
	struct loop *lp;
	struct log *lg;
	struct kube_client *kc;
	struct kube_client *lc; /* service lease writes */
	struct kube_client *pc; /* presence lease writes */
	char node[LEASEFSM_HOLDER_MAX];
	char ns[64];
	char *lb_class;
	struct control_opts o;
	struct informer *inf[INF_COUNT];
	struct epcache *eps; /* what the slice informer would have cached */
	int synced;
	struct svc *by_key[NBUCKETS];
	struct svc *by_lease[NBUCKETS];
	size_t nsvcs;
	struct presence *presence;
	struct event_recorder *rec;
	/* Every Lease of the namespace: our presence lease and the services' ownership leases are
	 * elections of this one set. */
	struct lease_set *ls;
	struct lease *pel; /* our presence lease */
	char plase[LEASENAME_MAX];
	int ever_present;
	int api_ok;
	int64_t own_seen_ms; /* when the watch last showed our presence lease change */
	struct loop_timer warm_timer;
	struct loop_timer expiry_timer; /* a peer's presence lease expires */
	struct loop_timer eval_timer;	/* coalesced re-evaluation */
	int config_dirty;
	struct mlb_config *cfg;
	struct mlb_lastgood *lastgood; /* an invalid edit keeps the object's last good version */
	/* Graceful stop. */
	int stopping;
	struct loop_timer stop_timer;
	void (*stop_done)(void *);
	void *stop_arg;
	struct control_stats st;
	/* Scratch for one evaluation. */
	struct node_view *nodes;
	struct ranking_node *rn; /* same capacity as nodes */
	size_t nnodes, capnodes;
	int warned_l2status;
};

static int64_t now_ms(struct control *c)
{
	return (int64_t)loop_now_ms(c->lp);
}

static unsigned hash_str(const char *s)
{
	return (unsigned)(fnv_str(s) % NBUCKETS);
}

/*
 * One ServiceL2Status per service and node, as MetalLB keeps them: status.node is immutable
 * in the CRD, so a new holder writes its own object instead of rewriting the old holder's, and
 * a node leaving gracefully deletes only its own, never its successor's. The name shares the
 * lease's unique suffix and ends with the node (or a hash of it when that would be too long).
 */
static void status_name_for(const struct svc *s, const char *node, char *buf, size_t cap)
{
	static const uint8_t key[16] = "l2lb-l2status-nm";
	const char *suffix = s->lease + strlen("l2lb-svc-");
	int n = snprintf(buf, cap, "l2-%s.%s", suffix, node);

	if (n < 0 || (size_t)n >= cap)
		snprintf(buf, cap, "l2-%s.n%016llx", suffix,
			 (unsigned long long)siphash_sum(key, node, strlen(node)));
}

static struct svc *svc_by_key(struct control *c, const char *key)
{
	for (struct svc *s = c->by_key[hash_str(key)]; s != NULL; s = s->next)
		if (strcmp(s->key, key) == 0)
			return s;
	return NULL;
}

static struct svc *svc_by_lease(struct control *c, const char *lease)
{
	for (struct svc *s = c->by_lease[hash_str(lease)]; s != NULL; s = s->lnext)
		if (strcmp(s->lease, lease) == 0)
			return s;
	return NULL;
}

static void svc_timer_cb(struct loop_timer *t, void *arg);
static void svc_run(struct control *c, struct svc *s);
static void schedule_eval(struct control *c);

/* Returns the tracked service ns/name, creating it; NULL when the names are invalid or OOM. */
static struct svc *svc_get(struct control *c, const char *ns, const char *name)
{
	char key[KEY_MAX], lease[LEASENAME_MAX];

	if (snprintf(key, sizeof(key), "%s/%s", ns, name) >= (int)sizeof(key))
		return NULL;
	struct svc *s = svc_by_key(c, key);
	if (s != NULL)
		return s;
	if (leasename_service(ns, name, lease, sizeof(lease)) < 0)
		return NULL;
	size_t lns = strlen(ns) + 1, lname = strlen(name) + 1, lkey = strlen(key) + 1;
	s = calloc(1, sizeof(*s) + lns + lname + lkey + strlen(lease) + 1);
	if (s == NULL)
		return NULL;
	char *p = s->strs;
	s->ns = memcpy(p, ns, lns);
	s->name = memcpy(p + lns, name, lname);
	s->key = memcpy(p + lns + lname, key, lkey);
	s->lease = strcpy(p + lns + lname + lkey, lease);
	s->c = c;
	s->rank = -1;
	s->last_logged_why = -1;
	s->last = TAKEOVER_IDLE;
	unsigned h = hash_str(s->key), hl = hash_str(s->lease);
	s->next = c->by_key[h];
	c->by_key[h] = s;
	s->lnext = c->by_lease[hl];
	c->by_lease[hl] = s;
	c->nsvcs++;
	return s;
}

/* Frees s without unlinking it (the caller drops the tables). */
static void svc_destroy(struct control *c, struct svc *s)
{
	loop_timer_stop(c->lp, &s->timer);
	if (s->del != NULL)
		kube_request_cancel(s->del);
	lease_free(s->el);
	free(s->other_holder);
	free(s->uid);
	json_decref(s->labels);
	free(s->ifs);
	free(s->eps);
	free(s->cand);
	free(s->score);
	free(s);
}

static void svc_free(struct control *c, struct svc *s)
{
	struct svc **pp;

	for (pp = &c->by_key[hash_str(s->key)]; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	for (pp = &c->by_lease[hash_str(s->lease)]; *pp != NULL; pp = &(*pp)->lnext)
		if (*pp == s) {
			*pp = s->lnext;
			break;
		}
	c->nsvcs--;
	svc_destroy(c, s);
}

/* Replaces *p by a copy of v (NULL: none); on OOM leaves it NULL, which reads as "none". */
static void set_str(char **p, const char *v)
{
	if (*p != NULL && v != NULL && strcmp(*p, v) == 0)
		return;
	free(*p);
	*p = v != NULL ? strdup(v) : NULL;
}

/* The distinct names of s's interfaces, in order (at most MAX_IFS); returns how many. */
static size_t svc_ifnames(const struct svc *s, const char **out)
{
	size_t n = 0;

	for (size_t k = 0; k < s->nifs; k++) {
		size_t j = 0;
		if (s->ifs[k].name[0] == '\0')
			continue;
		while (j < n && strcmp(out[j], s->ifs[k].name) != 0)
			j++;
		if (j == n && n < MAX_IFS)
			out[n++] = s->ifs[k].name;
	}
	return n;
}

/* The distinct interfaces answering for address ai (at most MAX_IFS); returns how many. */
static size_t svc_ifindexes(const struct svc *s, size_t ai, int *out)
{
	size_t n = 0;

	for (size_t k = 0; k < s->nifs; k++) {
		size_t j = 0;
		if (s->ifs[k].ai != ai)
			continue;
		while (j < n && out[j] != s->ifs[k].ifindex)
			j++;
		if (j == n && n < MAX_IFS)
			out[n++] = s->ifs[k].ifindex;
	}
	return n;
}

/* ---- announcing ---- */

static void set_announce(struct control *c, struct svc *s, int on)
{
	char a[NETADDR_STRLEN];

	if (on) {
		for (size_t i = 0; i < s->naddrs; i++) {
			int ifx[MAX_IFS];
			size_t n = svc_ifindexes(s, i, ifx);
			c->o.announcer.announce(c->o.announcer.arg, &s->addrs[i], ifx, n);
		}
		if (!s->announcing) {
			s->announcing = 1;
			c->st.announcing++;
			spkstats_announced(c->o.stats, s->key, s->addrs, s->naddrs, 1);
			log_info(c->lg, "announcing", "service", s->key, "address",
				 s->naddrs > 0 ? netaddr_format(&s->addrs[0], a, sizeof(a)) : "");
		}
		return;
	}
	if (!s->announcing)
		return;
	for (size_t i = 0; i < s->naddrs; i++)
		c->o.announcer.withdraw(c->o.announcer.arg, &s->addrs[i]);
	s->announcing = 0;
	c->st.announcing--;
	spkstats_announced(c->o.stats, s->key, s->addrs, s->naddrs, 0);
	log_info(c->lg, "stopped announcing", "service", s->key);
}

/* ---- status and events ---- */

static void l2status_done(const struct kube_error *err, json_t *obj, void *arg)
{
	struct control *c = arg;
	char buf[800];

	(void)obj;
	if (err->status == KUBE_OK || err->code == 404 || err->code == 409)
		return;
	log_warn(c->lg, "cannot write ServiceL2Status", "error",
		 kube_error_str(err, buf, sizeof(buf)));
}

static json_t *l2status_body(struct control *c, struct svc *s, int with_status)
{
	json_t *ifs = json_array();
	const char *names[MAX_IFS];
	size_t nnames = svc_ifnames(s, names);
	char status_name[STATUS_NAME_MAX];

	status_name_for(s, c->node, status_name, sizeof(status_name));
	for (size_t i = 0; ifs != NULL && i < nnames; i++)
		json_array_append_new(ifs, json_pack("{s:s}", "name", names[i]));
	json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s, s:s}}}", "apiVersion",
			      "metallb.io/v1beta1", "kind", "ServiceL2Status", "metadata", "name",
			      status_name, "namespace", c->ns, "labels", "metallb.io/node", c->node,
			      "metallb.io/service-name", s->name, "metallb.io/service-namespace",
			      s->ns);
	if (o != NULL && with_status)
		json_object_set_new(o, "status",
				    json_pack("{s:s, s:s, s:s, s:o}", "node", c->node,
					      "serviceName", s->name, "serviceNamespace", s->ns,
					      "interfaces", ifs != NULL ? ifs : json_array()));
	else
		json_decref(ifs);
	return o;
}

struct l2status_ctx {
	struct control *c;
	char name[STATUS_NAME_MAX];
	json_t *body; /* the object with its status */
};

static void l2status_created(const struct kube_error *err, json_t *obj, void *arg)
{
	struct l2status_ctx *x = arg;
	struct control *c = x->c;
	char buf[800];

	(void)obj;
	if (err->status != KUBE_OK && err->code == 404) {
		if (!c->warned_l2status)
			log_warn(c->lg,
				 "ServiceL2Status is not served (CRD missing?): not writing it",
				 "error", kube_error_str(err, buf, sizeof(buf)));
		c->warned_l2status = 1;
	} else if (err->status != KUBE_OK && err->code != 409) {
		log_warn(c->lg, "cannot create ServiceL2Status", "name", x->name, "error",
			 kube_error_str(err, buf, sizeof(buf)));
	} else {
		/* Created, or it exists (a previous holder's): set labels and status to ours. */
		json_t *md = json_pack("{s:O}", "metadata", json_object_get(x->body, "metadata"));
		if (md != NULL && err->code == 409)
			kube_client_patch(c->kc, &res_l2status, c->ns, x->name, NULL, md,
					  l2status_done, c);
		json_decref(md);
		json_t *st = json_pack("{s:O}", "status", json_object_get(x->body, "status"));
		if (st != NULL)
			kube_client_patch(c->kc, &res_l2status, c->ns, x->name, "status", st,
					  l2status_done, c);
		json_decref(st);
	}
	json_decref(x->body);
	free(x);
}

static void write_status(struct control *c, struct svc *s)
{
	struct l2status_ctx *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return;
	x->c = c;
	status_name_for(s, c->node, x->name, sizeof(x->name));
	x->body = l2status_body(c, s, 1);
	if (x->body == NULL ||
	    kube_client_create(c->kc, &res_l2status, c->ns, x->body, l2status_created, x) == NULL) {
		json_decref(x->body);
		free(x);
	}
}

static void delete_status(struct control *c, struct svc *s)
{
	char name[STATUS_NAME_MAX];

	status_name_for(s, c->node, name, sizeof(name));
	kube_client_delete(c->kc, &res_l2status, c->ns, name, l2status_done, c);
}

/* Removes another node's ServiceL2Status for s (a dead or former holder's). */
static void delete_status_of(struct control *c, struct svc *s, const char *node)
{
	char name[STATUS_NAME_MAX];

	status_name_for(s, node, name, sizeof(name));
	kube_client_delete(c->kc, &res_l2status, c->ns, name, l2status_done, c);
}

/* An Event on the service, as MetalLB's speaker records it when it starts announcing. */
static void record_event(struct control *c, struct svc *s, const char *reason, const char *msg)
{
	json_t *ref = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "apiVersion", "v1", "kind",
				"Service", "metadata", "namespace", s->ns, "name", s->name, "uid",
				s->uid != NULL ? s->uid : "");

	if (ref != NULL && c->rec != NULL)
		event_record(c->rec, ref, EVENT_NORMAL, reason, msg);
	json_decref(ref);
}

/* ---- the service's election ---- */

/*
 * --api-loss=keep beyond the service lease's renew deadline: while our own presence lease cannot
 * be renewed either, the lease still names us and nobody can have written it, so we go on
 * answering as if we led (a peer that did take over is seen on the wire: wire_conflict). Once
 * the API answers again, the election takes the lease back or learns who has it.
 */
static int api_hold(const struct control *c, const struct svc *s)
{
	return !c->api_ok && !c->o.api_loss_stop && !c->stopping && s->el != NULL &&
	       !lease_is_leading(s->el) &&
	       lease_stop_reason(s->el) == LEASEFSM_STOP_RENEW_DEADLINE &&
	       strcmp(lease_holder(s->el), c->node) == 0;
}

/* The election changed under us: decide again (at once, or when svc_run() returns). */
static void svc_changed(struct svc *s)
{
	s->dirty = 1;
	if (!s->in_run)
		svc_run(s->c, s);
}

static void svc_started(struct lease *l, void *arg)
{
	struct svc *s = arg;

	log_info(s->c->lg, "lease acquired", "service", s->key, "lease", lease_name(l));
	/* Before svc_changed(): it announces, and the delay to the first GARP is measured. */
	spkstats_lease_acquired(s->c->o.stats, s->addrs, s->naddrs, s->other_holder != NULL);
	s->status_ours = 0;
	svc_changed(s);
}

static void svc_stopped(struct lease *l, enum leasefsm_stop_reason why, void *arg)
{
	struct svc *s = arg;
	struct control *c = s->c;

	(void)l;
	spkstats_lease_lost(c->o.stats, s->addrs, s->naddrs, leasefsm_stop_reason_str(why));
	if (api_hold(c, s)) {
		log_warn(c->lg, "lease not renewed (API lost): still answering", "service", s->key);
	} else {
		/* Stop answering before anything else happens, the release included. */
		set_announce(c, s, 0);
		s->wire_conflict = 0;
		log_info(c->lg, "lease lost", "service", s->key, "reason",
			 leasefsm_stop_reason_str(why));
	}
	svc_changed(s);
}

static void svc_new_leader(struct lease *l, const char *holder, void *arg)
{
	struct svc *s = arg;

	(void)l;
	log_debug(s->c->lg, "service announced by another node", "service", s->key, "node", holder);
	svc_changed(s);
}

static void svc_written(struct lease *l, void *arg)
{
	(void)l;
	svc_changed(arg);
}

/* The service's election on its lease, started on first need (it observes the cached Lease). */
static int ensure_el(struct control *c, struct svc *s)
{
	if (s->el != NULL)
		return 0;
	struct leasefsm_config cfg = {
		.identity = c->node,
		.lease_ms = c->o.svc_lease_ms,
		.renew_ms = c->o.svc_renew_ms,
		.retry_ms = c->o.svc_retry_ms,
		.renew_interval_ms = c->o.svc_renew_interval_ms,
	};
	struct lease_callbacks cb = {
		.started_leading = svc_started,
		.stopped_leading = svc_stopped,
		.new_leader = svc_new_leader,
		.written = svc_written,
		.arg = s,
	};
	char err[300];
	struct lease *el = lease_new(c->ls, s->lease, &cfg, &cb, err, sizeof(err));
	if (el == NULL) {
		log_error(c->lg, "cannot start the service's election", "service", s->key, "error",
			  err);
		return -1;
	}
	if (lease_tag(el, LEASEIO_SERVICE, s->ns, s->name) < 0) {
		log_error(c->lg, "out of memory", "service", s->key);
		lease_free(el);
		return -1;
	}
	s->el = el;
	return 0;
}

/*
 * Whether our view of the Leases is current: the watch shows our own presence renewals, a few
 * a second, within the renew deadline. When it lags (a loaded API server, a slow watch), every
 * peer's lease looks expired too; judging them dead then would steal live nodes' services.
 */
static int watch_fresh(const struct control *c, int64_t now)
{
	return c->own_seen_ms != 0 && now - c->own_seen_ms <= c->o.presence_renew_ms;
}

/* One decision for one service and what follows from it; returns the takeover wake. */
static int64_t svc_decide(struct control *c, struct svc *s, int64_t now)
{
	char holder[LEASEFSM_HOLDER_MAX];

	snprintf(holder, sizeof(holder), "%s", lease_holder(s->el));
	int names_us = holder[0] != '\0' && strcmp(holder, c->node) == 0;
	if (holder[0] != '\0' && !names_us)
		set_str(&s->other_holder, holder);
	/* Right after start the elections hold off free leases until the warm-up ends (a speaker
	 * that has not yet seen its peers' presence would rank itself first for everything); rank
	 * delays count from then: see warm_cb(). */
	struct takeover_input in = {
		.now_ms = now,
		.eligible = s->wanted && s->eligible && !c->stopping,
		.rank = c->stopping ? -1 : s->rank,
		.preempt = s->preempt,
		.rank_step_ms = c->o.rank_step_ms,
		.leading = lease_is_leading(s->el) || api_hold(c, s),
		.names_us = names_us,
		.held_by_other = lease_held_by_other(s->el),
		.holder_dead = holder[0] != '\0' && !names_us && watch_fresh(c, now) &&
			       !presence_is_live(c->presence, holder, now),
		.free_since = lease_free_since(s->el),
		.announcing = s->announcing,
		.api_ok = c->api_ok,
		.api_loss_stop = c->o.api_loss_stop,
		.wire_conflict = s->wire_conflict,
	};
	struct takeover_out out;
	enum takeover_decision d = takeover_decide(&in, &out);
	if (d != s->last)
		log_debug(c->lg, "election", "service", s->key, "decision",
			  takeover_decision_str(d), "holder", holder, "rank",
			  log_fmt((char[16]){ 0 }, 16, "%d", in.rank));
	if (d == TAKEOVER_RELEASE && s->last != TAKEOVER_RELEASE) {
		log_info(c->lg, "releasing", "service", s->key, "reason",
			 !s->wanted ? "not announced by l2lb" : eligibility_reason_str(s->why));
		if (!c->stopping)
			delete_status(c, s);
	}
	/* Taken from us (a preferred node took over): our status goes too, also when the new
	 * holder's delete of it overtook our create of it. */
	if (d == TAKEOVER_STOP && s->last != TAKEOVER_STOP && s->status_ours && !c->stopping &&
	    lease_held_by_other(s->el)) {
		delete_status(c, s);
		s->status_ours = 0;
	}
	if (d == TAKEOVER_SUSPEND && s->last != TAKEOVER_SUSPEND)
		log_warn(c->lg, "not answering: API lost", "service", s->key, "why",
			 s->wire_conflict ? "another node announces the address"
					  : "--api-loss=stop");
	s->last = d;
	/* The election waits out the rank delay itself, absent leases included, so a candidate
	 * campaigns as soon as it is one. */
	if (out.release) {
		s->campaigning = 0;
		lease_release(s->el);
	} else if (out.campaign) {
		s->campaigning = 1;
		lease_campaign(s->el, out.delay_ms);
	} else if (s->campaigning) {
		s->campaigning = 0;
		lease_release(s->el);
	}
	if (out.declare_gone) {
		log_info(c->lg,
			 in.holder_dead ? "holder's presence lease expired: taking over"
					: "taking over from a holder with a lower preference score",
			 "service", s->key, "holder", holder);
		lease_holder_gone(s->el, holder);
	}
	set_announce(c, s, out.announce && (lease_is_leading(s->el) || api_hold(c, s)));
	if (s->announcing && !s->status_ours) {
		char msg[600];
		s->status_ours = 1;
		snprintf(msg, sizeof(msg), "announcing from node \"%s\" with protocol \"layer2\"",
			 c->node);
		record_event(c, s, "nodeAssigned", msg);
		write_status(c, s);
		if (s->other_holder != NULL) {
			/* A failover: kubectl describe shows where it moved from. */
			snprintf(msg, sizeof(msg), "announcing node changed from \"%s\" to \"%s\"",
				 s->other_holder, c->node);
			record_event(c, s, "announcingNodeChanged", msg);
			delete_status_of(c, s, s->other_holder);
		}
		set_str(&s->other_holder, NULL);
	}
	return out.wake_ms;
}

/*
 * Decides and acts for one service: the heart of the election (takeover.h). The election's
 * transitions call back into svc_changed(); while we are here that only asks for another round.
 */
static void svc_run(struct control *c, struct svc *s)
{
	if (s->in_run) {
		s->dirty = 1;
		return;
	}
	if (!c->synced || !c->ever_present || s->del != NULL)
		return;
	if (s->el == NULL && !s->wanted)
		return;
	/* Starting the election observes the Lease, which may call back already. */
	s->in_run = 1;
	if (ensure_el(c, s) < 0) {
		s->in_run = 0;
		return;
	}
	int64_t now = now_ms(c), wake = TAKEOVER_NEVER;
	for (int round = 0; round < 4; round++) {
		s->dirty = 0;
		wake = svc_decide(c, s, now);
		if (!s->dirty)
			break;
	}
	s->in_run = 0;
	/* What the election knows now, our own writes included: a watch event that only
	 * confirms it changes nothing in the plan (lease_seen()). */
	s->holder_seen = fnv_str(lease_holder(s->el));
	if (wake == TAKEOVER_NEVER) {
		loop_timer_stop(c->lp, &s->timer);
		return;
	}
	loop_timer_start(c->lp, &s->timer, wake > now ? (uint64_t)(wake - now) : 0, 0, svc_timer_cb,
			 s);
}

static void svc_timer_cb(struct loop_timer *t, void *arg)
{
	struct svc *s = arg;

	(void)t;
	svc_run(s->c, s);
}

/* ---- presence: our own lease, one more election of the set, always campaigning ---- */

static void evaluate(struct control *c);

/*
 * The warm-up is over: our peers' presence leases have been seen. Rank every service with them
 * first, and only then let the elections take free leases (rank delays count from now), so that
 * no election acts on a rank from before.
 */
static void warm_cb(struct loop_timer *t, void *arg)
{
	struct control *c = arg;

	(void)t;
	if (c->synced)
		evaluate(c);
	lease_set_hold_off(c->ls, now_ms(c));
	/* The takeover rules' wakes, now that free leases count from now (no new plan). */
	for (size_t b = 0; b < NBUCKETS; b++)
		for (struct svc *s = c->by_key[b]; s != NULL; s = s->next)
			svc_run(c, s);
}

static void presence_started(struct lease *l, void *arg)
{
	struct control *c = arg;
	int was = c->api_ok;

	(void)l;
	c->api_ok = 1;
	if (!c->ever_present) {
		c->ever_present = 1;
		/* Until warm_cb(), no election takes a lease that does not name us. Our presence
		 * lease names us now; should it be lost in these 1.5 s, it too waits for the end.
		 */
		lease_set_hold_off(c->ls, LEASEFSM_NEVER);
		loop_timer_start(c->lp, &c->warm_timer, (uint64_t)c->o.presence_lease_ms, 0,
				 warm_cb, c);
		log_info(c->lg, "presence lease acquired", "lease", c->plase);
	} else if (!was) {
		log_warn(c->lg, "presence lease renewed again", "lease", c->plase);
	}
	/* Every held service's decision depends on api_ok. */
	schedule_eval(c);
}

static void presence_stopped(struct lease *l, enum leasefsm_stop_reason why, void *arg)
{
	struct control *c = arg;
	int was = c->api_ok;

	(void)l;
	c->api_ok = 0;
	if (was && why == LEASEFSM_STOP_RELEASED)
		log_info(c->lg, "presence lease released", "lease", c->plase);
	else if (was)
		log_warn(c->lg, "presence lease not renewed in time: API lost", "lease", c->plase,
			 "reason", leasefsm_stop_reason_str(why));
	schedule_eval(c);
}

/* ---- evaluation: gather the facts of every service, then decide ---- */

/* One EndpointSlice's endpoints, added to its service's (when we track it). */
static void gather_eps(const char *svckey, const struct eligibility_endpoint *eps, size_t n,
		       void *arg)
{
	struct control *c = arg;
	struct svc *s = svc_by_key(c, svckey);

	if (s == NULL || n == 0)
		return;
	if (s->neps + n > s->capeps) {
		size_t cap = s->capeps ? s->capeps : 4;
		while (cap < s->neps + n)
			cap *= 2;
		void *p = realloc(s->eps, cap * sizeof(*s->eps));
		if (p == NULL) {
			log_error(c->lg, "out of memory gathering endpoints", "service", s->key);
			return;
		}
		s->eps = p;
		s->capeps = cap;
	}
	memcpy(&s->eps[s->neps], eps, n * sizeof(*eps));
	s->neps += n;
}

/* Room for one more node in the scratch arrays; 0, or -1 when out of memory. */
static int nodes_grow(struct control *c)
{
	if (c->nnodes < c->capnodes)
		return 0;
	size_t cap = c->capnodes ? c->capnodes * 2 : 16;
	void *p = realloc(c->nodes, cap * sizeof(*c->nodes));
	if (p == NULL)
		return -1;
	c->nodes = p;
	p = realloc(c->rn, cap * sizeof(*c->rn));
	if (p == NULL)
		return -1;
	c->rn = p;
	c->capnodes = cap;
	return 0;
}

static void gather_node(const json_t *obj, void *arg)
{
	struct control *c = arg;
	const json_t *md = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(md, "name"));

	if (name == NULL || nodes_grow(c) < 0)
		return;
	struct node_view *n = &c->nodes[c->nnodes++];
	memset(n, 0, sizeof(*n));
	n->name = name;
	n->labels = json_object_get(md, "labels");
	n->excluded = json_object_get(n->labels, EXCLUDE_LABEL) != NULL;
	size_t i;
	const json_t *cond;
	json_array_foreach(json_object_get(json_object_get(obj, "status"), "conditions"), i, cond)
	{
		const char *t = json_string_value(json_object_get(cond, "type"));
		const char *st = json_string_value(json_object_get(cond, "status"));
		if (t != NULL && st != NULL && strcmp(t, "NetworkUnavailable") == 0 &&
		    strcmp(st, "True") == 0)
			n->netunavail = 1;
	}
}

static void collect_json(const json_t *obj, void *arg)
{
	json_array_append((json_t *)arg, (json_t *)obj);
}

static void rebuild_config(struct control *c)
{
	json_t *pools = json_array(), *advs = json_array();

	if (pools == NULL || advs == NULL)
		goto out;
	informer_foreach(c->inf[INF_POOLS], collect_json, pools);
	informer_foreach(c->inf[INF_ADVS], collect_json, advs);
	size_t np = json_array_size(pools), na = json_array_size(advs);
	const json_t **pv = calloc(np + 1, sizeof(const json_t *));
	const json_t **av = calloc(na + 1, sizeof(const json_t *));
	if (pv != NULL && av != NULL) {
		for (size_t i = 0; i < np; i++)
			pv[i] = json_array_get(pools, i);
		for (size_t i = 0; i < na; i++)
			av[i] = json_array_get(advs, i);
		if (c->lastgood == NULL)
			c->lastgood = mlb_lastgood_new();
		struct mlb_config *cfg = c->lastgood != NULL
						 ? mlb_lastgood_build(c->lastgood, pv, np, av, na)
						 : NULL;
		if (cfg != NULL) {
			for (size_t i = 0; i < mlb_config_nproblems(cfg); i++)
				log_debug(c->lg, "configuration object refused", "problem",
					  mlb_config_problem(cfg, i)->message);
			mlb_config_free(c->cfg);
			c->cfg = cfg;
			c->config_dirty = 0;
		} else {
			log_error(c->lg, "out of memory building the configuration");
		}
	}
	free(pv);
	free(av);
out:
	json_decref(pools);
	json_decref(advs);
}

/* Reads status.loadBalancer.ingress[].ip; returns how many addresses. */
static size_t service_addrs(const json_t *svc, struct netaddr *out, size_t cap)
{
	const json_t *ing = json_object_get(
		json_object_get(json_object_get(svc, "status"), "loadBalancer"), "ingress");
	size_t i, n = 0;
	const json_t *e;

	json_array_foreach(ing, i, e)
	{
		const char *ip = json_string_value(json_object_get(e, "ip"));
		if (ip != NULL && n < cap && netaddr_parse(ip, &out[n]) == 0)
			n++;
	}
	return n;
}

/*
 * A Service was added, changed or deleted: its facts go into its record, created when it is
 * one we announce (the informer keeps no objects). Evaluates again when a fact changed.
 */
static void service_seen(struct control *c, const json_t *obj, int deleted)
{
	const json_t *md = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));
	struct mlb_service *ms = NULL;
	struct netaddr addrs[MAX_ADDRS];
	char key[KEY_MAX];

	if (ns == NULL || name == NULL ||
	    snprintf(key, sizeof(key), "%s/%s", ns, name) >= (int)sizeof(key))
		return;
	int ours = !deleted && mlb_service_parse(obj, c->lb_class, &ms, NULL, 0) == MLB_SVC_OK;
	mlb_service_free(ms);
	size_t n = ours ? service_addrs(obj, addrs, MAX_ADDRS) : 0;
	struct svc *s = n > 0 ? svc_get(c, ns, name) : svc_by_key(c, key);
	if (s == NULL) {
		if (n > 0)
			log_error(c->lg, "out of memory tracking a service", "service", key);
		return;
	}
	const json_t *labels = deleted ? NULL : json_object_get(md, "labels");
	if (!json_is_object(labels) || json_object_size(labels) == 0)
		labels = NULL;
	const char *etp = json_string_value(
		json_object_get(json_object_get(obj, "spec"), "externalTrafficPolicy"));
	int local = !deleted && etp != NULL && strcmp(etp, "Local") == 0;
	int moved = n != s->naddrs || memcmp(addrs, s->addrs, n * sizeof(*addrs)) != 0;
	int changed = moved || s->wanted != (n > 0) || s->traffic_local != local ||
		      (s->labels == NULL) != (labels == NULL) ||
		      (labels != NULL && !json_equal(s->labels, labels));
	/* A changed address is withdrawn before the new one is announced. */
	if (s->announcing && moved)
		set_announce(c, s, 0);
	memcpy(s->addrs, addrs, n * sizeof(*addrs));
	s->naddrs = n;
	s->wanted = n > 0;
	s->traffic_local = local;
	set_str(&s->uid, deleted ? NULL : json_string_value(json_object_get(md, "uid")));
	json_decref(s->labels);
	s->labels = json_incref((json_t *)labels);
	if (changed)
		schedule_eval(c);
}

static void service_added(const json_t *obj, void *arg)
{
	service_seen(arg, obj, 0);
}

static void service_updated(const json_t *old, const json_t *obj, void *arg)
{
	(void)old;
	service_seen(arg, obj, 0);
}

static void service_deleted(const json_t *obj, void *arg)
{
	service_seen(arg, obj, 1);
}

static void slice_added(const json_t *obj, void *arg)
{
	struct control *c = arg;
	char key[KEY_MAX];
	enum epcache_result r = epcache_put(c->eps, obj);

	switch (r) {
	case EPCACHE_CHANGED:
	case EPCACHE_NO_SERVICE: /* an older version of it may have counted */
		schedule_eval(c);
		break;
	case EPCACHE_SAME:
		break;
	case EPCACHE_BAD_OBJECT:
	case EPCACHE_NO_MEMORY:
		log_error(c->lg, "cannot keep an EndpointSlice", "slice",
			  informer_key(obj, key, sizeof(key)) >= 0 ? key : "?", "error",
			  epcache_result_str(r));
		break;
	}
}

static void slice_updated(const json_t *old, const json_t *obj, void *arg)
{
	(void)old;
	slice_added(obj, arg);
}

static void slice_deleted(const json_t *obj, void *arg)
{
	struct control *c = arg;
	const json_t *md = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));

	if (ns != NULL && name != NULL && epcache_del(c->eps, ns, name))
		schedule_eval(c);
}

/* Whether this node has an up interface for the address under one advertisement's list. */
static int pick_ifs(struct control *c, const struct mlb_l2adv *a, const struct netaddr *addr,
		    int *out, size_t cap, size_t *nout)
{
	const char *names[MAX_IFS];
	size_t nn = 0, nlinks = 0;

	*nout = 0;
	if (c->o.links == NULL) /* dry run */
		return 1;
	for (size_t i = 0; a != NULL && i < mlb_l2adv_ninterfaces(a) && nn < MAX_IFS; i++)
		names[nn++] = mlb_l2adv_interface(a, i);
	const struct if_info *links = link_set_links(c->o.links, &nlinks);
	return ifchoose_pick(links, nlinks, addr, names, nn, out, cap, nout) == IFCHOOSE_OK;
}

static void add_if(struct svc *s, size_t ai, int ifindex, const char *name)
{
	if (name == NULL)
		name = "";
	for (size_t k = 0; k < s->nifs; k++)
		if (s->ifs[k].ai == ai && s->ifs[k].ifindex == ifindex &&
		    strcmp(s->ifs[k].name, name) == 0)
			return;
	if (s->nifs >= MAX_ADDRS * MAX_IFS)
		return;
	if (s->nifs == s->capifs) {
		size_t cap = s->capifs ? s->capifs * 2 : 1;
		void *p = realloc(s->ifs, cap * sizeof(*s->ifs));
		if (p == NULL)
			return;
		s->ifs = p;
		s->capifs = cap;
	}
	struct svc_if *f = &s->ifs[s->nifs++];
	f->ai = (unsigned char)ai;
	f->ifindex = ifindex;
	snprintf(f->name, sizeof(f->name), "%s", name);
}

/* Eligibility, score and own interfaces of one service on every node, then its rank here. */
static void judge_service(struct control *c, struct svc *s, size_t self)
{
	const struct mlb_l2adv *all[MAX_ADVS];
	struct eligibility_adv ea[MAX_ADVS];
	struct ranking_node *rn = c->rn;
	size_t nadv = 0, nn = c->nnodes;
	const json_t *svclabels = s->labels;
	char ipbuf[NETADDR_STRLEN];
	struct ipam_addr ia;

	s->eligible = 0;
	s->rank = -1;
	s->preempt = 0;
	s->why = ELIG_NO_ADVERTISEMENT;
	s->nifs = 0;
	s->judged = 0;
	if (!s->wanted || c->cfg == NULL || s->naddrs == 0 || self >= nn)
		return;
	s->judged = 1;
	netaddr_format(&s->addrs[0], ipbuf, sizeof(ipbuf));
	const struct mlb_pool *pool =
		ipam_addr_parse(ipbuf, &ia) == 0 ? mlb_config_pool_for_addr(c->cfg, &ia) : NULL;
	if (pool != NULL)
		nadv = mlb_config_l2advs_for_pool(c->cfg, mlb_pool_name(pool), all, MAX_ADVS);
	if (nadv > MAX_ADVS)
		nadv = MAX_ADVS;
	int myscore = -1;
	for (size_t k = 0; k < nn; k++) {
		struct node_view *nv = &c->nodes[k];
		int score = 0;
		for (size_t i = 0; i < nadv; i++) {
			memset(&ea[i], 0, sizeof(ea[i]));
			ea[i].selects_pool = 1;
			ea[i].selects_service = mlb_l2adv_selects_service(all[i], svclabels);
			ea[i].selects_node = mlb_l2adv_selects_node(all[i], nv->labels);
			ea[i].interface_up = 1;
			if (k == self && ea[i].selects_service && ea[i].selects_node) {
				int ifs[MAX_IFS];
				size_t nifs = 0;
				ea[i].interface_up = 0;
				for (size_t ai = 0; ai < s->naddrs; ai++) {
					if (!pick_ifs(c, all[i], &s->addrs[ai], ifs, MAX_IFS,
						      &nifs))
						continue;
					ea[i].interface_up = 1;
					for (size_t j = 0; j < nifs; j++) {
						const struct if_info *l =
							link_set_by_index(c->o.links, ifs[j]);
						add_if(s, ai, ifs[j], l != NULL ? l->name : NULL);
					}
				}
				if (c->o.links == NULL)
					for (size_t j = 0; j < mlb_l2adv_ninterfaces(all[i]); j++)
						add_if(s, 0, 0, mlb_l2adv_interface(all[i], j));
			}
			if (ea[i].selects_service && ea[i].selects_node)
				score += (int)mlb_l2adv_preference(all[i], nv->labels);
		}
		struct eligibility_input in = {
			.node = nv->name,
			.node_excluded = nv->excluded,
			.node_network_unavailable = nv->netunavail,
			.advs = ea,
			.n_advs = nadv,
			.traffic_local = s->traffic_local,
			.eps = s->eps,
			.n_eps = s->neps,
		};
		enum eligibility_reason r = eligibility_evaluate(&in, NULL);
		rn[k].name = nv->name;
		rn[k].candidate = r == ELIG_OK && nv->live;
		rn[k].score = score;
		if (k == self) {
			s->why = r;
			s->eligible = r == ELIG_OK;
			myscore = score;
		}
	}
	/* A holder keeps its address unless a node that scores higher takes it: that node is us
	 * when we are eligible (we see our own links) and the live holder scores lower. */
	const char *holder = s->el != NULL ? lease_holder(s->el) : "";
	for (size_t k = 0; s->eligible && holder[0] != '\0' && k < nn; k++)
		if (k != self && strcmp(c->nodes[k].name, holder) == 0 && c->nodes[k].live &&
		    myscore > rn[k].score)
			s->preempt = 1;
	/* We rank ourselves as live: our own presence is the API's problem, not ours. */
	rn[self].candidate = s->eligible;
	if (s->capnodes < nn) {
		void *a = realloc(s->cand, nn), *b = realloc(s->score, nn * sizeof(int));
		if (a != NULL)
			s->cand = a;
		if (b != NULL)
			s->score = b;
		if (a != NULL && b != NULL)
			s->capnodes = nn;
	}
	for (size_t k = 0; k < nn && k < s->capnodes; k++) {
		s->cand[k] = (unsigned char)rn[k].candidate;
		s->score[k] = rn[k].score;
	}
	if ((int)s->why != s->last_logged_why) {
		s->last_logged_why = (int)s->why;
		log_debug(c->lg, "eligibility", "service", s->key, "result",
			  eligibility_reason_str(s->why));
	}
}

static void for_each_svc(struct control *c, void (*fn)(struct control *, struct svc *))
{
	for (size_t b = 0; b < NBUCKETS; b++) {
		struct svc *s = c->by_key[b], *next;
		for (; s != NULL; s = next) {
			next = s->next;
			fn(c, s);
		}
	}
}

static void reset_svc(struct control *c, struct svc *s)
{
	(void)c;
	s->neps = 0;
}

static void lease_delete_done(const struct kube_error *err, json_t *obj, void *arg)
{
	struct svc *s = arg;
	char buf[800];

	(void)obj;
	s->del = NULL;
	if (err->status != KUBE_OK && err->code != 404)
		log_warn(s->c->lg, "cannot delete a stale lease", "lease", s->lease, "error",
			 kube_error_str(err, buf, sizeof(buf)));
	schedule_eval(s->c);
}

/* Drops services nobody needs, and deletes the leases of services that are gone. */
static void collect_svc(struct control *c, struct svc *s)
{
	const struct lease_rec *l = lease_set_get(c->ls, s->lease);

	if (s->wanted || s->announcing || s->del != NULL ||
	    (s->el != NULL && (lease_write_pending(s->el) || lease_is_leading(s->el))))
		return;
	if (l != NULL) {
		const char *holder = l->rec.holder;
		int64_t now = now_ms(c);
		/* The holder deletes its stale lease; anyone does when the holder is gone. */
		if (!c->stopping && (holder[0] == '\0' || strcmp(holder, c->node) == 0 ||
				     !presence_is_live(c->presence, holder, now))) {
			log_info(c->lg, "deleting the lease of a deleted service", "service",
				 s->key, "lease", s->lease);
			if (strcmp(holder, c->node) == 0 || holder[0] == '\0')
				delete_status(c, s);
			else
				delete_status_of(c, s, holder);
			s->del = lease_set_delete(c->ls, s->lease, lease_delete_done, s);
		}
		if (s->el != NULL)
			svc_run(c, s); /* releases what it may still campaign for */
		return;
	}
	svc_free(c, s);
}

static void judge_all(struct control *c, struct svc *s)
{
	size_t self = c->nnodes;

	for (size_t k = 0; k < c->nnodes; k++)
		if (strcmp(c->nodes[k].name, c->node) == 0)
			self = k;
	judge_service(c, s, self);
}

struct plan_ctx {
	struct control *c;
	struct svc **v;
	struct ranking_service *rs;
	size_t n, cap;
};

static void plan_collect(struct svc *s, struct plan_ctx *x)
{
	if (!s->judged || s->capnodes < x->c->nnodes || x->n == x->cap)
		return;
	struct leasefsm_record r;
	/* The node that just released the lease (graceful stop, ineligible, an interface we
	 * cannot see went down) is not a candidate for it: the next in line goes first. Unless
	 * there is none: then it is the only node that may announce it (its endpoints came
	 * back), and leaving it out would leave the address unanswered. */
	if (s->el != NULL && lease_observed(s->el, &r) && r.holder[0] == '\0') {
		size_t last = x->c->nnodes, others = 0;
		for (size_t k = 0; k < x->c->nnodes; k++) {
			if (strcmp(x->c->nodes[k].name, lease_leader(s->el)) == 0)
				last = k;
			else
				others += s->cand[k] != 0;
		}
		if (last < x->c->nnodes && others > 0)
			s->cand[last] = 0;
	}
	x->v[x->n] = s;
	x->rs[x->n].key = s->key;
	x->rs[x->n].holder = RANKING_NONE;
	const struct lease_rec *l = lease_set_get(x->c->ls, s->lease);
	if (l != NULL && l->rec.holder[0] != '\0')
		for (size_t k = 0; k < x->c->nnodes; k++)
			if (strcmp(x->c->nodes[k].name, l->rec.holder) == 0 &&
			    (x->c->nodes[k].live || strcmp(l->rec.holder, x->c->node) == 0))
				x->rs[x->n].holder = (long)k;
	x->n++;
}

static int plan_candidate(void *arg, size_t svc, size_t node, int *score)
{
	struct plan_ctx *x = arg;

	*score = x->v[svc]->score[node];
	return x->v[svc]->cand[node];
}

/*
 * Ranks this node for every service with the bounded-load plan (ranking.h): the planned node
 * tries first, so addresses spread evenly instead of as chance falls. Every speaker computes
 * the same plan from the same view.
 */
static void plan_all(struct control *c)
{
	struct plan_ctx x = { .c = c, .cap = c->nsvcs };
	const char **names = calloc(c->nnodes + 1, sizeof(const char *));
	long *assigned = calloc(c->nsvcs + 1, sizeof(long));
	size_t self = c->nnodes;

	x.v = calloc(c->nsvcs + 1, sizeof(struct svc *));
	x.rs = calloc(c->nsvcs + 1, sizeof(struct ranking_service));
	if (names == NULL || assigned == NULL || x.v == NULL || x.rs == NULL) {
		log_error(c->lg, "out of memory planning services");
		goto out;
	}
	for (size_t k = 0; k < c->nnodes; k++) {
		names[k] = c->nodes[k].name;
		if (strcmp(names[k], c->node) == 0)
			self = k;
	}
	for (size_t b = 0; b < NBUCKETS; b++)
		for (struct svc *s = c->by_key[b]; s != NULL; s = s->next)
			plan_collect(s, &x);
	if (self == c->nnodes ||
	    ranking_plan(names, c->nnodes, x.rs, x.n, plan_candidate, &x, assigned) < 0)
		goto out;
	for (size_t i = 0; i < x.n; i++) {
		struct svc *s = x.v[i];
		for (size_t k = 0; k < c->nnodes; k++) {
			c->rn[k].name = names[k];
			c->rn[k].candidate = s->cand[k];
			c->rn[k].score = s->score[k];
		}
		s->rank = s->eligible ? ranking_rank(s->key, c->rn, c->nnodes, assigned[i], self)
				      : -1;
	}
out:
	free(names);
	free(assigned);
	free(x.v);
	free(x.rs);
}

static void run_svc(struct control *c, struct svc *s)
{
	svc_run(c, s);
}

static void count_svc(struct control *c, struct svc *s)
{
	if (s->wanted)
		c->st.services++;
}

static void track_lease(const struct lease_rec *r, void *arg);
static void expiry_cb(struct loop_timer *t, void *arg);

static void evaluate(struct control *c)
{
	int64_t now = now_ms(c);

	c->st.evaluations++;
	if (c->config_dirty || c->cfg == NULL)
		rebuild_config(c);
	c->nnodes = 0;
	informer_foreach(c->inf[INF_NODES], gather_node, c);
	int have_self = 0;
	for (size_t k = 0; k < c->nnodes; k++) {
		c->nodes[k].live = presence_is_live(c->presence, c->nodes[k].name, now);
		if (strcmp(c->nodes[k].name, c->node) == 0)
			have_self = 1;
	}
	if (!have_self && nodes_grow(c) == 0) {
		/* Our Node is not (yet) visible: judge ourselves without labels. */
		struct node_view *n = &c->nodes[c->nnodes++];
		memset(n, 0, sizeof(*n));
		n->name = c->node;
		n->live = 1;
	}
	for_each_svc(c, reset_svc);
	lease_set_foreach(c->ls, track_lease, c);
	epcache_foreach(c->eps, gather_eps, c);
	for_each_svc(c, judge_all);
	plan_all(c);
	for_each_svc(c, run_svc);
	for_each_svc(c, collect_svc);
	c->st.services = 0;
	for_each_svc(c, count_svc);
	int64_t exp = presence_next_expiry(c->presence, now);
	if (exp == LEASEFSM_NEVER)
		loop_timer_stop(c->lp, &c->expiry_timer);
	else
		loop_timer_start(c->lp, &c->expiry_timer, exp > now ? (uint64_t)(exp - now) : 0, 0,
				 expiry_cb, c);
}

static void eval_cb(struct loop_timer *t, void *arg)
{
	(void)t;
	evaluate(arg);
}

static void expiry_cb(struct loop_timer *t, void *arg)
{
	(void)t;
	evaluate(arg);
}

static void schedule_eval(struct control *c)
{
	if (!c->synced || loop_timer_active(&c->eval_timer))
		return;
	loop_timer_start(c->lp, &c->eval_timer, 0, 0, eval_cb, c);
}

/* ---- informer handlers ---- */

static void track_lease(const struct lease_rec *r, void *arg)
{
	struct control *c = arg;

	if (r->kind != LEASEIO_SERVICE)
		return;
	/* Tracked, so that a stale lease is released and deleted. */
	(void)svc_get(c, r->svc_ns, r->svc_name);
}

/* Every Lease the set sees, after the election on it (if any) has acted on it. */
static void lease_seen(const struct lease_rec *r, int deleted, void *arg)
{
	struct control *c = arg;
	const char *name = r->name;
	int64_t now = now_ms(c);

	enum leaseio_kind kind = r->kind;
	if (kind == LEASEIO_PRESENCE || strcmp(name, c->plase) == 0) {
		const char *who = r->rec.holder[0] != '\0' ? r->rec.holder : NULL;
		int was = who != NULL && presence_is_live(c->presence, who, now);
		presence_observe_brief(c->presence, name, deleted ? NULL : &r->rec, now);
		int is = who != NULL && presence_is_live(c->presence, who, now), again = 0;
		if (strcmp(name, c->plase) == 0) {
			/* Our view is current again: judge every peer afresh. */
			again = !watch_fresh(c, now);
			c->own_seen_ms = now;
		}
		if (was != is || deleted || again)
			schedule_eval(c);
		return;
	}
	struct svc *s = svc_by_lease(c, name);
	if (s == NULL && kind == LEASEIO_SERVICE && !deleted) {
		s = svc_get(c, r->svc_ns, r->svc_name);
		schedule_eval(c);
	}
	if (s == NULL)
		return;
	/* A new holder (or none) changes the plan: rank everyone again. A renewal, or the echo
	 * of our own write, does not. */
	uint64_t h = fnv_str(deleted ? "" : r->rec.holder);
	if (deleted || h != s->holder_seen)
		schedule_eval(c);
	s->holder_seen = h;
	svc_run(c, s);
}

static void any_add(const json_t *obj, void *arg)
{
	(void)obj;
	schedule_eval(arg);
}

static void any_update(const json_t *old, const json_t *obj, void *arg)
{
	(void)old;
	(void)obj;
	schedule_eval(arg);
}

static void config_add(const json_t *obj, void *arg)
{
	struct control *c = arg;

	(void)obj;
	c->config_dirty = 1;
	schedule_eval(c);
}

static void config_update(const json_t *old, const json_t *obj, void *arg)
{
	(void)old;
	config_add(obj, arg);
}

static void on_synced(void *arg)
{
	struct control *c = arg;

	/* Our presence lease starts as soon as the set knows whether it exists (kube/lease). */
	if (!lease_set_has_synced(c->ls))
		return;
	for (int i = 0; i < INF_COUNT; i++)
		if (!informer_has_synced(c->inf[i]))
			return;
	if (c->synced)
		return;
	c->synced = 1;
	log_info(c->lg, "caches synced", "services",
		 log_fmt((char[24]){ 0 }, 24, "%zu", informer_count(c->inf[INF_SERVICES])));
	schedule_eval(c);
}

static void on_inf_error(const struct kube_error *err, void *arg)
{
	struct control *c = arg;
	char buf[800];

	log_warn(c->lg, "list or watch failed (retrying)", "error",
		 kube_error_str(err, buf, sizeof(buf)));
}

/* ---- public ---- */

struct control *control_new(struct loop *lp, struct log *lg, struct kube_client *kc,
			    const struct control_opts *o)
{
	struct control *c = calloc(1, sizeof(*c));
	char buf[24];

	if (c == NULL) {
		log_error(lg, "out of memory");
		return NULL;
	}
	c->lp = lp;
	c->lg = lg;
	c->kc = kc;
	c->lc = o->lease_client != NULL ? o->lease_client : kc;
	c->pc = o->presence_client != NULL ? o->presence_client : kc;
	c->o = *o;
	snprintf(c->node, sizeof(c->node), "%s", o->node);
	snprintf(c->ns, sizeof(c->ns), "%s", o->ns);
	c->o.node = c->node;
	c->o.ns = c->ns;
	c->lb_class = o->lb_class != NULL ? strdup(o->lb_class) : NULL;
	c->o.lb_class = c->lb_class;
	c->config_dirty = 1;
	if (leasename_node(c->node, c->plase, sizeof(c->plase)) < 0) {
		log_error(lg, "node name is not a DNS-1123 subdomain", "node", c->node);
		goto fail;
	}
	struct leasefsm_config pc = {
		.identity = c->node,
		.lease_ms = o->presence_lease_ms,
		.renew_ms = o->presence_renew_ms,
		.retry_ms = o->presence_retry_ms,
	};
	struct leasefsm_config sc = {
		.identity = c->node,
		.lease_ms = o->svc_lease_ms,
		.renew_ms = o->svc_renew_ms,
		.retry_ms = o->svc_retry_ms,
		.renew_interval_ms = o->svc_renew_interval_ms,
	};
	enum leasefsm_config_error pe = leasefsm_config_validate(&pc),
				   se = leasefsm_config_validate(&sc);
	if (pe != LEASEFSM_CONFIG_OK || se != LEASEFSM_CONFIG_OK) {
		log_error(lg, "bad lease timings", "presence", leasefsm_config_error_str(pe),
			  "service", leasefsm_config_error_str(se));
		goto fail;
	}
	c->presence = presence_new(o->presence_lease_ms);
	c->rec = event_recorder_new(lp, lg, kc, "l2lb-speaker", c->node);
	c->ls = lease_set_new(lp, lg, kc, c->ns, LEASEIO_LABEL_MANAGED "=" LEASEIO_MANAGER);
	if (c->presence == NULL || c->rec == NULL || c->ls == NULL) {
		log_error(lg, "out of memory");
		goto fail;
	}
	struct lease_set_observer lo = {
		.seen = lease_seen,
		.synced = on_synced,
		.error = on_inf_error,
		.arg = c,
	};
	lease_set_observe(c->ls, &lo);
	lease_set_write_client(c->ls, c->lc);
	struct lease_callbacks pcb = {
		.started_leading = presence_started,
		.stopped_leading = presence_stopped,
		.arg = c,
	};
	char err[300];
	c->pel = lease_new(c->ls, c->plase, &pc, &pcb, err, sizeof(err));
	if (c->pel == NULL) {
		log_error(lg, "cannot start the presence lease", "error", err);
		goto fail;
	}
	if (lease_tag(c->pel, LEASEIO_PRESENCE, NULL, NULL) < 0) {
		log_error(lg, "out of memory");
		goto fail;
	}
	lease_use_client(c->pel, c->pc);
	lease_campaign(c->pel, 0);
	c->eps = epcache_new();
	if (c->eps == NULL) {
		log_error(lg, "out of memory");
		goto fail;
	}
	/*
	 * Services and EndpointSlices, a thousand or more, are kept as the speaker's own compact
	 * records (struct svc, epcache) and their informers keep only keys; the few Nodes, pools
	 * and advertisements are cached whole (Nodes pruned).
	 */
	static const struct {
		const struct kube_resource *r;
		informer_add_cb add;
		informer_update_cb update;
		informer_delete_cb del;
		const struct kube_keep *keep; /* what of an object to look at; NULL: all */
		int own_ns;
		int keys_only;
	} spec[INF_COUNT] = {
		[INF_SERVICES] = { &res_services, service_added, service_updated, service_deleted,
				   keep_service, 0, 1 },
		[INF_SLICES] = { &res_slices, slice_added, slice_updated, slice_deleted, keep_slice,
				 0, 1 },
		[INF_NODES] = { &res_nodes, any_add, any_update, any_add, keep_node, 0, 0 },
		[INF_POOLS] = { &res_pools, config_add, config_update, config_add, NULL, 1, 0 },
		[INF_ADVS] = { &res_advs, config_add, config_update, config_add, NULL, 1, 0 },
	};
	for (int i = 0; i < INF_COUNT; i++) {
		struct informer_opts io = {
			.resource = spec[i].r,
			.ns = spec[i].own_ns ? c->ns : NULL,
			.on_add = spec[i].add,
			.on_update = spec[i].update,
			.on_delete = spec[i].del,
			.on_synced = on_synced,
			.on_error = on_inf_error,
			.arg = c,
			.transform = spec[i].keep != NULL ? keep_transform : NULL,
			.transform_arg = spec[i].keep,
			.skip_same = spec[i].keep != NULL,
			.keys_only = spec[i].keys_only,
			/* Smaller pages than client-go's 500: a page of 500 Services decoded at
			 * once leaves megabytes of fragments among the records kept from it. */
			.page_size = 100,
		};
		c->inf[i] = informer_new(lp, lg, kc, &io);
		if (c->inf[i] == NULL)
			goto fail;
	}
	(void)buf;
	return c;
fail:
	control_free(c);
	return NULL;
}

void control_free(struct control *c)
{
	if (c == NULL)
		return;
	for (size_t b = 0; b < NBUCKETS; b++) {
		struct svc *s = c->by_key[b], *next;
		for (; s != NULL; s = next) {
			next = s->next;
			svc_destroy(c, s);
		}
		c->by_key[b] = NULL;
		c->by_lease[b] = NULL;
	}
	for (int i = 0; i < INF_COUNT; i++)
		informer_free(c->inf[i]);
	epcache_free(c->eps);
	lease_set_free(c->ls); /* the elections, the presence lease's included */
	loop_timer_stop(c->lp, &c->expiry_timer);
	loop_timer_stop(c->lp, &c->eval_timer);
	loop_timer_stop(c->lp, &c->stop_timer);
	loop_timer_stop(c->lp, &c->warm_timer);
	presence_free(c->presence);
	event_recorder_free(c->rec);
	mlb_config_free(c->cfg);
	mlb_lastgood_free(c->lastgood);
	free(c->nodes);
	free(c->rn);
	free(c->lb_class);
	free(c);
}

int control_start(struct control *c)
{
	for (int i = 0; i < INF_COUNT; i++)
		if (informer_start(c->inf[i]) < 0)
			return -1;
	return lease_set_start(c->ls);
}

void control_links_changed(struct control *c)
{
	schedule_eval(c);
}

static int has_addr(const struct svc *s, const struct netaddr *a)
{
	for (size_t i = 0; i < s->naddrs; i++)
		if (netaddr_equal(&s->addrs[i], a))
			return 1;
	return 0;
}

void control_wire_conflict(struct control *c, const struct netaddr *addr)
{
	for (size_t b = 0; b < NBUCKETS; b++)
		for (struct svc *s = c->by_key[b]; s != NULL; s = s->next)
			if (s->announcing && has_addr(s, addr)) {
				s->wire_conflict = 1;
				svc_run(c, s);
			}
}

int control_ready(const struct control *c)
{
	return c->synced && c->ever_present;
}

void control_get_stats(const struct control *c, struct control_stats *out)
{
	*out = c->st;
	lease_set_counts(c->ls, &out->lease_writes, &out->lease_write_errors);
}

static const char *holder_of(const struct control *c, const struct svc *s)
{
	const struct lease_rec *r;

	if (s->el != NULL)
		return lease_holder(s->el);
	/* Not campaigned for here: what the Lease says (the set owns the string). */
	r = lease_set_get(c->ls, s->lease);
	return r != NULL ? r->rec.holder : "";
}

void control_foreach_addr(const struct control *c,
			  void (*fn)(const struct control_addr *a, void *arg), void *arg)
{
	for (size_t b = 0; b < NBUCKETS; b++)
		for (const struct svc *s = c->by_key[b]; s != NULL; s = s->next) {
			const char *ifs[MAX_IFS];
			size_t nifs = svc_ifnames(s, ifs);
			for (size_t i = 0; i < s->naddrs; i++) {
				struct control_addr a = { .service = s->key,
							  .addr = &s->addrs[i],
							  .holder = holder_of(c, s),
							  .announcing = s->announcing,
							  .ifaces = ifs,
							  .nifaces = nifs };
				fn(&a, arg);
			}
		}
}

int control_informer_stats(const struct control *c, size_t i, const char **resource,
			   struct informer_stats *out)
{
	static const char *const names[INF_COUNT] = {
		[INF_SERVICES] = "services",	 [INF_SLICES] = "endpointslices",
		[INF_NODES] = "nodes",		 [INF_POOLS] = "ipaddresspools",
		[INF_ADVS] = "l2advertisements",
	};
	const struct informer *inf;

	if (i > INF_COUNT)
		return -1;
	/* The Leases' informer belongs to the lease set. */
	inf = i == INF_COUNT ? lease_set_informer(c->ls) : c->inf[i];
	if (inf == NULL)
		return -1;
	*resource = i == INF_COUNT ? "leases" : names[i];
	informer_get_stats(inf, out);
	return 0;
}

/* ---- graceful stop ---- */

static void finish_stop(struct control *c)
{
	void (*done)(void *) = c->stop_done;

	loop_timer_stop(c->lp, &c->stop_timer);
	c->stop_done = NULL;
	if (done != NULL)
		done(c->stop_arg);
}

static void stop_released(void *arg)
{
	finish_stop(arg);
}

static void stop_timeout(struct loop_timer *t, void *arg)
{
	struct control *c = arg;

	(void)t;
	log_warn(c->lg, "leases not all released in time; exiting anyway");
	finish_stop(c);
}

void control_shutdown(struct control *c, uint64_t timeout_ms, void (*done)(void *arg), void *arg)
{
	c->stopping = 1;
	c->stop_done = done;
	c->stop_arg = arg;
	/* Nothing is answered after this line. */
	for (size_t b = 0; b < NBUCKETS; b++)
		for (struct svc *s = c->by_key[b]; s != NULL; s = s->next)
			set_announce(c, s, 0);
	loop_timer_start(c->lp, &c->stop_timer, timeout_ms, 0, stop_timeout, c);
	if (!c->synced || !c->ever_present) {
		finish_stop(c);
		return;
	}
	for (size_t b = 0; b < NBUCKETS; b++)
		for (struct svc *s = c->by_key[b]; s != NULL; s = s->next)
			svc_run(c, s);
	/* Service leases first, the presence lease once none names us any more: peers see the
	 * services free before they see this node gone. */
	lease_set_release_all(c->ls, c->pel, stop_released, c);
}
