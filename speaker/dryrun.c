/* dryrun: records announce decisions in a file (see dryrun.h). */
#include "speaker/dryrun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dryrun {
	struct log *lg;
	char *path;
	char (*addrs)[NETADDR_STRLEN];
	size_t n, cap;
};

static int cmp_addr(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int save(struct dryrun *d)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", d->path) >= (int)sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (f == NULL) {
		log_error(d->lg, "dry run: cannot write the record file", "path", tmp);
		return -1;
	}
	if (d->n > 1)
		qsort(d->addrs, d->n, sizeof(*d->addrs), cmp_addr);
	for (size_t i = 0; i < d->n; i++)
		fprintf(f, "%s\n", d->addrs[i]);
	if (fclose(f) != 0 || rename(tmp, d->path) != 0) {
		log_error(d->lg, "dry run: cannot replace the record file", "path", d->path);
		return -1;
	}
	return 0;
}

struct dryrun *dryrun_new(struct log *lg, const char *path)
{
	struct dryrun *d = calloc(1, sizeof(*d));

	if (d == NULL || (d->path = strdup(path)) == NULL) {
		free(d);
		log_error(lg, "out of memory");
		return NULL;
	}
	d->lg = lg;
	if (save(d) < 0) {
		dryrun_free(d);
		return NULL;
	}
	return d;
}

void dryrun_free(struct dryrun *d)
{
	if (d == NULL)
		return;
	free(d->addrs);
	free(d->path);
	free(d);
}

static long find(const struct dryrun *d, const char *a)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->addrs[i], a) == 0)
			return (long)i;
	return -1;
}

int dryrun_announce(void *arg, const struct netaddr *addr, const int *ifindexes, size_t n)
{
	struct dryrun *d = arg;
	char a[NETADDR_STRLEN];

	(void)ifindexes;
	(void)n;
	netaddr_format(addr, a, sizeof(a));
	if (find(d, a) >= 0)
		return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		void *p = realloc(d->addrs, cap * sizeof(*d->addrs));
		if (p == NULL) {
			log_error(d->lg, "out of memory");
			return -1;
		}
		d->addrs = p;
		d->cap = cap;
	}
	memcpy(d->addrs[d->n++], a, sizeof(a));
	return save(d);
}

void dryrun_withdraw(void *arg, const struct netaddr *addr)
{
	struct dryrun *d = arg;
	char a[NETADDR_STRLEN];
	long i = find(d, netaddr_format(addr, a, sizeof(a)));

	if (i < 0)
		return;
	memmove(d->addrs[i], d->addrs[i + 1], (d->n - (size_t)i - 1) * sizeof(*d->addrs));
	d->n--;
	save(d);
}

size_t dryrun_count(const struct dryrun *d)
{
	return d->n;
}
