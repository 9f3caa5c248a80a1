/* textbuf: doubling growth, a sticky failure flag, always NUL-terminated. */
#include "http/textbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct textbuf {
	char *p;
	size_t len;
	size_t cap; /* bytes allocated, the NUL included */
	int failed;
};

struct textbuf *textbuf_new(void)
{
	return calloc(1, sizeof(struct textbuf));
}

void textbuf_free(struct textbuf *b)
{
	if (b == NULL)
		return;
	free(b->p);
	free(b);
}

/* Makes room for n more bytes plus the NUL; returns 0, or -1 (and marks the buffer failed). */
static int reserve(struct textbuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->failed)
		return -1;
	if (n < b->cap - b->len)
		return 0;
	if (n > SIZE_MAX / 2 - b->len - 1) {
		b->failed = 1;
		return -1;
	}
	cap = b->cap ? b->cap : 256;
	while (cap - b->len <= n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->failed = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void textbuf_append(struct textbuf *b, const char *s, size_t n)
{
	if (reserve(b, n) < 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void textbuf_puts(struct textbuf *b, const char *s)
{
	textbuf_append(b, s, strlen(s));
}

void textbuf_putc(struct textbuf *b, char c)
{
	textbuf_append(b, &c, 1);
}

void textbuf_printf(struct textbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if (reserve(b, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

int textbuf_failed(const struct textbuf *b)
{
	return b->failed;
}

const char *textbuf_data(const struct textbuf *b)
{
	return b->p ? b->p : "";
}

size_t textbuf_len(const struct textbuf *b)
{
	return b->len;
}

void textbuf_reset(struct textbuf *b)
{
	b->len = 0;
	b->failed = 0;
	if (b->p)
		b->p[0] = '\0';
}

char *textbuf_take(struct textbuf *b, size_t *len)
{
	char *p;

	if (b->failed)
		return NULL;
	if (b->p == NULL) {
		p = calloc(1, 1);
		if (p == NULL)
			return NULL;
	} else {
		p = b->p;
	}
	*len = b->len;
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
