/* log: levelled logfmt logging to a file descriptor (stderr in the daemons), one line per event. */
#ifndef L2LB_LOG_H
#define L2LB_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* "error", "warn", "info", "debug". */
const char *log_level_str(enum log_level level);

/* Parses one of the names above; returns 0, or -1 for anything else. */
int log_level_parse(const char *s, enum log_level *out);

struct log;

/*
 * Returns an owned logger writing to fd (not closed by log_free), or NULL when out of memory.
 * Each line is written with one write(2), so lines from several processes sharing a pipe do
 * not interleave.
 */
struct log *log_new(int fd, enum log_level level);
void log_free(struct log *lg);

void log_set_level(struct log *lg, enum log_level level);
enum log_level log_get_level(const struct log *lg);
int log_enabled(const struct log *lg, enum log_level level);

/*
 * Writes `ts=... level=... msg="..." k1=v1 k2=v2`. The variable arguments are pairs of
 * (const char *key, const char *value) ending with NULL; a NULL value is written as "".
 * Values are quoted and escaped when they need it. A line longer than the limit ends with
 * `truncated=true` instead of losing that silently.
 */
__attribute__((sentinel)) void log_emit(struct log *lg, enum log_level level, const char *msg, ...);
void log_emitv(struct log *lg, enum log_level level, const char *msg, va_list kv);

#define log_error(lg, ...) log_emit((lg), LOG_LEVEL_ERROR, __VA_ARGS__, (const char *)NULL)
#define log_warn(lg, ...)  log_emit((lg), LOG_LEVEL_WARN, __VA_ARGS__, (const char *)NULL)
#define log_info(lg, ...)  log_emit((lg), LOG_LEVEL_INFO, __VA_ARGS__, (const char *)NULL)
#define log_debug(lg, ...) log_emit((lg), LOG_LEVEL_DEBUG, __VA_ARGS__, (const char *)NULL)

/*
 * Writes log_emit's line followed by text, a block of several lines (a state dump), each line
 * of it indented by four spaces, all in one write(2) so the block stays together.
 */
__attribute__((sentinel)) void log_block(struct log *lg, enum log_level level, const char *text,
					 const char *msg, ...);

/*
 * Formats a number or another value into a caller's buffer for use as a field value:
 * log_info(lg, "lease acquired", "ms", log_fmt(buf, sizeof(buf), "%d", n)).
 */
__attribute__((format(printf, 3, 4))) const char *log_fmt(char *buf, unsigned long cap,
							  const char *fmt, ...);

/* Logs at error level and exits 1. Only main() calls it, and only at start-up. */
__attribute__((noreturn, sentinel)) void log_fatal_emit(struct log *lg, const char *msg, ...);
#define log_fatal(lg, ...) log_fatal_emit((lg), __VA_ARGS__, (const char *)NULL)

#endif
