/* kube/leaseio: Lease JSON <-> leasefsm records (see leaseio.h). */
#include "kube/leaseio.h"

#include <stdio.h>
#include <string.h>

const char *leaseio_kind_str(enum leaseio_kind k)
{
	switch (k) {
	case LEASEIO_NONE:
		return "none";
	case LEASEIO_PRESENCE:
		return "presence";
	case LEASEIO_SERVICE:
		return "service";
	}
	return "?";
}

/* Copies an optional string field; 0, or -1 on a wrong type or when it does not fit. */
static int copy_str(const json_t *o, const char *key, char *buf, size_t cap)
{
	const json_t *v = json_object_get(o, key);

	buf[0] = '\0';
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= cap)
		return -1;
	memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int copy_int(const json_t *o, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(o, key);

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return -1;
	*out = (int64_t)json_integer_value(v);
	return 0;
}

int leaseio_parse(const json_t *obj, struct leasefsm_record *rec, char *rv, size_t rvcap)
{
	const json_t *md = json_object_get(obj, "metadata");
	const json_t *spec = json_object_get(obj, "spec");

	memset(rec, 0, sizeof(*rec));
	if (!json_is_object(md) || !json_is_string(json_object_get(md, "name")))
		return -1;
	if (copy_str(md, "resourceVersion", rv, rvcap) < 0)
		return -1;
	if (spec == NULL || json_is_null(spec))
		return 0;
	if (!json_is_object(spec))
		return -1;
	if (copy_str(spec, "holderIdentity", rec->holder, sizeof(rec->holder)) < 0 ||
	    copy_str(spec, "acquireTime", rec->acquire_time, sizeof(rec->acquire_time)) < 0 ||
	    copy_str(spec, "renewTime", rec->renew_time, sizeof(rec->renew_time)) < 0 ||
	    copy_int(spec, "leaseDurationSeconds", &rec->duration_s) < 0 ||
	    copy_int(spec, "leaseTransitions", &rec->transitions) < 0)
		return -1;
	return 0;
}

enum leaseio_kind leaseio_classify(const json_t *obj, const char **svc_ns, const char **svc_name)
{
	const json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
	const char *kind = json_string_value(json_object_get(labels, LEASEIO_LABEL_KIND));
	const char *ns = json_string_value(json_object_get(labels, LEASEIO_LABEL_SVC_NS));
	const char *name = json_string_value(json_object_get(labels, LEASEIO_LABEL_SVC));

	*svc_ns = NULL;
	*svc_name = NULL;
	if (kind == NULL)
		return LEASEIO_NONE;
	if (strcmp(kind, "presence") == 0)
		return LEASEIO_PRESENCE;
	if (strcmp(kind, "service") != 0 || ns == NULL || name == NULL || ns[0] == '\0' ||
	    name[0] == '\0')
		return LEASEIO_NONE;
	*svc_ns = ns;
	*svc_name = name;
	return LEASEIO_SERVICE;
}

/* json_object_set_new that reports failure; NULL values count as failure. */
static int put(json_t *o, const char *key, json_t *v)
{
	return v == NULL || json_object_set_new(o, key, v) < 0 ? -1 : 0;
}

json_t *leaseio_build(const char *ns, const char *name, enum leaseio_kind kind, const char *svc_ns,
		      const char *svc_name, const struct leasefsm_record *rec, const char *rv)
{
	json_t *o = json_object(), *md = json_object(), *labels = json_object(),
	       *spec = json_object();
	int bad = o == NULL || md == NULL || labels == NULL || spec == NULL;

	if (!bad) {
		if (kind != LEASEIO_NONE) {
			bad |= put(labels, LEASEIO_LABEL_MANAGED, json_string(LEASEIO_MANAGER));
			bad |= put(labels, LEASEIO_LABEL_KIND, json_string(leaseio_kind_str(kind)));
		}
		if (kind == LEASEIO_SERVICE && svc_ns != NULL && svc_name != NULL) {
			bad |= put(labels, LEASEIO_LABEL_SVC_NS, json_string(svc_ns));
			bad |= put(labels, LEASEIO_LABEL_SVC, json_string(svc_name));
		}
		bad |= put(md, "name", json_string(name));
		bad |= put(md, "namespace", json_string(ns));
		if (rv != NULL && rv[0] != '\0')
			bad |= put(md, "resourceVersion", json_string(rv));
		if (kind != LEASEIO_NONE)
			bad |= put(md, "labels", labels);
		else
			json_decref(labels);
		labels = NULL;
		/* A released lease is written with holderIdentity "" as client-go does. */
		bad |= put(spec, "holderIdentity", json_string(rec->holder));
		if (rec->duration_s > 0)
			bad |= put(spec, "leaseDurationSeconds", json_integer(rec->duration_s));
		if (rec->acquire_time[0] != '\0')
			bad |= put(spec, "acquireTime", json_string(rec->acquire_time));
		if (rec->renew_time[0] != '\0')
			bad |= put(spec, "renewTime", json_string(rec->renew_time));
		bad |= put(spec, "leaseTransitions", json_integer(rec->transitions));
		bad |= put(o, "apiVersion", json_string("coordination.k8s.io/v1"));
		bad |= put(o, "kind", json_string("Lease"));
		bad |= put(o, "metadata", md);
		md = NULL;
		bad |= put(o, "spec", spec);
		spec = NULL;
	}
	json_decref(labels);
	json_decref(md);
	json_decref(spec);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}
