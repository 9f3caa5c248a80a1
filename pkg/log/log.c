/* log: logfmt lines, built in a stack buffer and written with one write(2). */
#include "log/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX	 8192
#define LOG_TRUNC	 " truncated=true\n"
#define LOG_BLOCK_INDENT "    "

struct log {
	int fd;
	enum log_level level;
};

const char *log_level_str(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERROR:
		return "error";
	case LOG_LEVEL_WARN:
		return "warn";
	case LOG_LEVEL_INFO:
		return "info";
	case LOG_LEVEL_DEBUG:
		return "debug";
	}
	return "unknown";
}

int log_level_parse(const char *s, enum log_level *out)
{
	static const enum log_level all[] = { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO,
					      LOG_LEVEL_DEBUG };

	if (s == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(s, log_level_str(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	}
	return -1;
}

struct log *log_new(int fd, enum log_level level)
{
	struct log *lg = calloc(1, sizeof(*lg));

	if (lg == NULL)
		return NULL;
	lg->fd = fd;
	lg->level = level;
	return lg;
}

void log_free(struct log *lg)
{
	free(lg);
}

void log_set_level(struct log *lg, enum log_level level)
{
	lg->level = level;
}

enum log_level log_get_level(const struct log *lg)
{
	return lg->level;
}

int log_enabled(const struct log *lg, enum log_level level)
{
	return lg != NULL && level <= lg->level;
}

/* Appends to a bounded buffer; once full, further appends are dropped and `over` is set. */
struct line {
	char buf[LOG_LINE_MAX];
	size_t len;
	int over;
};

static void line_put(struct line *l, const char *s, size_t n)
{
	/* Keep room for the truncation marker so a cut line still says it was cut. */
	size_t room = sizeof(l->buf) - sizeof(LOG_TRUNC) - l->len;

	if (l->over)
		return;
	if (n > room) {
		l->over = 1;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void line_puts(struct line *l, const char *s)
{
	line_put(l, s, strlen(s));
}

static int needs_quotes(const char *v)
{
	if (*v == '\0')
		return 1;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p <= ' ' || *p == '=' || *p == '"' || *p == '\\' || *p == 0x7f)
			return 1;
	}
	return 0;
}

static void line_value(struct line *l, const char *v)
{
	if (v == NULL)
		v = "";
	if (!needs_quotes(v)) {
		line_puts(l, v);
		return;
	}
	line_put(l, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		char esc[8];

		switch (*p) {
		case '"':
			line_put(l, "\\\"", 2);
			break;
		case '\\':
			line_put(l, "\\\\", 2);
			break;
		case '\n':
			line_put(l, "\\n", 2);
			break;
		case '\r':
			line_put(l, "\\r", 2);
			break;
		case '\t':
			line_put(l, "\\t", 2);
			break;
		default:
			if (*p < ' ' || *p == 0x7f) {
				snprintf(esc, sizeof(esc), "\\u%04x", *p);
				line_puts(l, esc);
			} else {
				line_put(l, (const char *)p, 1);
			}
		}
	}
	line_put(l, "\"", 1);
}

/* Keys come from the code, but a space or '=' in one would corrupt the line: replace them. */
static void line_key(struct line *l, const char *k)
{
	for (; *k; k++) {
		char c = (*k <= ' ' || *k == '=' || *k == '"') ? '_' : *k;

		line_put(l, &c, 1);
	}
}

static void line_ts(struct line *l)
{
	struct timespec ts;
	struct tm tm;
	char b[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(b + n, sizeof(b) - n, ".%03ldZ", ts.tv_nsec / 1000000);
	line_puts(l, b);
}

static void write_all(int fd, const char *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* nowhere left to report a failing log */
		off += (size_t)n;
	}
}

/* Builds the logfmt line, newline included, into *l. */
static void build_line(struct line *l, enum log_level level, const char *msg, va_list kv)
{
	const char *k;

	l->len = 0;
	l->over = 0;
	line_puts(l, "ts=");
	line_ts(l);
	line_puts(l, " level=");
	line_puts(l, log_level_str(level));
	line_puts(l, " msg=");
	line_value(l, msg);
	while ((k = va_arg(kv, const char *)) != NULL) {
		const char *v = va_arg(kv, const char *);

		line_put(l, " ", 1);
		line_key(l, k);
		line_put(l, "=", 1);
		line_value(l, v);
	}
	if (l->over) {
		memcpy(l->buf + l->len, LOG_TRUNC, sizeof(LOG_TRUNC) - 1);
		l->len += sizeof(LOG_TRUNC) - 1;
	} else {
		l->buf[l->len++] = '\n';
	}
}

void log_emitv(struct log *lg, enum log_level level, const char *msg, va_list kv)
{
	struct line l;

	if (!log_enabled(lg, level))
		return;
	build_line(&l, level, msg, kv);
	write_all(lg->fd, l.buf, l.len);
}

void log_emit(struct log *lg, enum log_level level, const char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	log_emitv(lg, level, msg, ap);
	va_end(ap);
}

void log_block(struct log *lg, enum log_level level, const char *text, const char *msg, ...)
{
	struct line l;
	va_list ap;
	size_t need, lines = 1, tlen;

	if (!log_enabled(lg, level))
		return;
	va_start(ap, msg);
	build_line(&l, level, msg, ap);
	va_end(ap);
	if (text == NULL)
		text = "";
	tlen = strlen(text);
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	need = l.len + tlen + lines * (sizeof(LOG_BLOCK_INDENT) - 1) + 2;
	char *buf = malloc(need);
	if (buf == NULL) {
		/* Still said, in two writes rather than not at all. */
		write_all(lg->fd, l.buf, l.len);
		write_all(lg->fd, text, tlen);
		return;
	}
	size_t n = l.len;
	int line_start = 1;
	memcpy(buf, l.buf, l.len);
	for (const char *p = text; *p; p++) {
		if (line_start) {
			memcpy(buf + n, LOG_BLOCK_INDENT, sizeof(LOG_BLOCK_INDENT) - 1);
			n += sizeof(LOG_BLOCK_INDENT) - 1;
		}
		buf[n++] = *p;
		line_start = *p == '\n';
	}
	if (!line_start)
		buf[n++] = '\n';
	write_all(lg->fd, buf, n);
	free(buf);
}

const char *log_fmt(char *buf, unsigned long cap, const char *fmt, ...)
{
	va_list ap;

	if (cap == 0)
		return "";
	va_start(ap, fmt);
	vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return buf;
}

void log_fatal_emit(struct log *lg, const char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	if (lg != NULL) {
		log_emitv(lg, LOG_LEVEL_ERROR, msg, ap);
	} else {
		struct log tmp = { .fd = 2, .level = LOG_LEVEL_ERROR };

		log_emitv(&tmp, LOG_LEVEL_ERROR, msg, ap);
	}
	va_end(ap);
	exit(1);
}
