/* kube/lease: leader elections over one Lease informer, driving pure leasefsm machines. */
#include "kube/lease.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/informer.h"

static const struct kube_resource lease_res = { "coordination.k8s.io", "v1", "leases", 1 };

struct lease {
	struct lease_set *s;
	struct lease *hnext; /* hash chain */
	struct leasefsm *fsm;
	struct lease_callbacks cb;
	struct loop_timer timer;
	struct kube_request *write;
	int in_drive;
	char name[];
};

struct lease_set {
	struct loop *lp;
	struct log *lg;
	struct kube_client *kc;
	struct informer *inf;
	char *ns;
	struct lease **tab;
	size_t nbuckets, n;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct lease *find(const struct lease_set *s, const char *name)
{
	for (struct lease *l = s->tab[hash(name) & (s->nbuckets - 1)]; l; l = l->hnext)
		if (strcmp(l->name, name) == 0)
			return l;
	return NULL;
}

static int64_t now_ms(const struct lease_set *s)
{
	return (int64_t)loop_now_ms(s->lp);
}

static int64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void copy_str(char *dst, size_t cap, const json_t *v)
{
	snprintf(dst, cap, "%s", json_is_string(v) ? json_string_value(v) : "");
}

/* The Lease object's spec as the machine sees it. */
static void to_record(const json_t *obj, struct leasefsm_record *rec)
{
	const json_t *spec = json_object_get(obj, "spec");
	memset(rec, 0, sizeof(*rec));
	copy_str(rec->holder, sizeof(rec->holder), json_object_get(spec, "holderIdentity"));
	copy_str(rec->acquire_time, sizeof(rec->acquire_time),
		 json_object_get(spec, "acquireTime"));
	copy_str(rec->renew_time, sizeof(rec->renew_time), json_object_get(spec, "renewTime"));
	const json_t *d = json_object_get(spec, "leaseDurationSeconds");
	rec->duration_s = json_is_integer(d) ? json_integer_value(d) : 0;
	const json_t *t = json_object_get(spec, "leaseTransitions");
	rec->transitions = json_is_integer(t) ? json_integer_value(t) : 0;
}

static void drive(struct lease *l);

static void observe(struct lease *l, const json_t *obj)
{
	struct lease_set *s = l->s;
	if (!obj) {
		leasefsm_observe(l->fsm, NULL, NULL, now_ms(s));
		return;
	}
	struct leasefsm_record rec;
	to_record(obj, &rec);
	const json_t *rv = json_object_get(json_object_get(obj, "metadata"), "resourceVersion");
	leasefsm_observe(l->fsm, &rec, json_is_string(rv) ? json_string_value(rv) : "", now_ms(s));
}

static void on_timer(struct loop_timer *t, void *arg)
{
	(void)t;
	drive(arg);
}

static enum leasefsm_write_result write_result(const struct kube_error *err)
{
	if (err->status == KUBE_OK)
		return LEASEFSM_WRITE_OK;
	if (err->status == KUBE_ERR_HTTP && (err->code == 409 || err->code == 404))
		return LEASEFSM_WRITE_CONFLICT;
	return LEASEFSM_WRITE_ERROR;
}

static void write_done(const struct kube_error *err, json_t *obj, void *arg)
{
	struct lease *l = arg;
	struct lease_set *s = l->s;
	l->write = NULL;
	enum leasefsm_write_result r = write_result(err);
	if (r != LEASEFSM_WRITE_OK) {
		char buf[700];
		log_info(s->lg, "lease write failed", "lease", l->name, "result",
			 leasefsm_write_result_str(r), "error",
			 kube_error_str(err, buf, sizeof(buf)));
	}
	const json_t *rv = json_object_get(json_object_get(obj, "metadata"), "resourceVersion");
	leasefsm_write_done(l->fsm, r, json_is_string(rv) ? json_string_value(rv) : NULL,
			    now_ms(s));
	drive(l);
}

/* Builds the Lease to write: the cached object (labels kept) with our spec and rv. */
static json_t *lease_body(struct lease *l, const struct leasefsm_out *out, int with_rv)
{
	struct lease_set *s = l->s;
	const json_t *cached = informer_get(s->inf, s->ns, l->name);
	json_t *o = cached ? json_deep_copy(cached) : json_object();
	if (!o)
		return NULL;
	json_t *md = json_object_get(o, "metadata");
	if (!json_is_object(md)) {
		md = json_object();
		json_object_set_new(o, "metadata", md);
	}
	json_t *spec = json_object();
	if (!md || !spec) {
		json_decref(spec);
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "apiVersion", json_string("coordination.k8s.io/v1"));
	json_object_set_new(o, "kind", json_string("Lease"));
	json_object_set_new(md, "name", json_string(l->name));
	json_object_set_new(md, "namespace", json_string(s->ns));
	if (with_rv)
		json_object_set_new(md, "resourceVersion", json_string(out->rv));
	else
		json_object_del(md, "resourceVersion");
	json_object_del(o, "status");
	json_object_set_new(spec, "holderIdentity", json_string(out->rec.holder));
	json_object_set_new(spec, "leaseDurationSeconds", json_integer(out->rec.duration_s));
	if (out->rec.acquire_time[0])
		json_object_set_new(spec, "acquireTime", json_string(out->rec.acquire_time));
	if (out->rec.renew_time[0])
		json_object_set_new(spec, "renewTime", json_string(out->rec.renew_time));
	json_object_set_new(spec, "leaseTransitions", json_integer(out->rec.transitions));
	json_object_set_new(o, "spec", spec);
	return o;
}

static void start_write(struct lease *l, enum leasefsm_action a, const struct leasefsm_out *out)
{
	struct lease_set *s = l->s;
	if (l->write) {
		log_error(s->lg, "lease: a second write while one is in flight, ignored", "lease",
			  l->name, "action", leasefsm_action_str(a));
		return;
	}
	json_t *body = lease_body(l, out, a != LEASEFSM_CREATE);
	if (body) {
		if (a == LEASEFSM_CREATE)
			l->write =
				kube_client_create(s->kc, &lease_res, s->ns, body, write_done, l);
		else
			l->write = kube_client_update(s->kc, &lease_res, s->ns, l->name, body,
						      write_done, l);
		json_decref(body);
	}
	if (!l->write) {
		/* could not even queue it: report it as failed so the machine retries */
		leasefsm_write_done(l->fsm, LEASEFSM_WRITE_ERROR, NULL, now_ms(s));
	}
}

/* Steps the machine until it waits, acting on each answer. */
static void drive(struct lease *l)
{
	struct lease_set *s = l->s;
	if (l->in_drive)
		return; /* a callback called back into us; the outer loop goes on stepping */
	l->in_drive = 1;
	for (int guard = 0; guard < 64; guard++) {
		struct leasefsm_out out;
		memset(&out, 0, sizeof(out));
		loop_update_time(s->lp);
		enum leasefsm_action a = leasefsm_step(l->fsm, now_ms(s), wall_us(), &out);
		switch (a) {
		case LEASEFSM_WAIT:
			if (out.wake_ms == LEASEFSM_NEVER) {
				loop_timer_stop(s->lp, &l->timer);
			} else {
				int64_t d = out.wake_ms - now_ms(s);
				loop_timer_start(s->lp, &l->timer, d > 0 ? (uint64_t)d : 0, 0,
						 on_timer, l);
			}
			l->in_drive = 0;
			return;
		case LEASEFSM_CREATE:
		case LEASEFSM_ACQUIRE:
		case LEASEFSM_RENEW:
		case LEASEFSM_RELEASE:
			log_debug(s->lg, "lease write", "lease", l->name, "action",
				  leasefsm_action_str(a), "holder", out.rec.holder);
			start_write(l, a, &out);
			break;
		case LEASEFSM_STARTED_LEADING:
			log_info(s->lg, "lease acquired", "lease", l->name);
			if (l->cb.started_leading)
				l->cb.started_leading(l, l->cb.arg);
			break;
		case LEASEFSM_STOPPED_LEADING:
			log_info(s->lg, "lease lost", "lease", l->name, "reason",
				 leasefsm_stop_reason_str(leasefsm_stop_reason(l->fsm)));
			if (l->cb.stopped_leading)
				l->cb.stopped_leading(l, leasefsm_stop_reason(l->fsm), l->cb.arg);
			break;
		case LEASEFSM_NEW_LEADER:
			if (l->cb.new_leader)
				l->cb.new_leader(l, leasefsm_leader(l->fsm), l->cb.arg);
			break;
		}
	}
	/* the machine kept answering without waiting: look again soon rather than spin */
	log_error(s->lg, "lease: state machine did not settle", "lease", l->name);
	loop_timer_start(s->lp, &l->timer, 10, 0, on_timer, l);
	l->in_drive = 0;
}

static void on_obj(const json_t *obj, void *arg)
{
	struct lease_set *s = arg;
	const json_t *name = json_object_get(json_object_get(obj, "metadata"), "name");
	struct lease *l = json_is_string(name) ? find(s, json_string_value(name)) : NULL;
	if (!l)
		return;
	observe(l, obj);
	drive(l);
}

static void on_add(const json_t *obj, void *arg)
{
	on_obj(obj, arg);
}

static void on_update(const json_t *old, const json_t *obj, void *arg)
{
	(void)old;
	on_obj(obj, arg);
}

static void on_delete(const json_t *obj, void *arg)
{
	struct lease_set *s = arg;
	const json_t *name = json_object_get(json_object_get(obj, "metadata"), "name");
	struct lease *l = json_is_string(name) ? find(s, json_string_value(name)) : NULL;
	if (!l)
		return;
	observe(l, NULL);
	drive(l);
}

/* After the first list, every election whose Lease does not exist learns that it is absent. */
static void on_synced(void *arg)
{
	struct lease_set *s = arg;
	for (size_t i = 0; i < s->nbuckets; i++)
		for (struct lease *l = s->tab[i]; l; l = l->hnext)
			if (!informer_get(s->inf, s->ns, l->name)) {
				observe(l, NULL);
				drive(l);
			}
}

struct lease_set *lease_set_new(struct loop *lp, struct log *lg, struct kube_client *kc,
				const char *ns, const char *label_selector)
{
	struct lease_set *s = calloc(1, sizeof(*s));
	if (!s) {
		log_error(lg, "lease set: out of memory");
		return NULL;
	}
	s->lp = lp;
	s->lg = lg;
	s->kc = kc;
	s->nbuckets = 64;
	s->ns = strdup(ns);
	s->tab = calloc(s->nbuckets, sizeof(struct lease *));
	struct informer_opts o = {
		.resource = &lease_res,
		.ns = ns,
		.label_selector = label_selector,
		.on_add = on_add,
		.on_update = on_update,
		.on_delete = on_delete,
		.on_synced = on_synced,
		.arg = s,
	};
	if (s->ns && s->tab)
		s->inf = informer_new(lp, lg, kc, &o);
	if (!s->inf) {
		log_error(lg, "lease set: out of memory");
		lease_set_free(s);
		return NULL;
	}
	return s;
}

void lease_set_free(struct lease_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->tab && i < s->nbuckets; i++) {
		struct lease *l = s->tab[i], *next;
		for (; l; l = next) {
			next = l->hnext;
			loop_timer_stop(s->lp, &l->timer);
			kube_request_cancel(l->write);
			leasefsm_free(l->fsm);
			free(l);
		}
	}
	informer_free(s->inf);
	free(s->tab);
	free(s->ns);
	free(s);
}

int lease_set_start(struct lease_set *s)
{
	return informer_start(s->inf);
}

int lease_set_has_synced(const struct lease_set *s)
{
	return informer_has_synced(s->inf);
}

static int grow(struct lease_set *s)
{
	size_t n = s->nbuckets * 2;
	struct lease **tab = calloc(n, sizeof(struct lease *));
	if (!tab)
		return -1;
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct lease *l = s->tab[i], *next;
		for (; l; l = next) {
			next = l->hnext;
			size_t b = hash(l->name) & (n - 1);
			l->hnext = tab[b];
			tab[b] = l;
		}
	}
	free(s->tab);
	s->tab = tab;
	s->nbuckets = n;
	return 0;
}

struct lease *lease_new(struct lease_set *s, const char *name, const struct leasefsm_config *cfg,
			const struct lease_callbacks *cb, char *err, size_t errcap)
{
	enum leasefsm_config_error ce = leasefsm_config_validate(cfg);
	if (ce != LEASEFSM_CONFIG_OK) {
		snprintf(err, errcap, "lease %s/%s: bad configuration: %s", s->ns, name,
			 leasefsm_config_error_str(ce));
		return NULL;
	}
	if (find(s, name)) {
		snprintf(err, errcap, "lease %s/%s: already has an election here", s->ns, name);
		return NULL;
	}
	if (s->n + 1 > s->nbuckets && grow(s) < 0) {
		snprintf(err, errcap, "lease %s/%s: out of memory", s->ns, name);
		return NULL;
	}
	size_t len = strlen(name);
	struct lease *l = calloc(1, sizeof(*l) + len + 1);
	if (!l || !(l->fsm = leasefsm_new(cfg))) {
		free(l);
		snprintf(err, errcap, "lease %s/%s: out of memory", s->ns, name);
		return NULL;
	}
	memcpy(l->name, name, len + 1);
	l->s = s;
	if (cb)
		l->cb = *cb;
	size_t b = hash(name) & (s->nbuckets - 1);
	l->hnext = s->tab[b];
	s->tab[b] = l;
	s->n++;
	if (informer_has_synced(s->inf)) {
		observe(l, informer_get(s->inf, s->ns, name));
		drive(l);
	}
	return l;
}

void lease_free(struct lease *l)
{
	if (!l)
		return;
	struct lease_set *s = l->s;
	struct lease **pp = &s->tab[hash(l->name) & (s->nbuckets - 1)];
	while (*pp && *pp != l)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = l->hnext;
	s->n--;
	loop_timer_stop(s->lp, &l->timer);
	kube_request_cancel(l->write);
	leasefsm_free(l->fsm);
	free(l);
}

void lease_campaign(struct lease *l, int64_t delay_ms)
{
	leasefsm_campaign(l->fsm, delay_ms);
	drive(l);
}

void lease_release(struct lease *l)
{
	leasefsm_release(l->fsm);
	drive(l);
}

void lease_holder_gone(struct lease *l, const char *holder)
{
	leasefsm_holder_gone(l->fsm, holder, now_ms(l->s));
	drive(l);
}

int lease_is_leading(const struct lease *l)
{
	return leasefsm_is_leading(l->fsm);
}

const char *lease_holder(const struct lease *l)
{
	return leasefsm_holder(l->fsm);
}

const char *lease_name(const struct lease *l)
{
	return l->name;
}
