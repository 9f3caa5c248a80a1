/* l2lb-controller: hands each LoadBalancer Service an address from the configured pools. */
#include "cli/cli.h"
#include "controller/controller.h"
#include "http/metrics.h"
#include "http/server.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/lease.h"
#include "log/log.h"
#include "loop/loop.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG	   "l2lb-controller"
#define LEASE_NAME "l2lb-controller"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [flags]\n"
		"\n"
		"Gives every Service of type LoadBalancer an address from the IPAddressPools\n"
		"and writes it to the status, as MetalLB's controller does. Several replicas may\n"
		"run: only the holder of the Lease \"" LEASE_NAME "\" in --namespace acts.\n"
		"\n"
		"flags:\n"
		"  --kubeconfig PATH        kubeconfig to use (default: $KUBECONFIG, else in-cluster)\n"
		"  --namespace NS           where IPAddressPools, L2Advertisements and the lease live\n"
		"                           (default: $POD_NAMESPACE, else the service account's\n"
		"                           namespace, else l2lb-system)\n"
		"  --lb-class CLASS         also serve services whose spec.loadBalancerClass is CLASS\n"
		"                           (default: only services without a class)\n"
		"  --identity ID            this replica's lease holder name (default: $POD_NAME,\n"
		"                           else HOSTNAME_PID)\n"
		"  --lease-duration DUR     how long a lease stays valid without renewal (15s)\n"
		"  --renew-deadline DUR     the leader stops acting if it cannot renew within (10s)\n"
		"  --retry-period DUR       between attempts to acquire or renew (2s)\n"
		"                           DUR is a number with ms or s (\"500ms\", \"2s\")\n"
		"  --metrics-addr ADDR:PORT serve /metrics, /healthz, /readyz (default :7472, \"\" off)\n"
		"  --qps N                  API requests per second (default 20)\n"
		"  --burst N                API request burst (default 30)\n"
		"  --log-level LEVEL        error, warn, info (default) or debug\n"
		"  --version                print the version and exit\n"
		"  -h, --help               print this help and exit\n"
		"\n"
		"signals: SIGTERM/SIGINT release the lease and exit 0; SIGUSR1 logs every pool's usage\n"
		"(one block, from \"dump: controller state\" to \"dump: end\").\n",
		PROG);
}

/* Everything main wires together; lives on main's stack. */
struct app {
	struct loop *lp;
	struct log *lg;
	struct controller *ctl;
	struct kube_client *kc;
	struct lease_set *ls;
	struct lease *lease;
	struct http_server *http;
	struct metrics *reg;
	struct metric *m_acting;
	const char *identity;
	struct loop_signal sigterm, sigint, sigusr1;
	struct loop_timer exit_timer, ready_timer;
	unsigned exit_ticks;
	int stopping;
};

static int parse_duration(const char *s, int64_t *ms)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || v <= 0)
		return -1;
	if (strcmp(end, "ms") == 0)
		*ms = (int64_t)v;
	else if (strcmp(end, "s") == 0 || *end == '\0')
		*ms = (int64_t)(v * 1000);
	else
		return -1;
	return *ms > 0 && *ms < 3600 * 1000 ? 0 : -1;
}

static void started(struct lease *l, void *arg)
{
	struct app *a = arg;
	(void)l;
	log_info(a->lg, "lease acquired: acting", "lease", LEASE_NAME);
	metric_set(a->m_acting, 1);
	controller_set_acting(a->ctl, true);
}

static void stopped(struct lease *l, enum leasefsm_stop_reason why, void *arg)
{
	struct app *a = arg;
	(void)l;
	controller_set_acting(a->ctl, false);
	metric_set(a->m_acting, 0);
	log_warn(a->lg, "lease lost: stopped acting", "lease", LEASE_NAME, "why",
		 leasefsm_stop_reason_str(why));
}

static void new_leader(struct lease *l, const char *holder, void *arg)
{
	struct app *a = arg;
	if (strcmp(holder, a->identity) != 0 && !lease_is_leading(l))
		log_info(a->lg, "another replica acts", "holder", holder);
}

/* After SIGTERM: wait (bounded) for the lease release to reach the API, then stop. */
static void exit_tick(struct loop_timer *t, void *arg)
{
	struct app *a = arg;
	(void)t;
	if (kube_client_inflight(a->kc) == 0 || ++a->exit_ticks >= 30) {
		loop_timer_stop(a->lp, &a->exit_timer);
		loop_stop(a->lp);
	}
}

static void on_term(struct loop_signal *s, int signo, void *arg)
{
	struct app *a = arg;
	(void)s;
	if (a->stopping)
		return;
	a->stopping = 1;
	log_info(a->lg, "stopping: releasing the lease", "signal", strsignal(signo));
	controller_set_acting(a->ctl, false);
	lease_release(a->lease);
	loop_timer_start(a->lp, &a->exit_timer, 100, 100, exit_tick, a);
}

static void on_usr1(struct loop_signal *s, int signo, void *arg)
{
	struct app *a = arg;
	(void)s;
	(void)signo;
	controller_dump(a->ctl);
}

static void ready_tick(struct loop_timer *t, void *arg)
{
	struct app *a = arg;
	(void)t;
	const char *why = NULL;
	int ok = controller_ready(a->ctl, &why);
	http_server_set_ready(a->http, ok, why);
}

static const char *default_namespace(void)
{
	static char buf[256];
	const char *env = getenv("POD_NAMESPACE");
	if (env != NULL && *env != '\0')
		return env;
	FILE *f = fopen(KUBE_SA_DIR "/namespace", "r");
	if (f != NULL) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		buf[strcspn(buf, " \t\r\n")] = '\0';
		if (buf[0] != '\0')
			return buf;
	}
	return "l2lb-system";
}

int main(int argc, char *argv[])
{
	enum {
		O_KUBECONFIG = 1000,
		O_NAMESPACE,
		O_LBCLASS,
		O_IDENTITY,
		O_LEASE,
		O_RENEW,
		O_RETRY,
		O_METRICS,
		O_QPS,
		O_BURST,
	};
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "kubeconfig", required_argument, NULL, O_KUBECONFIG },
		{ "namespace", required_argument, NULL, O_NAMESPACE },
		{ "lb-class", required_argument, NULL, O_LBCLASS },
		{ "identity", required_argument, NULL, O_IDENTITY },
		{ "lease-duration", required_argument, NULL, O_LEASE },
		{ "renew-deadline", required_argument, NULL, O_RENEW },
		{ "retry-period", required_argument, NULL, O_RETRY },
		{ "metrics-addr", required_argument, NULL, O_METRICS },
		{ "qps", required_argument, NULL, O_QPS },
		{ "burst", required_argument, NULL, O_BURST },
		{ NULL, 0, NULL, 0 },
	};
	enum log_level level = LOG_LEVEL_INFO;
	const char *kubeconfig = NULL, *ns = NULL, *lb_class = NULL, *identity = NULL;
	const char *metrics_addr = ":7472";
	int64_t lease_ms = 15000, renew_ms = 10000, retry_ms = 2000;
	long qps = 20, burst = 30;
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
		case O_KUBECONFIG:
			kubeconfig = optarg;
			break;
		case O_NAMESPACE:
			ns = optarg;
			break;
		case O_LBCLASS:
			lb_class = *optarg ? optarg : NULL;
			break;
		case O_IDENTITY:
			identity = optarg;
			break;
		case O_LEASE:
		case O_RENEW:
		case O_RETRY: {
			int64_t *dst = c == O_LEASE   ? &lease_ms
				       : c == O_RENEW ? &renew_ms
						      : &retry_ms;
			if (parse_duration(optarg, dst) < 0) {
				fprintf(stderr,
					"%s: bad duration %s for %s: want e.g. 500ms or 2s\n", PROG,
					optarg, argv[optind - 1]);
				return CLI_EXIT_USAGE;
			}
			break;
		}
		case O_METRICS:
			metrics_addr = optarg;
			break;
		case O_QPS:
		case O_BURST:
			if (cli_parse_long(optarg, 1, 100000, c == O_QPS ? &qps : &burst) < 0) {
				fprintf(stderr, "%s: bad %s %s: want a number from 1 to 100000\n",
					PROG, c == O_QPS ? "--qps" : "--burst", optarg);
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
	if (ns == NULL)
		ns = default_namespace();
	char idbuf[300];
	if (identity == NULL) {
		const char *pod = getenv("POD_NAME");
		char host[256] = "controller";
		if (pod != NULL && *pod != '\0') {
			snprintf(idbuf, sizeof(idbuf), "%s", pod);
		} else {
			gethostname(host, sizeof(host) - 1);
			host[sizeof(host) - 1] = '\0';
			snprintf(idbuf, sizeof(idbuf), "%s_%ld", host, (long)getpid());
		}
		identity = idbuf;
	}
	struct leasefsm_config lcfg = {
		.identity = identity,
		.lease_ms = lease_ms,
		.renew_ms = renew_ms,
		.retry_ms = retry_ms,
	};
	enum leasefsm_config_error le = leasefsm_config_validate(&lcfg);
	if (le != LEASEFSM_CONFIG_OK) {
		fprintf(stderr, "%s: bad lease timings: %s\n", PROG, leasefsm_config_error_str(le));
		return CLI_EXIT_USAGE;
	}

	struct app a = { 0 };
	a.identity = identity;
	a.lg = log_new(STDERR_FILENO, level);
	if (a.lg == NULL)
		log_fatal(NULL, "out of memory");
	char err[512];
	struct kube_config *kcfg = kube_config_load(kubeconfig, NULL, err, sizeof(err));
	if (kcfg == NULL)
		log_fatal(a.lg, "cannot load the Kubernetes configuration", "error", err);
	a.lp = loop_new();
	if (a.lp == NULL)
		log_fatal(a.lg, "cannot create the event loop");
	a.reg = metrics_new();
	if (a.reg == NULL)
		log_fatal(a.lg, "out of memory");
	struct metric_family *fam = NULL;
	if (metrics_add_gauge(a.reg, "l2lb_controller_acting",
			      "1 while this replica holds the controller lease", NULL,
			      &fam) != METRIC_OK)
		log_fatal(a.lg, "cannot register metrics");
	a.m_acting = metric_family_solo(fam);
	if (http_server_new(a.lp, a.lg, a.reg, metrics_addr, &a.http) < 0)
		log_fatal(a.lg, "cannot serve --metrics-addr", "addr", metrics_addr);
	char ua[64];
	snprintf(ua, sizeof(ua), "%s/%s", PROG, L2LB_VERSION);
	struct kube_client_opts kopts = { .user_agent = ua,
					  .qps = (double)qps,
					  .burst = (int)burst };
	a.kc = kube_client_new(a.lp, a.lg, kcfg, &kopts);
	if (a.kc == NULL)
		log_fatal(a.lg, "cannot set up the API client");
	struct controller_opts copts = {
		.namespace = ns, .lb_class = lb_class, .identity = identity, .reg = a.reg
	};
	a.ctl = controller_new(a.lp, a.lg, a.kc, &copts);
	if (a.ctl == NULL)
		log_fatal(a.lg, "cannot set up the controller");
	a.ls = lease_set_new(a.lp, a.lg, a.kc, ns, NULL);
	if (a.ls == NULL)
		log_fatal(a.lg, "out of memory");
	struct lease_callbacks cbs = { .started_leading = started,
				       .stopped_leading = stopped,
				       .new_leader = new_leader,
				       .arg = &a };
	a.lease = lease_new(a.ls, LEASE_NAME, &lcfg, &cbs, err, sizeof(err));
	if (a.lease == NULL)
		log_fatal(a.lg, "cannot set up the lease", "error", err);
	if (loop_signal_start(a.lp, &a.sigterm, SIGTERM, on_term, &a) < 0 ||
	    loop_signal_start(a.lp, &a.sigint, SIGINT, on_term, &a) < 0 ||
	    loop_signal_start(a.lp, &a.sigusr1, SIGUSR1, on_usr1, &a) < 0)
		log_fatal(a.lg, "cannot watch signals");
	if (controller_start(a.ctl) < 0 || lease_set_start(a.ls) < 0)
		log_fatal(a.lg, "cannot start watching the API");
	lease_campaign(a.lease, 0);
	loop_timer_start(a.lp, &a.ready_timer, 500, 500, ready_tick, &a);
	log_info(a.lg, "started", "version", L2LB_VERSION, "namespace", ns, "identity", identity,
		 "lb_class", lb_class ? lb_class : "", "server", kube_config_server(kcfg));

	int rc = loop_run(a.lp);
	log_info(a.lg, "stopped");
	loop_timer_stop(a.lp, &a.ready_timer);
	loop_timer_stop(a.lp, &a.exit_timer);
	lease_free(a.lease);
	lease_set_free(a.ls);
	controller_free(a.ctl);
	kube_client_free(a.kc);
	http_server_free(a.http);
	metrics_free(a.reg);
	loop_free(a.lp);
	kube_config_free(kcfg);
	log_free(a.lg);
	return rc < 0 ? 1 : 0;
}
