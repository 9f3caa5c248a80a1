/* l2lb-speaker: answers ARP and NDP for the LoadBalancer addresses this node is elected to
 * announce. */
#include "cli/cli.h"
#include "log/log.h"
#include "loop/loop.h"
#include "net/ifchoose.h"
#include "net/link.h"
#include "net/netaddr.h"
#include "speaker/responder.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG		  "l2lb-speaker"
#define MAX_STATIC	  256
#define MAX_CHOSEN	  64
#define MAX_IFACES	  8
#define CAP_NET_ADMIN_BIT 12
#define CAP_NET_RAW_BIT	  13

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
	struct loop_signal sigterm, sigint;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [flags]\n"
		"\n"
		"Answers ARP and NDP on this node for the Service addresses it is elected to\n"
		"announce, so the LAN sends that traffic here.\n"
		"\n"
		"flags:\n"
		"  --static ADDR[@IFACE]  announce ADDR (IPv4 or IPv6) without Kubernetes until\n"
		"                         SIGTERM/SIGINT; on IFACE, or else on every up interface\n"
		"                         with an address whose subnet holds ADDR (repeatable;\n"
		"                         ADDR@IFACE1 ADDR@IFACE2 answers on both)\n"
		"  --garp-interval SECS   repeat gratuitous ARP / unsolicited NA every SECS while\n"
		"                         announcing (default 0: only the burst at the start)\n"
		"  --log-level LEVEL      error, warn, info (default) or debug\n"
		"  --version              print the version and exit\n"
		"  -h, --help             print this help and exit\n",
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

/* Logs which of the capabilities the data plane needs this process holds. */
static void log_capabilities(struct log *lg)
{
	char line[256];
	unsigned long long eff = 0;
	int found = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (f != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "CapEff: %llx", &eff) == 1) {
				found = 1;
				break;
			}
		fclose(f);
	}
	if (!found) {
		log_warn(lg, "cannot read capabilities from /proc/self/status");
		return;
	}
	int raw = (eff >> CAP_NET_RAW_BIT) & 1, admin = (eff >> CAP_NET_ADMIN_BIT) & 1;
	log_info(lg, "capabilities", "cap_net_raw", raw ? "yes" : "no", "cap_net_admin",
		 admin ? "yes" : "no");
	if (!raw)
		log_warn(lg, "without CAP_NET_RAW no capture can open: nothing will be answered");
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

static int run_static(struct speaker *sp, uint64_t garp_interval_ms)
{
	struct responder_opts ro = {
		.garp_interval_ms = garp_interval_ms,
		.on_conflict = on_conflict,
		.arg = sp,
	};

	log_info(sp->lg, "starting in static mode", "version", L2LB_VERSION);
	log_capabilities(sp->lg);
	sp->lp = loop_new();
	if (sp->lp == NULL)
		log_fatal(sp->lg, "cannot create the event loop");
	if (loop_signal_start(sp->lp, &sp->sigterm, SIGTERM, on_signal, sp) < 0 ||
	    loop_signal_start(sp->lp, &sp->sigint, SIGINT, on_signal, sp) < 0)
		log_fatal(sp->lg, "cannot watch SIGTERM and SIGINT");
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
	loop_free(sp->lp);
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
		{ NULL, 0, NULL, 0 },
	};
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
			if (log_level_parse(optarg, &level) < 0) {
				fprintf(stderr,
					"%s: bad --log-level %s: want error, warn, info or debug\n",
					PROG, optarg);
				return CLI_EXIT_USAGE;
			}
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
		default:
			return cli_flag_error(PROG, c, argv);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument %s (see --help)\n", PROG, argv[optind]);
		return CLI_EXIT_USAGE;
	}
	sp.lg = log_new(STDERR_FILENO, level);
	if (sp.lg == NULL)
		log_fatal(NULL, "out of memory");
	int rc = 1;
	if (sp.nstatics > 0)
		rc = run_static(&sp, (uint64_t)garp_secs * 1000);
	else
		log_error(sp.lg, "not yet: Kubernetes mode lands with issue 7; use --static",
			  "version", L2LB_VERSION);
	log_free(sp.lg);
	return rc;
}
