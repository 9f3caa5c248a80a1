/* cli: flag error messages and strict number parsing for the command lines. */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int cli_flag_error(const char *prog, int c, char *const argv[])
{
	/* getopt leaves optind past the bad argument; optopt is the bad short flag, 0 for long. */
	char shortflag[3] = { '-', (char)optopt, '\0' };
	const char *flag = optopt != 0 && c != ':' ? shortflag : argv[optind - 1];

	if (c == ':')
		fprintf(stderr, "%s: flag %s needs a value (see --help)\n", prog, flag);
	else
		fprintf(stderr, "%s: unknown flag %s (see --help)\n", prog, flag);
	return CLI_EXIT_USAGE;
}

int cli_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int cli_parse_log_level(const char *prog, const char *s, enum log_level *out)
{
	if (log_level_parse(s, out) == 0)
		return 0;
	fprintf(stderr, "%s: bad --log-level %s: want error, warn, info or debug\n", prog,
		s != NULL ? s : "");
	return -1;
}
