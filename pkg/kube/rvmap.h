/* kube/rvmap: object key -> resourceVersion, compactly: what a keys-only informer remembers. */
#ifndef L2LB_KUBE_RVMAP_H
#define L2LB_KUBE_RVMAP_H

#include <stddef.h>

/*
 * One allocation per key, holding the key and its resourceVersion (some 60 bytes for a
 * Service), instead of a jansson object member and a string (some 200): a speaker's
 * informers remember several thousand. Pure: no I/O.
 */
struct rvmap;

/* Returns an owned, empty map, or NULL when out of memory. */
struct rvmap *rvmap_new(void);
/* Accepts NULL. */
void rvmap_free(struct rvmap *m);

/* The resourceVersion stored for key, or NULL; valid until the key is set again or removed. */
const char *rvmap_get(const struct rvmap *m, const char *key);
/* Stores rv under key, replacing what was there. 0, or -1 when out of memory (then the map is
 * as it was). */
int rvmap_set(struct rvmap *m, const char *key, const char *rv);
/* Removes key; 1 when it was there, 0 when not. */
int rvmap_del(struct rvmap *m, const char *key);
size_t rvmap_count(const struct rvmap *m);

/* Calls fn for every key, in no order; fn may remove the key it was given, and no other. */
void rvmap_foreach(struct rvmap *m, void (*fn)(const char *key, const char *rv, void *arg),
		   void *arg);

#endif
