/* http/server: the /metrics, /healthz and /readyz endpoints (libmicrohttpd), run on the loop. */
#ifndef L2LB_HTTP_SERVER_H
#define L2LB_HTTP_SERVER_H

#include <stdint.h>
#include <sys/socket.h>

#include "http/metrics.h"
#include "http/textbuf.h"
#include "log/log.h"
#include "loop/loop.h"

/*
 * libmicrohttpd runs without a thread of its own: its epoll fd is watched by the daemon's loop
 * and its timeout is a loop timer, so every handler runs on the loop. /healthz therefore only
 * answers while the loop turns: a wedged loop fails the probe by timing out.
 *
 *	/metrics  the registry in the Prometheus text format (200)
 *	/healthz  "ok iterations=N" (200); N is loop_iterations(), so two probes show progress
 *	/readyz   503 "not ready: <why>" until http_server_set_ready(srv, 1, NULL), then 200 "ready"
 *	others    added with http_server_handle(); anything else 404; methods other than GET and
 *	          HEAD 405.
 */
struct http_server;

enum http_addr_verdict {
	HTTP_ADDR_OK,	    /* parsed: an IPv4 address, an [IPv6] one, or every address (":PORT") */
	HTTP_ADDR_OFF,	    /* "": serve nothing */
	HTTP_ADDR_NO_PORT,  /* no ":PORT" at the end */
	HTTP_ADDR_BAD_PORT, /* the port is not a number in 0..65535 */
	HTTP_ADDR_BAD_HOST, /* the host is not an IPv4 address, a bracketed IPv6 one, or empty */
};

/* A phrase for messages: "ok", "disabled", "missing :PORT", ... */
const char *http_addr_verdict_str(enum http_addr_verdict v);

/*
 * Parses "ADDR:PORT" as --metrics-addr takes it: "192.0.2.1:7472", "[2001:db8::1]:7472",
 * ":7472" (every address: [::] accepting IPv4 too), or "" (off). Port 0 asks the kernel for a
 * free one (tests). No names are resolved. Pure: fills *out and *len only on HTTP_ADDR_OK.
 */
enum http_addr_verdict http_addr_parse(const char *s, struct sockaddr_storage *out, socklen_t *len);

/*
 * Writes a response body into body and returns the HTTP status. *content_type starts as
 * "text/plain; charset=utf-8" and may be pointed at another static string. Runs on the loop.
 */
typedef int (*http_handler_fn)(void *arg, struct textbuf *body, const char **content_type);

/*
 * Listens on addr and serves from the loop. reg (borrowed, may be NULL: /metrics is then
 * empty) must outlive the server; so must lp and lg. Returns 0 with *out set to an owned
 * server, 0 with *out NULL when addr is "" (off), or -1 after logging one error that names
 * the address and the reason (a malformed address, "Address already in use", ...).
 */
int http_server_new(struct loop *lp, struct log *lg, const struct metrics *reg, const char *addr,
		    struct http_server **out);
/* Stops serving, closes every connection and the socket. Accepts NULL. */
void http_server_free(struct http_server *srv);

/*
 * /readyz answers 200 once ready is 1, else 503 with why_not (copied; NULL: "starting").
 * The server starts not ready. Accepts a NULL server (off), as do the functions below.
 */
void http_server_set_ready(struct http_server *srv, int ready, const char *why_not);
int http_server_ready(const struct http_server *srv);

/*
 * Serves path (exactly, starting with '/'; not one of the three built-in) with fn. arg is
 * borrowed. Returns 0, or -1 when the path is invalid or taken, or the table is full.
 */
int http_server_handle(struct http_server *srv, const char *path, http_handler_fn fn, void *arg);

/* The port actually bound (the kernel's choice for port 0); 0 for a NULL server. */
uint16_t http_server_port(const struct http_server *srv);

#endif
