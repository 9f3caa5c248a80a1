/* kube/workqueue: keys waiting to be reconciled, deduplicated, with per-key backoff on failure. */
#ifndef L2LB_KUBE_WORKQUEUE_H
#define L2LB_KUBE_WORKQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "loop/loop.h"

/*
 * Informer handlers add keys ("ns/name"); the loop calls the process function once per key
 * however often it was added before its turn, in the order keys became ready. A key added while
 * it is being processed runs again afterwards. A failure requeues the key after an exponential,
 * jittered per-key delay (base doubling to max); a success forgets its failures.
 */
enum workqueue_result {
	WORKQUEUE_DONE,	 /* reconciled: forget the key's failures */
	WORKQUEUE_RETRY, /* failed: run again after the key's backoff */
};

const char *workqueue_result_str(enum workqueue_result r);

/* key is borrowed for the call. */
typedef enum workqueue_result (*workqueue_fn)(const char *key, void *arg);

struct workqueue;

/* Returns an owned queue, or NULL when out of memory. base_ms 0: 5, max_ms 0: 60000. */
struct workqueue *workqueue_new(struct loop *lp, workqueue_fn fn, void *arg, uint32_t base_ms,
				uint32_t max_ms);
/* Drops every pending key. Accepts NULL. Not from inside fn. */
void workqueue_free(struct workqueue *wq);

/* Makes key ready (if it is not already). Returns 0, or -1 when out of memory. */
int workqueue_add(struct workqueue *wq, const char *key);
/* Makes key ready in after_ms, unless it becomes ready sooner. */
int workqueue_add_after(struct workqueue *wq, const char *key, uint64_t after_ms);
/* Forgets key's failure count (its next failure waits base again). */
void workqueue_forget(struct workqueue *wq, const char *key);

/* Keys ready or waiting (not counting one being processed). */
size_t workqueue_len(const struct workqueue *wq);
/* Consecutive failures of key (0 when unknown). */
unsigned workqueue_failures(const struct workqueue *wq, const char *key);

/* Keys processed per loop iteration before yielding to other events. */
#define WORKQUEUE_BATCH 64

#endif
