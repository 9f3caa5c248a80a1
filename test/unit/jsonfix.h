/* jsonfix: JSON fixtures for the unit tests that feed pkg/mlb (tables written with ' for "). */
#ifndef L2LB_TEST_JSONFIX_H
#define L2LB_TEST_JSONFIX_H

#include "mlb/mlb.h"

#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Parses JSON written with ' for ", so the tables stay readable; fails the test on bad JSON. */
static inline json_t *J(const char *text)
{
	char *t = strdup(text);
	ck_assert_ptr_nonnull(t);
	for (char *p = t; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	json_error_t err;
	json_t *j = json_loads(t, JSON_DECODE_ANY, &err);
	ck_assert_msg(j != NULL, "bad test json %s: %s", t, err.text);
	free(t);
	return j;
}

/* A configuration from JSON arrays of at most 16 pools and 16 advertisements. */
static inline struct mlb_config *build(const char *pools_json, const char *advs_json)
{
	json_t *pools = J(pools_json), *advs = J(advs_json);
	const json_t *pv[16], *av[16];
	size_t np = json_array_size(pools), na = json_array_size(advs);
	ck_assert(np <= 16 && na <= 16);
	for (size_t i = 0; i < np; i++)
		pv[i] = json_array_get(pools, i);
	for (size_t i = 0; i < na; i++)
		av[i] = json_array_get(advs, i);
	struct mlb_config *cfg = mlb_config_build(pv, np, av, na);
	ck_assert_ptr_nonnull(cfg);
	json_decref(pools);
	json_decref(advs);
	return cfg;
}

#endif
