/* dryrun: an announcer that touches no network and records what it would answer for in a file. */
#ifndef L2LB_SPEAKER_DRYRUN_H
#define L2LB_SPEAKER_DRYRUN_H

/*
 * For tests and for trying l2lb on a cluster without letting it answer: the file is rewritten
 * (write to a temporary name, then rename, so a reader never sees half of it) after every change,
 * one announced address per line in sorted order, empty when nothing is announced.
 */

#include "log/log.h"
#include "net/netaddr.h"

#include <stddef.h>

struct dryrun;

/* Returns an owned recorder that has written an empty file, or NULL (logged). path is copied. */
struct dryrun *dryrun_new(struct log *lg, const char *path);
void dryrun_free(struct dryrun *d);

/* The control_announcer callbacks; arg is the struct dryrun. */
int dryrun_announce(void *arg, const struct netaddr *addr, const int *ifindexes, size_t n);
void dryrun_withdraw(void *arg, const struct netaddr *addr);

/* How many addresses are recorded. */
size_t dryrun_count(const struct dryrun *d);

#endif
