/* cli: the command-line conventions both daemons and the tools share (usage, flag errors). */
#ifndef L2LB_CLI_H
#define L2LB_CLI_H

#include <getopt.h>

#include "log/log.h"

/* Exit code for a command-line mistake, as the BSD tools use it. */
#define CLI_EXIT_USAGE 2

/*
 * Call when getopt_long() (with opterr = 0 and an optstring starting with ':') returned '?' or
 * ':', passing that return value as c: prints one line naming the offending flag to stderr
 * (`l2lb-speaker: unknown flag --frobnicate (see --help)`) and returns CLI_EXIT_USAGE.
 */
int cli_flag_error(const char *prog, int c, char *const argv[]);

/* Parses a --log-level value; on garbage prints one line naming it to stderr and returns -1. */
int cli_parse_log_level(const char *prog, const char *s, enum log_level *out);

/* Parses a whole decimal number in [min, max]; returns 0, or -1 on garbage or out of range. */
int cli_parse_long(const char *s, long min, long max, long *out);

#endif
