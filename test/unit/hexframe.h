/* hexframe: test helper turning hex strings into frames, so expected packets read as bytes. */
#ifndef L2LB_TEST_HEXFRAME_H
#define L2LB_TEST_HEXFRAME_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Decodes hex (whitespace ignored) into buf; returns the byte count. Fails the test on garbage. */
static inline size_t hex_frame(const char *hex, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (const char *s = hex; *s != '\0'; s++) {
		int v;
		if (*s == ' ' || *s == '\n')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else
			ck_abort_msg("bad hex digit %c", *s);
		if (hi < 0) {
			hi = v;
			continue;
		}
		ck_assert_uint_lt(n, cap);
		buf[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	ck_assert_int_eq(hi, -1);
	return n;
}

/* Asserts got[0..n) equals the frame in hex, printing both on a mismatch. */
static inline void assert_frame(const uint8_t *got, size_t n, const char *hex)
{
	uint8_t want[256];
	char gh[520], wh[520];
	size_t wn = hex_frame(hex, want, sizeof(want));

	for (size_t i = 0; i < n && i < 256; i++)
		snprintf(gh + 2 * i, 3, "%02x", got[i]);
	gh[2 * (n < 256 ? n : 256)] = '\0';
	for (size_t i = 0; i < wn; i++)
		snprintf(wh + 2 * i, 3, "%02x", want[i]);
	wh[2 * wn] = '\0';
	ck_assert_msg(n == wn && memcmp(got, want, n) == 0, "frame\n got %s\nwant %s", gh, wh);
}

#endif
