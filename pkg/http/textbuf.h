/* textbuf: a growable text buffer that remembers an allocation failure instead of truncating. */
#ifndef L2LB_TEXTBUF_H
#define L2LB_TEXTBUF_H

#include <stddef.h>

struct textbuf;

/* Returns an owned, empty buffer, or NULL when out of memory. */
struct textbuf *textbuf_new(void);
/* Frees the buffer and its text. Accepts NULL. */
void textbuf_free(struct textbuf *b);

/*
 * Appends; after one allocation failure every later append is ignored and textbuf_failed()
 * reports it, so a writer can append freely and check once at the end.
 */
void textbuf_append(struct textbuf *b, const char *s, size_t n);
void textbuf_puts(struct textbuf *b, const char *s);
void textbuf_putc(struct textbuf *b, char c);
__attribute__((format(printf, 2, 3))) void textbuf_printf(struct textbuf *b, const char *fmt, ...);

/* 1 when an append could not allocate (the text is then incomplete), else 0. */
int textbuf_failed(const struct textbuf *b);
/* The text so far, always NUL-terminated; borrowed until the next append or free. */
const char *textbuf_data(const struct textbuf *b);
size_t textbuf_len(const struct textbuf *b);
/* Empties the buffer and clears a failure, keeping its memory. */
void textbuf_reset(struct textbuf *b);
/*
 * Hands the text to the caller (free() it) and empties the buffer; *len gets its length.
 * Returns NULL when the buffer had failed or the text cannot be allocated.
 */
char *textbuf_take(struct textbuf *b, size_t *len);

#endif
