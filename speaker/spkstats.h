/* spkstats: the speaker's metrics: the responder and the control plane report here what happens
 * (frames, answers, leases, announcements), and /metrics and the SIGUSR1 dump read it back. */
#ifndef L2LB_SPEAKER_SPKSTATS_H
#define L2LB_SPEAKER_SPKSTATS_H

#include "http/metrics.h"
#include "kube/informer.h"
#include "net/netaddr.h"
#include "speaker/responder.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Names follow MetalLB's speaker where it has one (metallb_speaker_announced,
 * metallb_layer2_requests_received, ..._responses_sent, ..._gratuitous_sent; counters get the
 * "_total" our registry requires, as OpenMetrics scrapers show them anyway); the rest are
 * l2lb_speaker_*. Per-address series exist only while the address is announced: they are
 * removed when it goes, so their number is bounded by the addresses this node answers for.
 * Every function accepts a NULL spkstats and then does nothing, so the control plane and the
 * responder need no checks (tests, --metrics-addr "").
 */
struct spkstats;

/*
 * Registers the families in reg (borrowed; it must outlive the stats). node is copied (the
 * "node" label of metallb_speaker_announced). Returns NULL when out of memory or when a name
 * is taken in reg.
 */
struct spkstats *spkstats_new(struct metrics *reg, const char *node);
void spkstats_free(struct spkstats *st);

/* The responder's observer: responder_opts.observe with the stats as observe_arg. */
void spkstats_responder_event(const struct responder_event_info *e, void *arg);

/* The API client's observer: kube_client_set_observer(kc, spkstats_api_request, st). */
void spkstats_api_request(const char *verb, long code, void *arg);

/*
 * The control plane took a service's lease (takeover: it had another holder before, so this
 * is a failover). The time to the first gratuitous ARP / unsolicited NA sent for each of
 * addrs[0..n) is observed in l2lb_speaker_garp_delay_seconds.
 */
void spkstats_lease_acquired(struct spkstats *st, const struct netaddr *addrs, size_t n,
			     int takeover);
/* It lost or released one; reason names why (leasefsm_stop_reason_str). */
void spkstats_lease_lost(struct spkstats *st, const struct netaddr *addrs, size_t n,
			 const char *reason);
/* Service key ("ns/name") starts (on) or stops being announced from this node for addrs. */
void spkstats_announced(struct spkstats *st, const char *service, const struct netaddr *addrs,
			size_t n, int on);
/* An informer's cumulative counts (informer_get_stats) for resource ("services", ...). */
void spkstats_informer(struct spkstats *st, const char *resource, const struct informer_stats *s);

/* An announced address's counters (0 when it has none), for the SIGUSR1 dump. */
void spkstats_addr_counters(const struct spkstats *st, const struct netaddr *a, uint64_t *requests,
			    uint64_t *replies, uint64_t *announcements);

#endif
