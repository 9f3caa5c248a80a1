/* l2lb-kubeget: lists (and watches) one resource through pkg/kube, proving the client end to end.
 */
#include "cli/cli.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/informer.h"
#include "kube/prune.h"
#include "log/log.h"
#include "loop/loop.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "l2lb-kubeget"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [flags] RESOURCE[.GROUP]\n"
		"\n"
		"Prints one line per object, `namespace/name resourceVersion` (just `name` for\n"
		"cluster-scoped objects); with --watch, then one line per change,\n"
		"`ADDED|MODIFIED|DELETED namespace/name resourceVersion`, until interrupted.\n"
		"\n"
		"flags:\n"
		"  --kubeconfig FILE   kubeconfig to use (default: $KUBECONFIG, in-cluster,\n"
		"                      ~/.kube/config)\n"
		"  --service-account-dir DIR  in a cluster, where token, ca.crt and namespace are\n"
		"                      (default " KUBE_SA_DIR ")\n"
		"  -n, --namespace NS  only this namespace (default: all)\n"
		"  -w, --watch         keep printing changes\n"
		"  -l, --selector SEL  label selector\n"
		"  --metadata-only     cache only name, namespace, resourceVersion and labels;\n"
		"                      a change to anything else is not printed\n"
		"  --keys-only         cache only each object's key and resourceVersion\n"
		"  --qps N, --burst N  client-side rate limit (default 20, 30)\n"
		"  --request-timeout-ms N  per request, retried for reads (default 30000)\n"
		"  --log-level LEVEL   error, warn (default), info or debug\n"
		"  --version           print the version and exit\n"
		"  -h, --help          print this help and exit\n",
		PROG);
}

struct kubeget {
	struct loop *lp;
	struct log *lg;
	struct kube_client *kc;
	struct informer *inf;
	struct kube_resource res;
	char group[256], version[64], plural[256];
	const char *want_plural, *want_group, *ns, *selector;
	int watch;
	int metadata_only;
	int keys_only;
	int exit_code;
	struct loop_signal sigint, sigterm;
};

/* Resources known without asking the server. */
static const struct {
	const char *plural, *group, *version;
	int namespaced;
} builtin[] = {
	{ "pods", "", "v1", 1 },
	{ "services", "", "v1", 1 },
	{ "endpoints", "", "v1", 1 },
	{ "configmaps", "", "v1", 1 },
	{ "secrets", "", "v1", 1 },
	{ "events", "", "v1", 1 },
	{ "nodes", "", "v1", 0 },
	{ "namespaces", "", "v1", 0 },
	{ "leases", "coordination.k8s.io", "v1", 1 },
	{ "endpointslices", "discovery.k8s.io", "v1", 1 },
	{ "ipaddresspools", "metallb.io", "v1beta1", 1 },
	{ "l2advertisements", "metallb.io", "v1beta1", 1 },
};

static const struct kube_keep keep_md[] = {
	{ "name", NULL },   { "namespace", NULL }, { "resourceVersion", NULL },
	{ "labels", NULL }, { NULL, NULL },
};
static const struct kube_keep keep_top[] = { { "metadata", keep_md }, { NULL, NULL } };

static json_t *keep_metadata(const json_t *obj, const void *arg)
{
	return kube_prune(obj, arg);
}

static void print_obj(const char *prefix, const json_t *obj)
{
	const json_t *md = json_object_get(obj, "metadata");
	const json_t *ns = json_object_get(md, "namespace");
	const json_t *name = json_object_get(md, "name");
	const json_t *rv = json_object_get(md, "resourceVersion");
	printf("%s%s%s%s%s %s\n", prefix ? prefix : "", prefix ? " " : "",
	       json_is_string(ns) ? json_string_value(ns) : "", json_is_string(ns) ? "/" : "",
	       json_is_string(name) ? json_string_value(name) : "?",
	       json_is_string(rv) ? json_string_value(rv) : "?");
	fflush(stdout);
}

static void on_add(const json_t *obj, void *arg)
{
	struct kubeget *g = arg;
	print_obj(informer_has_synced(g->inf) ? "ADDED" : NULL, obj);
}

static void on_update(const json_t *old, const json_t *obj, void *arg)
{
	(void)old;
	(void)arg;
	print_obj("MODIFIED", obj);
}

static void on_delete(const json_t *obj, void *arg)
{
	(void)arg;
	print_obj("DELETED", obj);
}

static void on_synced(void *arg)
{
	struct kubeget *g = arg;
	if (!g->watch) {
		g->exit_code = 0;
		loop_stop(g->lp);
	}
}

static void on_list_error(const struct kube_error *err, void *arg)
{
	struct kubeget *g = arg;
	char buf[700];
	/* Without --watch the first failure is the answer; a watcher keeps retrying. */
	if (!g->watch || !informer_has_synced(g->inf)) {
		fprintf(stderr, "%s: list %s: %s\n", PROG, g->plural,
			kube_error_str(err, buf, sizeof(buf)));
		if (!g->watch) {
			g->exit_code = 1;
			loop_stop(g->lp);
		}
	}
}

static void start(struct kubeget *g)
{
	g->res.group = g->group;
	g->res.version = g->version;
	g->res.plural = g->plural;
	struct informer_opts o = {
		.resource = &g->res,
		.ns = g->ns,
		.label_selector = g->selector,
		.on_add = on_add,
		.on_update = on_update,
		.on_delete = on_delete,
		.on_synced = on_synced,
		.on_error = on_list_error,
		.arg = g,
		.transform = g->metadata_only ? keep_metadata : NULL,
		.transform_arg = keep_top,
		.skip_same = g->metadata_only,
		.keys_only = g->keys_only,
	};
	g->inf = informer_new(g->lp, g->lg, g->kc, &o);
	if (!g->inf) {
		g->exit_code = 1;
		loop_stop(g->lp);
		return;
	}
	informer_start(g->inf);
}

/* Finds plural in an APIResourceList; returns 1 and sets namespaced when present. */
static int find_in(json_t *list, const char *plural, int *namespaced)
{
	json_t *rs = json_object_get(list, "resources");
	size_t i;
	json_t *r;
	json_array_foreach(rs, i, r)
	{
		const json_t *name = json_object_get(r, "name");
		if (json_is_string(name) && strcmp(json_string_value(name), plural) == 0) {
			*namespaced = json_is_true(json_object_get(r, "namespaced"));
			return 1;
		}
	}
	return 0;
}

static void on_group_version(const struct kube_error *err, json_t *obj, void *arg)
{
	struct kubeget *g = arg;
	char buf[700];
	int namespaced = 0;
	if (err->status != KUBE_OK) {
		fprintf(stderr, "%s: discovery of %s/%s: %s\n", PROG, g->group, g->version,
			kube_error_str(err, buf, sizeof(buf)));
	} else if (!find_in(obj, g->plural, &namespaced)) {
		fprintf(stderr, "%s: the server has no resource \"%s\" in %s%s%s\n", PROG,
			g->plural, g->group, *g->group ? "/" : "", g->version);
	} else {
		g->res.namespaced = namespaced;
		start(g);
		return;
	}
	g->exit_code = 1;
	loop_stop(g->lp);
}

static void on_group(const struct kube_error *err, json_t *obj, void *arg)
{
	struct kubeget *g = arg;
	char buf[700];
	const json_t *pv = json_object_get(json_object_get(obj, "preferredVersion"), "version");
	if (err->status != KUBE_OK || !json_is_string(pv)) {
		fprintf(stderr, "%s: discovery of group %s: %s\n", PROG, g->group,
			err->status != KUBE_OK ? kube_error_str(err, buf, sizeof(buf))
					       : "no preferred version");
		g->exit_code = 1;
		loop_stop(g->lp);
		return;
	}
	snprintf(g->version, sizeof(g->version), "%s", json_string_value(pv));
	char path[600];
	snprintf(path, sizeof(path), "/apis/%s/%s", g->group, g->version);
	if (!kube_client_get_path(g->kc, path, on_group_version, g)) {
		g->exit_code = 1;
		loop_stop(g->lp);
	}
}

/* RESOURCE[.GROUP]: the table first, else discovery. */
static int resolve(struct kubeget *g, const char *arg)
{
	const char *dot = strchr(arg, '.');
	size_t pl = dot ? (size_t)(dot - arg) : strlen(arg);
	if (pl == 0 || pl >= sizeof(g->plural) || (dot && strlen(dot + 1) >= sizeof(g->group))) {
		fprintf(stderr, "%s: bad resource %s\n", PROG, arg);
		return -1;
	}
	memcpy(g->plural, arg, pl);
	g->plural[pl] = '\0';
	snprintf(g->group, sizeof(g->group), "%s", dot ? dot + 1 : "");
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		if (strcmp(builtin[i].plural, g->plural) == 0 &&
		    (!dot || strcmp(builtin[i].group, g->group) == 0)) {
			snprintf(g->group, sizeof(g->group), "%s", builtin[i].group);
			snprintf(g->version, sizeof(g->version), "%s", builtin[i].version);
			g->res.namespaced = builtin[i].namespaced;
			start(g);
			return 0;
		}
	}
	struct kube_request *r;
	if (!dot) {
		snprintf(g->version, sizeof(g->version), "v1");
		r = kube_client_get_path(g->kc, "/api/v1", on_group_version, g);
	} else {
		char path[300];
		snprintf(path, sizeof(path), "/apis/%s", g->group);
		r = kube_client_get_path(g->kc, path, on_group, g);
	}
	return r ? 0 : -1;
}

static void on_signal(struct loop_signal *s, int signo, void *arg)
{
	struct kubeget *g = arg;
	(void)s;
	(void)signo;
	g->exit_code = 0;
	loop_stop(g->lp);
}

int main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "watch", no_argument, NULL, 'w' },
		{ "selector", required_argument, NULL, 'l' },
		{ "qps", required_argument, NULL, 'q' },
		{ "burst", required_argument, NULL, 'b' },
		{ "request-timeout-ms", required_argument, NULL, 't' },
		{ "service-account-dir", required_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "metadata-only", no_argument, NULL, 'M' },
		{ "keys-only", no_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 },
	};
	struct kubeget g;
	memset(&g, 0, sizeof(g));
	enum log_level level = LOG_LEVEL_WARN;
	const char *kubeconfig = NULL, *sa_dir = NULL;
	long qps = 20, burst = 30, timeout_ms = 30000;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hn:wl:", opts, NULL)) != -1) {
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
			g.ns = optarg;
			break;
		case 'w':
			g.watch = 1;
			break;
		case 'M':
			g.metadata_only = 1;
			break;
		case 'K':
			g.keys_only = 1;
			break;
		case 'l':
			g.selector = optarg;
			break;
		case 'q':
		case 'b':
			if (cli_parse_long(optarg, 1, 100000, c == 'q' ? &qps : &burst) < 0) {
				fprintf(stderr, "%s: bad --%s %s: want 1..100000\n", PROG,
					c == 'q' ? "qps" : "burst", optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case 's':
			sa_dir = optarg;
			break;
		case 't':
			if (cli_parse_long(optarg, 1, 3600000, &timeout_ms) < 0) {
				fprintf(stderr,
					"%s: bad --request-timeout-ms %s: want 1..3600000\n", PROG,
					optarg);
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
	if (optind + 1 != argc) {
		fprintf(stderr, "%s: want exactly one RESOURCE[.GROUP] (see --help)\n", PROG);
		return CLI_EXIT_USAGE;
	}
	char err[600];
	struct kube_config *cfg = kube_config_load(kubeconfig, sa_dir, err, sizeof(err));
	if (!cfg) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		return 1;
	}
	g.lg = log_new(STDERR_FILENO, level);
	g.lp = loop_new();
	if (!g.lg || !g.lp)
		log_fatal(g.lg, "out of memory");
	struct kube_client_opts co = {
		.user_agent = PROG "/" L2LB_VERSION,
		.qps = (double)qps,
		.burst = (int)burst,
		.timeout_ms = (uint32_t)timeout_ms,
	};
	g.kc = kube_client_new(g.lp, g.lg, cfg, &co);
	if (!g.kc)
		return 1;
	if (loop_signal_start(g.lp, &g.sigint, SIGINT, on_signal, &g) < 0 ||
	    loop_signal_start(g.lp, &g.sigterm, SIGTERM, on_signal, &g) < 0)
		log_fatal(g.lg, "cannot watch signals");
	g.exit_code = 1;
	if (resolve(&g, argv[optind]) < 0)
		return 1;
	loop_run(g.lp);
	informer_free(g.inf);
	kube_client_free(g.kc);
	loop_free(g.lp);
	log_free(g.lg);
	kube_config_free(cfg);
	return g.exit_code;
}
