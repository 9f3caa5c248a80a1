/* controller: l2lb-controller's machinery: informers, work queue, allocator, API writes. */
#ifndef L2LB_CONTROLLER_CONTROLLER_H
#define L2LB_CONTROLLER_CONTROLLER_H

#include "http/metrics.h"
#include "kube/client.h"
#include "log/log.h"
#include "loop/loop.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * Watches Services (all namespaces), IPAddressPools and L2Advertisements (its own namespace) and
 * Namespaces; decides per service with controller/reconcile and writes the results: service
 * status through /status with the object's resourceVersion, the pool annotation, Events, and
 * IPAddressPool status. Only while ACTING (it holds the controller lease): a replica that is not
 * acting reads but never writes. On becoming acting it rebuilds every allocation from the
 * services' statuses before it hands out anything new.
 *
 * Ownership: lp, lg, kc and opts->reg are borrowed and must outlive the controller; strings
 * are copied. The controller is kc's request observer (API requests by verb and code).
 *
 * Metrics (registered in opts->reg; MetalLB's names where MetalLB has the metric):
 *   metallb_allocator_addresses_in_use_total{pool}   gauge: addresses handed out from the pool
 *   metallb_allocator_addresses_total{pool}          gauge: usable addresses of the pool
 *   l2lb_controller_allocations_total{pool}          services given (new) addresses
 *   l2lb_controller_allocation_failures_total{reason} failures reported (AllocationFailed), by
 *                                                      reconcile_reason_str()
 *   l2lb_controller_reconcile_duration_seconds       histogram of one service's reconcile
 *   l2lb_controller_api_requests_total{verb,code}    API requests answered (code 0: none came)
 *   l2lb_controller_watch_relists_total{resource}    lists after the first (relists)
 *   l2lb_controller_watch_restarts_total{resource}   watches after the first (restarts)
 *   metallb_k8s_client_updates_total                 watch events processed
 *   metallb_k8s_client_update_errors_total           service writes the API refused (retried)
 *   metallb_k8s_client_config_loaded_bool            1 once a configuration was built
 *   metallb_k8s_client_config_stale_bool             1 while a pool or advertisement is refused
 * Pool gauges are those of the acting replica (a standby holds no allocations: none shown).
 */

struct controller_opts {
	const char *namespace; /* pools, advertisements, the lease */
	const char *lb_class;  /* --lb-class, NULL: services without a class only */
	const char *identity;  /* this replica, for Events' reportingInstance */
	struct metrics *reg;   /* where to register the controller's metrics; NULL: none */
};

/* Counters for logs, metrics and tests. */
struct controller_stats {
	uint64_t reconciles, assigned, failed, released, status_writes, conflicts_409, events,
		pool_status_writes, restored, restore_conflicts;
};

struct controller;

/* Returns an owned controller (informers not started), or NULL (logged). */
struct controller *controller_new(struct loop *lp, struct log *lg, struct kube_client *kc,
				  const struct controller_opts *o);
void controller_free(struct controller *c);

/* Starts the informers. Returns 0, or -1 (logged). */
int controller_start(struct controller *c);

/* True once every informer has delivered its first list. */
bool controller_synced(const struct controller *c);

/*
 * Readiness (/readyz): the informers have synced and, while acting, the allocations have been
 * rebuilt from the services' statuses. Otherwise false, and *why (if not NULL) says which.
 */
bool controller_ready(const struct controller *c, const char **why);

/*
 * Brings the pool gauges and the informer counters up to date. The controller does it itself
 * every second and whenever allocations change; exposed for tests and the state dump.
 */
void controller_update_metrics(struct controller *c);

/*
 * The lease callbacks flip this. Becoming acting rebuilds allocations from statuses (once the
 * informers are synced) and then reconciles everything; stopping forgets them and drops every
 * write not yet answered, so nothing more is written.
 */
void controller_set_acting(struct controller *c, bool acting);
bool controller_acting(const struct controller *c);

/* Logs every pool with its usage (SIGUSR1). */
void controller_dump(const struct controller *c);

void controller_get_stats(const struct controller *c, struct controller_stats *out);

#endif
