/*
 * The pure half of kube/client (declared in kube/client.h): request paths and outcome strings.
 * Kept out of client.c so that a link-time fake of the client (test/fakes) uses these real ones.
 */
#include <stdio.h>

#include "kube/client.h"

const char *kube_status_str(enum kube_status s)
{
	switch (s) {
	case KUBE_OK:
		return "ok";
	case KUBE_ERR_HTTP:
		return "http";
	case KUBE_ERR_TRANSPORT:
		return "transport";
	case KUBE_ERR_TIMEOUT:
		return "timeout";
	case KUBE_ERR_DECODE:
		return "decode";
	case KUBE_ERR_NOMEM:
		return "nomem";
	}
	return "?";
}

const char *kube_error_str(const struct kube_error *e, char *buf, size_t cap)
{
	switch (e->status) {
	case KUBE_OK:
		snprintf(buf, cap, "ok");
		break;
	case KUBE_ERR_HTTP:
		snprintf(buf, cap, "%ld %s: %s", e->code, e->reason[0] ? e->reason : "?",
			 e->message);
		break;
	case KUBE_ERR_TRANSPORT:
	case KUBE_ERR_TIMEOUT:
		snprintf(buf, cap, "%s: %s", kube_status_str(e->status), e->transport);
		break;
	case KUBE_ERR_DECODE:
	case KUBE_ERR_NOMEM:
		snprintf(buf, cap, "%s: %s", kube_status_str(e->status), e->message);
		break;
	}
	return buf;
}

int kube_resource_path(char *buf, size_t cap, const struct kube_resource *r, const char *ns,
		       const char *name, const char *sub)
{
	int n;
	const char *prefix = r->group && *r->group ? "/apis/" : "/api";
	const char *group = r->group && *r->group ? r->group : "";
	if (r->namespaced && ns && *ns)
		n = snprintf(buf, cap, "%s%s/%s/namespaces/%s/%s%s%s%s%s", prefix, group,
			     r->version, ns, r->plural, name ? "/" : "", name ? name : "",
			     sub ? "/" : "", sub ? sub : "");
	else
		n = snprintf(buf, cap, "%s%s/%s/%s%s%s%s%s", prefix, group, r->version, r->plural,
			     name ? "/" : "", name ? name : "", sub ? "/" : "", sub ? sub : "");
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}
