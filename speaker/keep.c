/* keep: what the speaker's informers cache of each kind. */
#include "speaker/keep.h"

static const struct kube_keep svc_annotations[] = {
	{ "metallb.io/*", NULL },
	{ "metallb.universe.tf/*", NULL },
	{ NULL, NULL },
};

static const struct kube_keep svc_metadata[] = {
	{ "name", NULL }, { "namespace", NULL }, { "resourceVersion", NULL },
	{ "uid", NULL },  { "labels", NULL },	 { "annotations", svc_annotations },
	{ NULL, NULL },
};

static const struct kube_keep svc_ports[] = {
	{ "port", NULL },
	{ "protocol", NULL },
	{ NULL, NULL },
};

static const struct kube_keep svc_spec[] = {
	{ "type", NULL },	    { "loadBalancerClass", NULL },
	{ "loadBalancerIP", NULL }, { "externalTrafficPolicy", NULL },
	{ "selector", NULL },	    { "clusterIP", NULL },
	{ "clusterIPs", NULL },	    { "ipFamilyPolicy", NULL },
	{ "ports", svc_ports },	    { NULL, NULL },
};

static const struct kube_keep svc_ingress[] = {
	{ "ip", NULL },
	{ NULL, NULL },
};

static const struct kube_keep svc_lb[] = {
	{ "ingress", svc_ingress },
	{ NULL, NULL },
};

static const struct kube_keep svc_status[] = {
	{ "loadBalancer", svc_lb },
	{ NULL, NULL },
};

const struct kube_keep keep_service[] = {
	{ "metadata", svc_metadata },
	{ "spec", svc_spec },
	{ "status", svc_status },
	{ NULL, NULL },
};

static const struct kube_keep slice_labels[] = {
	{ "kubernetes.io/service-name", NULL },
	{ NULL, NULL },
};

static const struct kube_keep slice_metadata[] = {
	{ "name", NULL },	    { "namespace", NULL }, { "resourceVersion", NULL },
	{ "labels", slice_labels }, { NULL, NULL },
};

static const struct kube_keep slice_endpoints[] = {
	{ "nodeName", NULL },
	{ "conditions", NULL },
	{ NULL, NULL },
};

const struct kube_keep keep_slice[] = {
	{ "metadata", slice_metadata },
	{ "endpoints", slice_endpoints },
	{ NULL, NULL },
};

static const struct kube_keep node_metadata[] = {
	{ "name", NULL },
	{ "resourceVersion", NULL },
	{ "labels", NULL },
	{ NULL, NULL },
};

static const struct kube_keep node_conditions[] = {
	{ "type", NULL },
	{ "status", NULL },
	{ NULL, NULL },
};

static const struct kube_keep node_status[] = {
	{ "conditions", node_conditions },
	{ NULL, NULL },
};

const struct kube_keep keep_node[] = {
	{ "metadata", node_metadata },
	{ "status", node_status },
	{ NULL, NULL },
};

json_t *keep_transform(const json_t *obj, const void *arg)
{
	return kube_prune(obj, arg);
}
