/* kube/lease: leader elections over one Lease informer, driving pure leasefsm machines. */
#include "kube/lease.h"

#include "hash/fnv.h"

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
	const struct lease_callbacks *cb; /* the set's copy of the functions; arg is ours */
	void *arg;
	struct kube_request *write;
	struct kube_client *kc; /* NULL: the set's */
	char *svc;		/* lease_tag(): "ns\0name\0" in one allocation, or NULL */
	int64_t wake_ms;	/* when the machine wants to be stepped again, while queued */
	uint32_t qidx;		/* position in the set's wake-up queue, or NOT_QUEUED */
	unsigned char kind;	/* enum leaseio_kind */
	unsigned char in_drive;
	char name[];
};

/* What the set keeps of one Lease: one allocation, replaced whole when the Lease changes. */
struct centry {
	struct centry *hnext;
	/* The labels and annotations of a Lease that is not ours (LEASEIO_NONE), which an
	 * untagged election's update must keep; NULL when it has none. */
	json_t *meta;
	struct lease_rec r; /* its strings point into str */
	char str[];
};

/* One copy of each configuration and set of callback functions the set's elections use: a
 * thousand service elections share one of each. A leasefsm borrows its configuration. */
struct shared_cfg {
	struct shared_cfg *next;
	struct leasefsm_config c; /* c.identity points to id */
	char id[];
};

struct shared_cb {
	struct shared_cb *next;
	struct lease_callbacks cb;
};

#define NOT_QUEUED UINT32_MAX

struct lease_set {
	struct loop *lp;
	struct log *lg;
	struct kube_client *kc;
	struct kube_client *wkc; /* writes; NULL: kc */
	struct informer *inf;
	char *ns;
	struct lease **tab;
	size_t nbuckets, n;
	struct centry **ctab; /* the Leases, by name */
	size_t cbuckets, cn;
	struct shared_cfg *cfgs;
	struct shared_cb *cbs;
	/* One loop timer for every election: a min-heap of the elections waiting for a time,
	 * by wake_ms, with room for all of them (reserved in lease_new(), so queueing never
	 * fails). A thousand elections would otherwise hold a thousand loop timers. */
	struct lease **queue;
	size_t qn, qcap;
	struct loop_timer timer;
	int in_timer;
	struct lease_set_observer obs;
	int64_t hold_off;
	uint64_t writes, write_errors;
	/* lease_set_release_all() */
	void (*stop_done)(void *arg);
	void *stop_arg;
	struct lease *stop_last;
	int stop_last_released;
};

static struct lease *find(const struct lease_set *s, const char *name)
{
	for (struct lease *l = s->tab[fnv_str(name) & (s->nbuckets - 1)]; l; l = l->hnext)
		if (strcmp(l->name, name) == 0)
			return l;
	return NULL;
}

static struct centry **cfind(const struct lease_set *s, const char *name)
{
	struct centry **pp = &s->ctab[fnv_str(name) & (s->cbuckets - 1)];
	while (*pp && strcmp((*pp)->r.name, name) != 0)
		pp = &(*pp)->hnext;
	return pp;
}

static const char *svc_ns(const struct lease *l)
{
	return l->svc;
}

static const char *svc_name(const struct lease *l)
{
	return l->svc ? l->svc + strlen(l->svc) + 1 : NULL;
}

static void centry_free(struct centry *e)
{
	if (e) {
		json_decref(e->meta);
		free(e);
	}
}

static char *put_str(char **p, const char *v)
{
	char *at = *p;
	size_t n = strlen(v) + 1;
	memcpy(at, v, n);
	*p += n;
	return at;
}

/* The labels and annotations of obj, or NULL when it has none; -1 when out of memory. */
static int copy_meta(const json_t *obj, json_t **out)
{
	const json_t *md = json_object_get(obj, "metadata");
	const json_t *lb = json_object_get(md, "labels"), *an = json_object_get(md, "annotations");
	*out = NULL;
	if (!lb && !an)
		return 0;
	json_t *m = json_object();
	if (!m || (lb && json_object_set_new(m, "labels", json_deep_copy(lb)) < 0) ||
	    (an && json_object_set_new(m, "annotations", json_deep_copy(an)) < 0)) {
		json_decref(m);
		return -1;
	}
	*out = m;
	return 0;
}

/* What the set keeps of obj (parsed into rec, rv already); NULL when out of memory. */
static struct centry *centry_new(const json_t *obj, const char *name,
				 const struct leasefsm_record *rec, const char *rv)
{
	const char *sns, *sname;
	enum leaseio_kind kind = leaseio_classify(obj, &sns, &sname);
	size_t len = strlen(name) + strlen(rv) + strlen(rec->holder) + 3;
	if (kind == LEASEIO_SERVICE)
		len += strlen(sns) + strlen(sname) + 2;
	struct centry *e = calloc(1, sizeof(*e) + len);
	if (!e)
		return NULL;
	char *p = e->str;
	e->r.name = put_str(&p, name);
	e->r.rv = put_str(&p, rv);
	e->r.kind = kind;
	if (kind == LEASEIO_SERVICE) {
		e->r.svc_ns = put_str(&p, sns);
		e->r.svc_name = put_str(&p, sname);
	}
	leasefsm_brief_of(rec, &e->r.rec);
	e->r.rec.holder = put_str(&p, rec->holder);
	if (kind == LEASEIO_NONE && copy_meta(obj, &e->meta) < 0) {
		free(e);
		return NULL;
	}
	return e;
}

static int cgrow(struct lease_set *s)
{
	size_t n = s->cbuckets * 2;
	struct centry **tab = calloc(n, sizeof(struct centry *));
	if (!tab)
		return -1;
	for (size_t i = 0; i < s->cbuckets; i++) {
		struct centry *e = s->ctab[i], *next;
		for (; e; e = next) {
			next = e->hnext;
			size_t b = fnv_str(e->r.name) & (n - 1);
			e->hnext = tab[b];
			tab[b] = e;
		}
	}
	free(s->ctab);
	s->ctab = tab;
	s->cbuckets = n;
	return 0;
}

/* Puts e in place of the entry of the same name; returns the old one (the caller frees it). */
static struct centry *cput(struct lease_set *s, struct centry *e)
{
	struct centry **pp = cfind(s, e->r.name), *old = *pp;
	if (old) {
		e->hnext = old->hnext;
		*pp = e;
		return old;
	}
	if (s->cn + 1 > s->cbuckets && cgrow(s) == 0)
		pp = cfind(s, e->r.name);
	e->hnext = *pp;
	*pp = e;
	s->cn++;
	return NULL;
}

/* Takes the entry of `name` out of the table; NULL when there is none. */
static struct centry *ctake(struct lease_set *s, const char *name)
{
	struct centry **pp = cfind(s, name), *e = *pp;
	if (e) {
		*pp = e->hnext;
		s->cn--;
	}
	return e;
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

static void drive(struct lease *l);
static void release_progress(struct lease_set *s);

/* Feeds the machine what the set keeps of its Lease (NULL: absent). */
static void observe(struct lease *l, const struct lease_rec *r)
{
	if (leasefsm_observe_brief(l->fsm, r ? &r->rec : NULL, r ? r->rv : NULL, now_ms(l->s)) < 0)
		log_error(l->s->lg, "lease: out of memory, an update of the Lease was not seen",
			  "lease", l->name);
}

static void qswap(struct lease_set *s, size_t a, size_t b)
{
	struct lease *t = s->queue[a];
	s->queue[a] = s->queue[b];
	s->queue[b] = t;
	s->queue[a]->qidx = (uint32_t)a;
	s->queue[b]->qidx = (uint32_t)b;
}

static void qup(struct lease_set *s, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (s->queue[p]->wake_ms <= s->queue[i]->wake_ms)
			return;
		qswap(s, p, i);
		i = p;
	}
}

static void qdown(struct lease_set *s, size_t i)
{
	for (;;) {
		size_t c = 2 * i + 1, m = i;
		if (c < s->qn && s->queue[c]->wake_ms < s->queue[m]->wake_ms)
			m = c;
		if (c + 1 < s->qn && s->queue[c + 1]->wake_ms < s->queue[m]->wake_ms)
			m = c + 1;
		if (m == i)
			return;
		qswap(s, i, m);
		i = m;
	}
}

static void unqueue(struct lease *l)
{
	struct lease_set *s = l->s;
	size_t i = l->qidx;
	if (l->qidx == NOT_QUEUED)
		return;
	l->qidx = NOT_QUEUED;
	s->qn--;
	if (i < s->qn) {
		struct lease *m = s->queue[s->qn];
		s->queue[i] = m;
		m->qidx = (uint32_t)i;
		qup(s, i);
		qdown(s, m->qidx);
	}
}

static void on_timer(struct loop_timer *t, void *arg);

/* The set's timer follows the earliest wake-up. */
static void arm(struct lease_set *s)
{
	if (s->in_timer)
		return; /* on_timer() arms once it is done */
	if (s->qn == 0) {
		loop_timer_stop(s->lp, &s->timer);
		return;
	}
	int64_t d = s->queue[0]->wake_ms - now_ms(s);
	loop_timer_start(s->lp, &s->timer, d > 0 ? (uint64_t)d : 0, 0, on_timer, s);
}

/* Steps l again at wake_ms (LEASEFSM_NEVER: only on new input). */
static void wake_at(struct lease *l, int64_t wake_ms)
{
	struct lease_set *s = l->s;
	int first = s->qn == 0 || s->queue[0] == l;
	if (wake_ms == LEASEFSM_NEVER) {
		unqueue(l);
	} else {
		l->wake_ms = wake_ms;
		if (l->qidx == NOT_QUEUED) {
			l->qidx = (uint32_t)s->qn;
			s->queue[s->qn++] = l;
		}
		qup(s, l->qidx);
		qdown(s, l->qidx);
	}
	if (first || (s->qn > 0 && s->queue[0] == l))
		arm(s);
}

/* Steps every election whose time has come; one that asks for a time still ahead waits for
 * the next round (at most as many as were queued, so a round always ends). */
static void on_timer(struct loop_timer *t, void *arg)
{
	struct lease_set *s = arg;
	(void)t;
	s->in_timer = 1;
	for (size_t budget = s->qn; budget > 0 && s->qn > 0; budget--) {
		struct lease *l = s->queue[0];
		if (l->wake_ms > now_ms(s))
			break;
		unqueue(l);
		drive(l);
	}
	s->in_timer = 0;
	arm(s);
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
		s->write_errors++;
		/* A tagged election's owner logs what matters about its object itself. */
		if (l->kind == LEASEIO_NONE)
			log_info(s->lg, "lease write failed", "lease", l->name, "result",
				 leasefsm_write_result_str(r), "error",
				 kube_error_str(err, buf, sizeof(buf)));
		else
			log_debug(s->lg, "lease write failed", "lease", l->name, "result",
				  leasefsm_write_result_str(r), "error",
				  kube_error_str(err, buf, sizeof(buf)));
	}
	const json_t *rv = json_object_get(json_object_get(obj, "metadata"), "resourceVersion");
	leasefsm_write_done(l->fsm, r, json_is_string(rv) ? json_string_value(rv) : NULL,
			    now_ms(s));
	drive(l);
	if (l->cb->written)
		l->cb->written(l, l->arg);
	release_progress(s);
}

/* Copies member key of the kept metadata, when there is one. */
static int keep_member(json_t *to_md, const json_t *meta, const char *key)
{
	const json_t *v = json_object_get(meta, key);
	if (!v)
		return 0;
	return json_object_set_new(to_md, key, json_deep_copy(v));
}

/* Builds the Lease to write with the one codec. An untagged election keeps the labels and
 * annotations someone else put on its Lease: an update replaces the whole object. */
static json_t *lease_body(struct lease *l, const struct leasefsm_out *out, int with_rv)
{
	struct lease_set *s = l->s;
	json_t *o = leaseio_build(s->ns, l->name, l->kind, svc_ns(l), svc_name(l), &out->rec,
				  with_rv ? out->rv : NULL);
	if (!o || l->kind != LEASEIO_NONE)
		return o;
	const struct centry *e = *cfind(s, l->name);
	const json_t *meta = e ? e->meta : NULL;
	json_t *md = json_object_get(o, "metadata");
	if (meta &&
	    (keep_member(md, meta, "labels") < 0 || keep_member(md, meta, "annotations") < 0)) {
		json_decref(o);
		return NULL;
	}
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
	struct kube_client *kc = l->kc ? l->kc : s->wkc ? s->wkc : s->kc;
	if (body) {
		if (a == LEASEFSM_CREATE)
			l->write = kube_client_create(kc, &lease_res, s->ns, body, write_done, l);
		else
			l->write = kube_client_update(kc, &lease_res, s->ns, l->name, body,
						      write_done, l);
		json_decref(body);
	}
	s->writes++;
	if (!l->write) {
		s->write_errors++;
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
			wake_at(l, out.wake_ms);
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
			if (l->kind == LEASEIO_NONE)
				log_info(s->lg, "lease acquired", "lease", l->name);
			if (l->cb->started_leading)
				l->cb->started_leading(l, l->arg);
			break;
		case LEASEFSM_STOPPED_LEADING:
			if (l->kind == LEASEIO_NONE)
				log_info(s->lg, "lease lost", "lease", l->name, "reason",
					 leasefsm_stop_reason_str(leasefsm_stop_reason(l->fsm)));
			if (l->cb->stopped_leading)
				l->cb->stopped_leading(l, leasefsm_stop_reason(l->fsm), l->arg);
			break;
		case LEASEFSM_NEW_LEADER:
			if (l->cb->new_leader)
				l->cb->new_leader(l, leasefsm_leader(l->fsm), l->arg);
			break;
		}
	}
	/* the machine kept answering without waiting: look again soon rather than spin */
	log_error(s->lg, "lease: state machine did not settle", "lease", l->name);
	wake_at(l, now_ms(s) + 10);
	l->in_drive = 0;
}

/* One Lease seen (deleted: gone): the set keeps it, its election, if any, acts first, then the
 * observer. */
static void on_obj(const json_t *obj, int deleted, struct lease_set *s)
{
	struct leasefsm_record rec;
	char rv[LEASEFSM_RV_MAX];
	const char *name =
		json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	struct centry *e, *old = NULL;

	if (!name || leaseio_parse(obj, &rec, rv, sizeof(rv)) < 0) {
		log_warn(s->lg, "ignoring a malformed Lease", "lease", name);
		return;
	}
	if (deleted) {
		/* Its last known state: the informer may hand over only its name. */
		e = ctake(s, name);
		if (!e)
			e = centry_new(obj, name, &rec, rv);
	} else {
		e = centry_new(obj, name, &rec, rv);
		if (e)
			old = cput(s, e);
	}
	if (!e) {
		log_error(s->lg, "lease set: out of memory, a Lease change was not seen", "lease",
			  name);
		return;
	}
	struct lease *l = find(s, name);
	if (l) {
		observe(l, deleted ? NULL : &e->r);
		drive(l);
	}
	if (s->obs.seen)
		s->obs.seen(&e->r, deleted, s->obs.arg);
	/* Freed only now: handlers may have held the old entry's strings. */
	centry_free(old);
	if (deleted)
		centry_free(e);
	release_progress(s);
}

static void on_add(const json_t *obj, void *arg)
{
	on_obj(obj, 0, arg);
}

static void on_update(const json_t *old, const json_t *obj, void *arg)
{
	(void)old;
	on_obj(obj, 0, arg);
}

static void on_delete(const json_t *obj, void *arg)
{
	on_obj(obj, 1, arg);
}

/* After the first list, every election whose Lease does not exist learns that it is absent. */
static void on_synced(void *arg)
{
	struct lease_set *s = arg;
	for (size_t i = 0; i < s->nbuckets; i++)
		for (struct lease *l = s->tab[i]; l; l = l->hnext)
			if (!*cfind(s, l->name)) {
				observe(l, NULL);
				drive(l);
			}
	if (s->obs.synced)
		s->obs.synced(s->obs.arg);
}

static void on_error(const struct kube_error *err, void *arg)
{
	struct lease_set *s = arg;
	if (s->obs.error)
		s->obs.error(err, s->obs.arg);
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
	s->hold_off = INT64_MIN;
	s->ns = strdup(ns);
	s->tab = calloc(s->nbuckets, sizeof(struct lease *));
	s->cbuckets = 64;
	s->ctab = calloc(s->cbuckets, sizeof(struct centry *));
	struct informer_opts o = {
		.resource = &lease_res,
		.ns = ns,
		.label_selector = label_selector,
		.on_add = on_add,
		.on_update = on_update,
		.on_delete = on_delete,
		.on_synced = on_synced,
		.on_error = on_error,
		.arg = s,
		/* The set keeps its own struct lease_rec per Lease: no second copy, as JSON. */
		.keys_only = 1,
	};
	if (s->ns && s->tab && s->ctab)
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
			kube_request_cancel(l->write);
			leasefsm_free(l->fsm);
			free(l->svc);
			free(l);
		}
	}
	for (size_t i = 0; s->ctab && i < s->cbuckets; i++) {
		struct centry *e = s->ctab[i], *next;
		for (; e; e = next) {
			next = e->hnext;
			centry_free(e);
		}
	}
	while (s->cfgs) {
		struct shared_cfg *next = s->cfgs->next;
		free(s->cfgs);
		s->cfgs = next;
	}
	while (s->cbs) {
		struct shared_cb *next = s->cbs->next;
		free(s->cbs);
		s->cbs = next;
	}
	loop_timer_stop(s->lp, &s->timer);
	free(s->queue);
	informer_free(s->inf);
	free(s->ctab);
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

void lease_set_observe(struct lease_set *s, const struct lease_set_observer *o)
{
	s->obs = *o;
}

void lease_set_write_client(struct lease_set *s, struct kube_client *kc)
{
	s->wkc = kc;
}

void lease_set_hold_off(struct lease_set *s, int64_t until_ms)
{
	s->hold_off = until_ms;
	for (size_t i = 0; i < s->nbuckets; i++)
		for (struct lease *l = s->tab[i]; l; l = l->hnext) {
			leasefsm_hold_off(l->fsm, until_ms);
			drive(l);
		}
}

const struct lease_rec *lease_set_get(const struct lease_set *s, const char *name)
{
	const struct centry *e = *cfind(s, name);
	return e ? &e->r : NULL;
}

void lease_set_foreach(const struct lease_set *s, void (*fn)(const struct lease_rec *r, void *arg),
		       void *arg)
{
	for (size_t i = 0; i < s->cbuckets; i++)
		for (const struct centry *e = s->ctab[i]; e; e = e->hnext)
			fn(&e->r, arg);
}

const struct informer *lease_set_informer(const struct lease_set *s)
{
	return s->inf;
}

struct kube_request *lease_set_delete(struct lease_set *s, const char *name, kube_done_cb done,
				      void *arg)
{
	struct kube_request *r =
		kube_client_delete(s->wkc ? s->wkc : s->kc, &lease_res, s->ns, name, done, arg);
	s->writes++;
	if (!r) {
		s->write_errors++;
		log_warn(s->lg, "cannot queue a lease delete", "lease", name);
	}
	return r;
}

void lease_set_counts(const struct lease_set *s, uint64_t *writes, uint64_t *errors)
{
	*writes = s->writes;
	*errors = s->write_errors;
}

int lease_pending(const struct lease *l)
{
	return l->write || strcmp(leasefsm_holder(l->fsm), leasefsm_identity(l->fsm)) == 0;
}

/* The graceful stop goes on: `last` once the others are handed over, then done. */
static void release_progress(struct lease_set *s)
{
	if (!s->stop_done)
		return;
	if (!s->stop_last_released) {
		for (size_t i = 0; i < s->nbuckets; i++)
			for (struct lease *l = s->tab[i]; l; l = l->hnext)
				if (l != s->stop_last && lease_pending(l))
					return;
		s->stop_last_released = 1;
		if (s->stop_last)
			lease_release(s->stop_last);
	}
	if (s->stop_last && lease_pending(s->stop_last))
		return;
	void (*done)(void *) = s->stop_done;
	s->stop_done = NULL;
	done(s->stop_arg);
}

void lease_set_release_all(struct lease_set *s, struct lease *last, void (*done)(void *arg),
			   void *arg)
{
	s->stop_done = done;
	s->stop_arg = arg;
	s->stop_last = last;
	s->stop_last_released = 0;
	for (size_t i = 0; i < s->nbuckets; i++)
		for (struct lease *l = s->tab[i]; l; l = l->hnext)
			if (l != last)
				lease_release(l);
	release_progress(s);
}

/* Room in the wake-up queue for n elections. */
static int reserve_queue(struct lease_set *s, size_t n)
{
	if (n <= s->qcap)
		return 0;
	size_t cap = s->qcap ? s->qcap * 2 : 64;
	while (cap < n)
		cap *= 2;
	struct lease **q = realloc(s->queue, cap * sizeof(struct lease *));
	if (!q)
		return -1;
	s->queue = q;
	s->qcap = cap;
	return 0;
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
			size_t b = fnv_str(l->name) & (n - 1);
			l->hnext = tab[b];
			tab[b] = l;
		}
	}
	free(s->tab);
	s->tab = tab;
	s->nbuckets = n;
	return 0;
}

/* The set's copy of c (its elections borrow it); NULL when out of memory. */
static const struct leasefsm_config *share_cfg(struct lease_set *s, const struct leasefsm_config *c)
{
	for (struct shared_cfg *x = s->cfgs; x; x = x->next)
		if (x->c.lease_ms == c->lease_ms && x->c.renew_ms == c->renew_ms &&
		    x->c.retry_ms == c->retry_ms &&
		    x->c.renew_interval_ms == c->renew_interval_ms &&
		    strcmp(x->id, c->identity) == 0)
			return &x->c;
	size_t n = strlen(c->identity) + 1;
	struct shared_cfg *x = malloc(sizeof(*x) + n);
	if (!x)
		return NULL;
	memcpy(x->id, c->identity, n);
	x->c = *c;
	x->c.identity = x->id;
	x->next = s->cfgs;
	s->cfgs = x;
	return &x->c;
}

/* The set's copy of cb's functions (its arg is each election's own); NULL when out of memory. */
static const struct lease_callbacks *share_cb(struct lease_set *s, const struct lease_callbacks *cb)
{
	for (struct shared_cb *x = s->cbs; x; x = x->next)
		if (x->cb.started_leading == cb->started_leading &&
		    x->cb.stopped_leading == cb->stopped_leading &&
		    x->cb.new_leader == cb->new_leader && x->cb.written == cb->written)
			return &x->cb;
	struct shared_cb *x = malloc(sizeof(*x));
	if (!x)
		return NULL;
	x->cb = *cb;
	x->cb.arg = NULL;
	x->next = s->cbs;
	s->cbs = x;
	return &x->cb;
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
	if ((s->n + 1 > s->nbuckets && grow(s) < 0) || reserve_queue(s, s->n + 1) < 0) {
		snprintf(err, errcap, "lease %s/%s: out of memory", s->ns, name);
		return NULL;
	}
	const struct leasefsm_config *c = share_cfg(s, cfg);
	const struct lease_callbacks none = { 0 };
	const struct lease_callbacks *scb = share_cb(s, cb ? cb : &none);
	size_t len = strlen(name);
	struct lease *l = c && scb ? calloc(1, sizeof(*l) + len + 1) : NULL;
	if (!l || !(l->fsm = leasefsm_new(c))) {
		free(l);
		snprintf(err, errcap, "lease %s/%s: out of memory", s->ns, name);
		return NULL;
	}
	memcpy(l->name, name, len + 1);
	l->s = s;
	l->qidx = NOT_QUEUED;
	leasefsm_hold_off(l->fsm, s->hold_off);
	l->cb = scb;
	l->arg = cb ? cb->arg : NULL;
	size_t b = fnv_str(name) & (s->nbuckets - 1);
	l->hnext = s->tab[b];
	s->tab[b] = l;
	s->n++;
	if (informer_has_synced(s->inf)) {
		observe(l, lease_set_get(s, name));
		drive(l);
	}
	return l;
}

void lease_free(struct lease *l)
{
	if (!l)
		return;
	struct lease_set *s = l->s;
	struct lease **pp = &s->tab[fnv_str(l->name) & (s->nbuckets - 1)];
	while (*pp && *pp != l)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = l->hnext;
	s->n--;
	if (s->stop_last == l)
		s->stop_last = NULL;
	unqueue(l);
	arm(s);
	kube_request_cancel(l->write);
	leasefsm_free(l->fsm);
	free(l->svc);
	free(l);
}

int lease_tag(struct lease *l, enum leaseio_kind kind, const char *svc_ns, const char *svc_name)
{
	char *v = NULL;
	/* leaseio_build() writes the service labels only with both. */
	if (svc_ns && svc_name) {
		size_t a = strlen(svc_ns) + 1, b = strlen(svc_name) + 1;
		v = malloc(a + b);
		if (!v)
			return -1;
		memcpy(v, svc_ns, a);
		memcpy(v + a, svc_name, b);
	}
	free(l->svc);
	l->kind = (unsigned char)kind;
	l->svc = v;
	return 0;
}

void lease_use_client(struct lease *l, struct kube_client *kc)
{
	l->kc = kc;
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

const char *lease_leader(const struct lease *l)
{
	return leasefsm_leader(l->fsm);
}

enum leasefsm_stop_reason lease_stop_reason(const struct lease *l)
{
	return leasefsm_stop_reason(l->fsm);
}

int64_t lease_free_since(const struct lease *l)
{
	return leasefsm_free_since(l->fsm);
}

int lease_held_by_other(const struct lease *l)
{
	return leasefsm_held_by_other(l->fsm, now_ms(l->s));
}

int lease_observed(const struct lease *l, struct leasefsm_record *rec)
{
	return leasefsm_observed(l->fsm, rec);
}

int lease_write_pending(const struct lease *l)
{
	return l->write != NULL;
}
