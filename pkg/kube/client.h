/* kube/client: asynchronous Kubernetes API requests on the event loop (libcurl multi, jansson). */
#ifndef L2LB_KUBE_CLIENT_H
#define L2LB_KUBE_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "kube/config.h"
#include "kube/watch.h"
#include "log/log.h"
#include "loop/loop.h"

/*
 * Every request is asynchronous: it is queued behind the client-side rate limiter (QPS/burst),
 * sent on the loop, retried when that is safe, and ends in exactly one call of its callback,
 * unless cancelled first. Retries: a 429 is retried for every verb (the server refused before
 * doing anything) after max(Retry-After, backoff); 5xx and transport errors only for GET and
 * LIST. Connections are kept alive; HTTP/2 is used when the server offers it over TLS.
 */

/* Which resource: the group ("" for core), version and plural name, namespaced or not. */
struct kube_resource {
	const char *group;
	const char *version;
	const char *plural;
	int namespaced;
};

/* Builds the request path (no query): /api/v1/namespaces/NS/PLURAL/NAME/SUB. NULL parts are
 * left out. Returns the length, or -1 when cap is too small. */
int kube_resource_path(char *buf, size_t cap, const struct kube_resource *r, const char *ns,
		       const char *name, const char *sub);

enum kube_status {
	KUBE_OK,
	KUBE_ERR_HTTP,	    /* the server answered with a non-2xx code: code, reason, message */
	KUBE_ERR_TRANSPORT, /* connect, TLS or a broken connection: transport says what */
	KUBE_ERR_TIMEOUT,   /* no complete answer within the request timeout */
	KUBE_ERR_DECODE,    /* a 2xx answer that is not the JSON expected */
	KUBE_ERR_NOMEM,
};

const char *kube_status_str(enum kube_status s);

/* The one outcome shape every callback gets. */
struct kube_error {
	enum kube_status status;
	long code;	     /* HTTP status code, 0 when no answer came */
	char reason[64];     /* Status.reason ("NotFound", "Conflict", "AlreadyExists", ...) */
	char message[512];   /* Status.message, or a description */
	char transport[256]; /* curl's description of a transport failure */
	unsigned retries;    /* how many times the request was retried */
};

/* Formats "404 NotFound: leases \"x\" not found" or "transport: Connection refused". */
const char *kube_error_str(const struct kube_error *e, char *buf, size_t cap);

/*
 * Completion of GET, LIST, CREATE, UPDATE, PATCH, DELETE. err->status is KUBE_OK on success and
 * obj the decoded answer (for LIST, one List object whose items hold every page); obj is
 * borrowed for the duration of the call (json_incref to keep it), NULL on error. The request is
 * finished when this is called: do not cancel it.
 */
typedef void (*kube_done_cb)(const struct kube_error *err, json_t *obj, void *arg);

/*
 * A watch event: borrowed for the call. Return 0 to go on, non-zero to stop the watch
 * (the done callback is then not called; the request is gone).
 */
typedef int (*kube_event_cb)(const struct watch_event *ev, void *arg);

struct kube_client_opts {
	const char *user_agent;	  /* "l2lb-speaker/VERSION"; NULL: "l2lb/" L2LB_VERSION */
	double qps;		  /* 0: 20, negative: no limit */
	int burst;		  /* 0: 30 */
	uint32_t timeout_ms;	  /* per request (not watch); 0: 30000 */
	unsigned max_retries;	  /* 0: 5 */
	uint32_t backoff_base_ms; /* 0: 200 */
	uint32_t backoff_max_ms;  /* 0: 10000 */
	/*
	 * Requests handed to libcurl at once, so connections to the server at most (0: 64);
	 * more requests wait in the client, in order, without a curl handle.
	 * Over HTTP/2 one connection carries everything; over HTTP/1.1 each open watch holds
	 * one for its whole life, so this must exceed the number of watches.
	 */
	unsigned max_connections;
};

struct kube_client;
struct kube_request;

/*
 * Returns an owned client, or NULL (logged) when libcurl cannot be set up. cfg and lg are
 * borrowed and must outlive the client. Warns loudly when TLS verification is off.
 */
struct kube_client *kube_client_new(struct loop *lp, struct log *lg, struct kube_config *cfg,
				    const struct kube_client_opts *opts);
/* Cancels every request without calling its callback. Not from inside a callback. */
void kube_client_free(struct kube_client *c);

/* Requests started and not yet finished (for tests and metrics). */
unsigned kube_client_inflight(const struct kube_client *c);

/*
 * Called once per HTTP attempt as it ends, retries included, so that request metrics count
 * what the server saw: verb is the API verb ("get", "list", "watch", "create", "update",
 * "patch", "delete"), code the HTTP status, 0 when no answer came. One observer per client;
 * fn NULL removes it. arg is borrowed.
 */
typedef void (*kube_request_observer)(const char *verb, long code, void *arg);
void kube_client_set_observer(struct kube_client *c, kube_request_observer fn, void *arg);

struct kube_list_opts {
	const char *label_selector; /* NULL: all */
	const char *field_selector;
	unsigned limit; /* page size; 0: 500 */
	/*
	 * NULL, or applied to each item as its page arrives: the answer then carries what it
	 * returned (a new reference; NULL, when out of memory, keeps the item), and each page is
	 * freed before the next is asked for, so a large list never sits in memory whole.
	 */
	json_t *(*transform)(const json_t *item, const void *arg);
	const void *transform_arg;
};

struct kube_watch_opts {
	const char *resource_version; /* start after this RV; NULL or "": current state first */
	const char *label_selector;
	const char *field_selector;
	unsigned timeout_s; /* server-side timeoutSeconds; 0: 300 */
	int bookmarks;	    /* ask for BOOKMARK events */
};

/*
 * All return a handle that stays valid until the callback has been called (or until
 * cancelled), or NULL when the request could not even be queued (out of memory, a path too long:
 * logged, no callback). ns is ignored for cluster-scoped resources; obj / patch are borrowed
 * (serialised at once).
 */
struct kube_request *kube_client_get(struct kube_client *c, const struct kube_resource *r,
				     const char *ns, const char *name, kube_done_cb cb, void *arg);
/* Follows `continue` to the end; ns NULL lists across namespaces. */
struct kube_request *kube_client_list(struct kube_client *c, const struct kube_resource *r,
				      const char *ns, const struct kube_list_opts *o,
				      kube_done_cb cb, void *arg);
struct kube_request *kube_client_create(struct kube_client *c, const struct kube_resource *r,
					const char *ns, const json_t *obj, kube_done_cb cb,
					void *arg);
/* PUT of the whole object; its metadata.resourceVersion makes it conditional (409 Conflict). */
struct kube_request *kube_client_update(struct kube_client *c, const struct kube_resource *r,
					const char *ns, const char *name, const json_t *obj,
					kube_done_cb cb, void *arg);
struct kube_request *kube_client_update_status(struct kube_client *c, const struct kube_resource *r,
					       const char *ns, const char *name, const json_t *obj,
					       kube_done_cb cb, void *arg);
/* application/merge-patch+json; sub NULL or "status". */
struct kube_request *kube_client_patch(struct kube_client *c, const struct kube_resource *r,
				       const char *ns, const char *name, const char *sub,
				       const json_t *patch, kube_done_cb cb, void *arg);
struct kube_request *kube_client_delete(struct kube_client *c, const struct kube_resource *r,
					const char *ns, const char *name, kube_done_cb cb,
					void *arg);
/*
 * A raw GET of an API path (discovery: "/apis/metallb.io/v1beta1"); same completion as GET.
 */
struct kube_request *kube_client_get_path(struct kube_client *c, const char *path, kube_done_cb cb,
					  void *arg);

/*
 * Streams events into ev_cb until the server ends the watch (done: KUBE_OK), it fails (done:
 * the error; a 410 before the stream started arrives here with code 410), or ev_cb returns
 * non-zero. Watch connections are not retried: the informer decides what to do next.
 */
struct kube_request *kube_client_watch(struct kube_client *c, const struct kube_resource *r,
				       const char *ns, const struct kube_watch_opts *o,
				       kube_event_cb ev_cb, kube_done_cb done, void *arg);

/* Cancels a pending request: its callbacks are not called. Safe from any callback. */
void kube_request_cancel(struct kube_request *req);

#endif
