/* controller: l2lb-controller's machinery (see controller.h). */
#include "controller/controller.h"

#include "controller/reconcile.h"
#include "ipam/ipam.h"
#include "kube/event.h"
#include "kube/informer.h"
#include "kube/workqueue.h"
#include "mlb/lastgood.h"
#include "mlb/mlb.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct kube_resource RES_SVC = { "", "v1", "services", 1 };
static const struct kube_resource RES_NS = { "", "v1", "namespaces", 0 };
static const struct kube_resource RES_POOL = { "metallb.io", "v1beta1", "ipaddresspools", 1 };
static const struct kube_resource RES_ADV = { "metallb.io", "v1beta1", "l2advertisements", 1 };

#define MAX_WRITE_TRIES	     5
#define POOL_STATUS_DELAY_MS 200
#define METRICS_PERIOD_MS    1000

/* Fixed buckets of the reconcile latency histogram, in seconds. */
static const double RECONCILE_BUCKETS[] = { 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
					    0.005,   0.01,   0.025,   0.05,   0.1,   0.25 };

/* The controller's metric families (NULL when it has no registry). */
struct ctl_metrics {
	struct metric_family *in_use, *total, *allocs, *failures, *latency, *api, *relists,
		*restarts;
	/* MetalLB's k8s client metrics. */
	struct metric_family *updates, *update_errors, *config_loaded, *config_stale;
};

struct controller {
	struct loop *lp;
	struct log *lg;
	struct kube_client *kc;
	char *ns, *lb_class, *identity;

	struct informer *svc_inf, *pool_inf, *adv_inf, *ns_inf;
	struct workqueue *wq;
	struct event_recorder *events;
	struct ipam *ip;
	struct mlb_config *cfg;
	struct mlb_lastgood *lastgood; /* an invalid edit keeps the object's last good version */

	bool acting;
	bool restored;	    /* allocations rebuilt since we became acting */
	bool config_loaded; /* a configuration was built from synced informers */
	uint64_t epoch;	    /* bumped when acting stops: answers to older writes are dropped */
	json_t *svc_state;  /* "ns/name" -> {busy, again, fail, warned, tries} */
	json_t *problems;   /* "Kind/ns/name" -> the problem message last reported */
	json_t *pool_defs;  /* pool name -> {spec, labels} as last built: what a change changed */
	json_t *adv_defs;   /* the same for L2Advertisements */

	struct loop_timer config_timer;
	struct loop_timer pool_timer;
	struct loop_timer metrics_timer;
	struct controller_stats st;
	struct ctl_metrics m;
};

/* ---- small helpers ---- */

static const char *meta_str(const json_t *obj, const char *field)
{
	const json_t *v = json_object_get(json_object_get(obj, "metadata"), field);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int split_key(const char *key, char *ns, size_t nscap, char *name, size_t namecap)
{
	const char *slash = strchr(key, '/');
	if (slash == NULL || (size_t)(slash - key) >= nscap || strlen(slash + 1) >= namecap)
		return -1;
	memcpy(ns, key, (size_t)(slash - key));
	ns[slash - key] = '\0';
	strcpy(name, slash + 1);
	return 0;
}

static json_t *state_of(struct controller *c, const char *key)
{
	json_t *s = json_object_get(c->svc_state, key);
	if (s != NULL)
		return s;
	s = json_pack("{s:b, s:b, s:s, s:i, s:i}", "busy", 0, "again", 0, "fail", "", "warned", 0,
		      "tries", 0);
	if (s == NULL || json_object_set_new(c->svc_state, key, s) < 0)
		return NULL;
	return s;
}

static bool st_flag(const json_t *s, const char *k)
{
	return json_is_true(json_object_get(s, k));
}

static void st_set_flag(json_t *s, const char *k, bool v)
{
	json_object_set_new(s, k, json_boolean(v));
}

/* ---- Events ---- */

/*
 * Records an Event on obj (a Service or an IPAddressPool) through pkg/kube/event, which
 * aggregates repeats and limits the rate. Only while acting: Events are writes too. Objects
 * from a list carry no kind, so the recorder is given one.
 */
static void emit_event(struct controller *c, const json_t *obj, const char *kind,
		       const char *api_version, const char *type, const char *reason,
		       const char *message)
{
	if (!c->acting)
		return;
	json_t *meta = json_object_get(obj, "metadata");
	json_t *o = json_pack("{s:s, s:s, s:O}", "apiVersion", api_version, "kind", kind,
			      "metadata", meta);
	if (o == NULL) {
		log_error(c->lg, "out of memory building an event", "reason", reason);
		return;
	}
	enum event_outcome r = event_record(
		c->events, o, strcmp(type, "Warning") == 0 ? EVENT_WARNING : EVENT_NORMAL, reason,
		message);
	json_decref(o);
	if (r == EVENT_CREATED || r == EVENT_AGGREGATED)
		c->st.events++;
	else
		log_debug(c->lg, "event not recorded", "reason", reason, "outcome",
			  event_outcome_str(r));
}

static void svc_event(struct controller *c, const json_t *svc, const char *type, const char *reason,
		      const char *message)
{
	emit_event(c, svc, "Service", "v1", type, reason, message);
}

/* ---- IPAddressPool status ---- */

static void pool_timer_cb(struct loop_timer *t, void *arg);

static void pool_status_done(const struct kube_error *err, json_t *obj, void *arg)
{
	struct controller *c = arg;
	(void)obj;
	if (err->status == KUBE_OK)
		return;
	char buf[256];
	log_debug(c->lg, "pool status not written; retrying", "error",
		  kube_error_str(err, buf, sizeof(buf)));
	if (c->acting)
		loop_timer_start(c->lp, &c->pool_timer, 1000, 0, pool_timer_cb, c);
}

static void write_pool_status(const json_t *obj, void *arg)
{
	struct controller *c = arg;
	const char *name = meta_str(obj, "name");
	const struct mlb_pool *p = name ? mlb_config_pool_by_name(c->cfg, name) : NULL;
	if (p == NULL)
		return;
	struct ipam_pool_usage u;
	ipam_pool_usage(c->ip, mlb_pool_ipam(p), &u);
	json_int_t v[4] = { u.assigned_v4, u.assigned_v6, u.available_v4, u.available_v6 };
	static const char *const keys[4] = { "assignedIPv4", "assignedIPv6", "availableIPv4",
					     "availableIPv6" };
	const json_t *status = json_object_get(obj, "status");
	bool same = true;
	for (int i = 0; i < 4 && same; i++) {
		const json_t *cur = json_object_get(status, keys[i]);
		same = json_is_integer(cur) && json_integer_value(cur) == v[i];
	}
	if (same)
		return;
	json_t *copy = json_deep_copy(obj);
	json_t *ns = json_object();
	if (copy == NULL || ns == NULL) {
		json_decref(copy);
		json_decref(ns);
		return;
	}
	for (int i = 0; i < 4; i++)
		json_object_set_new(ns, keys[i], json_integer(v[i]));
	json_object_set_new(copy, "status", ns);
	c->st.pool_status_writes++;
	kube_client_update_status(c->kc, &RES_POOL, meta_str(obj, "namespace"), name, copy,
				  pool_status_done, c);
	json_decref(copy);
}

static void pool_timer_cb(struct loop_timer *t, void *arg)
{
	struct controller *c = arg;
	(void)t;
	controller_update_metrics(c);
	if (c->acting && c->restored)
		informer_foreach(c->pool_inf, write_pool_status, c);
}

static void pools_changed(struct controller *c)
{
	if (!loop_timer_active(&c->pool_timer))
		loop_timer_start(c->lp, &c->pool_timer, POOL_STATUS_DELAY_MS, 0, pool_timer_cb, c);
}

/* ---- service writes ---- */

struct svc_write {
	struct controller *c;
	uint64_t epoch;
	char key[512];
	struct reconcile_result r;
	json_t *svc; /* the object we decided on (owned) */
	int step;    /* 0: status, 1: annotation */
};

static void run_one(struct controller *c, const char *key, const json_t *svc);
static void run_decide(struct controller *c, const char *key, const json_t *svc);
static void write_step(struct svc_write *w);

static void write_end(struct svc_write *w, bool ok)
{
	struct controller *c = w->c;
	if (w->epoch == c->epoch) {
		json_t *s = state_of(c, w->key);
		if (ok && s != NULL) {
			/* Events only once the status they describe is written. */
			if (w->r.outcome == RECONCILE_ASSIGNED)
				svc_event(c, w->svc, "Normal", RECONCILE_EVENT_ALLOCATED,
					  w->r.message);
			json_object_set_new(s, "tries", json_integer(0));
		}
		if (s != NULL) {
			bool again = st_flag(s, "again");
			st_set_flag(s, "busy", false);
			st_set_flag(s, "again", false);
			if (again)
				workqueue_add(c->wq, w->key);
		}
	}
	json_decref(w->svc);
	free(w);
}

static void retry_later(struct svc_write *w, const char *why)
{
	struct controller *c = w->c;
	json_t *s = state_of(c, w->key);
	json_int_t tries = s ? json_integer_value(json_object_get(s, "tries")) + 1 : 1;
	if (s != NULL)
		json_object_set_new(s, "tries", json_integer(tries));
	uint64_t delay = 500ULL << (tries < 6 ? tries : 6);
	char buf[32];
	if (c->m.update_errors != NULL)
		metric_inc(metric_family_solo(c->m.update_errors));
	log_warn(c->lg, "service write failed; will retry", "service", w->key, "error", why,
		 "retry_ms", log_fmt(buf, sizeof(buf), "%llu", (unsigned long long)delay));
	workqueue_add_after(c->wq, w->key, delay);
	write_end(w, false);
}

/* A 409 re-reads the service and decides again on what is stored now. */
static void reread_done(const struct kube_error *err, json_t *obj, void *arg)
{
	struct svc_write *w = arg;
	struct controller *c = w->c;
	if (w->epoch != c->epoch || !c->acting) {
		write_end(w, false);
		return;
	}
	char buf[256];
	if (err->status != KUBE_OK) {
		if (err->code == 404) {
			write_end(w, false); /* deleted: the informer's delete frees it */
			return;
		}
		retry_later(w, kube_error_str(err, buf, sizeof(buf)));
		return;
	}
	char key[512];
	snprintf(key, sizeof(key), "%s", w->key);
	json_t *s = state_of(c, key);
	json_int_t tries = s ? json_integer_value(json_object_get(s, "tries")) + 1 : 1;
	if (tries > MAX_WRITE_TRIES) {
		retry_later(w, "too many conflicts");
		return;
	}
	if (s != NULL)
		json_object_set_new(s, "tries", json_integer(tries));
	write_end(w, false);
	run_one(c, key, obj);
}

static void write_done(const struct kube_error *err, json_t *obj, void *arg)
{
	struct svc_write *w = arg;
	struct controller *c = w->c;
	(void)obj;
	if (w->epoch != c->epoch || !c->acting) {
		write_end(w, false); /* we stopped acting: write nothing more */
		return;
	}
	char buf[256];
	if (err->status == KUBE_OK) {
		if (w->step == 0)
			c->st.status_writes++;
		w->step++;
		write_step(w);
		return;
	}
	if (err->code == 409) {
		c->st.conflicts_409++;
		char ns[256], name[256];
		if (split_key(w->key, ns, sizeof(ns), name, sizeof(name)) == 0 &&
		    kube_client_get(c->kc, &RES_SVC, ns, name, reread_done, w) != NULL)
			return;
	}
	if (err->code == 404) {
		write_end(w, false);
		return;
	}
	retry_later(w, kube_error_str(err, buf, sizeof(buf)));
}

static json_t *ingress_json(const struct reconcile_result *r)
{
	json_t *lb = json_object(), *ing = json_array();
	if (lb == NULL || ing == NULL) {
		json_decref(lb);
		json_decref(ing);
		return NULL;
	}
	for (size_t i = 0; i < r->naddrs; i++) {
		char a[IPAM_ADDR_STRLEN];
		ipam_addr_format(&r->addrs[i], a, sizeof(a));
		json_array_append_new(ing, json_pack("{s:s}", "ip", a));
	}
	if (r->naddrs > 0)
		json_object_set_new(lb, "ingress", ing);
	else
		json_decref(ing);
	return lb;
}

static void write_step(struct svc_write *w)
{
	struct controller *c = w->c;
	char ns[256], name[256];
	if (split_key(w->key, ns, sizeof(ns), name, sizeof(name)) < 0) {
		write_end(w, false);
		return;
	}
	if (w->step == 0 && !w->r.write_status)
		w->step = 1;
	if (w->step == 1 && !w->r.write_annotation)
		w->step = 2;
	if (w->step == 0) {
		json_t *obj = json_deep_copy(w->svc);
		json_t *lb = ingress_json(&w->r);
		json_t *status = obj ? json_object_get(obj, "status") : NULL;
		if (obj != NULL && !json_is_object(status)) {
			json_object_set_new(obj, "status", json_object());
			status = json_object_get(obj, "status");
		}
		if (obj == NULL || lb == NULL || status == NULL) {
			json_decref(obj);
			json_decref(lb);
			retry_later(w, "out of memory");
			return;
		}
		json_object_set_new(status, "loadBalancer", lb);
		struct kube_request *rq =
			kube_client_update_status(c->kc, &RES_SVC, ns, name, obj, write_done, w);
		json_decref(obj);
		if (rq == NULL)
			retry_later(w, "status update not queued");
		return;
	}
	if (w->step == 1) {
		json_t *val = w->r.pool[0] ? json_string(w->r.pool) : json_null();
		json_t *patch = json_pack("{s:{s:{s:o}}}", "metadata", "annotations",
					  RECONCILE_POOL_ANNOTATION, val);
		if (patch == NULL) {
			retry_later(w, "out of memory");
			return;
		}
		struct kube_request *rq =
			kube_client_patch(c->kc, &RES_SVC, ns, name, NULL, patch, write_done, w);
		json_decref(patch);
		if (rq == NULL)
			retry_later(w, "annotation patch not queued");
		return;
	}
	write_end(w, true);
}

/* ---- the decision and what follows ---- */

static const json_t *ns_labels(const struct controller *c, const char *ns)
{
	const json_t *obj = informer_get(c->ns_inf, NULL, ns);
	return json_object_get(json_object_get(obj, "metadata"), "labels");
}

/* Warning Events the service has not had yet (remembered per service, re-armed when gone). */
static void warn_once(struct controller *c, json_t *s, const json_t *svc,
		      const struct reconcile_result *r)
{
	json_int_t warned = json_integer_value(json_object_get(s, "warned"));
	json_int_t now = 0;
	for (unsigned bit = 1; bit <= MLB_DEPRECATED_SPEC_LB_IP; bit <<= 1) {
		if (!(r->deprecated & bit))
			continue;
		now |= (json_int_t)bit;
		if (!(warned & (json_int_t)bit))
			svc_event(c, svc, "Warning", RECONCILE_EVENT_DEPRECATED,
				  mlb_deprecated_hint((enum mlb_deprecated)bit));
	}
	if (r->warnings & RECONCILE_WARN_NOT_ANNOUNCED) {
		now |= 1 << 8;
		if (!(warned & (1 << 8)))
			svc_event(c, svc, "Warning", RECONCILE_EVENT_NOT_ANNOUNCED, r->warning);
	}
	if (r->warnings & RECONCILE_WARN_OUTSIDE_POOL) {
		now |= 1 << 9;
		if (!(warned & (1 << 9)))
			svc_event(c, svc, "Warning", RECONCILE_EVENT_OUTSIDE_POOL, r->warning);
	}
	json_object_set_new(s, "warned", json_integer(now));
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_one(struct controller *c, const char *key, const json_t *svc)
{
	double t0 = mono_s();
	run_decide(c, key, svc);
	if (c->m.latency != NULL)
		metric_observe(metric_family_solo(c->m.latency), mono_s() - t0);
}

static void run_decide(struct controller *c, const char *key, const json_t *svc)
{
	struct reconcile_result r;
	char ns[256] = "", name[256];
	split_key(key, ns, sizeof(ns), name, sizeof(name));
	reconcile_service(key, svc, c->cfg, c->ip, c->lb_class, ns_labels(c, ns), &r);
	c->st.reconciles++;
	const char *oc = reconcile_outcome_str(r.outcome);
	switch (r.outcome) {
	case RECONCILE_IGNORED:
	case RECONCILE_UNCHANGED:
		log_debug(c->lg, "reconciled", "service", key, "outcome", oc);
		break;
	case RECONCILE_ASSIGNED:
		c->st.assigned++;
		if (c->m.allocs != NULL)
			metric_inc(metric_with(c->m.allocs, r.pool));
		log_info(c->lg, "address assigned", "service", key, "pool", r.pool, "detail",
			 r.message);
		break;
	case RECONCILE_RELEASED:
		c->st.released++;
		log_info(c->lg, "addresses released", "service", key, "detail", r.message);
		break;
	case RECONCILE_FAILED:
		c->st.failed++;
		log_debug(c->lg, "reconciled", "service", key, "outcome", oc, "reason",
			  reconcile_reason_str(r.reason));
		break;
	case RECONCILE_MALFORMED:
		log_warn(c->lg, "malformed service left alone", "service", key, "detail",
			 r.message);
		break;
	}
	if (r.outcome == RECONCILE_ASSIGNED || r.outcome == RECONCILE_RELEASED)
		pools_changed(c);
	if (svc == NULL) {
		json_object_del(c->svc_state, key);
		return;
	}
	json_t *s = state_of(c, key);
	if (s == NULL) {
		log_error(c->lg, "out of memory", "service", key);
		return;
	}
	const char *last = json_string_value(json_object_get(s, "fail"));
	if (r.outcome == RECONCILE_FAILED) {
		if (strcmp(last ? last : "", r.message) != 0) {
			log_warn(c->lg, "allocation failed", "service", key, "reason",
				 reconcile_reason_str(r.reason), "detail", r.message);
			if (c->m.failures != NULL)
				metric_inc(
					metric_with(c->m.failures, reconcile_reason_str(r.reason)));
			svc_event(c, svc, "Warning", RECONCILE_EVENT_FAILED, r.message);
			json_object_set_new(s, "fail", json_string(r.message));
		}
	} else {
		json_object_set_new(s, "fail", json_string(""));
	}
	warn_once(c, s, svc, &r);
	if (!r.write_status && !r.write_annotation)
		return;
	struct svc_write *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		log_error(c->lg, "out of memory", "service", key);
		return;
	}
	w->c = c;
	w->epoch = c->epoch;
	snprintf(w->key, sizeof(w->key), "%s", key);
	w->r = r;
	w->svc = json_deep_copy(svc);
	st_set_flag(s, "busy", true);
	write_step(w);
}

static enum workqueue_result process(const char *key, void *arg)
{
	struct controller *c = arg;
	if (!c->acting || !c->restored)
		return WORKQUEUE_DONE; /* everything is queued again on becoming acting */
	json_t *s = json_object_get(c->svc_state, key);
	if (s != NULL && st_flag(s, "busy")) {
		st_set_flag(s, "again", true);
		return WORKQUEUE_DONE;
	}
	char ns[256], name[256];
	if (split_key(key, ns, sizeof(ns), name, sizeof(name)) < 0)
		return WORKQUEUE_DONE;
	run_one(c, key, informer_get(c->svc_inf, ns, name));
	return WORKQUEUE_DONE;
}

/* ---- configuration ---- */

struct objlist {
	const json_t **v;
	size_t n, cap;
};

static void collect(const json_t *obj, void *arg)
{
	struct objlist *l = arg;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		const json_t **nv = realloc(l->v, nc * sizeof(const json_t *));
		if (nv == NULL)
			return;
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = obj;
}

static void enqueue_all(struct controller *c)
{
	struct objlist l = { 0 };
	informer_foreach(c->svc_inf, collect, &l);
	qsort(l.v, l.n, sizeof(const json_t *), reconcile_compare_age);
	for (size_t i = 0; i < l.n; i++) {
		char key[512];
		if (informer_key(l.v[i], key, sizeof(key)) >= 0)
			workqueue_add(c->wq, key);
	}
	free(l.v);
}

static void report_problems(struct controller *c)
{
	json_t *seen = json_object();
	for (size_t i = 0; seen != NULL && i < mlb_config_nproblems(c->cfg); i++) {
		const struct mlb_problem *p = mlb_config_problem(c->cfg, i);
		char key[600];
		snprintf(key, sizeof(key), "%s/%s/%s", mlb_kind_str(p->kind), p->namespace,
			 p->name);
		const char *old = json_string_value(json_object_get(c->problems, key));
		json_object_set_new(seen, key, json_string(p->message));
		if (old != NULL && strcmp(old, p->message) == 0)
			continue;
		log_error(c->lg, "configuration object refused; the others keep working", "object",
			  key, "field", p->field, "problem", p->message);
		const struct informer *inf = p->kind == MLB_KIND_POOL ? c->pool_inf : c->adv_inf;
		const json_t *obj = informer_get(inf, p->namespace, p->name);
		if (obj != NULL)
			emit_event(c, obj, mlb_kind_str(p->kind), "metallb.io/v1beta1", "Warning",
				   "InvalidConfiguration", p->message);
	}
	if (seen != NULL) {
		json_decref(c->problems);
		c->problems = seen;
	}
}

/* name -> {spec, labels} of every object the informer holds (refused ones too). */
static void def_of(const json_t *obj, void *arg)
{
	json_t *defs = arg;
	const char *name = meta_str(obj, "name");
	const json_t *spec = json_object_get(obj, "spec");
	const json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
	if (name != NULL)
		json_object_set_new(defs, name,
				    json_pack("{s:O?, s:O?}", "spec", spec, "labels", labels));
}

static json_t *defs_of(const struct informer *inf)
{
	json_t *defs = json_object();
	if (defs != NULL)
		informer_foreach(inf, def_of, defs);
	return defs;
}

/* Names of the pools whose definition differs between two snapshots (into changed). */
static void diff_defs(const json_t *a, const json_t *b, json_t *changed)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)a, k, v)
	{
		if (!json_equal(v, json_object_get(b, k)))
			json_object_set_new(changed, k, json_true());
	}
	json_object_foreach((json_t *)b, k, v)
	{
		if (json_object_get(a, k) == NULL)
			json_object_set_new(changed, k, json_true());
	}
}

/* A service waits when it holds nothing or its last decision failed. */
static bool waiting(struct controller *c, const char *key)
{
	struct ipam_addr a;
	if (ipam_service_addr(c->ip, key, IPAM_V4, &a) < 0 &&
	    ipam_service_addr(c->ip, key, IPAM_V6, &a) < 0)
		return true;
	const char *fail =
		json_string_value(json_object_get(json_object_get(c->svc_state, key), "fail"));
	return fail != NULL && fail[0] != '\0';
}

/*
 * A pool change re-evaluates only the services of the pools that changed (and those still
 * waiting); an L2Advertisement change re-evaluates every service (it decides announcement
 * warnings and allow-shared-ip refusals across pools).
 */
static void enqueue_changed(struct controller *c, const struct mlb_config *old,
			    const json_t *changed, bool advs_changed)
{
	if (advs_changed) {
		enqueue_all(c);
		return;
	}
	if (json_object_size(changed) == 0)
		return;
	struct objlist l = { 0 };
	informer_foreach(c->svc_inf, collect, &l);
	qsort(l.v, l.n, sizeof(const json_t *), reconcile_compare_age);
	size_t queued = 0;
	for (size_t i = 0; i < l.n; i++) {
		char key[512];
		if (informer_key(l.v[i], key, sizeof(key)) < 0)
			continue;
		bool wait = waiting(c, key), hit = false;
		const char *name;
		json_t *v;
		json_object_foreach((json_t *)changed, name, v)
		{
			const struct mlb_pool *po = mlb_config_pool_by_name(old, name);
			const struct mlb_pool *pn = mlb_config_pool_by_name(c->cfg, name);
			if (reconcile_pool_affects(l.v[i], name, po ? mlb_pool_ipam(po) : NULL,
						   pn ? mlb_pool_ipam(pn) : NULL, wait)) {
				hit = true;
				break;
			}
		}
		if (hit) {
			workqueue_add(c->wq, key);
			queued++;
		}
	}
	free(l.v);
	char n1[32], n2[32];
	log_info(c->lg, "pool change: re-evaluating its services", "pools",
		 log_fmt(n1, sizeof(n1), "%zu", json_object_size(changed)), "services",
		 log_fmt(n2, sizeof(n2), "%zu", queued));
}

/* Builds the configuration from the informers; returns the previous one (owned) or NULL. */
static struct mlb_config *rebuild_config(struct controller *c)
{
	struct objlist pools = { 0 }, advs = { 0 };
	informer_foreach(c->pool_inf, collect, &pools);
	informer_foreach(c->adv_inf, collect, &advs);
	/* Pools in age order, so that of two overlapping pools the older one stays. */
	qsort(pools.v, pools.n, sizeof(const json_t *), reconcile_compare_age);
	if (c->lastgood == NULL)
		c->lastgood = mlb_lastgood_new();
	struct mlb_config *cfg = c->lastgood != NULL ? mlb_lastgood_build(c->lastgood, pools.v,
									  pools.n, advs.v, advs.n)
						     : NULL;
	free(pools.v);
	free(advs.v);
	if (cfg == NULL) {
		log_error(c->lg, "out of memory building the configuration; keeping the last one");
		return NULL;
	}
	struct mlb_config *old = c->cfg;
	c->cfg = cfg;
	c->config_loaded = true;
	char n1[32], n2[32];
	log_info(c->lg, "configuration loaded", "pools",
		 log_fmt(n1, sizeof(n1), "%zu", mlb_config_npools(cfg)), "l2advertisements",
		 log_fmt(n2, sizeof(n2), "%zu", mlb_config_nl2advs(cfg)));
	report_problems(c);
	return old;
}

static void restore(struct controller *c);

static void config_timer_cb(struct loop_timer *t, void *arg)
{
	struct controller *c = arg;
	(void)t;
	if (!controller_synced(c))
		return;
	struct mlb_config *old = rebuild_config(c);
	if (old == NULL)
		return;
	json_t *pools = defs_of(c->pool_inf), *advs = defs_of(c->adv_inf);
	json_t *changed = json_object();
	if (pools == NULL || advs == NULL || changed == NULL) {
		log_error(c->lg, "out of memory comparing pools; re-evaluating every service");
		json_decref(pools);
		json_decref(advs);
		json_decref(changed);
		pools = advs = changed = NULL;
	} else {
		diff_defs(c->pool_defs, pools, changed);
	}
	bool advs_changed = advs == NULL || !json_equal(c->adv_defs, advs);
	if (c->acting) {
		if (!c->restored)
			restore(c);
		else
			enqueue_changed(c, old, changed, advs_changed);
		pools_changed(c);
	}
	mlb_config_free(old);
	json_decref(changed);
	json_decref(c->pool_defs);
	json_decref(c->adv_defs);
	c->pool_defs = pools != NULL ? pools : json_object();
	c->adv_defs = advs != NULL ? advs : json_object();
}

static void config_changed(struct controller *c)
{
	if (!loop_timer_active(&c->config_timer))
		loop_timer_start(c->lp, &c->config_timer, 0, 0, config_timer_cb, c);
}

/* Restart safety: take back what the statuses show, oldest first, before handing out more. */
static void restore(struct controller *c)
{
	ipam_free(c->ip);
	c->ip = ipam_new();
	if (c->ip == NULL) {
		log_error(c->lg, "out of memory rebuilding allocations");
		return;
	}
	json_object_clear(c->svc_state);
	struct objlist l = { 0 };
	informer_foreach(c->svc_inf, collect, &l);
	qsort(l.v, l.n, sizeof(const json_t *), reconcile_compare_age);
	size_t ok = 0, bad = 0;
	for (size_t i = 0; i < l.n; i++) {
		char msg[512] = "", key[512];
		enum reconcile_restore r =
			reconcile_restore(l.v[i], c->ip, c->lb_class, msg, sizeof(msg));
		if (informer_key(l.v[i], key, sizeof(key)) < 0)
			key[0] = '\0';
		if (r == RESTORE_OK)
			ok++;
		if (r == RESTORE_CONFLICT) {
			bad++;
			log_warn(c->lg, "address conflict found on restart", "service", key,
				 "detail", msg);
			svc_event(c, l.v[i], "Warning", RECONCILE_EVENT_CONFLICT, msg);
		}
		if (r == RESTORE_NOMEM)
			log_error(c->lg, "out of memory restoring", "service", key);
	}
	free(l.v);
	c->st.restored += ok;
	c->st.restore_conflicts += bad;
	char n1[32], n2[32];
	log_info(c->lg, "allocations rebuilt from service statuses", "services",
		 log_fmt(n1, sizeof(n1), "%zu", ok), "conflicts",
		 log_fmt(n2, sizeof(n2), "%zu", bad));
	c->restored = true;
	enqueue_all(c);
}

/* ---- informer handlers ---- */

static void svc_enqueue(const json_t *obj, void *arg)
{
	struct controller *c = arg;
	char key[512];
	if (informer_key(obj, key, sizeof(key)) >= 0)
		workqueue_add(c->wq, key);
}

static void svc_update(const json_t *old, const json_t *obj, void *arg)
{
	(void)old;
	svc_enqueue(obj, arg);
}

static void cfg_add(const json_t *obj, void *arg)
{
	(void)obj;
	config_changed(arg);
}

static void cfg_update(const json_t *old, const json_t *obj, void *arg)
{
	struct controller *c = arg;
	/* Our own status writes come back as updates: only spec and metadata matter. */
	if (json_equal(json_object_get(old, "spec"), json_object_get(obj, "spec")) &&
	    json_equal(json_object_get(json_object_get(old, "metadata"), "labels"),
		       json_object_get(json_object_get(obj, "metadata"), "labels")))
		return;
	config_changed(c);
}

struct ns_match {
	struct controller *c;
	const char *ns;
};

static void enqueue_if_ns(const json_t *obj, void *arg)
{
	struct ns_match *m = arg;
	const char *ns = meta_str(obj, "namespace");
	if (ns != NULL && strcmp(ns, m->ns) == 0)
		svc_enqueue(obj, m->c);
}

static void ns_update(const json_t *old, const json_t *obj, void *arg)
{
	struct controller *c = arg;
	if (json_equal(json_object_get(json_object_get(old, "metadata"), "labels"),
		       json_object_get(json_object_get(obj, "metadata"), "labels")))
		return;
	struct ns_match m = { c, meta_str(obj, "name") };
	if (m.ns != NULL && c->acting && c->restored)
		informer_foreach(c->svc_inf, enqueue_if_ns, &m);
}

static void synced(void *arg)
{
	config_changed(arg);
}

static void inf_error(const struct kube_error *err, void *arg)
{
	struct controller *c = arg;
	char buf[256];
	log_warn(c->lg, "list/watch failed; retrying", "error",
		 kube_error_str(err, buf, sizeof(buf)));
}

/* ---- metrics ---- */

static void observe_request(const char *verb, long code, void *arg)
{
	struct controller *c = arg;
	char cs[16];
	snprintf(cs, sizeof(cs), "%ld", code);
	metric_inc(metric_with(c->m.api, verb, cs));
}

/* Counters fed from informer_get_stats(): add what grew since the last look. */
static void counter_to(struct metric *m, double v)
{
	double cur = metric_value(m);
	if (v > cur)
		metric_add(m, v - cur);
}

static void informer_metrics(struct controller *c, const struct informer *inf, const char *res)
{
	struct informer_stats st;
	informer_get_stats(inf, &st);
	counter_to(metric_with(c->m.relists, res), st.lists > 1 ? (double)(st.lists - 1) : 0);
	counter_to(metric_with(c->m.restarts, res), st.watches > 1 ? (double)(st.watches - 1) : 0);
}

void controller_update_metrics(struct controller *c)
{
	if (c->m.in_use == NULL)
		return;
	metric_family_clear(c->m.in_use);
	metric_family_clear(c->m.total);
	for (size_t i = 0; c->acting && c->restored && i < mlb_config_npools(c->cfg); i++) {
		const struct mlb_pool *p = mlb_config_pool(c->cfg, i);
		const struct ipam_pool *ip = mlb_pool_ipam(p);
		struct ipam_pool_usage u;
		ipam_pool_usage(c->ip, ip, &u);
		metric_set(metric_with(c->m.in_use, mlb_pool_name(p)),
			   (double)u.assigned_v4 + (double)u.assigned_v6);
		metric_set(metric_with(c->m.total, mlb_pool_name(p)),
			   (double)ipam_pool_size(ip, IPAM_V4) +
				   (double)ipam_pool_size(ip, IPAM_V6));
	}
	informer_metrics(c, c->svc_inf, "services");
	informer_metrics(c, c->pool_inf, "ipaddresspools");
	informer_metrics(c, c->adv_inf, "l2advertisements");
	informer_metrics(c, c->ns_inf, "namespaces");
	const struct informer *infs[4] = { c->svc_inf, c->pool_inf, c->adv_inf, c->ns_inf };
	double events = 0;
	for (int i = 0; i < 4; i++) {
		struct informer_stats st;
		informer_get_stats(infs[i], &st);
		events += (double)st.events;
	}
	counter_to(metric_family_solo(c->m.updates), events);
	metric_set(metric_family_solo(c->m.config_loaded), c->config_loaded ? 1 : 0);
	metric_set(metric_family_solo(c->m.config_stale), mlb_config_nproblems(c->cfg) > 0 ? 1 : 0);
}

static void metrics_tick(struct loop_timer *t, void *arg)
{
	(void)t;
	controller_update_metrics(arg);
}

static int register_metrics(struct controller *c, struct metrics *reg)
{
	struct ctl_metrics *m = &c->m;
	if (metrics_add_gauge(reg, "metallb_allocator_addresses_in_use_total",
			      "Addresses handed out from the pool (acting replica).", "pool",
			      &m->in_use) != METRIC_OK ||
	    metrics_add_gauge(reg, "metallb_allocator_addresses_total",
			      "Usable addresses of the pool (IPv4 and IPv6).", "pool",
			      &m->total) != METRIC_OK ||
	    metrics_add_counter(reg, "l2lb_controller_allocations_total",
				"Services given new addresses, by pool.", "pool",
				&m->allocs) != METRIC_OK ||
	    metrics_add_counter(reg, "l2lb_controller_allocation_failures_total",
				"Allocation failures reported (AllocationFailed), by reason.",
				"reason", &m->failures) != METRIC_OK ||
	    metrics_add_histogram(reg, "l2lb_controller_reconcile_duration_seconds",
				  "Time to reconcile one service.", NULL, RECONCILE_BUCKETS,
				  sizeof(RECONCILE_BUCKETS) / sizeof(RECONCILE_BUCKETS[0]),
				  &m->latency) != METRIC_OK ||
	    metrics_add_counter(reg, "l2lb_controller_api_requests_total",
				"Kubernetes API requests by verb and HTTP code (0: no answer).",
				"verb,code", &m->api) != METRIC_OK ||
	    metrics_add_counter(reg, "l2lb_controller_watch_relists_total",
				"Lists after the first, by resource.", "resource",
				&m->relists) != METRIC_OK ||
	    metrics_add_counter(reg, "l2lb_controller_watch_restarts_total",
				"Watches started after the first, by resource.", "resource",
				&m->restarts) != METRIC_OK ||
	    metrics_add_counter(reg, "metallb_k8s_client_updates_total",
				"Kubernetes object updates (watch events) processed.", NULL,
				&m->updates) != METRIC_OK ||
	    metrics_add_counter(reg, "metallb_k8s_client_update_errors_total",
				"Service status or annotation writes the API refused (retried).",
				NULL, &m->update_errors) != METRIC_OK ||
	    metrics_add_gauge(reg, "metallb_k8s_client_config_loaded_bool",
			      "1 once the configuration was loaded from the synced informers.",
			      NULL, &m->config_loaded) != METRIC_OK ||
	    metrics_add_gauge(reg, "metallb_k8s_client_config_stale_bool",
			      "1 while an IPAddressPool or L2Advertisement is refused (its latest "
			      "version is not in effect).",
			      NULL, &m->config_stale) != METRIC_OK)
		return -1;
	kube_client_set_observer(c->kc, observe_request, c);
	return loop_timer_start(c->lp, &c->metrics_timer, METRICS_PERIOD_MS, METRICS_PERIOD_MS,
				metrics_tick, c);
}

/* ---- life cycle ---- */

static struct informer *mk_informer(struct controller *c, const struct kube_resource *r,
				    const char *ns, informer_add_cb add, informer_update_cb upd,
				    informer_delete_cb del)
{
	struct informer_opts o = {
		.resource = r,
		.ns = ns,
		.on_add = add,
		.on_update = upd,
		.on_delete = del,
		.on_synced = synced,
		.on_error = inf_error,
		.arg = c,
	};
	return informer_new(c->lp, c->lg, c->kc, &o);
}

struct controller *controller_new(struct loop *lp, struct log *lg, struct kube_client *kc,
				  const struct controller_opts *o)
{
	struct controller *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->lp = lp;
	c->lg = lg;
	c->kc = kc;
	c->ns = strdup(o->namespace);
	c->lb_class = o->lb_class ? strdup(o->lb_class) : NULL;
	c->identity = strdup(o->identity ? o->identity : "l2lb-controller");
	c->svc_state = json_object();
	c->problems = json_object();
	c->pool_defs = json_object();
	c->adv_defs = json_object();
	c->ip = ipam_new();
	c->cfg = mlb_config_build(NULL, 0, NULL, 0);
	c->wq = workqueue_new(lp, process, c, 0, 0);
	c->events = event_recorder_new(lp, lg, kc, "l2lb-controller", c->identity);
	c->svc_inf = mk_informer(c, &RES_SVC, NULL, svc_enqueue, svc_update, svc_enqueue);
	c->pool_inf = mk_informer(c, &RES_POOL, c->ns, cfg_add, cfg_update, cfg_add);
	c->adv_inf = mk_informer(c, &RES_ADV, c->ns, cfg_add, cfg_update, cfg_add);
	c->ns_inf = mk_informer(c, &RES_NS, NULL, NULL, ns_update, NULL);
	if (c->ns == NULL || (o->lb_class && c->lb_class == NULL) || c->identity == NULL ||
	    c->svc_state == NULL || c->problems == NULL || c->pool_defs == NULL ||
	    c->adv_defs == NULL || c->ip == NULL || c->cfg == NULL || c->wq == NULL ||
	    c->events == NULL || c->svc_inf == NULL || c->pool_inf == NULL || c->adv_inf == NULL ||
	    c->ns_inf == NULL) {
		log_error(lg, "out of memory setting up the controller");
		controller_free(c);
		return NULL;
	}
	if (o->reg != NULL && register_metrics(c, o->reg) < 0) {
		log_error(lg, "cannot register the controller's metrics");
		controller_free(c);
		return NULL;
	}
	return c;
}

void controller_free(struct controller *c)
{
	if (c == NULL)
		return;
	loop_timer_stop(c->lp, &c->config_timer);
	loop_timer_stop(c->lp, &c->pool_timer);
	loop_timer_stop(c->lp, &c->metrics_timer);
	if (c->m.api != NULL)
		kube_client_set_observer(c->kc, NULL, NULL);
	informer_free(c->svc_inf);
	informer_free(c->pool_inf);
	informer_free(c->adv_inf);
	informer_free(c->ns_inf);
	workqueue_free(c->wq);
	event_recorder_free(c->events);
	ipam_free(c->ip);
	mlb_config_free(c->cfg);
	mlb_lastgood_free(c->lastgood);
	json_decref(c->svc_state);
	json_decref(c->problems);
	json_decref(c->pool_defs);
	json_decref(c->adv_defs);
	free(c->ns);
	free(c->lb_class);
	free(c->identity);
	free(c);
}

int controller_start(struct controller *c)
{
	if (informer_start(c->ns_inf) < 0 || informer_start(c->pool_inf) < 0 ||
	    informer_start(c->adv_inf) < 0 || informer_start(c->svc_inf) < 0)
		return -1;
	return 0;
}

bool controller_synced(const struct controller *c)
{
	return informer_has_synced(c->svc_inf) && informer_has_synced(c->pool_inf) &&
	       informer_has_synced(c->adv_inf) && informer_has_synced(c->ns_inf);
}

bool controller_ready(const struct controller *c, const char **why)
{
	const char *no = NULL;
	if (!controller_synced(c))
		no = "informers not synced";
	else if (c->acting && !c->restored)
		no = "allocations not rebuilt yet";
	if (why != NULL)
		*why = no;
	return no == NULL;
}

void controller_set_acting(struct controller *c, bool acting)
{
	if (acting == c->acting)
		return;
	c->acting = acting;
	if (!acting) {
		/* Answers to writes already sent are dropped; nothing new is sent. */
		c->epoch++;
		c->restored = false;
		json_object_clear(c->svc_state);
		loop_timer_stop(c->lp, &c->pool_timer);
		controller_update_metrics(c);
		log_info(c->lg, "stopped acting: no more writes");
		return;
	}
	log_info(c->lg, "acting: rebuilding allocations, then reconciling");
	config_changed(c); /* restores once synced */
}

bool controller_acting(const struct controller *c)
{
	return c->acting;
}

/* One block: a header, a line per pool (refused ones too), a footer; grep-able by "dump". */
void controller_dump(const struct controller *c)
{
	char n[4][32];
	log_info(c->lg, "dump: controller state", "acting", c->acting ? "true" : "false", "rebuilt",
		 c->restored ? "true" : "false", "pools",
		 log_fmt(n[0], sizeof(n[0]), "%zu", mlb_config_npools(c->cfg)), "refused",
		 log_fmt(n[1], sizeof(n[1]), "%zu", mlb_config_nproblems(c->cfg)), "addresses",
		 log_fmt(n[2], sizeof(n[2]), "%zu", ipam_count(c->ip)));
	for (size_t i = 0; i < mlb_config_npools(c->cfg); i++) {
		const struct mlb_pool *p = mlb_config_pool(c->cfg, i);
		struct ipam_pool_usage u;
		ipam_pool_usage(c->ip, mlb_pool_ipam(p), &u);
		char b[4][32];
		log_info(c->lg, "pool", "name", mlb_pool_name(p), "assigned_ipv4",
			 log_fmt(b[0], sizeof(b[0]), "%lld", (long long)u.assigned_v4),
			 "available_ipv4",
			 log_fmt(b[1], sizeof(b[1]), "%lld", (long long)u.available_v4),
			 "assigned_ipv6",
			 log_fmt(b[2], sizeof(b[2]), "%lld", (long long)u.assigned_v6),
			 "available_ipv6",
			 log_fmt(b[3], sizeof(b[3]), "%lld", (long long)u.available_v6),
			 "auto_assign", mlb_pool_auto_assign(p) ? "true" : "false");
	}
	for (size_t i = 0; i < mlb_config_nproblems(c->cfg); i++) {
		const struct mlb_problem *pr = mlb_config_problem(c->cfg, i);
		log_info(c->lg, "refused", "kind", mlb_kind_str(pr->kind), "name", pr->name,
			 "problem", pr->message);
	}
	log_info(c->lg, "dump: end", "reconciles",
		 log_fmt(n[3], sizeof(n[3]), "%llu", (unsigned long long)c->st.reconciles));
}

void controller_get_stats(const struct controller *c, struct controller_stats *out)
{
	*out = c->st;
}
