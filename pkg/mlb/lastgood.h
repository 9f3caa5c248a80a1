/* lastgood: an edit that makes a pool or advertisement invalid keeps its last accepted version. */
#ifndef L2LB_MLB_LASTGOOD_H
#define L2LB_MLB_LASTGOOD_H

/*
 * mlb_config_build() leaves an invalid object out. For an object that was valid until an edit,
 * that would take down every address it served because of one typo; MetalLB instead keeps its
 * whole last good configuration. This keeps the last accepted version of each object (by kind,
 * namespace and name) and, when the current version is refused, builds with the remembered one
 * instead, so the rest of the configuration follows the edits and only the broken object stays
 * as it was. The refusal is still reported: its problem, with "; serving its last accepted
 * version" added to the message, is in the returned config's problem list.
 *
 * Memory lasts for the life of the daemon: after a restart an invalid object is left out, as
 * mlb_config_build() does. Pure: no I/O; keeps deep copies of the objects it remembers.
 */

#include "mlb/mlb.h"

#include <jansson.h>
#include <stddef.h>

struct mlb_lastgood;

/* Owned by the caller; NULL out of memory. */
struct mlb_lastgood *mlb_lastgood_new(void);
void mlb_lastgood_free(struct mlb_lastgood *lg);

/*
 * Builds the configuration from every pool and advertisement as they are now (borrowed, not
 * kept), substituting the last accepted version of each refused object whose content (spec and
 * labels) changed since; then remembers every accepted object and forgets deleted ones. Returns
 * an owned config, or NULL out of memory (lg unchanged).
 */
struct mlb_config *mlb_lastgood_build(struct mlb_lastgood *lg, const json_t *const *pools,
				      size_t npools, const json_t *const *advs, size_t nadvs);

/* How many refused objects the last build served in their last accepted version. */
size_t mlb_lastgood_nkept(const struct mlb_lastgood *lg);

#endif
