/* l2lb-lease: runs leader elections on Leases through pkg/kube/lease and prints each transition. */
#include "cli/cli.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/lease.h"
#include "log/log.h"
#include "loop/loop.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROG	   "l2lb-lease"
#define MAX_LEASES 4096

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [flags] --identity ID NAME...\n"
		"\n"
		"Campaigns for each Lease NAME as ID and prints one line per transition, flushed:\n"
		"  MONOTONIC_MS STARTED NAME | STOPPED NAME REASON | LEADER NAME HOLDER\n"
		"(MONOTONIC_MS is CLOCK_MONOTONIC, comparable between processes on one machine).\n"
		"Commands on stdin, one per line: `release NAME`, `campaign NAME`, `gone NAME HOLDER`.\n"
		"End of stdin or SIGTERM releases every lease held, then exits.\n"
		"\n"
		"flags:\n"
		"  --kubeconfig FILE   kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)\n"
		"  -n, --namespace NS  the Leases' namespace (default: the config's)\n"
		"  --identity ID       holderIdentity to write (required)\n"
		"  --lease-ms N        lease duration (default 15000)\n"
		"  --renew-ms N        renew deadline (default 10000)\n"
		"  --retry-ms N        retry period (default 2000)\n"
		"  --qps N, --burst N  client-side rate limit (default 20, 30; 0: none)\n"
		"  --log-level LEVEL   error, warn (default), info or debug\n"
		"  --version           print the version and exit\n"
		"  -h, --help          print this help and exit\n",
		PROG);
}

struct leasetool {
	struct loop *lp;
	struct lease_set *set;
	struct lease *leases[MAX_LEASES];
	int n;
	int quitting;
	struct loop_io in;
	char inbuf[4096];
	size_t inlen;
	struct loop_timer quit_timer;
	struct loop_signal sigterm, sigint;
};

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_started(struct lease *l, void *arg)
{
	(void)arg;
	printf("%lld STARTED %s\n", mono_ms(), lease_name(l));
	fflush(stdout);
}

static void on_stopped(struct lease *l, enum leasefsm_stop_reason why, void *arg)
{
	(void)arg;
	printf("%lld STOPPED %s %s\n", mono_ms(), lease_name(l), leasefsm_stop_reason_str(why));
	fflush(stdout);
}

static void on_leader(struct lease *l, const char *holder, void *arg)
{
	(void)arg;
	printf("%lld LEADER %s %s\n", mono_ms(), lease_name(l), holder);
	fflush(stdout);
}

static struct lease *by_name(struct leasetool *t, const char *name)
{
	for (int i = 0; i < t->n; i++)
		if (strcmp(lease_name(t->leases[i]), name) == 0)
			return t->leases[i];
	return NULL;
}

static void on_quit_timer(struct loop_timer *tm, void *arg)
{
	struct leasetool *t = arg;
	(void)tm;
	loop_stop(t->lp);
}

/* Releases everything and leaves a moment for the writes to go out. */
static void quit(struct leasetool *t)
{
	if (t->quitting)
		return;
	t->quitting = 1;
	for (int i = 0; i < t->n; i++)
		lease_release(t->leases[i]);
	loop_timer_start(t->lp, &t->quit_timer, 1000, 0, on_quit_timer, t);
}

static void command(struct leasetool *t, char *line)
{
	char *verb = strtok(line, " \t");
	char *name = strtok(NULL, " \t");
	char *arg = strtok(NULL, " \t");
	struct lease *l = name ? by_name(t, name) : NULL;
	if (!verb)
		return;
	if (!l) {
		fprintf(stderr, "%s: unknown lease in command: %s\n", PROG, name ? name : "(none)");
		return;
	}
	if (strcmp(verb, "release") == 0)
		lease_release(l);
	else if (strcmp(verb, "campaign") == 0)
		lease_campaign(l, 0);
	else if (strcmp(verb, "gone") == 0 && arg)
		lease_holder_gone(l, arg);
	else
		fprintf(stderr, "%s: unknown command: %s\n", PROG, verb);
}

static void on_stdin(struct loop_io *w, uint32_t events, void *arg)
{
	struct leasetool *t = arg;
	(void)events;
	ssize_t r = read(w->fd, t->inbuf + t->inlen, sizeof(t->inbuf) - 1 - t->inlen);
	if (r <= 0) {
		loop_io_stop(t->lp, &t->in);
		quit(t);
		return;
	}
	t->inlen += (size_t)r;
	t->inbuf[t->inlen] = '\0';
	char *nl;
	while ((nl = memchr(t->inbuf, '\n', t->inlen))) {
		*nl = '\0';
		command(t, t->inbuf);
		size_t used = (size_t)(nl - t->inbuf) + 1;
		memmove(t->inbuf, nl + 1, t->inlen - used);
		t->inlen -= used;
	}
	if (t->inlen == sizeof(t->inbuf) - 1)
		t->inlen = 0; /* an absurd line: drop it */
}

static void on_signal(struct loop_signal *s, int signo, void *arg)
{
	(void)s;
	(void)signo;
	quit(arg);
}

static int ms_flag(const char *name, const char *v, long *out)
{
	if (cli_parse_long(v, 1, 3600000, out) < 0) {
		fprintf(stderr, "%s: bad --%s %s: want 1..3600000 (ms)\n", PROG, name, v);
		return -1;
	}
	return 0;
}

int main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "identity", required_argument, NULL, 'i' },
		{ "lease-ms", required_argument, NULL, 'D' },
		{ "renew-ms", required_argument, NULL, 'R' },
		{ "retry-ms", required_argument, NULL, 'P' },
		{ "qps", required_argument, NULL, 'q' },
		{ "burst", required_argument, NULL, 'b' },
		{ "log-level", required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	static struct leasetool t;
	enum log_level level = LOG_LEVEL_WARN;
	const char *kubeconfig = NULL, *ns = NULL, *identity = NULL;
	long lease_ms = 15000, renew_ms = 10000, retry_ms = 2000, qps = 20, burst = 30;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hn:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("%s %s\n", PROG, L2LB_VERSION);
			return 0;
		case 'k':
			kubeconfig = optarg;
			break;
		case 'n':
			ns = optarg;
			break;
		case 'i':
			identity = optarg;
			break;
		case 'D':
			if (ms_flag("lease-ms", optarg, &lease_ms) < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'R':
			if (ms_flag("renew-ms", optarg, &renew_ms) < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'P':
			if (ms_flag("retry-ms", optarg, &retry_ms) < 0)
				return CLI_EXIT_USAGE;
			break;
		case 'q':
		case 'b':
			if (cli_parse_long(optarg, 0, 100000, c == 'q' ? &qps : &burst) < 0) {
				fprintf(stderr, "%s: bad --%s %s: want 0..100000\n", PROG,
					c == 'q' ? "qps" : "burst", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'L':
			if (cli_parse_log_level(PROG, optarg, &level) < 0)
				return CLI_EXIT_USAGE;
			break;
		default:
			return cli_flag_error(PROG, c, argv);
		}
	}
	if (!identity || optind >= argc) {
		fprintf(stderr, "%s: want --identity and at least one lease NAME (see --help)\n",
			PROG);
		return CLI_EXIT_USAGE;
	}
	if (argc - optind > MAX_LEASES) {
		fprintf(stderr, "%s: at most %d leases\n", PROG, MAX_LEASES);
		return CLI_EXIT_USAGE;
	}
	char err[600];
	struct kube_config *cfg = kube_config_load(kubeconfig, NULL, err, sizeof(err));
	if (!cfg) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		return 1;
	}
	struct log *lg = log_new(STDERR_FILENO, level);
	t.lp = loop_new();
	if (!lg || !t.lp)
		log_fatal(lg, "out of memory");
	struct kube_client_opts co = {
		.user_agent = PROG "/" L2LB_VERSION,
		.timeout_ms = (uint32_t)renew_ms,
		.qps = qps ? (double)qps : -1,
		.burst = burst ? (int)burst : 1,
	};
	struct kube_client *kc = kube_client_new(t.lp, lg, cfg, &co);
	if (!kc)
		return 1;
	t.set = lease_set_new(t.lp, lg, kc, ns ? ns : kube_config_namespace(cfg), NULL);
	if (!t.set)
		return 1;
	struct leasefsm_config fc = {
		.identity = identity,
		.lease_ms = lease_ms,
		.renew_ms = renew_ms,
		.retry_ms = retry_ms,
	};
	struct lease_callbacks cb = { .started_leading = on_started,
				      .stopped_leading = on_stopped,
				      .new_leader = on_leader,
				      .arg = &t };
	for (int i = optind; i < argc; i++) {
		struct lease *l = lease_new(t.set, argv[i], &fc, &cb, err, sizeof(err));
		if (!l) {
			fprintf(stderr, "%s: %s\n", PROG, err);
			return CLI_EXIT_USAGE;
		}
		t.leases[t.n++] = l;
		lease_campaign(l, 0);
	}
	if (loop_signal_start(t.lp, &t.sigterm, SIGTERM, on_signal, &t) < 0 ||
	    loop_signal_start(t.lp, &t.sigint, SIGINT, on_signal, &t) < 0)
		log_fatal(lg, "cannot watch signals");
	/* stdin that epoll cannot watch (a file, /dev/null) just means no commands */
	if (loop_io_start(t.lp, &t.in, STDIN_FILENO, EPOLLIN, on_stdin, &t) < 0)
		log_info(lg, "stdin is not a pipe or terminal: no commands");
	if (lease_set_start(t.set) < 0)
		return 1;
	loop_run(t.lp);
	lease_set_free(t.set);
	kube_client_free(kc);
	loop_free(t.lp);
	log_free(lg);
	kube_config_free(cfg);
	return 0;
}
