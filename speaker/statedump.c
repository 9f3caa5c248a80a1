/* statedump: the SIGUSR1 table (see statedump.h). */
#include "speaker/statedump.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { COL_ADDR, COL_SVC, COL_HOLDER, COL_HERE, COL_IFS, COL_REQ, COL_REP, COL_ANN, NCOLS };

static const char *const heading[NCOLS] = { "ADDRESS",	  "SERVICE",  "HOLDER",	 "HERE",
					    "INTERFACES", "REQUESTS", "REPLIES", "ANNOUNCEMENTS" };

static const char *or_dash(const char *s)
{
	return s == NULL || *s == '\0' ? "-" : s;
}

static int by_service_then_address(const void *a, const void *b)
{
	const struct statedump_addr *x = a;
	const struct statedump_addr *y = b;
	int c = strcmp(or_dash(x->service), or_dash(y->service));

	return c != 0 ? c : strcmp(or_dash(x->address), or_dash(y->address));
}

/* The cells of one row; interfaces go to ifs (joined), numbers to nums. */
static void cells(const struct statedump_addr *a, char *ifs, size_t cap, char nums[3][24],
		  const char *out[NCOLS])
{
	size_t len = 0;

	ifs[0] = '\0';
	for (size_t i = 0; i < a->nifaces && len + 1 < cap; i++) {
		int w = snprintf(ifs + len, cap - len, "%s%s", i > 0 ? "," : "", a->ifaces[i]);
		if (w < 0)
			break;
		len += (size_t)w < cap - len ? (size_t)w : cap - len - 1;
	}
	snprintf(nums[0], 24, "%llu", (unsigned long long)a->requests);
	snprintf(nums[1], 24, "%llu", (unsigned long long)a->replies);
	snprintf(nums[2], 24, "%llu", (unsigned long long)a->announcements);
	out[COL_ADDR] = or_dash(a->address);
	out[COL_SVC] = or_dash(a->service);
	out[COL_HOLDER] = a->holder == NULL ? "-" : a->holder[0] == '\0' ? "(none)" : a->holder;
	out[COL_HERE] = a->announcing ? "yes" : "no";
	out[COL_IFS] = or_dash(ifs);
	out[COL_REQ] = nums[0];
	out[COL_REP] = nums[1];
	out[COL_ANN] = nums[2];
}

static void row(struct textbuf *out, const char *const c[NCOLS], const size_t w[NCOLS])
{
	for (int k = 0; k < NCOLS; k++) {
		if (k == NCOLS - 1)
			textbuf_printf(out, "%s\n", c[k]);
		else
			textbuf_printf(out, "%-*s  ", (int)w[k], c[k]);
	}
}

void statedump_write(struct textbuf *out, const struct statedump_addr *v, size_t n)
{
	size_t w[NCOLS];
	struct statedump_addr *sorted;
	char ifs[512], nums[3][24];
	const char *c[NCOLS];

	if (n == 0) {
		textbuf_puts(out, "(no addresses)\n");
		return;
	}
	sorted = calloc(n, sizeof(*sorted));
	if (sorted == NULL) {
		textbuf_puts(out, "(out of memory)\n");
		return;
	}
	/* Copies of the rows (their strings stay borrowed), so the caller's order is kept. */
	memcpy(sorted, v, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), by_service_then_address);
	for (int k = 0; k < NCOLS; k++)
		w[k] = strlen(heading[k]);
	for (size_t i = 0; i < n; i++) {
		cells(&sorted[i], ifs, sizeof(ifs), nums, c);
		for (int k = 0; k < NCOLS; k++)
			if (strlen(c[k]) > w[k])
				w[k] = strlen(c[k]);
	}
	row(out, heading, w);
	for (size_t i = 0; i < n; i++) {
		cells(&sorted[i], ifs, sizeof(ifs), nums, c);
		row(out, c, w);
	}
	free(sorted);
}
