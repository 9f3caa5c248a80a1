/* kube/informer: list-then-watch cache of one resource. */
#include "kube/informer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/prune.h"
#include "kube/ratelimit.h"
#include "kube/rvmap.h"

struct informer {
	struct loop *lp;
	struct log *lg;
	struct kube_client *kc;
	struct informer_opts o;
	char *ns, *lsel, *fsel;
	/* key -> object, or with keys_only (cache NULL) key -> resourceVersion */
	json_t *cache;
	struct rvmap *keys;
	char rv[64];
	int synced;
	int started;
	struct kube_request *req; /* the list or watch in flight */
	struct loop_timer retry;
	struct backoff bo;
	uint32_t rand;
	uint64_t watch_events; /* events on the current watch */
	struct informer_stats st;
};

int informer_key(const json_t *obj, char *buf, size_t cap)
{
	const json_t *md = json_object_get(obj, "metadata");
	const json_t *ns = json_object_get(md, "namespace");
	const json_t *name = json_object_get(md, "name");
	if (!json_is_string(name) || json_string_length(name) == 0)
		return -1;
	int n;
	if (json_is_string(ns) && json_string_length(ns) > 0)
		n = snprintf(buf, cap, "%s/%s", json_string_value(ns), json_string_value(name));
	else
		n = snprintf(buf, cap, "%s", json_string_value(name));
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

static const char *obj_rv(const json_t *obj)
{
	const json_t *rv = json_object_get(json_object_get(obj, "metadata"), "resourceVersion");
	return json_is_string(rv) ? json_string_value(rv) : "";
}

static char *dup_opt(const char *s)
{
	return s ? strdup(s) : NULL;
}

struct informer *informer_new(struct loop *lp, struct log *lg, struct kube_client *kc,
			      const struct informer_opts *o)
{
	struct informer *inf = calloc(1, sizeof(*inf));
	if (!inf) {
		log_error(lg, "informer: out of memory", "resource", o->resource->plural);
		return NULL;
	}
	inf->lp = lp;
	inf->lg = lg;
	inf->kc = kc;
	inf->o = *o;
	inf->ns = dup_opt(o->ns);
	inf->lsel = dup_opt(o->label_selector);
	inf->fsel = dup_opt(o->field_selector);
	if (o->keys_only)
		inf->keys = rvmap_new();
	else
		inf->cache = json_object();
	if ((o->ns && !inf->ns) || (o->label_selector && !inf->lsel) ||
	    (o->field_selector && !inf->fsel) || (!inf->cache && !inf->keys)) {
		informer_free(inf);
		log_error(lg, "informer: out of memory", "resource", o->resource->plural);
		return NULL;
	}
	inf->o.ns = inf->ns;
	inf->o.label_selector = inf->lsel;
	inf->o.field_selector = inf->fsel;
	backoff_init(&inf->bo, o->backoff_base_ms ? o->backoff_base_ms : 500,
		     o->backoff_max_ms ? o->backoff_max_ms : 30000);
	inf->rand = (uint32_t)(uintptr_t)inf ^ (uint32_t)loop_now_ns(lp) ^ 0x2545f491u;
	return inf;
}

void informer_free(struct informer *inf)
{
	if (!inf)
		return;
	kube_request_cancel(inf->req);
	loop_timer_stop(inf->lp, &inf->retry);
	json_decref(inf->cache);
	rvmap_free(inf->keys);
	free(inf->ns);
	free(inf->lsel);
	free(inf->fsel);
	free(inf);
}

int informer_has_synced(const struct informer *inf)
{
	return inf->synced;
}

const json_t *informer_get(const struct informer *inf, const char *ns, const char *name)
{
	char key[512];
	if (inf->keys != NULL)
		return NULL;
	int n = ns && *ns ? snprintf(key, sizeof(key), "%s/%s", ns, name)
			  : snprintf(key, sizeof(key), "%s", name);
	if (n < 0 || (size_t)n >= sizeof(key))
		return NULL;
	return json_object_get(inf->cache, key);
}

size_t informer_count(const struct informer *inf)
{
	return inf->keys != NULL ? rvmap_count(inf->keys) : json_object_size(inf->cache);
}

void informer_foreach(const struct informer *inf, void (*fn)(const json_t *obj, void *arg),
		      void *arg)
{
	const char *key;
	json_t *v;
	if (inf->keys != NULL)
		return;
	json_object_foreach(inf->cache, key, v)
	{
		fn(v, arg);
	}
}

const char *informer_resource_version(const struct informer *inf)
{
	return inf->rv;
}

void informer_get_stats(const struct informer *inf, struct informer_stats *out)
{
	*out = inf->st;
}

static void set_rv(struct informer *inf, const char *rv)
{
	if (rv && *rv)
		snprintf(inf->rv, sizeof(inf->rv), "%s", rv);
}

static void do_list(struct informer *inf);
static void do_watch(struct informer *inf);

static void on_retry_list(struct loop_timer *t, void *arg)
{
	(void)t;
	do_list(arg);
}

static void on_retry_watch(struct loop_timer *t, void *arg)
{
	(void)t;
	do_watch(arg);
}

static void later(struct informer *inf, loop_timer_cb cb, int fail)
{
	uint64_t ms = fail ? backoff_next(&inf->bo, ratelimit_rand(&inf->rand)) : 0;
	if (loop_timer_start(inf->lp, &inf->retry, ms, 0, cb, inf) < 0)
		log_error(inf->lg, "informer: cannot arm a timer", "resource",
			  inf->o.resource->plural);
}

/* What to cache of obj: a new reference (the whole object when there is no transform). */
static json_t *kept(struct informer *inf, const json_t *obj)
{
	json_t *k = inf->o.transform ? inf->o.transform(obj, inf->o.transform_arg) : NULL;
	return k != NULL ? k : json_incref((json_t *)obj);
}

/* keys_only: records obj's resourceVersion under key, then calls add or update with obj. */
static void upsert_key(struct informer *inf, const char *key, json_t *obj, int listed)
{
	const char *old = rvmap_get(inf->keys, key);
	if (old && strcmp(old, obj_rv(obj)) == 0 && *obj_rv(obj))
		return; /* already delivered */
	int had = old != NULL;
	json_t *k = listed ? json_incref(obj) : kept(inf, obj);
	if (rvmap_set(inf->keys, key, obj_rv(k)) < 0) {
		log_error(inf->lg, "informer: out of memory caching an object", "object", key);
		json_decref(k);
		return;
	}
	if (had && inf->o.on_update)
		inf->o.on_update(NULL, k, inf->o.arg);
	else if (!had && inf->o.on_add)
		inf->o.on_add(k, inf->o.arg);
	json_decref(k);
}

/* Stores what to keep of obj (already kept from a list) under its key; calls add or update. */
static void upsert(struct informer *inf, const char *key, json_t *obj, int listed)
{
	if (inf->keys != NULL) {
		upsert_key(inf, key, obj, listed);
		return;
	}
	json_t *old = json_object_get(inf->cache, key);
	if (old && strcmp(obj_rv(old), obj_rv(obj)) == 0 && *obj_rv(obj))
		return; /* already delivered */
	json_t *k = listed ? json_incref(obj) : kept(inf, obj);
	int quiet = old && inf->o.transform && inf->o.skip_same && kube_same_but_version(old, k);
	json_incref(old);
	if (json_object_set_new(inf->cache, key, k) < 0) {
		json_decref(old);
		log_error(inf->lg, "informer: out of memory caching an object", "object", key);
		return;
	}
	if (quiet) {
		inf->st.skipped_same++;
		json_decref(old);
		return;
	}
	k = json_object_get(inf->cache, key);
	if (old) {
		if (inf->o.on_update)
			inf->o.on_update(old, k, inf->o.arg);
		json_decref(old);
	} else if (inf->o.on_add) {
		inf->o.on_add(k, inf->o.arg);
	}
}

/* keys_only: drops key and reports final or, from a re-list, its name and last version. */
static void remove_key_only(struct informer *inf, const char *key, const json_t *final)
{
	const char *rv = rvmap_get(inf->keys, key);
	if (!rv)
		return;
	json_t *k;
	if (final) {
		k = kept(inf, final);
	} else {
		const char *slash = inf->o.resource->namespaced ? strchr(key, '/') : NULL;
		k = slash != NULL ? json_pack("{s:{s:s%, s:s, s:s}}", "metadata", "namespace", key,
					      (size_t)(slash - key), "name", slash + 1,
					      "resourceVersion", rv)
				  : json_pack("{s:{s:s, s:s}}", "metadata", "name", key,
					      "resourceVersion", rv);
	}
	rvmap_del(inf->keys, key);
	if (k == NULL) {
		log_error(inf->lg, "informer: out of memory reporting a delete", "object", key);
		return;
	}
	if (inf->o.on_delete)
		inf->o.on_delete(k, inf->o.arg);
	json_decref(k);
}

/* Drops key and reports final (the DELETED event's object) or, from a re-list, the last state. */
static void remove_key(struct informer *inf, const char *key, const json_t *final)
{
	if (inf->keys != NULL) {
		remove_key_only(inf, key, final);
		return;
	}
	json_t *old = json_object_get(inf->cache, key);
	if (!old)
		return;
	json_incref(old);
	json_object_del(inf->cache, key);
	json_t *k = final ? kept(inf, final) : NULL;
	if (inf->o.on_delete)
		inf->o.on_delete(k ? k : old, inf->o.arg);
	json_decref(k);
	json_decref(old);
}

struct unseen {
	struct informer *inf;
	const json_t *seen;
};

/* A key the re-list did not return: deleted while nobody watched. */
static void drop_unseen(const char *key, const char *rv, void *arg)
{
	struct unseen *u = arg;
	char buf[512];

	(void)rv;
	if (json_object_get(u->seen, key) == NULL) {
		snprintf(buf, sizeof(buf), "%s", key);
		remove_key(u->inf, buf, NULL);
	}
}

static void list_done(const struct kube_error *err, json_t *list, void *arg)
{
	struct informer *inf = arg;
	inf->req = NULL;
	if (err->status != KUBE_OK) {
		char buf[700];
		inf->st.list_errors++;
		log_warn(inf->lg, "informer: list failed, retrying", "resource",
			 inf->o.resource->plural, "error", kube_error_str(err, buf, sizeof(buf)));
		if (inf->o.on_error)
			inf->o.on_error(err, inf->o.arg);
		later(inf, on_retry_list, 1);
		return;
	}
	backoff_reset(&inf->bo);
	json_t *items = json_object_get(list, "items");
	json_t *seen = json_object();
	if (!seen) {
		log_error(inf->lg, "informer: out of memory", "resource", inf->o.resource->plural);
		later(inf, on_retry_list, 1);
		return;
	}
	size_t i;
	json_t *obj;
	char key[512];
	json_array_foreach(items, i, obj)
	{
		if (informer_key(obj, key, sizeof(key)) < 0) {
			log_warn(inf->lg, "informer: object without a name skipped", "resource",
				 inf->o.resource->plural);
			continue;
		}
		json_object_set(seen, key, json_true());
		upsert(inf, key, obj, 1);
	}
	/* What the cache holds and the list did not: deleted while we were not watching. */
	const char *k;
	json_t *v;
	void *tmp;
	struct unseen u = { inf, seen };
	if (inf->keys != NULL) {
		rvmap_foreach(inf->keys, drop_unseen, &u);
	} else {
		json_object_foreach_safe(inf->cache, tmp, k, v)
		{
			drop_unseen(k, NULL, &u);
		}
	}
	json_decref(seen);
	set_rv(inf, json_string_value(
			    json_object_get(json_object_get(list, "metadata"), "resourceVersion")));
	if (!inf->synced) {
		inf->synced = 1;
		if (inf->o.on_synced)
			inf->o.on_synced(inf->o.arg);
	}
	do_watch(inf);
}

static void do_list(struct informer *inf)
{
	struct kube_list_opts lo = {
		.label_selector = inf->o.label_selector,
		.field_selector = inf->o.field_selector,
		.limit = inf->o.page_size,
		.transform = inf->o.transform,
		.transform_arg = inf->o.transform_arg,
	};
	inf->st.lists++;
	inf->req = kube_client_list(inf->kc, inf->o.resource, inf->o.ns, &lo, list_done, inf);
	if (!inf->req)
		later(inf, on_retry_list, 1);
}

static int watch_ev(const struct watch_event *ev, void *arg)
{
	struct informer *inf = arg;
	char key[512];
	inf->st.events++;
	inf->watch_events++;
	switch (ev->type) {
	case WATCH_ADDED:
	case WATCH_MODIFIED:
		if (informer_key(ev->object, key, sizeof(key)) < 0)
			break;
		upsert(inf, key, ev->object, 0);
		set_rv(inf, ev->resource_version);
		break;
	case WATCH_DELETED:
		if (informer_key(ev->object, key, sizeof(key)) < 0)
			break;
		remove_key(inf, key, ev->object);
		set_rv(inf, ev->resource_version);
		break;
	case WATCH_BOOKMARK:
		inf->st.bookmarks++;
		set_rv(inf, ev->resource_version);
		break;
	case WATCH_ERROR: {
		char code[16];
		inf->st.watch_errors++;
		snprintf(code, sizeof(code), "%d", ev->status_code);
		inf->req = NULL; /* returning non-zero ends it */
		if (ev->gone) {
			inf->st.relists_gone++;
			log_info(inf->lg, "informer: resource version too old, re-listing",
				 "resource", inf->o.resource->plural, "rv", inf->rv, "message",
				 ev->status_message);
			later(inf, on_retry_list, 0);
		} else {
			log_warn(inf->lg, "informer: watch error event, re-listing", "resource",
				 inf->o.resource->plural, "code", code, "reason", ev->status_reason,
				 "message", ev->status_message);
			/* not a known state: start again from a list, after a pause */
			later(inf, on_retry_list, 1);
		}
		return 1;
	}
	}
	return 0;
}

static void watch_done(const struct kube_error *err, json_t *obj, void *arg)
{
	struct informer *inf = arg;
	(void)obj;
	inf->req = NULL;
	if (err->status == KUBE_OK) {
		/* The server ended the watch (timeout): resume from the last RV. */
		int quiet = inf->watch_events == 0;
		if (!quiet)
			backoff_reset(&inf->bo);
		later(inf, on_retry_watch, quiet);
		return;
	}
	char buf[700];
	inf->st.watch_errors++;
	if (inf->o.on_error)
		inf->o.on_error(err, inf->o.arg);
	if (err->status == KUBE_ERR_HTTP && err->code == 410) {
		inf->st.relists_gone++;
		log_info(inf->lg, "informer: resource version too old, re-listing", "resource",
			 inf->o.resource->plural, "rv", inf->rv);
		later(inf, on_retry_list, 0);
		return;
	}
	log_warn(inf->lg, "informer: watch failed, resuming", "resource", inf->o.resource->plural,
		 "error", kube_error_str(err, buf, sizeof(buf)));
	later(inf, on_retry_watch, 1);
}

static void do_watch(struct informer *inf)
{
	unsigned t = inf->o.watch_timeout_s ? inf->o.watch_timeout_s : 300;
	/* spread reconnects of many informers, as client-go does */
	unsigned spread = t / 10 ? ratelimit_rand(&inf->rand) % (t / 5 + 1) : 0;
	struct kube_watch_opts wo = {
		.resource_version = inf->rv,
		.label_selector = inf->o.label_selector,
		.field_selector = inf->o.field_selector,
		.timeout_s = t - t / 10 + spread,
		.bookmarks = 1,
	};
	inf->st.watches++;
	inf->watch_events = 0;
	inf->req = kube_client_watch(inf->kc, inf->o.resource, inf->o.ns, &wo, watch_ev, watch_done,
				     inf);
	if (!inf->req)
		later(inf, on_retry_watch, 1);
}

int informer_start(struct informer *inf)
{
	if (inf->started)
		return 0;
	inf->started = 1;
	do_list(inf);
	return inf->req ? 0 : -1;
}
