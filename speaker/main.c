/* l2lb-speaker: answers ARP and NDP for the LoadBalancer addresses this node is elected to
 * announce. */
#include "cli/cli.h"
#include "log/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define PROG "l2lb-speaker"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [flags]\n"
		"\n"
		"Answers ARP and NDP on this node for the Service addresses it is elected to\n"
		"announce, so the LAN sends that traffic here.\n"
		"\n"
		"flags:\n"
		"  --log-level LEVEL   error, warn, info (default) or debug\n"
		"  --version           print the version and exit\n"
		"  -h, --help          print this help and exit\n",
		PROG);
}

int main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "log-level", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	enum log_level level = LOG_LEVEL_INFO;
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
		default:
			return cli_flag_error(PROG, c, argv);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument %s (see --help)\n", PROG, argv[optind]);
		return CLI_EXIT_USAGE;
	}
	struct log *lg = log_new(STDERR_FILENO, level);
	if (lg == NULL)
		log_fatal(NULL, "out of memory");
	log_error(lg, "not yet: the speaker's announcing lands with issues 6 and 7", "version",
		  L2LB_VERSION);
	log_free(lg);
	return 1;
}
