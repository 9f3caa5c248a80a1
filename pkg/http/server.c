/* http/server: libmicrohttpd in external epoll mode, its fd and timeout driven by the loop. */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HTTP_MAX_HANDLERS    16
#define HTTP_MAX_CONNECTIONS 32
#define HTTP_CONN_TIMEOUT_S  10
#define HTTP_LISTEN_BACKLOG  64
#define HTTP_TEXT	     "text/plain; charset=utf-8"
#define HTTP_WHY_MAX	     256

struct http_route {
	char *path;
	http_handler_fn fn;
	void *arg;
};

struct http_server {
	struct loop *lp;
	struct log *lg;
	const struct metrics *reg;
	struct MHD_Daemon *mhd;
	struct loop_io io;
	struct loop_timer timer;
	char addr[128]; /* as given, for messages */
	uint16_t port;
	int ready;
	char why_not[HTTP_WHY_MAX];
	struct http_route routes[HTTP_MAX_HANDLERS];
	size_t nroutes;
};

const char *http_addr_verdict_str(enum http_addr_verdict v)
{
	switch (v) {
	case HTTP_ADDR_OK:
		return "ok";
	case HTTP_ADDR_OFF:
		return "disabled";
	case HTTP_ADDR_NO_PORT:
		return "missing :PORT";
	case HTTP_ADDR_BAD_PORT:
		return "port must be a number from 0 to 65535";
	case HTTP_ADDR_BAD_HOST:
		return "host must be an IPv4 address, a bracketed IPv6 address, or empty";
	}
	return "unknown";
}

static int parse_port(const char *s, uint16_t *out)
{
	unsigned long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

enum http_addr_verdict http_addr_parse(const char *s, struct sockaddr_storage *out, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	size_t hl;
	uint16_t port;

	if (s == NULL || *s == '\0')
		return HTTP_ADDR_OFF;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL)
			return HTTP_ADDR_BAD_HOST;
		if (close[1] == '\0')
			return HTTP_ADDR_NO_PORT;
		if (close[1] != ':')
			return HTTP_ADDR_BAD_HOST;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return HTTP_ADDR_NO_PORT;
		if (memchr(s, ':', (size_t)(colon - s)) != NULL)
			return HTTP_ADDR_BAD_HOST; /* an IPv6 address without brackets */
	}
	if (parse_port(colon + 1, &port) < 0)
		return HTTP_ADDR_BAD_PORT;
	hl = (size_t)(colon - s);
	if (hl >= sizeof(host))
		return HTTP_ADDR_BAD_HOST;
	memcpy(host, s, hl);
	host[hl] = '\0';

	memset(out, 0, sizeof(*out));
	if (hl == 0) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;

		a6->sin6_family = AF_INET6;
		a6->sin6_addr = in6addr_any;
		a6->sin6_port = htons(port);
		*len = sizeof(*a6);
		return HTTP_ADDR_OK;
	}
	if (host[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;

		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
			return HTTP_ADDR_BAD_HOST;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*len = sizeof(*a6);
		return HTTP_ADDR_OK;
	}
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *)out;

		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return HTTP_ADDR_BAD_HOST;
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof(*a4);
	}
	return HTTP_ADDR_OK;
}

/* ---- responses ---- */

static enum MHD_Result reply_static(struct MHD_Connection *c, unsigned int status, const char *text)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, HTTP_TEXT);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Sends body's text (handed to libmicrohttpd, which frees it) or a 500 if it is incomplete. */
static enum MHD_Result reply_buf(struct http_server *srv, struct MHD_Connection *c,
				 unsigned int status, struct textbuf *body, const char *ctype,
				 const char *url)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t len = 0;
	char *text = textbuf_take(body, &len);

	if (text == NULL) {
		log_warn(srv->lg, "http: response not built: out of memory", "path", url);
		return reply_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Runs the built-in or registered handler for url into body; returns the status, 0: none. */
static int route(struct http_server *srv, const char *url, struct textbuf *body, const char **ctype)
{
	char num[32];

	if (strcmp(url, "/metrics") == 0) {
		*ctype = METRICS_CONTENT_TYPE;
		if (srv->reg != NULL)
			metrics_render(srv->reg, body);
		return MHD_HTTP_OK;
	}
	if (strcmp(url, "/healthz") == 0) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)loop_iterations(srv->lp));
		textbuf_puts(body, "ok iterations=");
		textbuf_puts(body, num);
		textbuf_putc(body, '\n');
		return MHD_HTTP_OK;
	}
	if (strcmp(url, "/readyz") == 0) {
		if (srv->ready) {
			textbuf_puts(body, "ready\n");
			return MHD_HTTP_OK;
		}
		textbuf_printf(body, "not ready: %s\n", srv->why_not);
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	}
	for (size_t i = 0; i < srv->nroutes; i++) {
		if (strcmp(url, srv->routes[i].path) == 0)
			return srv->routes[i].fn(srv->routes[i].arg, body, ctype);
	}
	return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **state)
{
	struct http_server *srv = cls;
	const char *ctype = HTTP_TEXT;
	struct textbuf *body;
	enum MHD_Result ret;
	int status;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)state;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_static(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	body = textbuf_new();
	if (body == NULL)
		return reply_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	status = route(srv, url, body, &ctype);
	if (status == 0)
		ret = reply_static(c, MHD_HTTP_NOT_FOUND, "not found\n");
	else if (status < 100 || status > 599)
		ret = reply_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "handler failed\n");
	else
		ret = reply_buf(srv, c, (unsigned int)status, body, ctype, url);
	textbuf_free(body);
	return ret;
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *srv = cls;
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warn(srv->lg, "http: libmicrohttpd", "addr", srv->addr, "detail", msg);
}

/* ---- the loop ---- */

static void on_timer(struct loop_timer *t, void *arg);

/* Lets libmicrohttpd do its work, then arms the timer for its next deadline. */
static void run_mhd(struct http_server *srv)
{
	MHD_UNSIGNED_LONG_LONG ms = 0;

	MHD_run(srv->mhd);
	if (MHD_get_timeout(srv->mhd, &ms) == MHD_YES) {
		if (loop_timer_start(srv->lp, &srv->timer, (uint64_t)ms, 0, on_timer, srv) < 0)
			log_warn(srv->lg, "http: cannot arm the connection timer: out of memory",
				 "addr", srv->addr);
	} else {
		loop_timer_stop(srv->lp, &srv->timer);
	}
}

static void on_timer(struct loop_timer *t, void *arg)
{
	(void)t;
	run_mhd(arg);
}

static void on_io(struct loop_io *w, uint32_t events, void *arg)
{
	(void)w;
	(void)events;
	run_mhd(arg);
}

/* ---- setup ---- */

/* Opens the listening socket here rather than in libmicrohttpd, to report errno precisely. */
static int open_listener(struct http_server *srv, const struct sockaddr_storage *ss, socklen_t len)
{
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;
	int any6 = ss->ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr);
	struct sockaddr_in a4;
	const char *op = "socket";
	const struct sockaddr *sa = (const struct sockaddr *)ss;
	int one = 1, off = 0;
	int fd;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && any6 && errno == EAFNOSUPPORT) {
		/* A kernel without IPv6: every address means every IPv4 address. */
		memset(&a4, 0, sizeof(a4));
		a4.sin_family = AF_INET;
		a4.sin_addr.s_addr = htonl(INADDR_ANY);
		a4.sin_port = a6->sin6_port;
		sa = (const struct sockaddr *)&a4;
		len = sizeof(a4);
		any6 = 0;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		goto fail;
	op = "setsockopt";
	/* A restarted daemon must not wait out TIME_WAIT of its predecessor's connections. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (any6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0)
		goto fail;
	op = "bind";
	if (bind(fd, sa, len) < 0)
		goto fail;
	op = "listen";
	if (listen(fd, HTTP_LISTEN_BACKLOG) < 0)
		goto fail;
	return fd;
fail : {
	char why[160];
	int e = errno;

	snprintf(why, sizeof(why), "%s: %s", op, strerror(e));
	log_error(srv->lg, "http: cannot listen", "addr", srv->addr, "error", why);
	if (fd >= 0)
		close(fd);
	errno = e;
	return -1;
}
}

/* The port and family the socket really got (the kernel's port for 0, IPv4 after fallback). */
static uint16_t bound_port(int fd, int *family)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	*family = ss.ss_family;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 a6;

		memcpy(&a6, &ss, sizeof(a6));
		return ntohs(a6.sin6_port);
	}
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in a4;

		memcpy(&a4, &ss, sizeof(a4));
		return ntohs(a4.sin_port);
	}
	return 0;
}

int http_server_new(struct loop *lp, struct log *lg, const struct metrics *reg, const char *addr,
		    struct http_server **out)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	enum http_addr_verdict v = http_addr_parse(addr, &ss, &len);
	struct http_server *srv;
	const union MHD_DaemonInfo *info;
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	int fd, family = AF_UNSPEC;

	*out = NULL;
	if (v == HTTP_ADDR_OFF)
		return 0;
	if (v != HTTP_ADDR_OK) {
		log_error(lg, "http: bad listen address", "addr", addr, "error",
			  http_addr_verdict_str(v));
		return -1;
	}
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		log_error(lg, "http: cannot start: out of memory", "addr", addr);
		return -1;
	}
	srv->lp = lp;
	srv->lg = lg;
	srv->reg = reg;
	snprintf(srv->addr, sizeof(srv->addr), "%s", addr);
	snprintf(srv->why_not, sizeof(srv->why_not), "starting");
	fd = open_listener(srv, &ss, len);
	if (fd < 0) {
		free(srv);
		return -1;
	}
	srv->port = bound_port(fd, &family);
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* libmicrohttpd owns fd from here: MHD_stop_daemon closes it. */
	/* The logger goes first so that libmicrohttpd never writes to stderr itself. */
	srv->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)HTTP_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)HTTP_CONN_TIMEOUT_S, MHD_OPTION_END);
	if (srv->mhd == NULL) {
		log_error(lg, "http: cannot start libmicrohttpd", "addr", addr);
		/* Whether a failed start closed the socket is not documented: close it if open. */
		if (fcntl(fd, F_GETFD) != -1)
			close(fd);
		free(srv);
		return -1;
	}
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (info == NULL || loop_io_start(lp, &srv->io, info->epoll_fd, EPOLLIN, on_io, srv) < 0) {
		log_error(lg, "http: cannot watch libmicrohttpd's epoll fd", "addr", addr);
		MHD_stop_daemon(srv->mhd);
		free(srv);
		return -1;
	}
	run_mhd(srv);
	{
		char port[8];

		log_info(lg, "http: serving /metrics /healthz /readyz", "addr", addr, "port",
			 log_fmt(port, sizeof(port), "%u", (unsigned)srv->port));
	}
	*out = srv;
	return 0;
}

void http_server_free(struct http_server *srv)
{
	if (srv == NULL)
		return;
	loop_io_stop(srv->lp, &srv->io);
	loop_timer_stop(srv->lp, &srv->timer);
	MHD_stop_daemon(srv->mhd);
	for (size_t i = 0; i < srv->nroutes; i++)
		free(srv->routes[i].path);
	free(srv);
}

void http_server_set_ready(struct http_server *srv, int ready, const char *why_not)
{
	if (srv == NULL)
		return;
	srv->ready = ready != 0;
	snprintf(srv->why_not, sizeof(srv->why_not), "%s", why_not ? why_not : "starting");
}

int http_server_ready(const struct http_server *srv)
{
	return srv != NULL && srv->ready;
}

int http_server_handle(struct http_server *srv, const char *path, http_handler_fn fn, void *arg)
{
	static const char *const builtin[] = { "/metrics", "/healthz", "/readyz" };
	char *copy;

	if (srv == NULL)
		return 0;
	if (path == NULL || path[0] != '/' || fn == NULL || srv->nroutes == HTTP_MAX_HANDLERS)
		return -1;
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		if (strcmp(path, builtin[i]) == 0)
			return -1;
	}
	for (size_t i = 0; i < srv->nroutes; i++) {
		if (strcmp(path, srv->routes[i].path) == 0)
			return -1;
	}
	copy = strdup(path);
	if (copy == NULL)
		return -1;
	srv->routes[srv->nroutes].path = copy;
	srv->routes[srv->nroutes].fn = fn;
	srv->routes[srv->nroutes].arg = arg;
	srv->nroutes++;
	return 0;
}

uint16_t http_server_port(const struct http_server *srv)
{
	return srv == NULL ? 0 : srv->port;
}
