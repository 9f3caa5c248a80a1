/* statedump: the speaker's state as one readable block of text, which SIGUSR1 writes to the log:
 * every address with its service, lease holder, interfaces and counters (pure formatting). */
#ifndef L2LB_SPEAKER_STATEDUMP_H
#define L2LB_SPEAKER_STATEDUMP_H

#include "http/textbuf.h"

#include <stddef.h>
#include <stdint.h>

/* One address as the dump shows it; every pointer is borrowed for the call. */
struct statedump_addr {
	const char *address; /* "192.0.2.200" */
	const char *service; /* "default/web"; NULL in --static mode (shown as "-") */
	const char *holder;  /* the lease's holder; "" none; NULL in --static mode ("-") */
	int announcing;	     /* answered from this node now */
	const char *const *ifaces;
	size_t nifaces;
	uint64_t requests;	/* ARP requests / NS seen for it */
	uint64_t replies;	/* answers sent */
	uint64_t announcements; /* gratuitous ARP / unsolicited NA sent */
};

/*
 * Appends a table to out: a heading, then one line per address sorted by service and then
 * address (so two dumps of the same state read the same), columns aligned, every line ending in
 * '\n'; "(no addresses)" when n is 0. Interfaces are joined with ','; none is "-". The input
 * array is not modified.
 */
void statedump_write(struct textbuf *out, const struct statedump_addr *v, size_t n);

#endif
