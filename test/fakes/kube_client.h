/* fakes/kube_client: kube/client.h answered by an in-memory API server, for unit tests. */
#ifndef L2LB_TEST_FAKES_KUBE_CLIENT_H
#define L2LB_TEST_FAKES_KUBE_CLIENT_H

/*
 * Link with test_X_FAKES := 1 (test/unit/fakes.mk): every kube_client_* call then goes to one
 * server holding the objects of one collection by name (the namespace and resource are not
 * looked at), with API semantics for create / update / delete (AlreadyExists, NotFound,
 * resourceVersion Conflict) and watches that see every change. Answers and events are
 * delivered from the loop, never inside the call. Every write is logged with the client that
 * sent it. One server per process: fake_kube_reset() starts it afresh.
 */

#include "kube/client.h"
#include "kube/watch.h"
#include "loop/loop.h"

#include <jansson.h>
#include <stddef.h>

#define FAKE_KUBE_LOG_MAX 256

struct fake_kube_write {
	int client;	  /* fake_kube_client_new()'s id */
	char verb[8];	  /* create, update, patch, delete */
	char name[256];	  /* the object's name */
	char holder[256]; /* spec.holderIdentity written ("" for none) */
};

/* Empties the server; its deliveries run on lp (NULL: tear down only). */
void fake_kube_reset(struct loop *lp);
/* A client of the server, told apart in the write log by id. Owned; free with the below. */
struct kube_client *fake_kube_client_new(struct loop *lp, int id);
void fake_kube_client_free(struct kube_client *c);
/* From now on every write fails with this HTTP code (0: writes succeed again). */
void fake_kube_fail_writes(long code);
/* The writes so far, in order; *out is borrowed. */
size_t fake_kube_writes(const struct fake_kube_write **out);
/* The stored object `name`, or NULL; borrowed. */
const json_t *fake_kube_get(const char *name);
/* Stores obj as someone else's write would (watches see it). Returns 0, or -1 without a name. */
int fake_kube_put(const json_t *obj);

#endif
