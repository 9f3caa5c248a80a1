/* kube/leaseio: coordination.k8s.io/v1 Lease objects <-> leasefsm records, as JSON (pure). */
#ifndef L2LB_KUBE_LEASEIO_H
#define L2LB_KUBE_LEASEIO_H

/*
 * The one Lease codec of l2lb: kube/lease reads and writes every Lease through it (the
 * controller's leader lease, the speaker's presence lease per node and ownership lease per
 * service). It reads the spec fields election uses out of an object the API returned and builds
 * the object to create or update. No I/O. The labels written on the speaker's leases say what a
 * Lease is for, so `kubectl get leases -l l2lb.io/service-name=web` finds a service's lease and
 * a speaker can tell the service of a lease whose name is a hash.
 */

#include "kube/leasefsm.h"

#include <jansson.h>
#include <stddef.h>

#define LEASEIO_LABEL_MANAGED "app.kubernetes.io/managed-by"
#define LEASEIO_MANAGER	      "l2lb-speaker"
#define LEASEIO_LABEL_KIND    "l2lb.io/lease"
#define LEASEIO_LABEL_SVC_NS  "l2lb.io/service-namespace"
#define LEASEIO_LABEL_SVC     "l2lb.io/service-name"

enum leaseio_kind {
	LEASEIO_NONE,	  /* not one of ours (no or unknown l2lb.io/lease label) */
	LEASEIO_PRESENCE, /* "presence": a node's liveness lease */
	LEASEIO_SERVICE,  /* "service": a service's ownership lease */
};
const char *leaseio_kind_str(enum leaseio_kind k);

/*
 * Reads spec into *rec and metadata.resourceVersion into rv[0..rvcap). Missing fields read as
 * empty / 0 (a released lease has no holder); returns 0, or -1 when obj has no metadata.name,
 * a field has the wrong type, or a string does not fit.
 */
int leaseio_parse(const json_t *obj, struct leasefsm_record *rec, char *rv, size_t rvcap);

/*
 * Which kind of lease obj is, and for a service lease its namespace and name (borrowed from
 * obj; NULL otherwise).
 */
enum leaseio_kind leaseio_classify(const json_t *obj, const char **svc_ns, const char **svc_name);

/*
 * Builds the Lease to send: metadata (name, namespace, resourceVersion when rv is not NULL or
 * "", and for LEASEIO_PRESENCE / LEASEIO_SERVICE the labels for managed-by, kind and service)
 * and spec from rec. A LEASEIO_NONE lease (the controller's) gets no labels. svc_ns/svc_name
 * only for LEASEIO_SERVICE. Returns a new reference, or NULL when out of memory.
 */
json_t *leaseio_build(const char *ns, const char *name, enum leaseio_kind kind, const char *svc_ns,
		      const char *svc_name, const struct leasefsm_record *rec, const char *rv);

#endif
