/* fakes/kube_client: kube/client.h against an in-memory API server of one namespace (tests). */
#include "test/fakes/kube_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Every client shares one server: a JSON object of name -> object, one resourceVersion counter,
 * the watches open on it. Answers and watch events are queued and delivered from a 0 ms loop
 * timer, never from inside the call, as the real client does. Creates, updates and deletes are
 * checked as the API server checks them (AlreadyExists, NotFound, resourceVersion Conflict).
 */

struct kube_client {
	struct loop *lp;
	int id;
};

enum req_kind { REQ_DONE, REQ_WATCH };

struct kube_request {
	struct kube_request *next; /* in the server's queue or watch list */
	long from_rv;		   /* REQ_WATCH: only changes after this resourceVersion */
	struct kube_client *c;
	enum req_kind kind;
	kube_done_cb cb;
	kube_event_cb ev;
	void *arg;
	/* REQ_DONE: the answer to deliver. */
	struct kube_error err;
	json_t *obj;
};

/* A watch event waiting to be delivered. */
struct pending_ev {
	struct pending_ev *next;
	enum watch_type type;
	json_t *obj;
};

static struct {
	struct loop *lp;
	json_t *store;
	long rv;
	struct kube_request *queue, *watches;
	struct pending_ev *evs;
	struct loop_timer timer;
	struct fake_kube_write log[FAKE_KUBE_LOG_MAX];
	size_t nlog;
	long fail_code;
} srv;

static void deliver(struct loop_timer *t, void *arg);

static void kick(void)
{
	if (srv.lp && !loop_timer_active(&srv.timer))
		loop_timer_start(srv.lp, &srv.timer, 0, 0, deliver, NULL);
}

void fake_kube_reset(struct loop *lp)
{
	if (srv.lp)
		loop_timer_stop(srv.lp, &srv.timer);
	json_decref(srv.store);
	while (srv.queue) {
		struct kube_request *r = srv.queue;
		srv.queue = r->next;
		json_decref(r->obj);
		free(r);
	}
	while (srv.watches) {
		struct kube_request *r = srv.watches;
		srv.watches = r->next;
		free(r);
	}
	while (srv.evs) {
		struct pending_ev *e = srv.evs;
		srv.evs = e->next;
		json_decref(e->obj);
		free(e);
	}
	memset(&srv, 0, sizeof(srv));
	srv.lp = lp;
	srv.store = lp ? json_object() : NULL;
	srv.rv = 100;
}

struct kube_client *fake_kube_client_new(struct loop *lp, int id)
{
	struct kube_client *c = calloc(1, sizeof(*c));
	if (c) {
		c->lp = lp;
		c->id = id;
	}
	return c;
}

void fake_kube_client_free(struct kube_client *c)
{
	free(c);
}

void fake_kube_fail_writes(long code)
{
	srv.fail_code = code;
}

size_t fake_kube_writes(const struct fake_kube_write **out)
{
	*out = srv.log;
	return srv.nlog;
}

const json_t *fake_kube_get(const char *name)
{
	return json_object_get(srv.store, name);
}

static void push_event(enum watch_type type, const json_t *obj)
{
	struct pending_ev *e = calloc(1, sizeof(*e)), **pp = &srv.evs;
	if (!e)
		abort();
	e->type = type;
	e->obj = json_deep_copy(obj);
	while (*pp)
		pp = &(*pp)->next;
	*pp = e;
	kick();
}

/* Stores obj as the server would (a new resourceVersion) and tells the watches. */
static json_t *store_put(const char *name, const json_t *obj, enum watch_type type)
{
	json_t *o = json_deep_copy(obj);
	json_t *md = json_object_get(o, "metadata");
	char rv[32];
	snprintf(rv, sizeof(rv), "%ld", ++srv.rv);
	json_object_set_new(md, "resourceVersion", json_string(rv));
	json_object_set(srv.store, name, o);
	push_event(type, o);
	return o;
}

int fake_kube_put(const json_t *obj)
{
	const char *name =
		json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	if (!name)
		return -1;
	int had = json_object_get(srv.store, name) != NULL;
	json_decref(store_put(name, obj, had ? WATCH_MODIFIED : WATCH_ADDED));
	return 0;
}

static struct kube_request *answer(struct kube_client *c, kube_done_cb cb, void *arg, long code,
				   const char *reason, json_t *obj_owned)
{
	struct kube_request *r = calloc(1, sizeof(*r)), **pp = &srv.queue;
	if (!r)
		abort();
	r->c = c;
	r->kind = REQ_DONE;
	r->cb = cb;
	r->arg = arg;
	r->obj = obj_owned;
	if (code >= 200 && code < 300) {
		r->err.status = KUBE_OK;
	} else {
		r->err.status = KUBE_ERR_HTTP;
		snprintf(r->err.reason, sizeof(r->err.reason), "%s", reason);
		json_decref(r->obj);
		r->obj = NULL;
	}
	r->err.code = code;
	while (*pp)
		pp = &(*pp)->next;
	*pp = r;
	kick();
	return r;
}

static void log_write(struct kube_client *c, const char *verb, const char *name, const json_t *obj)
{
	if (srv.nlog == FAKE_KUBE_LOG_MAX)
		return;
	struct fake_kube_write *w = &srv.log[srv.nlog++];
	memset(w, 0, sizeof(*w));
	w->client = c ? c->id : -1;
	snprintf(w->verb, sizeof(w->verb), "%s", verb);
	snprintf(w->name, sizeof(w->name), "%s", name ? name : "");
	const char *h =
		json_string_value(json_object_get(json_object_get(obj, "spec"), "holderIdentity"));
	snprintf(w->holder, sizeof(w->holder), "%s", h ? h : "");
}

static int unlink_from(struct kube_request **pp, struct kube_request *req)
{
	for (; *pp; pp = &(*pp)->next)
		if (*pp == req) {
			*pp = req->next;
			return 1;
		}
	return 0;
}

static void deliver(struct loop_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	/* Events first: a write's answer never overtakes what the watch saw before it. */
	while (srv.evs) {
		struct pending_ev *e = srv.evs;
		srv.evs = e->next;
		const char *rv = json_string_value(
			json_object_get(json_object_get(e->obj, "metadata"), "resourceVersion"));
		struct watch_event ev = { .type = e->type,
					  .object = e->obj,
					  .resource_version = rv };
		long erv = rv ? atol(rv) : 0;
		for (struct kube_request *w = srv.watches, *next; w; w = next) {
			next = w->next;
			if (erv <= w->from_rv)
				continue; /* the list it started from has it already */
			if (w->ev(&ev, w->arg) != 0 && unlink_from(&srv.watches, w))
				free(w); /* stopped by its owner: the request is gone */
		}
		json_decref(e->obj);
		free(e);
	}
	while (srv.queue) {
		struct kube_request *r = srv.queue;
		srv.queue = r->next;
		r->cb(&r->err, r->obj, r->arg);
		json_decref(r->obj);
		free(r);
	}
}

struct kube_client *kube_client_new(struct loop *lp, struct log *lg, struct kube_config *cfg,
				    const struct kube_client_opts *opts)
{
	(void)lg;
	(void)cfg;
	(void)opts;
	return fake_kube_client_new(lp, 0);
}

void kube_client_free(struct kube_client *c)
{
	fake_kube_client_free(c);
}

unsigned kube_client_inflight(const struct kube_client *c)
{
	unsigned n = 0;
	for (struct kube_request *r = srv.queue; r; r = r->next)
		n += r->c == c;
	return n;
}

void kube_client_set_observer(struct kube_client *c, kube_request_observer fn, void *arg)
{
	(void)c;
	(void)fn;
	(void)arg;
}

void kube_request_cancel(struct kube_request *req)
{
	if (!req)
		return;
	if (unlink_from(&srv.queue, req) || unlink_from(&srv.watches, req)) {
		json_decref(req->obj);
		free(req);
	}
}

struct kube_request *kube_client_get(struct kube_client *c, const struct kube_resource *r,
				     const char *ns, const char *name, kube_done_cb cb, void *arg)
{
	(void)r;
	(void)ns;
	const json_t *o = json_object_get(srv.store, name);
	return answer(c, cb, arg, o ? 200 : 404, "NotFound", o ? json_deep_copy(o) : NULL);
}

struct kube_request *kube_client_get_path(struct kube_client *c, const char *path, kube_done_cb cb,
					  void *arg)
{
	(void)path;
	return answer(c, cb, arg, 404, "NotFound", NULL);
}

struct kube_request *kube_client_list(struct kube_client *c, const struct kube_resource *r,
				      const char *ns, const struct kube_list_opts *o,
				      kube_done_cb cb, void *arg)
{
	(void)r;
	(void)ns;
	json_t *items = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(srv.store, k, v)
	{
		/* As the real client: the answer carries what the transform kept. */
		json_t *t = o && o->transform ? o->transform(v, o->transform_arg) : NULL;
		json_array_append_new(items, t ? t : json_incref(v));
	}
	char rv[32];
	snprintf(rv, sizeof(rv), "%ld", srv.rv);
	return answer(
		c, cb, arg, 200, "",
		json_pack("{s:{s:s}, s:o}", "metadata", "resourceVersion", rv, "items", items));
}

struct kube_request *kube_client_watch(struct kube_client *c, const struct kube_resource *r,
				       const char *ns, const struct kube_watch_opts *o,
				       kube_event_cb ev_cb, kube_done_cb done, void *arg)
{
	(void)r;
	(void)ns;
	struct kube_request *w = calloc(1, sizeof(*w));
	if (!w)
		abort();
	w->c = c;
	w->kind = REQ_WATCH;
	w->from_rv = o && o->resource_version ? atol(o->resource_version) : srv.rv;
	w->ev = ev_cb;
	w->cb = done;
	w->arg = arg;
	w->next = srv.watches;
	srv.watches = w;
	return w;
}

struct kube_request *kube_client_create(struct kube_client *c, const struct kube_resource *r,
					const char *ns, const json_t *obj, kube_done_cb cb,
					void *arg)
{
	(void)r;
	(void)ns;
	const char *name =
		json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	log_write(c, "create", name, obj);
	if (srv.fail_code)
		return answer(c, cb, arg, srv.fail_code, "Injected", NULL);
	if (!name || json_object_get(srv.store, name))
		return answer(c, cb, arg, 409, "AlreadyExists", NULL);
	return answer(c, cb, arg, 201, "", store_put(name, obj, WATCH_ADDED));
}

struct kube_request *kube_client_update(struct kube_client *c, const struct kube_resource *r,
					const char *ns, const char *name, const json_t *obj,
					kube_done_cb cb, void *arg)
{
	(void)r;
	(void)ns;
	log_write(c, "update", name, obj);
	if (srv.fail_code)
		return answer(c, cb, arg, srv.fail_code, "Injected", NULL);
	const json_t *cur = json_object_get(srv.store, name);
	if (!cur)
		return answer(c, cb, arg, 404, "NotFound", NULL);
	const char *want = json_string_value(
		json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
	const char *have = json_string_value(
		json_object_get(json_object_get(cur, "metadata"), "resourceVersion"));
	if (want && have && strcmp(want, have) != 0)
		return answer(c, cb, arg, 409, "Conflict", NULL);
	return answer(c, cb, arg, 200, "", store_put(name, obj, WATCH_MODIFIED));
}

struct kube_request *kube_client_update_status(struct kube_client *c, const struct kube_resource *r,
					       const char *ns, const char *name, const json_t *obj,
					       kube_done_cb cb, void *arg)
{
	return kube_client_update(c, r, ns, name, obj, cb, arg);
}

struct kube_request *kube_client_patch(struct kube_client *c, const struct kube_resource *r,
				       const char *ns, const char *name, const char *sub,
				       const json_t *patch, kube_done_cb cb, void *arg)
{
	(void)r;
	(void)ns;
	(void)sub;
	(void)patch;
	log_write(c, "patch", name, NULL);
	return answer(c, cb, arg, 404, "NotFound", NULL);
}

struct kube_request *kube_client_delete(struct kube_client *c, const struct kube_resource *r,
					const char *ns, const char *name, kube_done_cb cb,
					void *arg)
{
	(void)r;
	(void)ns;
	log_write(c, "delete", name, NULL);
	if (srv.fail_code)
		return answer(c, cb, arg, srv.fail_code, "Injected", NULL);
	json_t *cur = json_object_get(srv.store, name);
	if (!cur)
		return answer(c, cb, arg, 404, "NotFound", NULL);
	/* The deletion is a change too: it gets the next resourceVersion. */
	json_t *gone = json_deep_copy(cur);
	char rv[32];
	snprintf(rv, sizeof(rv), "%ld", ++srv.rv);
	json_object_set_new(json_object_get(gone, "metadata"), "resourceVersion", json_string(rv));
	json_object_del(srv.store, name);
	push_event(WATCH_DELETED, gone);
	return answer(c, cb, arg, 200, "", gone);
}
