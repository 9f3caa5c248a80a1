/* spkstats: the speaker's metric families and the events that move them (see spkstats.h). */
#include "speaker/spkstats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Per-address series: a thousand dual-stack services with room to spare. */
#define ADDR_SERIES_MAX 8192
/* Leases taken whose first announcement is still to come. */
#define PENDING_MAX 4096

struct pending {
	struct netaddr addr;
	int64_t since_us;
};

struct spkstats {
	char node[256];
	struct metric_family *announced;   /* metallb_speaker_announced{ip,node,protocol,service} */
	struct metric_family *if_addrs;	   /* l2lb_speaker_announced_addresses{interface} */
	struct metric_family *addr_ifs;	   /* l2lb_speaker_address_interfaces{ip} */
	struct metric_family *l2_requests; /* metallb_layer2_requests_received_total{ip} */
	struct metric_family *l2_responses;  /* metallb_layer2_responses_sent_total{ip} */
	struct metric_family *l2_gratuitous; /* metallb_layer2_gratuitous_sent_total{ip} */
	struct metric_family *requests[2];   /* l2lb_speaker_{arp,ndp}_requests_total{interface} */
	struct metric_family *replies[2];    /* l2lb_speaker_{arp,ndp}_replies_total{interface} */
	struct metric_family *drops[2]; /* l2lb_speaker_{arp,ndp}_drops_total{interface,reason} */
	struct metric_family *garps;	/* l2lb_speaker_garps_sent_total{interface} */
	struct metric_family *nas;	/* l2lb_speaker_unsolicited_nas_sent_total{interface} */
	struct metric *leases_held;
	struct metric *acquisitions;
	struct metric_family *losses; /* {reason} */
	struct metric *takeovers;
	struct metric *garp_delay;
	struct metric_family *api;			/* {verb,code} */
	struct metric_family *watch_restarts, *relists; /* {resource} */
	struct pending *pend;
	size_t npend, cappend;
};

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int add(struct metrics *reg, enum metric_type t, const char *name, const char *help,
	       const char *labels, struct metric_family **out)
{
	enum metric_err e;

	if (t == METRIC_COUNTER)
		e = metrics_add_counter(reg, name, help, labels, out);
	else
		e = metrics_add_gauge(reg, name, help, labels, out);
	return e == METRIC_OK ? 0 : -1;
}

/* A family without labels and its one series; NULL (and *bad set) when it cannot be added. */
static struct metric *add_solo(struct metrics *reg, enum metric_type t, const char *name,
			       const char *help, int *bad)
{
	struct metric_family *f = NULL;

	*bad |= add(reg, t, name, help, NULL, &f);
	return *bad ? NULL : metric_family_solo(f);
}

struct spkstats *spkstats_new(struct metrics *reg, const char *node)
{
	struct spkstats *st = calloc(1, sizeof(*st));
	struct metric_family *f = NULL;
	double bounds[14];
	int bad = 0;

	if (st == NULL)
		return NULL;
	snprintf(st->node, sizeof(st->node), "%s", node != NULL ? node : "");
	bad |= add(reg, METRIC_GAUGE, "metallb_speaker_announced",
		   "1 for each address this node announces, as MetalLB's speaker reports it",
		   "ip,node,protocol,service", &st->announced);
	bad |= add(reg, METRIC_GAUGE, "l2lb_speaker_announced_addresses",
		   "Addresses answered for on each interface", "interface", &st->if_addrs);
	bad |= add(reg, METRIC_GAUGE, "l2lb_speaker_address_interfaces",
		   "Interfaces each announced address is answered on", "ip", &st->addr_ifs);
	bad |= add(reg, METRIC_COUNTER, "metallb_layer2_requests_received_total",
		   "ARP requests and NS received for each announced address", "ip",
		   &st->l2_requests);
	bad |= add(reg, METRIC_COUNTER, "metallb_layer2_responses_sent_total",
		   "ARP replies and NA sent for each announced address", "ip", &st->l2_responses);
	bad |= add(reg, METRIC_COUNTER, "metallb_layer2_gratuitous_sent_total",
		   "Gratuitous ARP and unsolicited NA frames sent for each announced address", "ip",
		   &st->l2_gratuitous);
	bad |= add(reg, METRIC_COUNTER, "l2lb_speaker_arp_requests_total",
		   "Well-formed ARP requests seen, for any address", "interface", &st->requests[0]);
	bad |= add(reg, METRIC_COUNTER, "l2lb_speaker_ndp_requests_total",
		   "Well-formed neighbor solicitations seen, for any address", "interface",
		   &st->requests[1]);
	bad |= add(reg, METRIC_COUNTER, "l2lb_speaker_arp_replies_total", "ARP replies sent",
		   "interface", &st->replies[0]);
	bad |= add(reg, METRIC_COUNTER, "l2lb_speaker_ndp_replies_total",
		   "Neighbor advertisements sent answering a solicitation", "interface",
		   &st->replies[1]);
	bad |= add(reg, METRIC_COUNTER, "l2lb_speaker_arp_drops_total",
		   "Malformed ARP frames dropped, by reason", "interface,reason", &st->drops[0]);
	bad |= add(reg, METRIC_COUNTER, "l2lb_speaker_ndp_drops_total",
		   "Malformed NS/NA frames dropped, by reason", "interface,reason", &st->drops[1]);
	bad |= add(reg, METRIC_COUNTER, "l2lb_speaker_garps_sent_total",
		   "Gratuitous ARP frames sent", "interface", &st->garps);
	bad |= add(reg, METRIC_COUNTER, "l2lb_speaker_unsolicited_nas_sent_total",
		   "Unsolicited neighbor advertisements sent", "interface", &st->nas);
	st->leases_held = add_solo(reg, METRIC_GAUGE, "l2lb_speaker_leases_held",
				   "Service ownership leases this node holds", &bad);
	st->acquisitions = add_solo(reg, METRIC_COUNTER, "l2lb_speaker_lease_acquisitions_total",
				    "Service ownership leases acquired", &bad);
	bad |= add(reg, METRIC_COUNTER, "l2lb_speaker_lease_losses_total",
		   "Service ownership leases lost or released, by reason", "reason", &st->losses);
	st->takeovers = add_solo(reg, METRIC_COUNTER, "l2lb_speaker_takeovers_total",
				 "Service leases acquired from another node (failovers)", &bad);
	bad |= add(reg, METRIC_COUNTER, "l2lb_speaker_api_requests_total",
		   "Kubernetes API requests by verb and HTTP code (0: no answer)", "verb,code",
		   &st->api);
	bad |= add(reg, METRIC_COUNTER, "l2lb_speaker_watch_restarts_total",
		   "Watches opened again after the first, by resource", "resource",
		   &st->watch_restarts);
	bad |= add(reg, METRIC_COUNTER, "l2lb_speaker_watch_relists_total",
		   "Lists after the first (a watch could not resume), by resource", "resource",
		   &st->relists);
	/* 1 ms to about 16 s: a GARP follows the lease in the same loop turn unless the
	 * interface or the evaluation lags. */
	if (!bad && metrics_buckets_exponential(0.001, 2, 14, bounds) == 0 &&
	    metrics_add_histogram(reg, "l2lb_speaker_garp_delay_seconds",
				  "From acquiring a service lease to its first gratuitous ARP or "
				  "unsolicited NA",
				  NULL, bounds, 14, &f) == METRIC_OK)
		st->garp_delay = metric_family_solo(f);
	else
		bad = 1;
	if (bad) {
		spkstats_free(st);
		return NULL;
	}
	metric_family_set_limit(st->announced, ADDR_SERIES_MAX);
	metric_family_set_limit(st->addr_ifs, ADDR_SERIES_MAX);
	metric_family_set_limit(st->l2_requests, ADDR_SERIES_MAX);
	metric_family_set_limit(st->l2_responses, ADDR_SERIES_MAX);
	metric_family_set_limit(st->l2_gratuitous, ADDR_SERIES_MAX);
	return st;
}

void spkstats_free(struct spkstats *st)
{
	if (st == NULL)
		return;
	free(st->pend);
	free(st);
}

static void pending_drop(struct spkstats *st, const struct netaddr *a)
{
	for (size_t i = 0; i < st->npend; i++)
		if (netaddr_equal(&st->pend[i].addr, a)) {
			st->pend[i] = st->pend[--st->npend];
			return;
		}
}

/* A first announcement for a lease just taken: how long it took. */
static void pending_done(struct spkstats *st, const struct netaddr *a)
{
	for (size_t i = 0; i < st->npend; i++)
		if (netaddr_equal(&st->pend[i].addr, a)) {
			metric_observe(st->garp_delay,
				       (double)(mono_us() - st->pend[i].since_us) / 1e6);
			st->pend[i] = st->pend[--st->npend];
			return;
		}
}

/* The address's last interface went: its series go with it (bounded by what is announced). */
static void addr_gone(struct spkstats *st, const char *ip)
{
	const char *v[1] = { ip };

	metric_family_remove(st->addr_ifs, v, 1);
	metric_family_remove(st->l2_requests, v, 1);
	metric_family_remove(st->l2_responses, v, 1);
	metric_family_remove(st->l2_gratuitous, v, 1);
}

void spkstats_responder_event(const struct responder_event_info *e, void *arg)
{
	struct spkstats *st = arg;
	char ip[NETADDR_STRLEN] = "";
	int k = e->ipv6 ? 1 : 0;

	if (st == NULL)
		return;
	if (e->addr != NULL)
		netaddr_format(e->addr, ip, sizeof(ip));
	switch (e->ev) {
	case RESPONDER_EV_REQUEST:
		metric_inc(metric_with(st->requests[k], e->iface));
		if (e->ours)
			metric_inc(metric_with(st->l2_requests, ip));
		break;
	case RESPONDER_EV_REPLY:
		metric_inc(metric_with(st->replies[k], e->iface));
		metric_inc(metric_with(st->l2_responses, ip));
		break;
	case RESPONDER_EV_ANNOUNCE:
		metric_inc(metric_with(e->ipv6 ? st->nas : st->garps, e->iface));
		metric_inc(metric_with(st->l2_gratuitous, ip));
		if (st->npend > 0)
			pending_done(st, e->addr);
		break;
	case RESPONDER_EV_DROP:
		metric_inc(metric_with(st->drops[k], e->iface, e->reason != NULL ? e->reason : ""));
		break;
	case RESPONDER_EV_UP:
		metric_inc(metric_with(st->if_addrs, e->iface));
		metric_inc(metric_with(st->addr_ifs, ip));
		break;
	case RESPONDER_EV_DOWN: {
		metric_dec(metric_with(st->if_addrs, e->iface));
		struct metric *m = metric_with(st->addr_ifs, ip);
		metric_dec(m);
		if (m == NULL || metric_value(m) <= 0)
			addr_gone(st, ip);
		break;
	}
	}
}

void spkstats_api_request(const char *verb, long code, void *arg)
{
	struct spkstats *st = arg;
	char c[24];

	if (st == NULL)
		return;
	snprintf(c, sizeof(c), "%ld", code);
	metric_inc(metric_with(st->api, verb != NULL ? verb : "", c));
}

void spkstats_lease_acquired(struct spkstats *st, const struct netaddr *addrs, size_t n,
			     int takeover)
{
	if (st == NULL)
		return;
	metric_inc(st->acquisitions);
	metric_inc(st->leases_held);
	if (takeover)
		metric_inc(st->takeovers);
	int64_t now = mono_us();
	for (size_t i = 0; i < n; i++) {
		pending_drop(st, &addrs[i]);
		if (st->npend == st->cappend) {
			size_t cap = st->cappend ? st->cappend * 2 : 16;
			struct pending *p;
			if (cap > PENDING_MAX)
				return; /* not timed: better than unbounded */
			p = realloc(st->pend, cap * sizeof(*p));
			if (p == NULL)
				return;
			st->pend = p;
			st->cappend = cap;
		}
		st->pend[st->npend].addr = addrs[i];
		st->pend[st->npend++].since_us = now;
	}
}

void spkstats_lease_lost(struct spkstats *st, const struct netaddr *addrs, size_t n,
			 const char *reason)
{
	if (st == NULL)
		return;
	metric_dec(st->leases_held);
	metric_inc(metric_with(st->losses, reason != NULL ? reason : ""));
	for (size_t i = 0; i < n; i++)
		pending_drop(st, &addrs[i]);
}

void spkstats_announced(struct spkstats *st, const char *service, const struct netaddr *addrs,
			size_t n, int on)
{
	char ip[NETADDR_STRLEN];

	if (st == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		netaddr_format(&addrs[i], ip, sizeof(ip));
		const char *v[4] = { ip, st->node, "layer2", service };
		if (on)
			metric_set(metric_family_child(st->announced, v, 4, NULL), 1);
		else
			metric_family_remove(st->announced, v, 4);
	}
}

/* Brings a counter up to a cumulative count kept elsewhere. */
static void catch_up(struct metric *m, uint64_t total)
{
	double now = metric_value(m);

	if (m != NULL && (double)total > now)
		metric_add(m, (double)total - now);
}

void spkstats_informer(struct spkstats *st, const char *resource, const struct informer_stats *s)
{
	if (st == NULL)
		return;
	catch_up(metric_with(st->watch_restarts, resource), s->watches > 0 ? s->watches - 1 : 0);
	catch_up(metric_with(st->relists, resource), s->lists > 0 ? s->lists - 1 : 0);
}

/* The value of an existing series; a lookup must not leave a new one behind. */
static uint64_t value_of(struct metric_family *f, const char *ip)
{
	const char *v[1] = { ip };
	size_t before = metric_family_size(f);
	struct metric *m = metric_family_child(f, v, 1, NULL);
	uint64_t n = m != NULL ? (uint64_t)metric_value(m) : 0;

	if (metric_family_size(f) > before)
		metric_family_remove(f, v, 1);
	return n;
}

void spkstats_addr_counters(const struct spkstats *st, const struct netaddr *a, uint64_t *requests,
			    uint64_t *replies, uint64_t *announcements)
{
	char ip[NETADDR_STRLEN];

	*requests = *replies = *announcements = 0;
	if (st == NULL)
		return;
	netaddr_format(a, ip, sizeof(ip));
	*requests = value_of(st->l2_requests, ip);
	*replies = value_of(st->l2_responses, ip);
	*announcements = value_of(st->l2_gratuitous, ip);
}
