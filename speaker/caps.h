/* caps: the speaker's capabilities, limited to CAP_NET_RAW and made effective only while a capture
 * opens (as iputils arping raises it only around its socket call); capget/capset, no libcap. */
#ifndef L2LB_SPEAKER_CAPS_H
#define L2LB_SPEAKER_CAPS_H

#include "log/log.h"

#include <stdint.h>

/* CAP_NET_RAW's bit (linux/capability.h); the only capability the data plane needs. */
#define CAPS_NET_RAW 13

/* A process's three capability sets, one bit per capability (bit CAP_X set: held). */
struct caps_sets {
	uint64_t effective, permitted, inheritable;
};

/* What the speaker keeps after start-up. */
enum caps_keep {
	CAPS_KEEP_NET_RAW, /* captures may open later (new addresses, links coming back): keep
			    * CAP_NET_RAW permitted, never effective between opens */
	CAPS_KEEP_NONE,	   /* nothing will ever be captured (dry run): drop everything */
};

enum caps_result {
	CAPS_OK,
	CAPS_NOT_PERMITTED, /* CAP_NET_RAW is not in the permitted set: a capture will fail */
	CAPS_FAILED,	    /* capget/capset failed */
};

const char *caps_result_str(enum caps_result r);

/*
 * The sets to switch to at start-up (pure): permitted is cut to CAP_NET_RAW (if held and kept)
 * or to nothing; effective and inheritable are cleared.
 */
struct caps_sets caps_limited(const struct caps_sets *now, enum caps_keep keep);

/* Reads this process's sets; 0, or -1 with errno set. */
int caps_read(struct caps_sets *out);

/*
 * At start-up: logs which capabilities the process holds and which it lacks (CAP_NET_RAW),
 * then switches to caps_limited(keep). CAPS_NOT_PERMITTED when CAP_NET_RAW is missing and
 * wanted (warned: nothing can be answered); CAPS_FAILED is logged.
 */
enum caps_result caps_start(struct log *lg, enum caps_keep keep);

/*
 * Around the call that opens a packet socket (pcap_activate): caps_raise_net_raw makes
 * CAP_NET_RAW effective, caps_lower clears the effective set again. Both are quiet: a failed
 * raise shows up as the open's own EPERM, which its caller logs.
 */
enum caps_result caps_raise_net_raw(void);
void caps_lower(void);

#endif
