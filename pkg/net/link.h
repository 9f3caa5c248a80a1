/* link: the node's network links and their addresses, kept current from rtnetlink (libnl-route-3)
 * on the event loop, so a link going down or up or an address change is seen at once. */
#ifndef L2LB_NET_LINK_H
#define L2LB_NET_LINK_H

#include "log/log.h"
#include "loop/loop.h"
#include "net/ifchoose.h"

#include <stddef.h>

struct link_set;

/*
 * Called after the set changed (a link appeared, went away, changed state, MAC or MTU, or
 * gained or lost an address), once per batch of netlink messages. ifindex is the link that
 * changed, or 0 when several did or the set was reloaded whole. The set may be read from the
 * callback.
 */
typedef void (*link_change_cb)(struct link_set *ls, int ifindex, void *arg);

/*
 * Loads every link and address of the current network namespace and subscribes to their changes
 * on lp. Returns an owned set, or NULL (the reason logged on lg). lp and lg are borrowed and must
 * outlive the set.
 */
struct link_set *link_set_new(struct loop *lp, struct log *lg, link_change_cb cb, void *arg);
/* Unsubscribes and frees. Accepts NULL. */
void link_set_free(struct link_set *ls);

/*
 * The links, in ifindex order; *n is set to their count. The array and everything it points to
 * are borrowed, valid until the next callback or link_set_free.
 */
const struct if_info *link_set_links(const struct link_set *ls, size_t *n);
/* One link by index or name, borrowed as above, or NULL when there is none. */
const struct if_info *link_set_by_index(const struct link_set *ls, int ifindex);
const struct if_info *link_set_by_name(const struct link_set *ls, const char *name);

#endif
