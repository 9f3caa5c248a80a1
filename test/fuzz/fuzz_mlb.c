/*
 * libFuzzer target for the configuration path: pool entries (pkg/ipam), label selectors
 * (pkg/labels), and MetalLB objects and Services (pkg/mlb) down to an allocation. Any input is
 * refused or accepted without a crash, and what is accepted keeps its invariants. The first
 * byte picks the entry point; the rest is the text (a pool entry, or JSON).
 */
#include "ipam/ipam.h"
#include "labels/labels.h"
#include "mlb/lastgood.h"
#include "mlb/mlb.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void entry(const char *s)
{
	struct ipam_range r;
	if (ipam_entry_parse(s, &r) != IPAM_ENTRY_OK)
		return;
	char buf[IPAM_ADDR_STRLEN];
	struct ipam_addr back;
	if (r.first.family != r.last.family || r.last.v < r.first.v ||
	    ipam_addr_parse(ipam_addr_format(&r.first, buf, sizeof(buf)), &back) < 0 ||
	    ipam_addr_cmp(&back, &r.first) != 0)
		abort();
}

static void selector(const json_t *j)
{
	struct labels_selector *s;
	char msg[256], text[512];
	if (labels_selector_parse(j, &s, msg, sizeof(msg)) != LABELS_OK)
		return;
	if (!labels_selector_equivalent(s, s))
		abort();
	labels_selector_format(s, text, sizeof(text));
	labels_selector_matches(s, json_object_get(j, "matchLabels"));
	labels_selector_free(s);
}

/* Two builds remembering the first: every object, then the list shifted by one, so objects of
 * the same name meet other versions of themselves. Every kept object is reported. */
static void lastgood(const json_t *const *pools, size_t np, const json_t *const *advs, size_t na)
{
	struct mlb_lastgood *lg = mlb_lastgood_new();
	if (lg == NULL)
		return;
	struct mlb_config *a = mlb_lastgood_build(lg, pools, np, advs, na);
	struct mlb_config *b = np > 0 ? mlb_lastgood_build(lg, pools + 1, np - 1, advs, na) : NULL;
	if (b != NULL && mlb_lastgood_nkept(lg) > mlb_config_nproblems(b))
		abort();
	mlb_config_free(a);
	mlb_config_free(b);
	mlb_lastgood_free(lg);
}

/* [pools..., advertisements..., services...] split by each object's "kind". */
static void config(const json_t *list)
{
	const json_t *pools[16], *advs[16], *svcs[16], *o;
	size_t np = 0, na = 0, ns = 0, i;
	json_array_foreach(list, i, o)
	{
		const char *kind = json_string_value(json_object_get(o, "kind"));
		if (kind != NULL && strcmp(kind, "L2Advertisement") == 0 && na < 16)
			advs[na++] = o;
		else if (kind != NULL && strcmp(kind, "Service") == 0 && ns < 16)
			svcs[ns++] = o;
		else if (np < 16)
			pools[np++] = o;
	}
	lastgood(pools, np, advs, na);
	struct mlb_config *cfg = mlb_config_build(pools, np, advs, na);
	if (cfg == NULL)
		return;
	struct ipam *ip = ipam_new();
	for (i = 0; ip != NULL && i < ns; i++) {
		struct mlb_service *s;
		if (mlb_service_parse(svcs[i], NULL, &s, NULL, 0) != MLB_SVC_OK)
			continue;
		const struct mlb_pool *out[16];
		size_t n = 0;
		struct ipam_claim c;
		struct ipam_addr a;
		mlb_service_claim(s, &c);
		if (mlb_config_pools_for_service(cfg, s, NULL, out, 16, &n) == MLB_CHOICE_OK) {
			if (n == 0)
				abort();
			for (size_t k = 0; k < n && k < 16; k++)
				if (ipam_alloc(ip, mlb_pool_ipam(out[k]), mlb_service_family(s, 0),
					       &c, &a) == IPAM_OK &&
				    !ipam_pool_contains(mlb_pool_ipam(out[k]), &a))
					abort();
		}
		mlb_service_free(s);
	}
	ipam_free(ip);
	mlb_config_free(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *text = malloc(size);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] % 3 == 0) {
		entry(text);
	} else {
		json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
		if (data[0] % 3 == 1)
			selector(j);
		else
			config(j);
		json_decref(j);
	}
	free(text);
	return 0;
}
