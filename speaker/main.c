/* l2lb-speaker: answers ARP and NDP for the LoadBalancer addresses this node is elected to
 * announce. */
#include "cli/cli.h"
#include "heap/heap.h"
#include "http/metrics.h"
#include "http/server.h"
#include "http/textbuf.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/leasefsm.h"
#include "log/log.h"
#include "loop/loop.h"
#include "net/ifchoose.h"
#include "net/link.h"
#include "net/netaddr.h"
#include "speaker/caps.h"
#include "speaker/control.h"
#include "speaker/dryrun.h"
#include "speaker/responder.h"
#include "speaker/spkstats.h"
#include "speaker/statedump.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG	   "l2lb-speaker"
#define MAX_STATIC 256
#define MAX_CHOSEN 64
#define MAX_IFACES 8

/*
 * One address from --static ADDR[@IFACE] flags; the interfaces of every flag naming it are
 * merged, so one responder_announce() carries its whole set. why records the last choice
 * outcome, to warn once per change.
 */
struct static_addr {
	struct netaddr addr;
	char text[NETADDR_STRLEN];
	char ifaces[MAX_IFACES][IF_NAME_MAX]; /* none: chosen by subnet */
	size_t nifaces;
	enum ifchoose_result why;
	int chosen_before;
};

/* Everything the speaker runs on: created by main, passed down, no globals. */
struct speaker {
	struct log *lg;
	struct loop *lp;
	struct link_set *links;
	struct responder *resp;
	struct static_addr statics[MAX_STATIC];
	size_t nstatics;
	struct loop_signal sigterm, sigint, sigusr1;
	/* Observability: the registry and stats always (SIGUSR1 reads them), the server unless
	 * --metrics-addr is "". */
	struct metrics *reg;
	struct spkstats *stats;
	struct http_server *http;
	struct loop_timer tick;
	char node[256];
	/* Kubernetes mode */
	struct kube_config *kcfg;
	struct kube_client *kc, *lc, *pc;
	struct control *ctl;
	struct dryrun *dry;
	struct heap_trim *trim;
	struct loop_timer trim_timer;
	int stopping;
	uint64_t shutdown_timeout_ms;
};

/* The command line of Kubernetes mode, with its defaults. */
struct kopts {
	const char *node, *ns, *kubeconfig, *lb_class, *metrics_addr, *dry_run;
	int64_t p_lease, p_renew, p_retry;
	int64_t s_lease, s_renew, s_interval, s_retry;
	int64_t rank_step, shutdown_timeout;
	int api_loss_stop;
	double qps;
	long burst;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [flags]\n"
		"\n"
		"Answers ARP and NDP on this node for the Service addresses it is elected to\n"
		"announce, so the LAN sends that traffic here.\n"
		"\n"
		"Kubernetes mode (the default): watches Services, EndpointSlices, Nodes and, in\n"
		"its namespace, IPAddressPools, L2Advertisements and Leases; elects one node per\n"
		"service through a presence Lease per node and an ownership Lease per service.\n"
		"Durations take a unit: 250ms, 1.5s.\n"
		"\n"
		"flags:\n"
		"  --node-name NAME       this node (default $NODE_NAME); the lease holder identity\n"
		"  --namespace NS         where leases, pools, advertisements and ServiceL2Status\n"
		"                         live (default $POD_NAMESPACE, else the service account's\n"
		"                         namespace file, else l2lb-system)\n"
		"  --kubeconfig PATH      kubeconfig file (default $KUBECONFIG, else in-cluster,\n"
		"                         else ~/.kube/config)\n"
		"  --lb-class CLASS       also serve services with spec.loadBalancerClass CLASS\n"
		"                         (default: only services without a class)\n"
		"  --presence-lease-duration D  presence lease validity (default 1.5s)\n"
		"  --presence-renew-deadline D  stop counting as present when no renewal\n"
		"                         succeeded within D (default 1s)\n"
		"  --presence-retry-period D    presence renewal period (default 250ms)\n"
		"  --lease-duration D     service ownership lease validity (default 15s)\n"
		"  --lease-renew-deadline D  give a service up when no renewal succeeded within D\n"
		"                         (default 10s)\n"
		"  --lease-renew-interval D  renew each held service lease every D (default 5s)\n"
		"  --lease-retry-period D    retry failed service lease writes every D (default 2s)\n"
		"  --rank-delay D         a candidate of rank r waits r*D after a lease became\n"
		"                         free (default 1s)\n"
		"  --api-loss keep|stop   when the presence lease cannot be renewed: keep answering\n"
		"                         (default) or stop at its renew deadline\n"
		"  --shutdown-timeout D   how long SIGTERM waits for leases to be released\n"
		"                         (default 5s)\n"
		"  --qps N, --burst N     client-side API rate limit (default 100 and 200)\n"
		"  --metrics-addr ADDR    serve /metrics, /healthz, /readyz on ADDR:PORT, also with\n"
		"                         --static (default :7473; \"\" or 0 disables)\n"
		"  --dry-run FILE         decide and write leases and status, but answer nothing:\n"
		"                         keep FILE listing the addresses this node would answer for\n"
		"  --static ADDR[@IFACE]  announce ADDR (IPv4 or IPv6) without Kubernetes until\n"
		"                         SIGTERM/SIGINT; on IFACE, or else on every up interface\n"
		"                         with an address whose subnet holds ADDR (repeatable;\n"
		"                         ADDR@IFACE1 ADDR@IFACE2 answers on both)\n"
		"  --garp-interval SECS   repeat gratuitous ARP / unsolicited NA every SECS while\n"
		"                         announcing (default 0: only the burst at the start)\n"
		"  --log-level LEVEL      error, warn, info (default) or debug\n"
		"  --version              print the version and exit\n"
		"  -h, --help             print this help and exit\n"
		"\n"
		"signals: SIGTERM/SIGINT stop answering, release the leases and exit 0; SIGUSR1\n"
		"logs every address with its lease holder, interfaces and counters.\n",
		PROG);
}

/* Parses ADDR[@IFACE] into *addr and iface ("" without @); returns 0, or -1 with a message. */
static int parse_static(const char *arg, struct netaddr *addr, char iface[IF_NAME_MAX])
{
	char buf[NETADDR_STRLEN];
	const char *at = strchr(arg, '@');
	size_t alen = at != NULL ? (size_t)(at - arg) : strlen(arg);

	if (alen >= NETADDR_STRLEN) {
		fprintf(stderr, "%s: bad --static %s: not an IP address\n", PROG, arg);
		return -1;
	}
	memcpy(buf, arg, alen);
	buf[alen] = '\0';
	if (netaddr_parse(buf, addr) < 0) {
		fprintf(stderr, "%s: bad --static %s: %s is not an IPv4 or IPv6 address\n", PROG,
			arg, buf);
		return -1;
	}
	iface[0] = '\0';
	if (at != NULL) {
		if (at[1] == '\0' || strlen(at + 1) >= IF_NAME_MAX || strchr(at + 1, '/') != NULL) {
			fprintf(stderr, "%s: bad --static %s: bad interface name\n", PROG, arg);
			return -1;
		}
		snprintf(iface, IF_NAME_MAX, "%s", at + 1);
	}
	return 0;
}

/* Adds one --static flag to sp's set, merging it into the entry for the same address. */
static int add_static(struct speaker *sp, const char *arg)
{
	struct netaddr a;
	char iface[IF_NAME_MAX];
	struct static_addr *s = NULL;

	if (parse_static(arg, &a, iface) < 0)
		return -1;
	for (size_t i = 0; i < sp->nstatics && s == NULL; i++)
		if (netaddr_equal(&sp->statics[i].addr, &a))
			s = &sp->statics[i];
	if (s == NULL) {
		if (sp->nstatics == MAX_STATIC) {
			fprintf(stderr, "%s: more than %d --static addresses\n", PROG, MAX_STATIC);
			return -1;
		}
		s = &sp->statics[sp->nstatics++];
		memset(s, 0, sizeof(*s));
		s->addr = a;
		netaddr_format(&a, s->text, sizeof(s->text));
		s->why = IFCHOOSE_OK;
	}
	if (iface[0] == '\0')
		return 0;
	for (size_t k = 0; k < s->nifaces; k++)
		if (strcmp(s->ifaces[k], iface) == 0)
			return 0;
	if (s->nifaces == MAX_IFACES) {
		fprintf(stderr, "%s: --static %s: more than %d interfaces for one address\n", PROG,
			arg, MAX_IFACES);
		return -1;
	}
	snprintf(s->ifaces[s->nifaces++], IF_NAME_MAX, "%s", iface);
	return 0;
}

/* Re-chooses the interfaces of every static address and hands the sets to the responder. */
static void reconcile(struct speaker *sp)
{
	size_t nlinks;
	const struct if_info *links = link_set_links(sp->links, &nlinks);
	const char *unready = NULL;

	for (size_t i = 0; i < sp->nstatics; i++) {
		struct static_addr *s = &sp->statics[i];
		const char *names[MAX_IFACES];
		int chosen[MAX_CHOSEN];
		size_t n;
		for (size_t k = 0; k < s->nifaces; k++)
			names[k] = s->ifaces[k];
		enum ifchoose_result why = ifchoose_pick(links, nlinks, &s->addr, names, s->nifaces,
							 chosen, MAX_CHOSEN, &n);
		if (why != IFCHOOSE_OK && (why != s->why || s->chosen_before))
			log_warn(sp->lg, "not announcing: no interface to answer on", "address",
				 s->text, "iface", s->nifaces > 0 ? s->ifaces[0] : "(by subnet)",
				 "reason", ifchoose_result_str(why));
		s->why = why;
		s->chosen_before = n > 0;
		responder_announce(sp->resp, &s->addr, chosen, n);
		if (n == 0 && unready == NULL)
			unready = s->text;
	}
	/* Ready once the data plane answers for every address somewhere. */
	if (unready == NULL) {
		http_server_set_ready(sp->http, 1, NULL);
	} else {
		char why[NETADDR_STRLEN + 40];
		snprintf(why, sizeof(why), "no interface answers for %s", unready);
		http_server_set_ready(sp->http, 0, why);
	}
}

static void on_links(struct link_set *ls, int ifindex, void *arg)
{
	struct speaker *sp = arg;

	(void)ls;
	(void)ifindex;
	reconcile(sp);
}

static void on_conflict(const struct responder_conflict *c, void *arg)
{
	struct speaker *sp = arg;
	char a[NETADDR_STRLEN], mac[18];

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", c->mac[0], c->mac[1], c->mac[2],
		 c->mac[3], c->mac[4], c->mac[5]);
	log_warn(sp->lg, "another host claims an address we announce", "address",
		 netaddr_format(c->addr, a, sizeof(a)), "mac", mac, "seen",
		 responder_seen_str(c->how));
}

static void on_signal(struct loop_signal *s, int signo, void *arg)
{
	struct speaker *sp = arg;

	(void)s;
	log_info(sp->lg, "stopping", "signal", signo == SIGTERM ? "TERM" : "INT");
	/* Stop answering now, before the process is gone: nothing is answered after this. */
	for (size_t i = 0; i < sp->nstatics; i++)
		responder_withdraw(sp->resp, &sp->statics[i].addr);
	loop_stop(sp->lp);
}

/* One line per interface used, so a run's traffic is visible in the log it leaves. */
static void log_counters(struct speaker *sp)
{
	int ifs[64];
	size_t n = responder_interfaces(sp->resp, ifs, 64);
	char b[6][24];

	for (size_t i = 0; i < n && i < 64; i++) {
		struct responder_counters c;
		uint64_t drops = 0;
		if (responder_get_counters(sp->resp, ifs[i], &c) < 0)
			continue;
		for (size_t k = 0; k < ARP_VERDICT_COUNT; k++)
			drops += c.arp_drops[k];
		for (size_t k = 0; k < NDP_VERDICT_COUNT; k++)
			drops += c.ndp_drops[k];
		const struct if_info *l = link_set_by_index(sp->links, ifs[i]);
		log_info(sp->lg, "interface counters", "iface", l != NULL ? l->name : "(gone)",
			 "requests",
			 log_fmt(b[0], sizeof(b[0]), "%llu", (unsigned long long)c.requests_seen),
			 "replies",
			 log_fmt(b[1], sizeof(b[1]), "%llu", (unsigned long long)c.replies_sent),
			 "not_ours",
			 log_fmt(b[2], sizeof(b[2]), "%llu", (unsigned long long)c.not_ours),
			 "announcements",
			 log_fmt(b[3], sizeof(b[3]), "%llu",
				 (unsigned long long)c.announcements_sent),
			 "send_errors",
			 log_fmt(b[4], sizeof(b[4]), "%llu", (unsigned long long)c.send_errors),
			 "dropped", log_fmt(b[5], sizeof(b[5]), "%llu", (unsigned long long)drops));
	}
}

/* Metrics and the health endpoints, in both modes; "" (or the old "0") serves nothing. */
static void start_observability(struct speaker *sp, const char *addr)
{
	sp->reg = metrics_new();
	if (sp->reg == NULL)
		log_fatal(sp->lg, "out of memory");
	sp->stats = spkstats_new(sp->reg, sp->node);
	if (sp->stats == NULL)
		log_fatal(sp->lg, "cannot register metrics");
	if (addr != NULL && strcmp(addr, "0") == 0)
		addr = "";
	if (http_server_new(sp->lp, sp->lg, sp->reg, addr != NULL ? addr : "", &sp->http) < 0)
		log_fatal(sp->lg, "cannot serve --metrics-addr", "addr", addr);
}

static void stop_observability(struct speaker *sp)
{
	loop_timer_stop(sp->lp, &sp->tick);
	http_server_free(sp->http);
	sp->http = NULL;
	spkstats_free(sp->stats);
	sp->stats = NULL;
	metrics_free(sp->reg);
	sp->reg = NULL;
}

/* The SIGUSR1 dump, gathered from the control plane (or the static set) and the counters. */
struct dump_row {
	char addr[NETADDR_STRLEN];
	const char *ifaces[MAX_IFACES * 2];
};

struct dump {
	struct speaker *sp;
	struct statedump_addr *v;
	struct dump_row *rows;
	size_t n, cap;
};

static struct statedump_addr *dump_add(struct dump *d, const struct netaddr *a)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		void *v = realloc(d->v, cap * sizeof(*d->v));
		if (v == NULL)
			return NULL;
		d->v = v;
		void *r = realloc(d->rows, cap * sizeof(*d->rows));
		if (r == NULL)
			return NULL;
		d->rows = r;
		d->cap = cap;
	}
	struct statedump_addr *e = &d->v[d->n];
	struct dump_row *row = &d->rows[d->n++];
	memset(e, 0, sizeof(*e));
	netaddr_format(a, row->addr, sizeof(row->addr));
	e->address = row->addr;
	e->ifaces = row->ifaces;
	spkstats_addr_counters(d->sp->stats, a, &e->requests, &e->replies, &e->announcements);
	return e;
}

static void dump_control_addr(const struct control_addr *a, void *arg)
{
	struct dump *d = arg;
	struct statedump_addr *e = dump_add(d, a->addr);

	if (e == NULL)
		return;
	e->service = a->service;
	e->holder = a->holder;
	e->announcing = a->announcing;
	for (size_t k = 0; k < a->nifaces && k < MAX_IFACES * 2; k++)
		d->rows[d->n - 1].ifaces[e->nifaces++] = a->ifaces[k];
}

static void dump_static(struct dump *d)
{
	struct speaker *sp = d->sp;
	size_t nlinks;
	const struct if_info *links = link_set_links(sp->links, &nlinks);

	for (size_t i = 0; i < sp->nstatics; i++) {
		struct statedump_addr *e = dump_add(d, &sp->statics[i].addr);
		if (e == NULL)
			return;
		for (size_t k = 0; k < nlinks && e->nifaces < MAX_IFACES * 2; k++)
			if (responder_is_announcing(sp->resp, &sp->statics[i].addr,
						    links[k].ifindex))
				d->rows[d->n - 1].ifaces[e->nifaces++] = links[k].name;
		e->announcing = e->nifaces > 0;
	}
}

static void on_usr1(struct loop_signal *s, int signo, void *arg)
{
	struct speaker *sp = arg;
	struct dump d = { .sp = sp };
	struct textbuf *tb = textbuf_new();
	size_t here = 0;
	char b[2][24];

	(void)s;
	(void)signo;
	if (sp->ctl != NULL)
		control_foreach_addr(sp->ctl, dump_control_addr, &d);
	else
		dump_static(&d);
	for (size_t i = 0; i < d.n; i++)
		here += d.v[i].announcing != 0;
	if (tb != NULL)
		statedump_write(tb, d.v, d.n);
	log_block(sp->lg, LOG_LEVEL_INFO,
		  tb != NULL && !textbuf_failed(tb) ? textbuf_data(tb) : "(out of memory)\n",
		  "state", "node", sp->node, "mode", sp->ctl != NULL ? "kubernetes" : "static",
		  "addresses", log_fmt(b[0], sizeof(b[0]), "%zu", d.n), "announced_here",
		  log_fmt(b[1], sizeof(b[1]), "%zu", here), (const char *)NULL);
	textbuf_free(tb);
	free(d.v);
	free(d.rows);
}

static int run_static(struct speaker *sp, uint64_t garp_interval_ms, const char *metrics_addr)
{
	struct responder_opts ro = {
		.garp_interval_ms = garp_interval_ms,
		.on_conflict = on_conflict,
		.arg = sp,
		.observe = spkstats_responder_event,
	};

	log_info(sp->lg, "starting in static mode", "version", L2LB_VERSION);
	(void)caps_start(sp->lg, CAPS_KEEP_NET_RAW);
	sp->lp = loop_new();
	if (sp->lp == NULL)
		log_fatal(sp->lg, "cannot create the event loop");
	if (loop_signal_start(sp->lp, &sp->sigterm, SIGTERM, on_signal, sp) < 0 ||
	    loop_signal_start(sp->lp, &sp->sigint, SIGINT, on_signal, sp) < 0 ||
	    loop_signal_start(sp->lp, &sp->sigusr1, SIGUSR1, on_usr1, sp) < 0)
		log_fatal(sp->lg, "cannot watch SIGTERM, SIGINT and SIGUSR1");
	start_observability(sp, metrics_addr);
	ro.observe_arg = sp->stats;
	sp->links = link_set_new(sp->lp, sp->lg, on_links, sp);
	if (sp->links == NULL)
		log_fatal(sp->lg, "cannot read the network links");
	sp->resp = responder_new(sp->lp, sp->lg, sp->links, &ro);
	if (sp->resp == NULL)
		log_fatal(sp->lg, "out of memory");
	reconcile(sp);
	int rc = loop_run(sp->lp);
	if (rc < 0)
		log_error(sp->lg, "event loop failed");
	log_counters(sp);
	responder_free(sp->resp);
	link_set_free(sp->links);
	stop_observability(sp);
	loop_free(sp->lp);
	return rc < 0 ? 1 : 0;
}

/* Parses "250ms", "1.5s" or "2m" into milliseconds in [1, 24 h]; 0, or -1 on garbage. */
static int parse_duration(const char *str, int64_t *out)
{
	char *end;
	double v = strtod(str, &end), mult;

	if (end == str || !isfinite(v) || v <= 0)
		return -1;
	if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "m") == 0)
		mult = 60000;
	else
		return -1;
	v *= mult;
	if (v < 1 || v > 86400000.0)
		return -1;
	*out = (int64_t)llround(v);
	return 0;
}

/* Lease timings must satisfy client-go's rules (leasefsm.h); says which flag is wrong. */
static int check_timings(const struct kopts *ko)
{
	struct leasefsm_config p = { .identity = "x",
				     .lease_ms = ko->p_lease,
				     .renew_ms = ko->p_renew,
				     .retry_ms = ko->p_retry };
	struct leasefsm_config s = { .identity = "x",
				     .lease_ms = ko->s_lease,
				     .renew_ms = ko->s_renew,
				     .retry_ms = ko->s_retry,
				     .renew_interval_ms = ko->s_interval };
	enum leasefsm_config_error pe = leasefsm_config_validate(&p);
	enum leasefsm_config_error se = leasefsm_config_validate(&s);

	if (pe != LEASEFSM_CONFIG_OK)
		fprintf(stderr,
			"%s: bad presence lease timings: %s (want duration > renew deadline > "
			"1.2 * retry period)\n",
			PROG, leasefsm_config_error_str(pe));
	else if (se != LEASEFSM_CONFIG_OK)
		fprintf(stderr,
			"%s: bad service lease timings: %s (want duration > renew deadline > "
			"renew interval >= retry period, renew deadline > 1.2 * retry period)\n",
			PROG, leasefsm_config_error_str(se));
	return pe == LEASEFSM_CONFIG_OK && se == LEASEFSM_CONFIG_OK ? 0 : -1;
}

/* The pod's namespace: $POD_NAMESPACE, the service account's file, else l2lb-system. */
static const char *default_namespace(char *buf, size_t cap)
{
	const char *env = getenv("POD_NAMESPACE");
	FILE *f;

	if (env != NULL && env[0] != '\0')
		return env;
	f = fopen(KUBE_SA_DIR "/namespace", "r");
	if (f != NULL) {
		if (fgets(buf, (int)cap, f) != NULL) {
			buf[strcspn(buf, " \r\n")] = '\0';
			if (buf[0] != '\0') {
				fclose(f);
				return buf;
			}
		}
		fclose(f);
	}
	return "l2lb-system";
}

static int k_announce(void *arg, const struct netaddr *addr, const int *ifx, size_t n)
{
	struct speaker *sp = arg;

	return responder_announce(sp->resp, addr, ifx, n);
}

static void k_withdraw(void *arg, const struct netaddr *addr)
{
	struct speaker *sp = arg;

	responder_withdraw(sp->resp, addr);
}

static void k_on_links(struct link_set *ls, int ifindex, void *arg)
{
	struct speaker *sp = arg;

	(void)ls;
	(void)ifindex;
	control_links_changed(sp->ctl);
}

static void k_on_conflict(const struct responder_conflict *c, void *arg)
{
	struct speaker *sp = arg;

	on_conflict(c, arg);
	control_wire_conflict(sp->ctl, c->addr);
}

static void k_stopped(void *arg)
{
	struct speaker *sp = arg;

	log_info(sp->lg, "leases released; exiting");
	loop_stop(sp->lp);
}

static void k_on_signal(struct loop_signal *s, int signo, void *arg)
{
	struct speaker *sp = arg;

	(void)s;
	if (sp->stopping) {
		log_warn(sp->lg, "second signal: exiting without releasing leases");
		loop_stop(sp->lp);
		return;
	}
	sp->stopping = 1;
	log_info(sp->lg, "stopping: withdrawing addresses and releasing leases", "signal",
		 signo == SIGTERM ? "TERM" : "INT");
	control_shutdown(sp->ctl, sp->shutdown_timeout_ms, k_stopped, sp);
}

/* Readiness and the informers' counts, every quarter second. */
static void k_tick(struct loop_timer *t, void *arg)
{
	struct speaker *sp = arg;
	const char *res;
	struct informer_stats is;

	(void)t;
	int ok = control_ready(sp->ctl);
	http_server_set_ready(sp->http, ok,
			      ok ? NULL : "informers not synced or presence lease not yet held");
	for (size_t i = 0; control_informer_stats(sp->ctl, i, &res, &is) == 0; i++)
		spkstats_informer(sp->stats, res, &is);
}

/*
 * Freed heap pages, every 5 s: reading the allocator's free bytes walks its free lists, some
 * tens of microseconds with ten thousand free chunks and milliseconds with a hundred thousand,
 * too much for every quarter second.
 */
static void k_trim(struct loop_timer *t, void *arg)
{
	struct speaker *sp = arg;

	(void)t;
	if (heap_trim_tick(sp->trim))
		log_debug(sp->lg, "freed heap pages given back", "trims",
			  log_fmt((char[24]){ 0 }, 24, "%llu",
				  (unsigned long long)heap_trim_count(sp->trim)));
}

static int run_kube(struct speaker *sp, const struct kopts *ko, uint64_t garp_interval_ms)
{
	char err[512];
	char ua[64];

	log_info(sp->lg, "starting", "version", L2LB_VERSION, "node", ko->node, "namespace", ko->ns,
		 "api_loss", ko->api_loss_stop ? "stop" : "keep", "dry_run",
		 ko->dry_run != NULL ? ko->dry_run : "no");
	sp->shutdown_timeout_ms = (uint64_t)ko->shutdown_timeout;
	sp->kcfg = kube_config_load(ko->kubeconfig, NULL, err, sizeof(err));
	if (sp->kcfg == NULL)
		log_fatal(sp->lg, "cannot load the Kubernetes configuration", "error", err);
	sp->lp = loop_new();
	if (sp->lp == NULL)
		log_fatal(sp->lg, "cannot create the event loop");
	if (loop_signal_start(sp->lp, &sp->sigterm, SIGTERM, k_on_signal, sp) < 0 ||
	    loop_signal_start(sp->lp, &sp->sigint, SIGINT, k_on_signal, sp) < 0 ||
	    loop_signal_start(sp->lp, &sp->sigusr1, SIGUSR1, on_usr1, sp) < 0)
		log_fatal(sp->lg, "cannot watch SIGTERM, SIGINT and SIGUSR1");
	snprintf(sp->node, sizeof(sp->node), "%s", ko->node);
	/* Before the informers start: /readyz says 503 from the first moment. */
	start_observability(sp, ko->metrics_addr);
	http_server_set_ready(sp->http, 0, "informers not synced or presence lease not yet held");
	snprintf(ua, sizeof(ua), "l2lb-speaker/%s", L2LB_VERSION);
	/* Connections: over HTTP/1.1 each one costs its TLS state and libcurl's buffers (some
	 * 60 KiB); the informers' six watches hold one each, writes share the rest. */
	struct kube_client_opts co = {
		.user_agent = ua, .qps = ko->qps, .burst = (int)ko->burst, .max_connections = 16
	};
	sp->kc = kube_client_new(sp->lp, sp->lg, sp->kcfg, &co);
	/* Service lease writes: their own limiter; a hung write is given up well before the
	 * renew deadline so it can be retried. */
	struct kube_client_opts lo = co;
	lo.max_connections = 8;
	lo.timeout_ms = (uint32_t)(ko->s_renew / 2 < 5000 ? ko->s_renew / 2 : 5000);
	sp->lc = kube_client_new(sp->lp, sp->lg, sp->kcfg, &lo);
	/* The presence lease: a few writes a second, never queued behind anything; an answer
	 * later than the renew deadline is no answer at all. */
	struct kube_client_opts po = { .user_agent = ua,
				       .qps = -1,
				       .max_connections = 2,
				       .timeout_ms = (uint32_t)ko->p_renew };
	sp->pc = kube_client_new(sp->lp, sp->lg, sp->kcfg, &po);
	if (sp->kc == NULL || sp->lc == NULL || sp->pc == NULL)
		log_fatal(sp->lg, "cannot set up the API client");
	kube_client_set_observer(sp->kc, spkstats_api_request, sp->stats);
	kube_client_set_observer(sp->lc, spkstats_api_request, sp->stats);
	kube_client_set_observer(sp->pc, spkstats_api_request, sp->stats);
	struct control_opts o = {
		.node = ko->node,
		.ns = ko->ns,
		.lb_class = ko->lb_class,
		.presence_lease_ms = ko->p_lease,
		.presence_renew_ms = ko->p_renew,
		.presence_retry_ms = ko->p_retry,
		.svc_lease_ms = ko->s_lease,
		.svc_renew_ms = ko->s_renew,
		.svc_renew_interval_ms = ko->s_interval,
		.svc_retry_ms = ko->s_retry,
		.rank_step_ms = ko->rank_step,
		.api_loss_stop = ko->api_loss_stop,
		.lease_client = sp->lc,
		.presence_client = sp->pc,
		.stats = sp->stats,
	};
	if (ko->dry_run != NULL) {
		sp->dry = dryrun_new(sp->lg, ko->dry_run);
		if (sp->dry == NULL)
			log_fatal(sp->lg, "cannot start the dry run", "path", ko->dry_run);
		o.announcer =
			(struct control_announcer){ dryrun_announce, dryrun_withdraw, sp->dry };
		(void)caps_start(sp->lg, CAPS_KEEP_NONE);
	} else {
		struct responder_opts ro = {
			.garp_interval_ms = garp_interval_ms,
			.on_conflict = k_on_conflict,
			.arg = sp,
			.observe = spkstats_responder_event,
			.observe_arg = sp->stats,
		};
		(void)caps_start(sp->lg, CAPS_KEEP_NET_RAW);
		sp->links = link_set_new(sp->lp, sp->lg, k_on_links, sp);
		if (sp->links == NULL)
			log_fatal(sp->lg, "cannot read the network links");
		sp->resp = responder_new(sp->lp, sp->lg, sp->links, &ro);
		if (sp->resp == NULL)
			log_fatal(sp->lg, "out of memory");
		o.links = sp->links;
		o.announcer = (struct control_announcer){ k_announce, k_withdraw, sp };
	}
	sp->ctl = control_new(sp->lp, sp->lg, sp->kc, &o);
	if (sp->ctl == NULL)
		log_fatal(sp->lg, "cannot start the control plane");
	/* The first lists and a thousand lease creations leave megabytes of freed chunks. */
	sp->trim = heap_trim_new(0);
	if (sp->trim == NULL)
		log_fatal(sp->lg, "out of memory");
	if (control_start(sp->ctl) < 0)
		log_fatal(sp->lg, "cannot start the informers");
	loop_timer_start(sp->lp, &sp->tick, 250, 250, k_tick, sp);
	loop_timer_start(sp->lp, &sp->trim_timer, 5000, 5000, k_trim, sp);
	int rc = loop_run(sp->lp);
	if (rc < 0)
		log_error(sp->lg, "event loop failed");
	if (sp->resp != NULL)
		log_counters(sp);
	loop_timer_stop(sp->lp, &sp->tick);
	loop_timer_stop(sp->lp, &sp->trim_timer);
	control_free(sp->ctl);
	heap_trim_free(sp->trim);
	responder_free(sp->resp);
	link_set_free(sp->links);
	dryrun_free(sp->dry);
	kube_client_free(sp->pc);
	kube_client_free(sp->lc);
	kube_client_free(sp->kc);
	stop_observability(sp);
	loop_free(sp->lp);
	kube_config_free(sp->kcfg);
	return rc < 0 ? 1 : 0;
}

int main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "static", required_argument, NULL, 's' },
		{ "garp-interval", required_argument, NULL, 'g' },
		{ "node-name", required_argument, NULL, 'N' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "lb-class", required_argument, NULL, 'c' },
		{ "presence-lease-duration", required_argument, NULL, 1 },
		{ "presence-renew-deadline", required_argument, NULL, 2 },
		{ "presence-retry-period", required_argument, NULL, 3 },
		{ "lease-duration", required_argument, NULL, 4 },
		{ "lease-renew-deadline", required_argument, NULL, 5 },
		{ "lease-renew-interval", required_argument, NULL, 6 },
		{ "lease-retry-period", required_argument, NULL, 7 },
		{ "rank-delay", required_argument, NULL, 8 },
		{ "shutdown-timeout", required_argument, NULL, 9 },
		{ "api-loss", required_argument, NULL, 'a' },
		{ "qps", required_argument, NULL, 'q' },
		{ "burst", required_argument, NULL, 'b' },
		{ "metrics-addr", required_argument, NULL, 'm' },
		{ "dry-run", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const dur_names[] = {
		NULL,
		"presence-lease-duration",
		"presence-renew-deadline",
		"presence-retry-period",
		"lease-duration",
		"lease-renew-deadline",
		"lease-renew-interval",
		"lease-retry-period",
		"rank-delay",
		"shutdown-timeout",
	};
	char nsbuf[256];
	struct kopts ko = {
		.node = getenv("NODE_NAME"),
		.metrics_addr = ":7473",
		.p_lease = 1500,
		.p_renew = 1000,
		.p_retry = 250,
		.s_lease = 15000,
		.s_renew = 10000,
		.s_interval = 5000,
		.s_retry = 2000,
		.rank_step = 1000,
		.shutdown_timeout = 5000,
		.qps = 100,
		.burst = 200,
	};
	int64_t *durs[] = { NULL,	   &ko.p_lease,		&ko.p_renew,	&ko.p_retry,
			    &ko.s_lease,   &ko.s_renew,		&ko.s_interval, &ko.s_retry,
			    &ko.rank_step, &ko.shutdown_timeout };
	long qps = 100;
	static struct speaker sp;
	enum log_level level = LOG_LEVEL_INFO;
	long garp_secs = 0;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("%s %s\n", PROG, L2LB_VERSION);
			return 0;
		case 'l':
			if (cli_parse_log_level(PROG, optarg, &level) < 0)
				return CLI_EXIT_USAGE;
			break;
		case 's':
			if (add_static(&sp, optarg) < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'g':
			if (cli_parse_long(optarg, 0, 86400, &garp_secs) < 0) {
				fprintf(stderr,
					"%s: bad --garp-interval %s: want whole seconds, 0 to 86400\n",
					PROG, optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 1:
		case 2:
		case 3:
		case 4:
		case 5:
		case 6:
		case 7:
		case 8:
		case 9:
			if (parse_duration(optarg, durs[c]) < 0) {
				fprintf(stderr,
					"%s: bad --%s %s: want a duration such as 250ms or 1.5s\n",
					PROG, dur_names[c], optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'N':
			ko.node = optarg;
			break;
		case 'n':
			ko.ns = optarg;
			break;
		case 'k':
			ko.kubeconfig = optarg;
			break;
		case 'c':
			ko.lb_class = optarg;
			break;
		case 'm':
			ko.metrics_addr = optarg;
			break;
		case 'd':
			ko.dry_run = optarg;
			break;
		case 'a':
			if (strcmp(optarg, "keep") != 0 && strcmp(optarg, "stop") != 0) {
				fprintf(stderr, "%s: bad --api-loss %s: want keep or stop\n", PROG,
					optarg);
				return CLI_EXIT_USAGE;
			}
			ko.api_loss_stop = strcmp(optarg, "stop") == 0;
			break;
		case 'q':
			if (cli_parse_long(optarg, 1, 100000, &qps) < 0) {
				fprintf(stderr,
					"%s: bad --qps %s: want a whole number, 1 to 100000\n",
					PROG, optarg);
				return CLI_EXIT_USAGE;
			}
			ko.qps = (double)qps;
			break;
		case 'b':
			if (cli_parse_long(optarg, 1, 100000, &ko.burst) < 0) {
				fprintf(stderr,
					"%s: bad --burst %s: want a whole number, 1 to 100000\n",
					PROG, optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		default:
			return cli_flag_error(PROG, c, argv);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument %s (see --help)\n", PROG, argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (sp.nstatics == 0 && (ko.node == NULL || ko.node[0] == '\0')) {
		fprintf(stderr,
			"%s: no node name: set --node-name or $NODE_NAME (or use --static)\n",
			PROG);
		return CLI_EXIT_USAGE;
	}
	if (sp.nstatics == 0 && check_timings(&ko) < 0)
		return CLI_EXIT_USAGE;
	sp.lg = log_new(STDERR_FILENO, level);
	if (sp.lg == NULL)
		log_fatal(NULL, "out of memory");
	int rc;
	if (sp.nstatics > 0) {
		if (gethostname(sp.node, sizeof(sp.node) - 1) < 0)
			snprintf(sp.node, sizeof(sp.node), "static");
		rc = run_static(&sp, (uint64_t)garp_secs * 1000, ko.metrics_addr);
	} else {
		if (ko.ns == NULL)
			ko.ns = default_namespace(nsbuf, sizeof(nsbuf));
		rc = run_kube(&sp, &ko, (uint64_t)garp_secs * 1000);
	}
	log_free(sp.lg);
	return rc;
}
