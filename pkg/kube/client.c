/* kube/client: asynchronous Kubernetes API requests on the event loop (libcurl multi). */
#include "kube/client.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kube/ratelimit.h"

/* An API answer bigger than this is refused rather than exhausting memory. */
#define RESP_MAX (256u << 20)

enum method { M_GET, M_POST, M_PUT, M_PATCH, M_DELETE };
enum kind { K_PLAIN, K_LIST, K_WATCH };

struct sock {
	struct loop_io io;
	struct kube_client *c;
	curl_socket_t fd;
};

struct kube_client {
	struct loop *lp;
	struct log *lg;
	struct kube_config *cfg;
	CURLM *multi;
	struct loop_timer curl_timer;
	struct ratelimit rl;
	struct kube_client_opts o;
	char *user_agent;
	uint32_t rand;
	int in_curl;			/* inside curl_multi_socket_action: no handle removal */
	struct kube_request *reqs;	/* every live request */
	struct kube_request *graveyard; /* cancelled while in_curl, freed afterwards */
	unsigned inflight;
	/*
	 * Requests holding a curl handle, or promised one (at most max_connections), and those
	 * waiting for one, oldest first: a curl handle costs some 20 KiB as soon as it is added,
	 * so a burst of a thousand lease writes must not add a thousand at once.
	 */
	unsigned attached;
	struct kube_request *queue, *queue_tail;
	kube_request_observer observe;
	void *observe_arg;
};

struct kube_request {
	struct kube_client *c;
	struct kube_request *prev, *next;
	enum method method;
	enum kind kind;
	char *path;
	char *query; /* without continue */
	char *body;
	size_t body_len;
	const char *content_type;
	CURL *easy;
	struct curl_slist *hdrs;
	char *resp;
	size_t resp_len, resp_cap;
	int too_big;
	long retry_after_s;
	struct loop_timer wait;
	struct backoff bo;
	unsigned retries;
	kube_done_cb done;
	kube_event_cb ev_cb;
	void *arg;
	json_t *items; /* LIST: items of the pages so far */
	json_t *(*transform)(const json_t *item, const void *arg); /* LIST: per item, or NULL */
	const void *transform_arg;
	char *cont; /* LIST: continue token for the next page */
	struct watch_decoder *dec;
	int cancelled;
	int finishing;
	int permanent; /* the last failure cannot heal by retrying (TLS verification, bad URL) */
	int parked;    /* on the graveyard, to be freed once outside libcurl and callbacks */
	int listed;    /* on c->reqs (or, parked, on c->graveyard) */
	int in_event;  /* inside its event callback */
	int slot;      /* counted in c->attached */
	int queued;    /* on c->queue */
	struct kube_request *qnext;
	uint32_t watch_timeout_s;
};

/* --- the curl multi handle on the loop --- */

static void check_done(struct kube_client *c);

static void reap_graveyard(struct kube_client *c);

static void socket_action(struct kube_client *c, curl_socket_t fd, int flags)
{
	int running;
	c->in_curl++;
	curl_multi_socket_action(c->multi, fd, flags, &running);
	c->in_curl--;
	if (!c->in_curl) {
		reap_graveyard(c);
		check_done(c);
	}
}

static void on_sock(struct loop_io *w, uint32_t events, void *arg)
{
	struct sock *sk = arg;
	(void)w;
	int flags = 0;
	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	socket_action(sk->c, sk->fd, flags); /* sk may be freed by now */
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct kube_client *c = userp;
	struct sock *sk = socketp;
	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (sk) {
			loop_io_stop(c->lp, &sk->io);
			curl_multi_assign(c->multi, s, NULL);
			free(sk);
		}
		return 0;
	}
	uint32_t ev = 0;
	if (what & CURL_POLL_IN)
		ev |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev |= EPOLLOUT;
	if (!sk) {
		sk = calloc(1, sizeof(*sk));
		if (!sk)
			return -1;
		sk->c = c;
		sk->fd = s;
		if (loop_io_start(c->lp, &sk->io, s, ev, on_sock, sk) < 0) {
			free(sk);
			return -1;
		}
		curl_multi_assign(c->multi, s, sk);
		return 0;
	}
	return loop_io_set_events(c->lp, &sk->io, ev) < 0 ? -1 : 0;
}

static void on_curl_timer(struct loop_timer *t, void *arg)
{
	(void)t;
	socket_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct kube_client *c = userp;
	(void)m;
	if (timeout_ms < 0) {
		loop_timer_stop(c->lp, &c->curl_timer);
		return 0;
	}
	return loop_timer_start(c->lp, &c->curl_timer, (uint64_t)timeout_ms, 0, on_curl_timer, c) <
			       0
		       ? -1
		       : 0;
}

struct kube_client *kube_client_new(struct loop *lp, struct log *lg, struct kube_config *cfg,
				    const struct kube_client_opts *opts)
{
	struct kube_client *c = calloc(1, sizeof(*c));
	if (!c) {
		log_error(lg, "kube client: out of memory");
		return NULL;
	}
	c->lp = lp;
	c->lg = lg;
	c->cfg = cfg;
	if (opts)
		c->o = *opts;
	if (c->o.qps == 0)
		c->o.qps = 20;
	if (c->o.burst == 0)
		c->o.burst = 30;
	if (!c->o.timeout_ms)
		c->o.timeout_ms = 30000;
	if (!c->o.max_retries)
		c->o.max_retries = 5;
	if (!c->o.backoff_base_ms)
		c->o.backoff_base_ms = 200;
	if (!c->o.backoff_max_ms)
		c->o.backoff_max_ms = 10000;
	if (!c->o.max_connections)
		c->o.max_connections = 64;
	c->user_agent = strdup(c->o.user_agent ? c->o.user_agent : "l2lb/" L2LB_VERSION);
	c->o.user_agent = NULL;
	ratelimit_init(&c->rl, c->o.qps, c->o.burst, loop_now_ns(lp));
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c->rand = (uint32_t)ts.tv_nsec ^ (uint32_t)getpid() ^ 0x5bd1e995u;
	if (!c->user_agent || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error(lg, "kube client: cannot initialise libcurl");
		free(c->user_agent);
		free(c);
		return NULL;
	}
	c->multi = curl_multi_init();
	if (!c->multi) {
		log_error(lg, "kube client: cannot initialise libcurl");
		curl_global_cleanup();
		free(c->user_agent);
		free(c);
		return NULL;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->o.max_connections);
	if (kube_config_insecure(cfg))
		log_warn(lg,
			 "kube client: TLS certificate verification is OFF "
			 "(insecure-skip-tls-verify): anyone on the path can impersonate the API",
			 "server", kube_config_server(cfg));
	return c;
}

static void req_free(struct kube_request *req);

void kube_client_free(struct kube_client *c)
{
	if (!c)
		return;
	struct kube_request *next;
	for (struct kube_request *r = c->reqs; r; r = next) {
		next = r->next;
		req_free(r);
	}
	reap_graveyard(c);
	loop_timer_stop(c->lp, &c->curl_timer);
	curl_multi_cleanup(c->multi);
	curl_global_cleanup();
	free(c->user_agent);
	free(c);
}

unsigned kube_client_inflight(const struct kube_client *c)
{
	return c->inflight;
}

/* --- requests --- */

static void on_admit(struct loop_timer *t, void *arg);

static void unqueue(struct kube_request *req)
{
	struct kube_client *c = req->c;
	struct kube_request **pp = &c->queue, *prev = NULL;
	if (!req->queued)
		return;
	while (*pp && *pp != req) {
		prev = *pp;
		pp = &(*pp)->qnext;
	}
	if (*pp) {
		*pp = req->qnext;
		if (c->queue_tail == req)
			c->queue_tail = prev;
	}
	req->qnext = NULL;
	req->queued = 0;
}

/* Gives req's place to the oldest waiting request; it attaches from the loop, not from here. */
static void release_slot(struct kube_request *req)
{
	struct kube_client *c = req->c;
	if (!req->slot)
		return;
	req->slot = 0;
	c->attached--;
	while (c->queue) {
		struct kube_request *next = c->queue;
		unqueue(next);
		if (loop_timer_start_ns(c->lp, &next->wait, 0, 0, on_admit, next) == 0) {
			next->slot = 1;
			c->attached++;
			return;
		}
		log_error(c->lg, "kube request: cannot arm a timer", "path", next->path);
	}
}

static void detach_easy(struct kube_request *req)
{
	if (req->easy) {
		curl_multi_remove_handle(req->c->multi, req->easy);
		curl_easy_cleanup(req->easy);
		req->easy = NULL;
	}
	curl_slist_free_all(req->hdrs);
	req->hdrs = NULL;
	release_slot(req);
}

static void unlink_req(struct kube_request *req, struct kube_request **head)
{
	if (req->prev)
		req->prev->next = req->next;
	else
		*head = req->next;
	if (req->next)
		req->next->prev = req->prev;
	req->prev = req->next = NULL;
}

static void req_free(struct kube_request *req)
{
	struct kube_client *c = req->c;
	loop_timer_stop(c->lp, &req->wait);
	unqueue(req);
	detach_easy(req);
	if (req->listed)
		unlink_req(req, req->parked ? &c->graveyard : &c->reqs);
	c->inflight--;
	free(req->path);
	free(req->query);
	free(req->body);
	free(req->resp);
	free(req->cont);
	json_decref(req->items);
	watch_decoder_free(req->dec);
	free(req);
}

static void reap_graveyard(struct kube_client *c)
{
	struct kube_request *r = c->graveyard, *next;
	c->graveyard = NULL;
	for (; r; r = next) {
		next = r->next;
		r->prev = r->next = NULL;
		r->listed = 0;
		req_free(r);
	}
}

void kube_request_cancel(struct kube_request *req)
{
	if (!req || req->cancelled || req->finishing)
		return;
	struct kube_client *c = req->c;
	req->cancelled = 1;
	loop_timer_stop(c->lp, &req->wait);
	if (!c->in_curl && !req->in_event) {
		req_free(req);
		return;
	}
	/*
	 * Inside libcurl a handle cannot be removed, and inside its own event callback the
	 * decoder is still running: park it; the write callback refuses further data.
	 */
	req->parked = 1;
	unlink_req(req, &c->reqs);
	req->next = c->graveyard;
	if (c->graveyard)
		c->graveyard->prev = req;
	c->graveyard = req;
}

static const char *method_str(enum method m)
{
	switch (m) {
	case M_GET:
		return "GET";
	case M_POST:
		return "POST";
	case M_PUT:
		return "PUT";
	case M_PATCH:
		return "PATCH";
	case M_DELETE:
		return "DELETE";
	}
	return "?";
}

static const char *verb_str(enum method m, enum kind k)
{
	switch (k) {
	case K_LIST:
		return "list";
	case K_WATCH:
		return "watch";
	case K_PLAIN:
		break;
	}
	switch (m) {
	case M_GET:
		return "get";
	case M_POST:
		return "create";
	case M_PUT:
		return "update";
	case M_PATCH:
		return "patch";
	case M_DELETE:
		return "delete";
	}
	return "?";
}

void kube_client_set_observer(struct kube_client *c, kube_request_observer fn, void *arg)
{
	c->observe = fn;
	c->observe_arg = arg;
}

static int watch_event(enum watch_result r, const struct watch_event *ev, const char *detail,
		       void *arg)
{
	struct kube_request *req = arg;
	if (r != WATCH_RESULT_EVENT) {
		log_warn(req->c->lg, "kube watch: bad line skipped", "path", req->path, "result",
			 watch_result_str(r), "detail", detail);
		return 0;
	}
	req->in_event = 1;
	int stop = req->ev_cb(ev, req->arg);
	req->in_event = 0;
	if (stop)
		req->cancelled = 1;
	return req->cancelled; /* the callback may have cancelled us */
}

static size_t write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct kube_request *req = arg;
	size_t len = size * n;
	if (req->cancelled)
		return 0;
	if (req->kind == K_WATCH) {
		long code = 0;
		curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 200 && code < 300) {
			if (!req->dec) {
				req->dec = watch_decoder_new(0, watch_event, req);
				if (!req->dec)
					return 0;
			}
			if (watch_decoder_feed(req->dec, (const uint8_t *)p, len) != 0)
				return 0;
			return len;
		}
	}
	if (req->resp_len + len > RESP_MAX) {
		req->too_big = 1;
		return 0;
	}
	if (req->resp_len + len + 1 > req->resp_cap) {
		size_t cap = req->resp_cap ? req->resp_cap : 16384;
		while (cap < req->resp_len + len + 1)
			cap *= 2;
		char *nb = realloc(req->resp, cap);
		if (!nb)
			return 0;
		req->resp = nb;
		req->resp_cap = cap;
	}
	memcpy(req->resp + req->resp_len, p, len);
	req->resp_len += len;
	req->resp[req->resp_len] = '\0';
	return len;
}

static size_t header_cb(char *p, size_t size, size_t n, void *arg)
{
	struct kube_request *req = arg;
	size_t len = size * n;
	static const char name[] = "retry-after:";
	if (len > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
		char v[32];
		size_t vl = len - (sizeof(name) - 1);
		if (vl >= sizeof(v))
			vl = sizeof(v) - 1;
		memcpy(v, p + sizeof(name) - 1, vl);
		v[vl] = '\0';
		char *end;
		long s = strtol(v, &end, 10);
		/* only the seconds form; an HTTP date is ignored (backoff still applies) */
		if (end != v && s >= 0 && s < 3600)
			req->retry_after_s = s;
	}
	return len;
}

static void on_wait(struct loop_timer *t, void *arg);

/*
 * Queues the next attempt behind the rate limiter, after extra_ns. Never sends synchronously,
 * so no callback runs before the caller has its handle. -1 when the timer cannot be armed.
 */
static int schedule(struct kube_request *req, uint64_t extra_ns)
{
	struct kube_client *c = req->c;
	uint64_t now = loop_now_ns(c->lp) + extra_ns;
	uint64_t delay = extra_ns + ratelimit_reserve(&c->rl, now);
	return loop_timer_start_ns(c->lp, &req->wait, delay, 0, on_wait, req);
}

/* schedule() for a request the caller has not been handed yet: on failure it is dropped. */
static struct kube_request *submit(struct kube_request *req)
{
	if (schedule(req, 0) < 0) {
		log_error(req->c->lg, "kube request: cannot arm a timer", "path", req->path);
		req_free(req);
		return NULL;
	}
	return req;
}

static void finish(struct kube_request *req, struct kube_error *err, json_t *obj)
{
	req->finishing = 1;
	err->retries = req->retries;
	if (req->done)
		req->done(err, obj, req->arg);
	req_free(req);
}

static void fail_now(struct kube_request *req, enum kube_status st, const char *msg)
{
	struct kube_error err;
	memset(&err, 0, sizeof(err));
	err.status = st;
	snprintf(err.message, sizeof(err.message), "%s", msg);
	finish(req, &err, NULL);
}

static int set_url(struct kube_request *req, CURL *e)
{
	const char *server = kube_config_server(req->c->cfg);
	char *url;
	int n;
	if (req->cont) {
		char *esc = curl_easy_escape(e, req->cont, 0);
		if (!esc)
			return -1;
		n = asprintf(&url, "%s%s?%s%scontinue=%s", server, req->path,
			     req->query ? req->query : "", req->query ? "&" : "", esc);
		curl_free(esc);
	} else {
		n = asprintf(&url, "%s%s%s%s", server, req->path, req->query ? "?" : "",
			     req->query ? req->query : "");
	}
	if (n < 0)
		return -1;
	CURLcode rc = curl_easy_setopt(e, CURLOPT_URL, url);
	free(url);
	return rc == CURLE_OK ? 0 : -1;
}

static int add_header(struct kube_request *req, const char *h)
{
	struct curl_slist *l = curl_slist_append(req->hdrs, h);
	if (!l)
		return -1;
	req->hdrs = l;
	return 0;
}

static void attach(struct kube_request *req);

/* The rate limiter let req go: it attaches now if a place is free, else it waits its turn. */
static void on_wait(struct loop_timer *t, void *arg)
{
	struct kube_request *req = arg;
	struct kube_client *c = req->c;
	(void)t;
	if (c->attached >= c->o.max_connections) {
		req->queued = 1;
		req->qnext = NULL;
		if (c->queue_tail)
			c->queue_tail->qnext = req;
		else
			c->queue = req;
		c->queue_tail = req;
		return;
	}
	req->slot = 1;
	c->attached++;
	attach(req);
}

static void on_admit(struct loop_timer *t, void *arg)
{
	(void)t;
	attach(arg);
}

/* Builds req's curl handle and hands it to libcurl; req holds a place (slot). */
static void attach(struct kube_request *req)
{
	struct kube_client *c = req->c;
	CURL *e = curl_easy_init();
	if (!e) {
		fail_now(req, KUBE_ERR_NOMEM, "cannot create a curl handle");
		return;
	}
	req->easy = e;
	req->resp_len = 0;
	req->too_big = 0;
	req->retry_after_s = -1;
	if (req->dec)
		watch_decoder_reset(req->dec);

	struct kube_config *cfg = c->cfg;
	const char *tok = kube_config_token(cfg);
	char *auth = NULL;
	int bad = set_url(req, e) < 0 || add_header(req, "Accept: application/json") < 0;
	if (!bad && tok && *tok) {
		bad = asprintf(&auth, "Authorization: Bearer %s", tok) < 0;
		if (bad)
			auth = NULL;
		else
			bad = add_header(req, auth) < 0;
		if (auth) {
			explicit_bzero(auth, strlen(auth));
			free(auth);
		}
	}
	if (!bad && req->content_type) {
		char ct[128];
		snprintf(ct, sizeof(ct), "Content-Type: %s", req->content_type);
		bad = add_header(req, ct) < 0;
	}
	if (bad) {
		fail_now(req, KUBE_ERR_NOMEM, "cannot build the request");
		return;
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->hdrs);
	curl_easy_setopt(e, CURLOPT_PRIVATE, req);
	curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	/* libcurl 7.88 gives every transfer a 64 KiB upload buffer, a GET's too (a watch holds
	 * its for hours); bodies here are a few KiB, and 16 KiB is the least it takes. */
	curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)10000);
	if (req->kind == K_WATCH)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(req->watch_timeout_s + 60) * 1000L);
	else
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->o.timeout_ms);
	size_t len;
	const char *pem = kube_config_ca(cfg, &len);
	if (pem) {
		struct curl_blob b = { (void *)pem, len, CURL_BLOB_NOCOPY };
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
	}
	pem = kube_config_client_cert(cfg, &len);
	if (pem) {
		struct curl_blob b = { (void *)pem, len, CURL_BLOB_NOCOPY };
		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
	}
	pem = kube_config_client_key(cfg, &len);
	if (pem) {
		struct curl_blob b = { (void *)pem, len, CURL_BLOB_NOCOPY };
		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (kube_config_insecure(cfg)) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (req->method != M_GET && req->method != M_POST)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method_str(req->method));
	if (req->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
	}
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
		fail_now(req, KUBE_ERR_TRANSPORT, "curl refused the request");
		return;
	}
}

/* Fills reason/message from a Status body, or the start of whatever came. */
static void parse_status(struct kube_request *req, struct kube_error *err)
{
	json_t *st = req->resp ? json_loadb(req->resp, req->resp_len, 0, NULL) : NULL;
	json_t *reason = json_object_get(st, "reason");
	json_t *msg = json_object_get(st, "message");
	if (json_is_string(reason))
		snprintf(err->reason, sizeof(err->reason), "%s", json_string_value(reason));
	if (json_is_string(msg))
		snprintf(err->message, sizeof(err->message), "%s", json_string_value(msg));
	else if (req->resp_len)
		snprintf(err->message, sizeof(err->message), "%.200s", req->resp);
	else
		snprintf(err->message, sizeof(err->message), "no body");
	json_decref(st);
}

static int retryable(const struct kube_request *req, const struct kube_error *err)
{
	if (req->kind == K_WATCH || req->retries >= req->c->o.max_retries || req->permanent)
		return 0;
	if (err->status == KUBE_ERR_HTTP && err->code == 429)
		return 1;
	int idempotent = req->method == M_GET;
	if (!idempotent)
		return 0;
	return err->status == KUBE_ERR_TRANSPORT || err->status == KUBE_ERR_TIMEOUT ||
	       (err->status == KUBE_ERR_HTTP && err->code >= 500);
}

static void retry(struct kube_request *req, const struct kube_error *err)
{
	struct kube_client *c = req->c;
	uint64_t ms = backoff_next(&req->bo, ratelimit_rand(&c->rand));
	if (err->code == 429 && req->retry_after_s >= 0 && (uint64_t)req->retry_after_s * 1000 > ms)
		ms = (uint64_t)req->retry_after_s * 1000;
	req->retries++;
	char b1[16], b2[16], b3[16];
	char why[400];
	log_info(c->lg, "kube request retried", "method", method_str(req->method), "path",
		 req->path, "error", kube_error_str(err, why, sizeof(why)), "attempt",
		 log_fmt(b1, sizeof(b1), "%u", req->retries), "wait_ms",
		 log_fmt(b2, sizeof(b2), "%llu", (unsigned long long)ms), "retry_after_s",
		 log_fmt(b3, sizeof(b3), "%ld", req->retry_after_s));
	if (schedule(req, ms * 1000000ull) < 0)
		fail_now(req, KUBE_ERR_NOMEM, "cannot arm a timer");
}

static void page_done(struct kube_request *req, json_t *page)
{
	json_t *items = json_object_get(page, "items");
	if (!json_is_array(items) && !json_is_null(items) && items) {
		json_decref(page);
		fail_now(req, KUBE_ERR_DECODE, "list answer has no items array");
		return;
	}
	if (!req->items && !(req->items = json_array())) {
		json_decref(page);
		fail_now(req, KUBE_ERR_NOMEM, "out of memory");
		return;
	}
	size_t i;
	json_t *item;
	int bad = 0;
	if (req->transform) {
		json_array_foreach(items, i, item)
		{
			json_t *k = req->transform(item, req->transform_arg);
			if (json_array_append_new(req->items, k ? k : json_incref(item)) < 0) {
				bad = 1;
				break;
			}
		}
	} else if (json_is_array(items)) {
		bad = json_array_extend(req->items, items) < 0;
	}
	if (bad) {
		json_decref(page);
		fail_now(req, KUBE_ERR_NOMEM, "out of memory");
		return;
	}
	json_t *md = json_object_get(page, "metadata");
	json_t *cont = json_object_get(md, "continue");
	free(req->cont);
	req->cont = NULL;
	if (json_is_string(cont) && json_string_length(cont) > 0) {
		req->cont = strdup(json_string_value(cont));
		json_decref(page);
		if (!req->cont) {
			fail_now(req, KUBE_ERR_NOMEM, "out of memory");
			return;
		}
		backoff_reset(&req->bo);
		if (schedule(req, 0) < 0)
			fail_now(req, KUBE_ERR_NOMEM, "cannot arm a timer");
		return;
	}
	/* The last page, carrying every item: what a caller of an unpaged LIST would get. */
	json_object_set(page, "items", req->items);
	if (json_is_object(md)) {
		json_object_del(md, "continue");
		json_object_del(md, "remainingItemCount");
	}
	struct kube_error ok;
	memset(&ok, 0, sizeof(ok));
	ok.status = KUBE_OK;
	ok.code = 200;
	finish(req, &ok, page);
	json_decref(page);
}

/* One attempt ended with curl's result rc. */
static void attempt_done(struct kube_request *req, CURLcode rc)
{
	struct kube_error err;
	memset(&err, 0, sizeof(err));
	curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &err.code);
	const char *cerr = curl_easy_strerror(rc);
	detach_easy(req);
	if (req->c->observe)
		req->c->observe(verb_str(req->method, req->kind), rc == CURLE_OK ? err.code : 0,
				req->c->observe_arg);

	if (rc != CURLE_OK) {
		if (req->too_big) {
			fail_now(req, KUBE_ERR_DECODE, "answer larger than the limit");
			return;
		}
		err.status = rc == CURLE_OPERATION_TIMEDOUT ? KUBE_ERR_TIMEOUT : KUBE_ERR_TRANSPORT;
		req->permanent = rc == CURLE_PEER_FAILED_VERIFICATION ||
				 rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CACERT_BADFILE ||
				 rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL;
		snprintf(err.transport, sizeof(err.transport), "%s", cerr);
		err.code = 0;
	} else if (err.code < 200 || err.code >= 300) {
		err.status = KUBE_ERR_HTTP;
		parse_status(req, &err);
	}
	if (err.status != KUBE_OK) {
		if (retryable(req, &err))
			retry(req, &err);
		else
			finish(req, &err, NULL);
		return;
	}
	if (req->kind == K_WATCH) {
		if (req->dec)
			watch_decoder_finish(req->dec);
		if (req->cancelled) {
			/* the event callback stopped or cancelled it: no done call */
			if (req->parked)
				reap_graveyard(req->c);
			else
				req_free(req);
			return;
		}
		finish(req, &err, NULL);
		return;
	}
	json_error_t jerr;
	json_t *obj = json_loadb(req->resp ? req->resp : "", req->resp_len, 0, &jerr);
	if (!obj) {
		fail_now(req, KUBE_ERR_DECODE, jerr.text);
		return;
	}
	backoff_reset(&req->bo);
	if (req->kind == K_LIST) {
		page_done(req, obj);
		return;
	}
	finish(req, &err, obj);
	json_decref(obj);
}

static void check_done(struct kube_client *c)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct kube_request *req = NULL;
		CURLcode rc = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&req);
		if (!req)
			continue;
		if (req->cancelled) {
			/* stopped by its own event callback while streaming */
			if (!req->parked)
				req_free(req);
			continue;
		}
		attempt_done(req, rc);
	}
}

static struct kube_request *req_new(struct kube_client *c, enum method m, enum kind k,
				    const struct kube_resource *r, const char *ns, const char *name,
				    const char *sub, const json_t *body)
{
	char path[1024];
	if (r && kube_resource_path(path, sizeof(path), r, ns, name, sub) < 0) {
		log_error(c->lg, "kube request: path too long", "resource", r->plural, "name",
			  name);
		return NULL;
	}
	struct kube_request *req = calloc(1, sizeof(*req));
	if (!req) {
		log_error(c->lg, "kube request: out of memory");
		return NULL;
	}
	req->c = c;
	req->method = m;
	req->kind = k;
	req->path = strdup(r ? path : "");
	backoff_init(&req->bo, c->o.backoff_base_ms, c->o.backoff_max_ms);
	if (body) {
		req->body = json_dumps(body, JSON_COMPACT);
		req->body_len = req->body ? strlen(req->body) : 0;
	}
	if (!req->path || (body && !req->body)) {
		log_error(c->lg, "kube request: out of memory");
		free(req->path);
		free(req->body);
		free(req);
		return NULL;
	}
	req->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = req;
	c->reqs = req;
	req->listed = 1;
	c->inflight++;
	return req;
}

static struct kube_request *plain(struct kube_client *c, enum method m,
				  const struct kube_resource *r, const char *ns, const char *name,
				  const char *sub, const json_t *body, const char *ctype,
				  kube_done_cb cb, void *arg)
{
	struct kube_request *req = req_new(c, m, K_PLAIN, r, ns, name, sub, body);
	if (!req)
		return NULL;
	req->content_type = body ? ctype : NULL;
	req->done = cb;
	req->arg = arg;
	return submit(req);
}

struct kube_request *kube_client_get(struct kube_client *c, const struct kube_resource *r,
				     const char *ns, const char *name, kube_done_cb cb, void *arg)
{
	return plain(c, M_GET, r, ns, name, NULL, NULL, NULL, cb, arg);
}

struct kube_request *kube_client_get_path(struct kube_client *c, const char *path, kube_done_cb cb,
					  void *arg)
{
	struct kube_request *req = req_new(c, M_GET, K_PLAIN, NULL, NULL, NULL, NULL, NULL);
	if (!req)
		return NULL;
	free(req->path);
	req->path = strdup(path);
	if (!req->path) {
		req_free(req);
		log_error(c->lg, "kube request: out of memory");
		return NULL;
	}
	req->done = cb;
	req->arg = arg;
	return submit(req);
}

struct kube_request *kube_client_create(struct kube_client *c, const struct kube_resource *r,
					const char *ns, const json_t *obj, kube_done_cb cb,
					void *arg)
{
	return plain(c, M_POST, r, ns, NULL, NULL, obj, "application/json", cb, arg);
}

struct kube_request *kube_client_update(struct kube_client *c, const struct kube_resource *r,
					const char *ns, const char *name, const json_t *obj,
					kube_done_cb cb, void *arg)
{
	return plain(c, M_PUT, r, ns, name, NULL, obj, "application/json", cb, arg);
}

struct kube_request *kube_client_update_status(struct kube_client *c, const struct kube_resource *r,
					       const char *ns, const char *name, const json_t *obj,
					       kube_done_cb cb, void *arg)
{
	return plain(c, M_PUT, r, ns, name, "status", obj, "application/json", cb, arg);
}

struct kube_request *kube_client_patch(struct kube_client *c, const struct kube_resource *r,
				       const char *ns, const char *name, const char *sub,
				       const json_t *patch, kube_done_cb cb, void *arg)
{
	return plain(c, M_PATCH, r, ns, name, sub, patch, "application/merge-patch+json", cb, arg);
}

struct kube_request *kube_client_delete(struct kube_client *c, const struct kube_resource *r,
					const char *ns, const char *name, kube_done_cb cb,
					void *arg)
{
	return plain(c, M_DELETE, r, ns, name, NULL, NULL, NULL, cb, arg);
}

/* Appends "&key=escaped(value)" to *q. */
static int query_add(char **q, const char *key, const char *value)
{
	if (!value || !*value)
		return 0;
	char *esc = curl_easy_escape(NULL, value, 0);
	if (!esc)
		return -1;
	char *n;
	int rc = asprintf(&n, "%s%s%s=%s", *q ? *q : "", *q ? "&" : "", key, esc);
	curl_free(esc);
	if (rc < 0)
		return -1;
	free(*q);
	*q = n;
	return 0;
}

struct kube_request *kube_client_list(struct kube_client *c, const struct kube_resource *r,
				      const char *ns, const struct kube_list_opts *o,
				      kube_done_cb cb, void *arg)
{
	struct kube_request *req = req_new(c, M_GET, K_LIST, r, ns, NULL, NULL, NULL);
	if (!req)
		return NULL;
	char limit[16];
	snprintf(limit, sizeof(limit), "%u", o && o->limit ? o->limit : 500u);
	if (query_add(&req->query, "limit", limit) < 0 ||
	    query_add(&req->query, "labelSelector", o ? o->label_selector : NULL) < 0 ||
	    query_add(&req->query, "fieldSelector", o ? o->field_selector : NULL) < 0) {
		req_free(req);
		log_error(c->lg, "kube request: out of memory");
		return NULL;
	}
	req->done = cb;
	req->arg = arg;
	if (o) {
		req->transform = o->transform;
		req->transform_arg = o->transform_arg;
	}
	return submit(req);
}

struct kube_request *kube_client_watch(struct kube_client *c, const struct kube_resource *r,
				       const char *ns, const struct kube_watch_opts *o,
				       kube_event_cb ev_cb, kube_done_cb done, void *arg)
{
	struct kube_request *req = req_new(c, M_GET, K_WATCH, r, ns, NULL, NULL, NULL);
	if (!req)
		return NULL;
	req->watch_timeout_s = o && o->timeout_s ? o->timeout_s : 300;
	char tmo[16];
	snprintf(tmo, sizeof(tmo), "%u", req->watch_timeout_s);
	if (query_add(&req->query, "watch", "1") < 0 ||
	    query_add(&req->query, "resourceVersion", o ? o->resource_version : NULL) < 0 ||
	    query_add(&req->query, "allowWatchBookmarks", o && o->bookmarks ? "true" : NULL) < 0 ||
	    query_add(&req->query, "timeoutSeconds", tmo) < 0 ||
	    query_add(&req->query, "labelSelector", o ? o->label_selector : NULL) < 0 ||
	    query_add(&req->query, "fieldSelector", o ? o->field_selector : NULL) < 0) {
		req_free(req);
		log_error(c->lg, "kube request: out of memory");
		return NULL;
	}
	req->ev_cb = ev_cb;
	req->done = done;
	req->arg = arg;
	return submit(req);
}
