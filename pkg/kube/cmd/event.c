/* l2lb-event: records a core/v1 Event on an object through pkg/kube/event (aggregated, limited). */
#include "cli/cli.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/event.h"
#include "log/log.h"
#include "loop/loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "l2lb-event"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [flags] KIND NAME REASON MESSAGE\n"
		"\n"
		"Records an Event on the object KIND/NAME (not looked up), --repeat times, and\n"
		"prints the outcome of each (created, aggregated, rate_limited, ...), then waits for\n"
		"the writes and exits 0 when every write went through.\n"
		"\n"
		"flags:\n"
		"  --kubeconfig FILE      kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)\n"
		"  -n, --namespace NS     the object's namespace (default: the config's; \"\" for\n"
		"                         cluster-scoped objects)\n"
		"  --api-version V        the object's apiVersion (default v1)\n"
		"  --warning              type Warning (default Normal)\n"
		"  --repeat N             record it N times (default 1)\n"
		"  --component NAME       source component (default l2lb-event)\n"
		"  --log-level LEVEL      error, warn (default), info or debug\n"
		"  -h, --help             print this help and exit\n",
		PROG);
}

struct tool {
	struct loop *lp;
	struct event_recorder *rec;
	struct loop_timer poll;
	int rounds;
};

static void on_poll(struct loop_timer *t, void *arg)
{
	struct tool *tl = arg;
	(void)t;
	if (event_recorder_pending(tl->rec) == 0 || ++tl->rounds > 3000)
		loop_stop(tl->lp);
}

int main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "api-version", required_argument, NULL, 'a' },
		{ "warning", no_argument, NULL, 'W' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "component", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	const char *kubeconfig = NULL, *ns = NULL, *api = "v1", *component = PROG;
	enum event_type type = EVENT_NORMAL;
	enum log_level level = LOG_LEVEL_WARN;
	long repeat = 1;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hn:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'k':
			kubeconfig = optarg;
			break;
		case 'n':
			ns = optarg;
			break;
		case 'a':
			api = optarg;
			break;
		case 'W':
			type = EVENT_WARNING;
			break;
		case 'r':
			if (cli_parse_long(optarg, 1, 100000, &repeat) < 0) {
				fprintf(stderr, "%s: bad --repeat %s: want 1..100000\n", PROG,
					optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'c':
			component = optarg;
			break;
		case 'L':
			if (cli_parse_log_level(PROG, optarg, &level) < 0)
				return CLI_EXIT_USAGE;
			break;
		default:
			return cli_flag_error(PROG, c, argv);
		}
	}
	if (argc - optind != 4) {
		fprintf(stderr, "%s: want KIND NAME REASON MESSAGE (see --help)\n", PROG);
		return CLI_EXIT_USAGE;
	}
	char err[600];
	struct kube_config *cfg = kube_config_load(kubeconfig, NULL, err, sizeof(err));
	if (!cfg) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		return 1;
	}
	struct log *lg = log_new(STDERR_FILENO, level);
	struct tool tl = { 0 };
	tl.lp = loop_new();
	if (!lg || !tl.lp)
		log_fatal(lg, "out of memory");
	struct kube_client_opts co = { .user_agent = PROG "/" L2LB_VERSION };
	struct kube_client *kc = kube_client_new(tl.lp, lg, cfg, &co);
	if (!kc)
		return 1;
	tl.rec = event_recorder_new(tl.lp, lg, kc, component, NULL);
	if (!tl.rec)
		log_fatal(lg, "out of memory");
	if (!ns)
		ns = kube_config_namespace(cfg);
	json_t *obj = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", api, "kind", argv[optind],
				"metadata", "name", argv[optind + 1]);
	if (!obj)
		log_fatal(lg, "out of memory");
	if (*ns)
		json_object_set_new(json_object_get(obj, "metadata"), "namespace", json_string(ns));
	for (long i = 0; i < repeat; i++) {
		enum event_outcome o =
			event_record(tl.rec, obj, type, argv[optind + 2], argv[optind + 3]);
		printf("%s\n", event_outcome_str(o));
	}
	fflush(stdout);
	json_decref(obj);
	loop_timer_start(tl.lp, &tl.poll, 10, 10, on_poll, &tl);
	loop_run(tl.lp);
	int rc = event_recorder_pending(tl.rec) == 0 ? 0 : 1;
	event_recorder_free(tl.rec);
	kube_client_free(kc);
	loop_free(tl.lp);
	log_free(lg);
	kube_config_free(cfg);
	return rc;
}
