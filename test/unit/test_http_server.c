/*
 * Tests for pkg/http/server: address parsing, and the real server on the loopback address,
 * fetched over HTTP by libcurl in a child process while the parent runs the loop.
 */
#include "http/server.h"
#include "unit.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const struct {
	const char *in;
	enum http_addr_verdict want;
	int family;
	uint16_t port;
	const char *host; /* as inet_ntop writes it */
} addrs[] = {
	{ "127.0.0.1:7472", HTTP_ADDR_OK, AF_INET, 7472, "127.0.0.1" },
	{ "192.0.2.10:0", HTTP_ADDR_OK, AF_INET, 0, "192.0.2.10" },
	{ "[::1]:7473", HTTP_ADDR_OK, AF_INET6, 7473, "::1" },
	{ "[2001:db8::1]:65535", HTTP_ADDR_OK, AF_INET6, 65535, "2001:db8::1" },
	{ ":7472", HTTP_ADDR_OK, AF_INET6, 7472, "::" },
	{ "[::]:80", HTTP_ADDR_OK, AF_INET6, 80, "::" },
	{ "", HTTP_ADDR_OFF, 0, 0, NULL },
	{ "127.0.0.1", HTTP_ADDR_NO_PORT, 0, 0, NULL },
	{ "[::1]", HTTP_ADDR_NO_PORT, 0, 0, NULL },
	{ "7472", HTTP_ADDR_NO_PORT, 0, 0, NULL },
	{ "127.0.0.1:", HTTP_ADDR_BAD_PORT, 0, 0, NULL },
	{ ":65536", HTTP_ADDR_BAD_PORT, 0, 0, NULL },
	{ ":-1", HTTP_ADDR_BAD_PORT, 0, 0, NULL },
	{ ":+80", HTTP_ADDR_BAD_PORT, 0, 0, NULL },
	{ ":80x", HTTP_ADDR_BAD_PORT, 0, 0, NULL },
	{ ":000080", HTTP_ADDR_BAD_PORT, 0, 0, NULL },
	{ "::1:80", HTTP_ADDR_BAD_HOST, 0, 0, NULL },
	{ "[::1:80", HTTP_ADDR_BAD_HOST, 0, 0, NULL },
	{ "[::1]x80", HTTP_ADDR_BAD_HOST, 0, 0, NULL },
	{ "[192.0.2.1]:80", HTTP_ADDR_BAD_HOST, 0, 0, NULL },
	{ "[zz]:80", HTTP_ADDR_BAD_HOST, 0, 0, NULL },
	{ "192.0.2:80", HTTP_ADDR_BAD_HOST, 0, 0, NULL },
	{ "localhost:80", HTTP_ADDR_BAD_HOST, 0, 0, NULL },
	{ " 127.0.0.1:80", HTTP_ADDR_BAD_HOST, 0, 0, NULL },
};

START_TEST(test_addr_parse)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	char host[INET6_ADDRSTRLEN];
	enum http_addr_verdict v = http_addr_parse(addrs[_i].in, &ss, &len);

	ck_assert_msg(v == addrs[_i].want, "\"%s\": got %s, want %s", addrs[_i].in,
		      http_addr_verdict_str(v), http_addr_verdict_str(addrs[_i].want));
	if (v != HTTP_ADDR_OK)
		return;
	ck_assert_int_eq(ss.ss_family, addrs[_i].family);
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

		ck_assert_uint_eq(len, sizeof(*a));
		ck_assert_uint_eq(ntohs(a->sin_port), addrs[_i].port);
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
	} else {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

		ck_assert_uint_eq(len, sizeof(*a));
		ck_assert_uint_eq(ntohs(a->sin6_port), addrs[_i].port);
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
	}
	ck_assert_str_eq(host, addrs[_i].host);
}
END_TEST

/* ---- a logger whose output the test reads ---- */

struct capture {
	int fds[2];
	char out[8192];
};

static struct log *cap_open(struct capture *c)
{
	ck_assert_int_eq(pipe(c->fds), 0);
	struct log *lg = log_new(c->fds[1], LOG_LEVEL_DEBUG);
	ck_assert_ptr_nonnull(lg);
	return lg;
}

static const char *cap_read(struct capture *c)
{
	ssize_t n, total = 0;

	close(c->fds[1]);
	while ((n = read(c->fds[0], c->out + total, sizeof(c->out) - 1 - (size_t)total)) > 0)
		total += n;
	close(c->fds[0]);
	c->out[total] = '\0';
	return c->out;
}

START_TEST(test_port_in_use_named)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	struct capture c;
	struct log *lg = cap_open(&c);
	struct loop *lp = loop_new();
	struct http_server *srv = (struct http_server *)&a; /* must be reset to NULL */
	char addr[64], want[128];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(a.sin_port));

	ck_assert_int_eq(http_server_new(lp, lg, NULL, addr, &srv), -1);
	ck_assert_ptr_null(srv);
	log_free(lg);
	snprintf(want, sizeof(want), "addr=%s error=\"bind: Address already in use\"", addr);
	ck_assert_msg(strstr(cap_read(&c), want) != NULL, "log: %s", c.out);
	close(fd);
	loop_free(lp);
}
END_TEST

START_TEST(test_bad_address_named)
{
	struct capture c;
	struct log *lg = cap_open(&c);
	struct loop *lp = loop_new();
	struct http_server *srv = NULL;

	ck_assert_int_eq(http_server_new(lp, lg, NULL, "localhost:7472", &srv), -1);
	ck_assert_ptr_null(srv);
	log_free(lg);
	ck_assert_msg(strstr(cap_read(&c), "msg=\"http: bad listen address\" addr=localhost:7472 "
					   "error=\"host must be an IPv4 address, a bracketed "
					   "IPv6 address, or empty\"") != NULL,
		      "log: %s", c.out);
	loop_free(lp);
}
END_TEST

START_TEST(test_disabled)
{
	struct capture c;
	struct log *lg = cap_open(&c);
	struct loop *lp = loop_new();
	struct http_server *srv = (struct http_server *)lp;

	ck_assert_int_eq(http_server_new(lp, lg, NULL, "", &srv), 0);
	ck_assert_ptr_null(srv);
	/* Everything accepts the NULL server of a disabled endpoint. */
	http_server_set_ready(srv, 1, NULL);
	ck_assert_int_eq(http_server_ready(srv), 0);
	ck_assert_int_eq(http_server_port(srv), 0);
	http_server_free(srv);
	log_free(lg);
	ck_assert_str_eq(cap_read(&c), "");
	loop_free(lp);
}
END_TEST

/* ---- the HTTP client, in a child process ---- */

struct reply {
	long status;
	CURLcode cc;
	char ctype[96];
	char body[4096];
	size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t k = size * n;
	size_t room = sizeof(r->body) - 1 - r->len;

	memcpy(r->body + r->len, p, k < room ? k : room);
	r->len += k < room ? k : room;
	r->body[r->len] = '\0';
	return k;
}

/* One request; method NULL is GET. Fills *r (status 0 when no response came). */
static void fetch(const char *base, const char *path, const char *method, long timeout_ms,
		  struct reply *r)
{
	CURL *h = curl_easy_init();
	char url[256];
	char *ct = NULL;

	memset(r, 0, sizeof(*r));
	if (h == NULL) {
		r->cc = CURLE_FAILED_INIT;
		return;
	}
	snprintf(url, sizeof(url), "%s%s", base, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	if (method != NULL && strcmp(method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (method != NULL)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	r->cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL)
		snprintf(r->ctype, sizeof(r->ctype), "%s", ct);
	curl_easy_cleanup(h);
}

/* Writes "name status=S cc=C ctype=T body=B" with the body's new lines as '|'. */
static void record(FILE *out, const char *name, const struct reply *r)
{
	fprintf(out, "%s status=%ld cc=%d ctype=%s body=", name, r->status, (int)r->cc, r->ctype);
	for (size_t i = 0; i < r->len; i++)
		fputc(r->body[i] == '\n' ? '|' : r->body[i], out);
	fputc('\n', out);
}

/* Sends one byte to the parent and waits for its one-byte answer. */
static int ask(int to, int from, char what, char want)
{
	char got = 0;
	struct pollfd p = { .fd = from, .events = POLLIN };

	if (write(to, &what, 1) != 1)
		return -1;
	if (poll(&p, 1, 10000) != 1 || read(from, &got, 1) != 1)
		return -1;
	return got == want ? 0 : -1;
}

static unsigned long long iterations(const struct reply *r)
{
	const char *p = strstr(r->body, "iterations=");

	return p ? strtoull(p + strlen("iterations="), NULL, 10) : 0;
}

/* The child's whole conversation with the server; the parent checks the record afterwards. */
static void client(const char *base, int to, int from, FILE *out)
{
	struct reply r;
	unsigned long long first, second;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	fetch(base, "/readyz", NULL, 5000, &r);
	record(out, "readyz-before", &r);
	if (ask(to, from, 'R', 'r') < 0)
		fprintf(out, "ask ready failed\n");
	fetch(base, "/readyz", NULL, 5000, &r);
	record(out, "readyz-after", &r);
	fetch(base, "/healthz", NULL, 5000, &r);
	record(out, "healthz-1", &r);
	first = iterations(&r);
	fetch(base, "/metrics", NULL, 5000, &r);
	record(out, "metrics", &r);
	fetch(base, "/healthz", NULL, 5000, &r);
	second = iterations(&r);
	fprintf(out, "progress=%s\n", second > first ? "yes" : "no");
	fetch(base, "/state", NULL, 5000, &r);
	record(out, "state", &r);
	fetch(base, "/nope", NULL, 5000, &r);
	record(out, "nope", &r);
	fetch(base, "/metrics", "POST", 5000, &r);
	record(out, "post", &r);
	fetch(base, "/metrics", "HEAD", 5000, &r);
	record(out, "head", &r);
	/* While the parent's loop is stuck in a callback, the probe gets no answer. */
	if (ask(to, from, 'W', 'w') < 0)
		fprintf(out, "ask wedge failed\n");
	fetch(base, "/healthz", NULL, 300, &r);
	record(out, "healthz-wedged", &r);
	if (write(to, "U", 1) != 1)
		fprintf(out, "unwedge failed\n");
	fetch(base, "/healthz", NULL, 5000, &r);
	record(out, "healthz-unwedged", &r);
	curl_global_cleanup();
}

/* ---- the parent: the server on its loop, with other work going on ---- */

struct parent {
	struct loop *lp;
	struct http_server *srv;
	struct loop_io report;
	struct loop_timer busy;
	struct metric *ticks;
	int to_child;
	int done;
	int wedged;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Other work on the loop: every 2 ms, half a millisecond of computing. */
static void on_busy(struct loop_timer *t, void *arg)
{
	struct parent *p = arg;
	uint64_t until = now_ns() + 500000;

	(void)t;
	while (now_ns() < until)
		;
	metric_inc(p->ticks);
}

static void on_report(struct loop_io *w, uint32_t events, void *arg)
{
	struct parent *p = arg;
	char c;
	ssize_t n = read(w->fd, &c, 1);

	(void)events;
	if (n <= 0) {
		p->done = 1;
		loop_io_stop(p->lp, w);
		loop_stop(p->lp);
		return;
	}
	if (c == 'R') {
		http_server_set_ready(p->srv, 1, NULL);
		ck_assert_int_eq(write(p->to_child, "r", 1), 1);
	} else if (c == 'W') {
		struct pollfd pf = { .fd = w->fd, .events = POLLIN };

		/* Wedge the loop until the child has seen its probe go unanswered. */
		ck_assert_int_eq(write(p->to_child, "w", 1), 1);
		ck_assert_int_eq(poll(&pf, 1, 10000), 1);
		ck_assert_int_eq(read(w->fd, &c, 1), 1);
		ck_assert_int_eq(c, 'U');
		p->wedged = 1;
	}
}

static int on_state(void *arg, struct textbuf *body, const char **ctype)
{
	textbuf_printf(body, "{\"state\":\"%s\"}\n", (const char *)arg);
	*ctype = "application/json";
	return 200;
}

/*
 * Starts a server on addr, forks the client against base ("" for the server's own port on
 * 127.0.0.1), runs the loop until the client is done, and returns the client's record.
 */
static char *converse(const char *addr, const char *host,
		      void (*talk)(const char *, int, int, FILE *))
{
	struct parent p = { 0 };
	struct metrics *reg = metrics_new();
	struct metric_family *f;
	struct log *lg = log_new(STDERR_FILENO, LOG_LEVEL_WARN);
	int up[2], down[2], status = -1;
	char base[128];
	FILE *out = tmpfile();
	uint64_t deadline;
	pid_t pid;
	long size;
	char *text;

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(metrics_add_counter(reg, "test_ticks_total", "Busy ticks.", NULL, &f),
			 METRIC_OK);
	p.ticks = metric_family_solo(f);
	p.lp = loop_new();
	ck_assert_int_eq(http_server_new(p.lp, lg, reg, addr, &p.srv), 0);
	ck_assert_ptr_nonnull(p.srv);
	ck_assert_uint_gt(http_server_port(p.srv), 0);
	http_server_set_ready(p.srv, 0, "informers syncing");
	ck_assert_int_eq(http_server_handle(p.srv, "/state", on_state, "fine"), 0);
	ck_assert_int_eq(http_server_handle(p.srv, "/state", on_state, "again"), -1);
	ck_assert_int_eq(http_server_handle(p.srv, "/metrics", on_state, "taken"), -1);
	ck_assert_int_eq(http_server_handle(p.srv, "relative", on_state, "no"), -1);
	snprintf(base, sizeof(base), "http://%s:%u", host, http_server_port(p.srv));

	ck_assert_int_eq(pipe(up), 0);
	ck_assert_int_eq(pipe(down), 0);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		talk(base, up[1], down[0], out);
		fflush(out);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	p.to_child = down[1];
	ck_assert_int_eq(loop_io_start(p.lp, &p.report, up[0], EPOLLIN, on_report, &p), 0);
	ck_assert_int_eq(loop_timer_start(p.lp, &p.busy, 2, 2, on_busy, &p), 0);

	deadline = now_ns() + 30ULL * 1000000000ULL;
	for (int i = 0; i < 1000000 && !p.done && now_ns() < deadline; i++)
		ck_assert_int_eq(loop_run_once(p.lp, 100), 0);
	if (!p.done)
		kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(p.done, "the client did not finish in time");
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	fseek(out, 0, SEEK_END);
	size = ftell(out);
	rewind(out);
	text = calloc(1, (size_t)size + 64);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(fread(text, 1, (size_t)size, out), (size_t)size);
	snprintf(text + size, 64, "ticks=%.0f\n", metric_value(p.ticks));
	fclose(out);
	close(up[0]);
	close(down[1]);
	loop_timer_stop(p.lp, &p.busy);
	http_server_free(p.srv);
	loop_free(p.lp);
	metrics_free(reg);
	log_free(lg);
	return text;
}

static void assert_has(const char *text, const char *want)
{
	ck_assert_msg(strstr(text, want) != NULL, "missing \"%s\" in:\n%s", want, text);
}

START_TEST(test_endpoints_over_http)
{
	char *t = converse("127.0.0.1:0", "127.0.0.1", client);

	assert_has(t, "readyz-before status=503 cc=0 ctype=text/plain; charset=utf-8 "
		      "body=not ready: informers syncing|\n");
	assert_has(t, "readyz-after status=200 cc=0 ctype=text/plain; charset=utf-8 body=ready|\n");
	assert_has(t, "healthz-1 status=200 cc=0 ctype=text/plain; charset=utf-8 body=ok "
		      "iterations=");
	assert_has(t, "metrics status=200 cc=0 ctype=" METRICS_CONTENT_TYPE
		      " body=# HELP test_ticks_total Busy ticks.|# TYPE test_ticks_total "
		      "counter|test_ticks_total ");
	/* Other work kept the loop busy while every probe was answered. */
	ck_assert_msg(strstr(t, "ticks=0\n") == NULL, "no busy ticks counted:\n%s", t);
	assert_has(t, "progress=yes\n");
	assert_has(t, "state status=200 cc=0 ctype=application/json body={\"state\":\"fine\"}|\n");
	assert_has(t, "nope status=404 cc=0 ctype=text/plain; charset=utf-8 body=not found|\n");
	assert_has(t, "post status=405 cc=0 ctype=text/plain; charset=utf-8 body=method not "
		      "allowed|\n");
	assert_has(t, "head status=200 cc=0 ctype=" METRICS_CONTENT_TYPE " body=\n");
	/* CURLE_OPERATION_TIMEDOUT: the wedged loop did not answer. */
	assert_has(t, "healthz-wedged status=0 cc=28 ");
	assert_has(t, "healthz-unwedged status=200 cc=0 ctype=text/plain; charset=utf-8 body=ok "
		      "iterations=");
	ck_assert_msg(strstr(t, "failed") == NULL, "%s", t);
	free(t);
}
END_TEST

static void client_healthz(const char *base, int to, int from, FILE *out)
{
	struct reply r;

	(void)to;
	(void)from;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	fetch(base, "/healthz", NULL, 5000, &r);
	record(out, "healthz", &r);
	curl_global_cleanup();
}

/* 1 when this machine can bind the IPv6 loopback address (containers may lack it). */
static int have_ipv6_loopback(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM, 0);
	int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

START_TEST(test_ipv6_loopback)
{
	char *t;

	if (!have_ipv6_loopback()) {
		fprintf(stderr, "test_ipv6_loopback: no ::1 here, not tested\n");
		return;
	}
	t = converse("[::1]:0", "[::1]", client_healthz);
	assert_has(t, "healthz status=200 cc=0 ctype=text/plain; charset=utf-8 body=ok ");
	free(t);
}
END_TEST

START_TEST(test_all_addresses_accept_ipv4)
{
	/* ":PORT" listens on every address; the IPv4 loopback must reach it. */
	char *t = converse(":0", "127.0.0.1", client_healthz);

	assert_has(t, "healthz status=200 cc=0 ctype=text/plain; charset=utf-8 body=ok ");
	free(t);
}
END_TEST

static Suite *http_server_suite(void)
{
	Suite *s = suite_create("http_server");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_addr_parse, 0, sizeof(addrs) / sizeof(addrs[0]));
	tcase_add_test(tc, test_port_in_use_named);
	tcase_add_test(tc, test_bad_address_named);
	tcase_add_test(tc, test_disabled);
	tcase_add_test(tc, test_endpoints_over_http);
	tcase_add_test(tc, test_ipv6_loopback);
	tcase_add_test(tc, test_all_addresses_accept_ipv4);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(http_server_suite)
