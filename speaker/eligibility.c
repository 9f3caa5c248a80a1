/* eligibility: may this node announce a service's address? (see eligibility.h) */
#include "speaker/eligibility.h"

#include <string.h>

const char *eligibility_reason_str(enum eligibility_reason r)
{
	switch (r) {
	case ELIG_OK:
		return "eligible";
	case ELIG_NODE_EXCLUDED:
		return "node_excluded";
	case ELIG_NODE_NETWORK_UNAVAILABLE:
		return "node_network_unavailable";
	case ELIG_NO_ADVERTISEMENT:
		return "no_advertisement";
	case ELIG_SERVICE_NOT_SELECTED:
		return "service_not_selected";
	case ELIG_NODE_NOT_SELECTED:
		return "node_not_selected";
	case ELIG_NO_READY_ENDPOINTS:
		return "no_ready_endpoints";
	case ELIG_NO_LOCAL_ENDPOINTS:
		return "no_local_endpoints";
	case ELIG_INTERFACE_DOWN:
		return "interface_down";
	}
	return "?";
}

int eligibility_endpoint_ready(const struct eligibility_endpoint *ep)
{
	int ready = ep->ready != ELIG_COND_FALSE;
	int serving = ep->serving == ELIG_COND_UNSET ? ready : ep->serving == ELIG_COND_TRUE;
	return ready && serving && ep->terminating != ELIG_COND_TRUE;
}

enum eligibility_reason eligibility_evaluate(const struct eligibility_input *in, int *score)
{
	if (score)
		*score = 0;
	if (in->node_excluded)
		return ELIG_NODE_EXCLUDED;
	if (in->node_network_unavailable)
		return ELIG_NODE_NETWORK_UNAVAILABLE;

	int pool = 0, svc = 0, node = 0, up = 0, sum = 0;
	for (size_t i = 0; i < in->n_advs; i++) {
		const struct eligibility_adv *a = &in->advs[i];
		if (!a->selects_pool)
			continue;
		pool = 1;
		if (!a->selects_service)
			continue;
		svc = 1;
		if (!a->selects_node)
			continue;
		node = 1;
		if (a->interface_up)
			up = 1;
		for (size_t k = 0; a->pref_weights && k < a->n_pref; k++)
			if (a->pref_weights[k] >= 1 && a->pref_weights[k] <= 100)
				sum += a->pref_weights[k];
	}
	if (!pool)
		return ELIG_NO_ADVERTISEMENT;
	if (!svc)
		return ELIG_SERVICE_NOT_SELECTED;
	if (!node)
		return ELIG_NODE_NOT_SELECTED;

	int any = 0, local = 0;
	for (size_t i = 0; i < in->n_eps; i++) {
		const struct eligibility_endpoint *ep = &in->eps[i];
		if (!eligibility_endpoint_ready(ep))
			continue;
		any = 1;
		if (ep->node && in->node && !strcmp(ep->node, in->node))
			local = 1;
	}
	if (!any)
		return ELIG_NO_READY_ENDPOINTS;
	if (in->traffic_local && !local)
		return ELIG_NO_LOCAL_ENDPOINTS;
	if (!up)
		return ELIG_INTERFACE_DOWN;
	if (score)
		*score = sum;
	return ELIG_OK;
}
