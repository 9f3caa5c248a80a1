/* kube/event: core/v1 Event recorder with aggregation and a per-object spam filter. */
#include "kube/event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/ratelimit.h"

#define CACHE_MAX  4096
#define SPAM_BURST 25
#define SPAM_QPS   (1.0 / 300)

static const struct kube_resource event_res = { "", "v1", "events", 1 };

/* One Event we wrote and may bump. */
struct entry {
	struct entry *prev, *next; /* oldest first */
	struct event_recorder *r;
	char *key;
	char *ns;
	char *name; /* the Event's metadata.name; NULL until created */
	/* The Event as first written, for re-creating it, as compact JSON text: up to 4096 of
	 * these live for hours, and a jansson tree costs three times the text. */
	char *event;
	long count;
	char last[32];
	struct kube_request *req;
	int dirty; /* bumped while a write was in flight */
};

/* Per involved object: the spam filter. */
struct spam {
	struct spam *next;
	struct ratelimit rl;
	char key[];
};

struct event_recorder {
	struct loop *lp;
	struct log *lg;
	struct kube_client *kc;
	char *component, *host;
	struct entry *head, *tail;
	size_t n;
	struct spam *spam;
	size_t nspam;
	size_t pending;
	unsigned long dropped;
	unsigned seq;
};

const char *event_type_str(enum event_type t)
{
	switch (t) {
	case EVENT_NORMAL:
		return "Normal";
	case EVENT_WARNING:
		return "Warning";
	}
	return "?";
}

const char *event_outcome_str(enum event_outcome o)
{
	switch (o) {
	case EVENT_CREATED:
		return "created";
	case EVENT_AGGREGATED:
		return "aggregated";
	case EVENT_RATE_LIMITED:
		return "rate_limited";
	case EVENT_BAD_OBJECT:
		return "bad_object";
	case EVENT_NO_MEMORY:
		return "no_memory";
	}
	return "?";
}

struct event_recorder *event_recorder_new(struct loop *lp, struct log *lg, struct kube_client *kc,
					  const char *component, const char *host)
{
	struct event_recorder *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->lp = lp;
	r->lg = lg;
	r->kc = kc;
	r->component = strdup(component);
	r->host = host ? strdup(host) : NULL;
	if (!r->component || (host && !r->host)) {
		event_recorder_free(r);
		return NULL;
	}
	return r;
}

static void entry_free(struct entry *e)
{
	struct event_recorder *r = e->r;
	if (e->prev)
		e->prev->next = e->next;
	else
		r->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		r->tail = e->prev;
	r->n--;
	if (e->req) {
		kube_request_cancel(e->req);
		r->pending--;
	}
	free(e->key);
	free(e->ns);
	free(e->name);
	free(e->event);
	free(e);
}

void event_recorder_free(struct event_recorder *r)
{
	if (!r)
		return;
	while (r->head)
		entry_free(r->head);
	struct spam *s = r->spam, *next;
	for (; s; s = next) {
		next = s->next;
		free(s);
	}
	free(r->component);
	free(r->host);
	free(r);
}

size_t event_recorder_pending(const struct event_recorder *r)
{
	return r->pending;
}

unsigned long event_recorder_dropped(const struct event_recorder *r)
{
	return r->dropped;
}

static const char *str(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void now_rfc3339(char *buf, size_t cap)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int spam_allow(struct event_recorder *r, const char *objkey)
{
	struct spam *s;
	for (s = r->spam; s; s = s->next)
		if (strcmp(s->key, objkey) == 0)
			break;
	if (!s && r->nspam >= CACHE_MAX) {
		/* bounded memory: forget every filter (each object gets a fresh burst) */
		struct spam *next;
		for (s = r->spam; s; s = next) {
			next = s->next;
			free(s);
		}
		r->spam = NULL;
		r->nspam = 0;
		s = NULL;
	}
	if (!s) {
		size_t len = strlen(objkey);
		s = calloc(1, sizeof(*s) + len + 1);
		if (!s)
			return 1; /* out of memory: do not lose the event over the filter */
		memcpy(s->key, objkey, len + 1);
		ratelimit_init(&s->rl, SPAM_QPS, SPAM_BURST, loop_now_ns(r->lp));
		s->next = r->spam;
		r->spam = s;
		r->nspam++;
	}
	return ratelimit_allow(&s->rl, loop_now_ns(r->lp));
}

static void send_entry(struct entry *e);

static void write_done(const struct kube_error *err, json_t *obj, void *arg)
{
	struct entry *e = arg;
	struct event_recorder *r = e->r;
	e->req = NULL;
	r->pending--;
	if (err->status == KUBE_ERR_HTTP && err->code == 404 && e->name) {
		/* the Event expired or was deleted: write it anew */
		free(e->name);
		e->name = NULL;
		send_entry(e);
		return;
	}
	if (err->status != KUBE_OK) {
		char buf[700];
		log_warn(r->lg, "event not recorded", "event", e->key, "error",
			 kube_error_str(err, buf, sizeof(buf)));
		if (!e->name) {
			/* the create failed: the next repeat tries a create again */
			e->dirty = 0;
			return;
		}
	} else if (!e->name) {
		const char *name = str(json_object_get(obj, "metadata"), "name");
		e->name = strdup(name ? name : "");
	}
	if (e->dirty) {
		e->dirty = 0;
		send_entry(e);
	}
}

/* Creates the Event, or patches its count when it exists. */
static void send_entry(struct entry *e)
{
	struct event_recorder *r = e->r;
	if (e->req) {
		e->dirty = 1;
		return;
	}
	json_t *body;
	if (!e->name) {
		body = json_loads(e->event, 0, NULL);
		if (body) {
			json_object_set_new(body, "count", json_integer(e->count));
			json_object_set_new(body, "lastTimestamp", json_string(e->last));
		}
	} else {
		body = json_pack("{s:I, s:s}", "count", (json_int_t)e->count, "lastTimestamp",
				 e->last);
	}
	if (!body) {
		log_error(r->lg, "event not recorded: out of memory", "event", e->key);
		return;
	}
	if (!e->name)
		e->req = kube_client_create(r->kc, &event_res, e->ns, body, write_done, e);
	else
		e->req = kube_client_patch(r->kc, &event_res, e->ns, e->name, NULL, body,
					   write_done, e);
	json_decref(body);
	if (e->req)
		r->pending++;
}

enum event_outcome event_record(struct event_recorder *r, const json_t *obj, enum event_type type,
				const char *reason, const char *message)
{
	const json_t *md = json_object_get(obj, "metadata");
	const char *kind = str(obj, "kind"), *name = str(md, "name");
	const char *ns = str(md, "namespace");
	if (!kind || !name)
		return EVENT_BAD_OBJECT;
	const char *evns = ns && *ns ? ns : "default";
	char objkey[600], *key = NULL;
	snprintf(objkey, sizeof(objkey), "%s/%s/%s", kind, ns ? ns : "", name);
	if (asprintf(&key, "%s\n%s\n%s\n%s", objkey, event_type_str(type), reason, message) < 0)
		return EVENT_NO_MEMORY;

	struct entry *e;
	for (e = r->tail; e; e = e->prev)
		if (strcmp(e->key, key) == 0)
			break;
	if (!spam_allow(r, objkey)) {
		free(key);
		r->dropped++;
		return EVENT_RATE_LIMITED;
	}
	if (e) {
		free(key);
		e->count++;
		now_rfc3339(e->last, sizeof(e->last));
		send_entry(e);
		return EVENT_AGGREGATED;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		free(key);
		return EVENT_NO_MEMORY;
	}
	e->r = r;
	e->key = key;
	e->ns = strdup(evns);
	e->count = 1;
	now_rfc3339(e->last, sizeof(e->last));
	/* Unique names as client-go makes them: object name, a dot, a hex stamp. */
	char evname[300];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(evname, sizeof(evname), "%.200s.%llx%04x", name,
		 (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec,
		 r->seq++ & 0xffff);
	json_t *inv = json_pack("{s:s, s:s}", "kind", kind, "name", name);
	const char *opt[][2] = { { "apiVersion", str(obj, "apiVersion") },
				 { "namespace", ns },
				 { "uid", str(md, "uid") },
				 { "resourceVersion", str(md, "resourceVersion") } };
	for (size_t i = 0; inv && i < sizeof(opt) / sizeof(opt[0]); i++)
		if (opt[i][1] && *opt[i][1])
			json_object_set_new(inv, opt[i][0], json_string(opt[i][1]));
	json_t *src = json_pack("{s:s}", "component", r->component);
	if (src && r->host)
		json_object_set_new(src, "host", json_string(r->host));
	json_t *event =
		inv && src && e->ns
			? json_pack("{s:s, s:s, s:{s:s, s:s}, s:O, s:s, s:s, s:s, s:O, s:s, s:s, "
				    "s:s, s:s}",
				    "apiVersion", "v1", "kind", "Event", "metadata", "name", evname,
				    "namespace", e->ns, "involvedObject", inv, "reason", reason,
				    "message", message, "type", event_type_str(type), "source", src,
				    "firstTimestamp", e->last, "lastTimestamp", e->last,
				    "reportingComponent", r->component, "reportingInstance",
				    r->host ? r->host : "")
			: NULL;
	json_decref(inv);
	json_decref(src);
	e->event = event != NULL ? json_dumps(event, JSON_COMPACT) : NULL;
	json_decref(event);
	if (!e->event || !e->ns) {
		free(e->key);
		free(e->ns);
		free(e->event);
		free(e);
		return EVENT_NO_MEMORY;
	}
	e->prev = r->tail;
	if (r->tail)
		r->tail->next = e;
	else
		r->head = e;
	r->tail = e;
	r->n++;
	while (r->n > CACHE_MAX && r->head != e)
		entry_free(r->head);
	send_entry(e);
	return EVENT_CREATED;
}
