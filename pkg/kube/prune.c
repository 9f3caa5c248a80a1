/* kube/prune: keep only the listed fields of an object. */
#include "kube/prune.h"

#include <string.h>

static const struct kube_keep *match(const struct kube_keep *keep, const char *name)
{
	for (; keep->key != NULL; keep++) {
		size_t n = strlen(keep->key);
		if (n > 0 && keep->key[n - 1] == '*') {
			if (strncmp(keep->key, name, n - 1) == 0)
				return keep;
		} else if (strcmp(keep->key, name) == 0) {
			return keep;
		}
	}
	return NULL;
}

/* A new reference to what to keep of v under entry k, or NULL when out of memory. */
static json_t *keep_value(json_t *v, const struct kube_keep *k)
{
	if (k->sub == NULL || !(json_is_object(v) || json_is_array(v)))
		return json_incref(v);
	if (json_is_object(v))
		return kube_prune(v, k->sub);
	json_t *arr = json_array();
	size_t i;
	json_t *e;
	if (arr == NULL)
		return NULL;
	json_array_foreach(v, i, e)
	{
		json_t *ke = json_is_object(e) ? kube_prune(e, k->sub) : json_incref(e);
		if (ke == NULL || json_array_append_new(arr, ke) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

json_t *kube_prune(const json_t *obj, const struct kube_keep *keep)
{
	json_t *out = json_object();
	const char *name;
	json_t *v;

	if (out == NULL || !json_is_object(obj))
		return out;
	/* jansson's iteration does not change the object; its API only lacks a const form. */
	json_object_foreach((json_t *)obj, name, v)
	{
		const struct kube_keep *k = match(keep, name);
		if (k == NULL)
			continue;
		json_t *kv = keep_value(v, k);
		if (kv == NULL || json_object_set_new(out, name, kv) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static int same_but(const json_t *a, const json_t *b, const char *skip)
{
	const char *name;
	json_t *v;

	if (!json_is_object(a) || !json_is_object(b))
		return json_equal(a, b);
	size_t na = json_object_size(a) - (json_object_get(a, skip) != NULL);
	size_t nb = json_object_size(b) - (json_object_get(b, skip) != NULL);
	if (na != nb)
		return 0;
	json_object_foreach((json_t *)a, name, v)
	{
		if (strcmp(name, skip) != 0 && !json_equal(v, json_object_get(b, name)))
			return 0;
	}
	return 1;
}

int kube_same_but_version(const json_t *a, const json_t *b)
{
	const char *name;
	json_t *v;

	if (!json_is_object(a) || !json_is_object(b) || json_object_size(a) != json_object_size(b))
		return 0;
	json_object_foreach((json_t *)a, name, v)
	{
		const json_t *w = json_object_get(b, name);
		if (w == NULL)
			return 0;
		if (strcmp(name, "metadata") == 0 ? !same_but(v, w, "resourceVersion")
						  : !json_equal(v, w))
			return 0;
	}
	return 1;
}
