/*
 * rss_floor: bench-rss's baseline. The speaker's libraries, linked exactly as the speaker links
 * them, then one API request over HTTPS and the metrics endpoint, and nothing of the speaker's
 * own: what any program built on Debian's libcurl, OpenSSL, libmicrohttpd, libpcap and libnl
 * pays before it holds a single service. Prints "STEP VmRSS-KiB RssAnon-KiB" per step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/server.h"
#include "kube/client.h"
#include "kube/config.h"
#include "log/log.h"
#include "loop/loop.h"

static void report(const char *step)
{
	char line[256];
	long rss = -1, anon = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			rss = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "RssAnon:", 8) == 0)
			anon = strtol(line + 8, NULL, 10);
	}
	if (f != NULL)
		fclose(f);
	printf("%s %ld %ld\n", step, rss, anon);
	fflush(stdout);
}

struct floor {
	struct loop *lp;
	int ok;
};

static void got_version(const struct kube_error *err, json_t *obj, void *arg)
{
	struct floor *fl = arg;

	(void)obj;
	fl->ok = err->status == KUBE_OK;
	loop_stop(fl->lp);
}

int main(int argc, char **argv)
{
	char err[512];
	struct floor fl = { 0 };
	struct http_server *srv = NULL;

	if (argc != 2) {
		fprintf(stderr, "usage: rss-floor KUBECONFIG\n");
		return 2;
	}
	report("libraries");
	struct log *lg = log_new(2, LOG_LEVEL_WARN);
	struct kube_config *cfg = kube_config_load(argv[1], NULL, err, sizeof(err));
	fl.lp = loop_new();
	if (lg == NULL || cfg == NULL || fl.lp == NULL) {
		fprintf(stderr, "rss-floor: cannot start: %s\n",
			cfg == NULL ? err : "out of memory");
		return 1;
	}
	struct kube_client_opts co = { .max_connections = 1 };
	struct kube_client *kc = kube_client_new(fl.lp, lg, cfg, &co);
	if (kc == NULL || kube_client_get_path(kc, "/version", got_version, &fl) == NULL)
		return 1;
	/* Bounded: the client's own request timeout ends it. */
	loop_run(fl.lp);
	if (!fl.ok) {
		fprintf(stderr, "rss-floor: GET /version failed\n");
		return 1;
	}
	report("https-request");
	if (http_server_new(fl.lp, lg, NULL, "127.0.0.1:0", &srv) < 0)
		return 1;
	report("metrics-endpoint");
	http_server_free(srv);
	kube_client_free(kc);
	loop_free(fl.lp);
	kube_config_free(cfg);
	log_free(lg);
	return 0;
}
