/* kube/workqueue: deduplicated keys with per-key backoff, processed on the loop. */
#include "kube/workqueue.h"

#include "hash/fnv.h"

#include <stdlib.h>
#include <string.h>

#include "kube/ratelimit.h"

enum state {
	ST_IDLE,    /* known only for its failure count */
	ST_READY,   /* on the ready list */
	ST_WAITING, /* due at due_ns */
};

struct item {
	struct item *hnext; /* hash chain */
	struct item *rnext; /* ready list */
	enum state state;
	int processing;
	int dirty; /* added while processing */
	uint64_t due_ns;
	struct backoff bo;
	char key[];
};

struct workqueue {
	struct loop *lp;
	workqueue_fn fn;
	void *arg;
	uint32_t base_ms, max_ms;
	uint32_t rand;
	struct item **tab;
	size_t nbuckets, nitems;
	struct item *ready_head, *ready_tail;
	size_t pending;
	struct loop_timer run;	 /* processes ready keys */
	struct loop_timer delay; /* wakes at the earliest waiting key */
	uint64_t delay_due_ns;
};

const char *workqueue_result_str(enum workqueue_result r)
{
	switch (r) {
	case WORKQUEUE_DONE:
		return "done";
	case WORKQUEUE_RETRY:
		return "retry";
	}
	return "?";
}

static struct item *find(const struct workqueue *wq, const char *key)
{
	for (struct item *it = wq->tab[fnv_str(key) & (wq->nbuckets - 1)]; it; it = it->hnext)
		if (strcmp(it->key, key) == 0)
			return it;
	return NULL;
}

static int grow(struct workqueue *wq)
{
	size_t n = wq->nbuckets * 2;
	struct item **tab = calloc(n, sizeof(struct item *));
	if (!tab)
		return -1;
	for (size_t i = 0; i < wq->nbuckets; i++) {
		struct item *it = wq->tab[i], *next;
		for (; it; it = next) {
			next = it->hnext;
			size_t b = fnv_str(it->key) & (n - 1);
			it->hnext = tab[b];
			tab[b] = it;
		}
	}
	free(wq->tab);
	wq->tab = tab;
	wq->nbuckets = n;
	return 0;
}

static struct item *get_or_add(struct workqueue *wq, const char *key)
{
	struct item *it = find(wq, key);
	if (it)
		return it;
	if (wq->nitems + 1 > wq->nbuckets && grow(wq) < 0)
		return NULL;
	size_t len = strlen(key);
	it = calloc(1, sizeof(*it) + len + 1);
	if (!it)
		return NULL;
	memcpy(it->key, key, len + 1);
	backoff_init(&it->bo, wq->base_ms, wq->max_ms);
	size_t b = fnv_str(key) & (wq->nbuckets - 1);
	it->hnext = wq->tab[b];
	wq->tab[b] = it;
	wq->nitems++;
	return it;
}

/* Drops an idle item that remembers nothing worth keeping. */
static void maybe_drop(struct workqueue *wq, struct item *it)
{
	if (it->state != ST_IDLE || it->processing || it->bo.failures)
		return;
	struct item **pp = &wq->tab[fnv_str(it->key) & (wq->nbuckets - 1)];
	while (*pp != it)
		pp = &(*pp)->hnext;
	*pp = it->hnext;
	wq->nitems--;
	free(it);
}

static void on_run(struct loop_timer *t, void *arg);
static void on_delay(struct loop_timer *t, void *arg);

struct workqueue *workqueue_new(struct loop *lp, workqueue_fn fn, void *arg, uint32_t base_ms,
				uint32_t max_ms)
{
	struct workqueue *wq = calloc(1, sizeof(*wq));
	if (!wq)
		return NULL;
	wq->lp = lp;
	wq->fn = fn;
	wq->arg = arg;
	wq->base_ms = base_ms ? base_ms : 5;
	wq->max_ms = max_ms ? max_ms : 60000;
	wq->rand = (uint32_t)(uintptr_t)wq ^ 0x68e31da4u;
	wq->nbuckets = 64;
	wq->tab = calloc(wq->nbuckets, sizeof(struct item *));
	if (!wq->tab) {
		free(wq);
		return NULL;
	}
	return wq;
}

void workqueue_free(struct workqueue *wq)
{
	if (!wq)
		return;
	loop_timer_stop(wq->lp, &wq->run);
	loop_timer_stop(wq->lp, &wq->delay);
	for (size_t i = 0; i < wq->nbuckets; i++) {
		struct item *it = wq->tab[i], *next;
		for (; it; it = next) {
			next = it->hnext;
			free(it);
		}
	}
	free(wq->tab);
	free(wq);
}

static int kick(struct workqueue *wq)
{
	if (loop_timer_active(&wq->run))
		return 0;
	return loop_timer_start(wq->lp, &wq->run, 0, 0, on_run, wq);
}

static void push_ready(struct workqueue *wq, struct item *it)
{
	if (it->state == ST_WAITING)
		wq->pending--;
	it->state = ST_READY;
	it->rnext = NULL;
	if (wq->ready_tail)
		wq->ready_tail->rnext = it;
	else
		wq->ready_head = it;
	wq->ready_tail = it;
	wq->pending++;
}

int workqueue_add(struct workqueue *wq, const char *key)
{
	struct item *it = get_or_add(wq, key);
	if (!it)
		return -1;
	if (it->processing) {
		it->dirty = 1;
		return 0;
	}
	if (it->state == ST_READY)
		return 0;
	push_ready(wq, it);
	return kick(wq);
}

/* Re-arms the delay timer for the earliest waiting item. */
static void arm_delay(struct workqueue *wq)
{
	uint64_t first = UINT64_MAX;
	for (size_t i = 0; i < wq->nbuckets; i++)
		for (struct item *it = wq->tab[i]; it; it = it->hnext)
			if (it->state == ST_WAITING && it->due_ns < first)
				first = it->due_ns;
	if (first == UINT64_MAX) {
		loop_timer_stop(wq->lp, &wq->delay);
		return;
	}
	uint64_t now = loop_now_ns(wq->lp);
	wq->delay_due_ns = first;
	loop_timer_start_ns(wq->lp, &wq->delay, first > now ? first - now : 0, 0, on_delay, wq);
}

static int wait_item(struct workqueue *wq, struct item *it, uint64_t after_ns)
{
	uint64_t due = loop_now_ns(wq->lp) + after_ns;
	if (it->state == ST_READY)
		return 0;
	if (it->state == ST_WAITING && it->due_ns <= due)
		return 0;
	if (it->state != ST_WAITING)
		wq->pending++;
	it->state = ST_WAITING;
	it->due_ns = due;
	if (!loop_timer_active(&wq->delay) || due < wq->delay_due_ns) {
		wq->delay_due_ns = due;
		return loop_timer_start_ns(wq->lp, &wq->delay, after_ns, 0, on_delay, wq);
	}
	return 0;
}

int workqueue_add_after(struct workqueue *wq, const char *key, uint64_t after_ms)
{
	if (after_ms == 0)
		return workqueue_add(wq, key);
	struct item *it = get_or_add(wq, key);
	if (!it)
		return -1;
	if (it->processing) {
		/* runs again after processing; a plain re-add would do it sooner */
		it->dirty = 1;
		return 0;
	}
	return wait_item(wq, it, after_ms * 1000000ull);
}

void workqueue_forget(struct workqueue *wq, const char *key)
{
	struct item *it = find(wq, key);
	if (!it)
		return;
	backoff_reset(&it->bo);
	maybe_drop(wq, it);
}

size_t workqueue_len(const struct workqueue *wq)
{
	return wq->pending;
}

unsigned workqueue_failures(const struct workqueue *wq, const char *key)
{
	const struct item *it = find(wq, key);
	return it ? it->bo.failures : 0;
}

static void on_delay(struct loop_timer *t, void *arg)
{
	struct workqueue *wq = arg;
	(void)t;
	uint64_t now = loop_now_ns(wq->lp);
	for (size_t i = 0; i < wq->nbuckets; i++)
		for (struct item *it = wq->tab[i]; it; it = it->hnext)
			if (it->state == ST_WAITING && it->due_ns <= now)
				push_ready(wq, it);
	arm_delay(wq);
	kick(wq);
}

static void on_run(struct loop_timer *t, void *arg)
{
	struct workqueue *wq = arg;
	(void)t;
	for (int n = 0; n < WORKQUEUE_BATCH && wq->ready_head; n++) {
		struct item *it = wq->ready_head;
		wq->ready_head = it->rnext;
		if (!wq->ready_head)
			wq->ready_tail = NULL;
		it->rnext = NULL;
		it->state = ST_IDLE;
		wq->pending--;
		it->processing = 1;
		enum workqueue_result r = wq->fn(it->key, wq->arg);
		it->processing = 0;
		if (r == WORKQUEUE_DONE) {
			backoff_reset(&it->bo);
			if (it->dirty) {
				it->dirty = 0;
				push_ready(wq, it);
			} else {
				maybe_drop(wq, it);
			}
		} else {
			uint32_t ms = backoff_next(&it->bo, ratelimit_rand(&wq->rand));
			if (it->dirty) {
				/* new input arrived meanwhile: still wait, it may be the same fault
				 */
				it->dirty = 0;
			}
			wait_item(wq, it, (uint64_t)ms * 1000000ull);
		}
	}
	if (wq->ready_head)
		kick(wq);
}
