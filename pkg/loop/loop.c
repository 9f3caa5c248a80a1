/* loop: epoll for fds, a binary min-heap of timers on CLOCK_MONOTONIC, one signalfd. */
#include "loop/loop.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_BATCH     64
#define LOOP_SIG_BATCH 16
#define NS_PER_MS      1000000ULL

struct loop {
	int epfd;
	int stopping;
	uint64_t now_ns;
	uint64_t iterations;

	/* The batch being dispatched, so a watcher stopped mid-batch is not called after. */
	struct epoll_event batch[LOOP_BATCH];
	int batch_len;
	int batch_pos;

	struct loop_timer **heap;
	size_t heap_len;
	size_t heap_cap;

	int sigfd;
	sigset_t sigmask;
	struct loop_io sigw;
	struct loop_signal *signals;
};

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct loop *loop_new(void)
{
	struct loop *lp = calloc(1, sizeof(*lp));

	if (lp == NULL)
		return NULL;
	lp->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lp->epfd < 0) {
		int e = errno;

		free(lp);
		errno = e;
		return NULL;
	}
	lp->sigfd = -1;
	sigemptyset(&lp->sigmask);
	lp->now_ns = monotonic_ns();
	return lp;
}

void loop_free(struct loop *lp)
{
	if (lp == NULL)
		return;
	if (lp->sigfd >= 0) {
		sigprocmask(SIG_UNBLOCK, &lp->sigmask, NULL);
		close(lp->sigfd);
	}
	close(lp->epfd);
	free(lp->heap);
	free(lp);
}

uint64_t loop_now_ns(const struct loop *lp)
{
	return lp->now_ns;
}

uint64_t loop_now_ms(const struct loop *lp)
{
	return lp->now_ns / NS_PER_MS;
}

void loop_update_time(struct loop *lp)
{
	lp->now_ns = monotonic_ns();
}

uint64_t loop_iterations(const struct loop *lp)
{
	return lp->iterations;
}

void loop_stop(struct loop *lp)
{
	lp->stopping = 1;
}

/* ---- fds ---- */

int loop_io_start(struct loop *lp, struct loop_io *w, int fd, uint32_t events, loop_io_cb cb,
		  void *arg)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (w->active)
		loop_io_stop(lp, w);
	if (epoll_ctl(lp->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -1;
	w->fd = fd;
	w->events = events;
	w->cb = cb;
	w->arg = arg;
	w->active = 1;
	return 0;
}

int loop_io_set_events(struct loop *lp, struct loop_io *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (!w->active) {
		errno = EINVAL;
		return -1;
	}
	if (w->events == events)
		return 0;
	if (epoll_ctl(lp->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
		return -1;
	w->events = events;
	return 0;
}

void loop_io_stop(struct loop *lp, struct loop_io *w)
{
	if (!w->active)
		return;
	/* The fd may already be closed, which removed it from epoll: ignore that error. */
	epoll_ctl(lp->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->active = 0;
	for (int i = lp->batch_pos; i < lp->batch_len; i++) {
		if (lp->batch[i].data.ptr == w)
			lp->batch[i].data.ptr = NULL;
	}
}

/* ---- timers: a binary min-heap ordered by due time ---- */

static int timer_before(const struct loop_timer *a, const struct loop_timer *b)
{
	return a->due_ns < b->due_ns;
}

static void heap_set(struct loop *lp, size_t i, struct loop_timer *t)
{
	lp->heap[i] = t;
	t->heap_idx = i;
}

static void heap_up(struct loop *lp, size_t i)
{
	struct loop_timer *t = lp->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!timer_before(t, lp->heap[parent]))
			break;
		heap_set(lp, i, lp->heap[parent]);
		i = parent;
	}
	heap_set(lp, i, t);
}

static void heap_down(struct loop *lp, size_t i)
{
	struct loop_timer *t = lp->heap[i];

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct loop_timer *best = t;

		if (l < lp->heap_len && timer_before(lp->heap[l], best)) {
			m = l;
			best = lp->heap[l];
		}
		if (r < lp->heap_len && timer_before(lp->heap[r], best))
			m = r;
		if (m == i)
			break;
		heap_set(lp, i, lp->heap[m]);
		i = m;
	}
	heap_set(lp, i, t);
}

static void heap_remove(struct loop *lp, struct loop_timer *t)
{
	size_t i = t->heap_idx;
	struct loop_timer *last = lp->heap[--lp->heap_len];

	if (i == lp->heap_len)
		return;
	heap_set(lp, i, last);
	heap_down(lp, i);
	heap_up(lp, last->heap_idx);
}

static int heap_push(struct loop *lp, struct loop_timer *t)
{
	if (lp->heap_len == lp->heap_cap) {
		size_t cap = lp->heap_cap ? lp->heap_cap * 2 : 16;
		struct loop_timer **h = realloc(lp->heap, cap * sizeof(struct loop_timer *));

		if (h == NULL)
			return -1;
		lp->heap = h;
		lp->heap_cap = cap;
	}
	heap_set(lp, lp->heap_len++, t);
	heap_up(lp, lp->heap_len - 1);
	return 0;
}

int loop_timer_start_ns(struct loop *lp, struct loop_timer *t, uint64_t after_ns,
			uint64_t repeat_ns, loop_timer_cb cb, void *arg)
{
	if (t->active)
		loop_timer_stop(lp, t);
	/* Read the clock afresh: a timer started late in a long iteration must not fire early. */
	t->due_ns = monotonic_ns() + after_ns;
	t->repeat_ns = repeat_ns;
	t->cb = cb;
	t->arg = arg;
	if (heap_push(lp, t) < 0)
		return -1;
	t->active = 1;
	return 0;
}

int loop_timer_start(struct loop *lp, struct loop_timer *t, uint64_t after_ms, uint64_t repeat_ms,
		     loop_timer_cb cb, void *arg)
{
	return loop_timer_start_ns(lp, t, after_ms * NS_PER_MS, repeat_ms * NS_PER_MS, cb, arg);
}

void loop_timer_stop(struct loop *lp, struct loop_timer *t)
{
	if (!t->active)
		return;
	heap_remove(lp, t);
	t->active = 0;
}

int loop_timer_active(const struct loop_timer *t)
{
	return t->active;
}

static void run_timers(struct loop *lp)
{
	/* Bound the work to the timers present now, so one re-arming itself at 0 cannot spin. */
	size_t budget = lp->heap_len;

	while (budget-- > 0 && lp->heap_len > 0 && !lp->stopping) {
		struct loop_timer *t = lp->heap[0];

		if (t->due_ns > lp->now_ns)
			break;
		if (t->repeat_ns > 0) {
			t->due_ns += t->repeat_ns;
			if (t->due_ns <= lp->now_ns)
				t->due_ns = lp->now_ns + t->repeat_ns;
			heap_down(lp, 0);
		} else {
			heap_remove(lp, t);
			t->active = 0;
		}
		t->cb(t, t->arg);
	}
}

static int next_timeout_ms(const struct loop *lp, int limit_ms)
{
	uint64_t wait_ms;

	if (lp->heap_len == 0)
		return limit_ms;
	if (lp->heap[0]->due_ns <= lp->now_ns)
		return 0;
	wait_ms = (lp->heap[0]->due_ns - lp->now_ns + NS_PER_MS - 1) / NS_PER_MS;
	if (wait_ms > INT_MAX)
		wait_ms = INT_MAX;
	if (limit_ms >= 0 && (uint64_t)limit_ms < wait_ms)
		return limit_ms;
	return (int)wait_ms;
}

/* ---- signals ---- */

static void signals_read(struct loop_io *w, uint32_t events, void *arg)
{
	struct loop *lp = arg;
	struct signalfd_siginfo si;

	(void)w;
	(void)events;
	while (read(lp->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		struct loop_signal *todo[LOOP_SIG_BATCH];
		size_t n = 0;

		for (struct loop_signal *s = lp->signals; s && n < LOOP_SIG_BATCH; s = s->next) {
			if (s->signo == (int)si.ssi_signo)
				todo[n++] = s;
		}
		for (size_t i = 0; i < n; i++) {
			/* An earlier callback may have stopped this watcher. */
			if (todo[i]->active)
				todo[i]->cb(todo[i], (int)si.ssi_signo, todo[i]->arg);
		}
	}
}

static int signals_apply(struct loop *lp)
{
	int fd = signalfd(lp->sigfd, &lp->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (lp->sigfd < 0) {
		lp->sigfd = fd;
		if (loop_io_start(lp, &lp->sigw, fd, EPOLLIN, signals_read, lp) < 0) {
			close(fd);
			lp->sigfd = -1;
			return -1;
		}
	}
	return 0;
}

int loop_signal_start(struct loop *lp, struct loop_signal *s, int signo, loop_signal_cb cb,
		      void *arg)
{
	sigset_t one;

	if (s->active)
		loop_signal_stop(lp, s);
	sigemptyset(&one);
	if (sigaddset(&one, signo) < 0)
		return -1;
	if (sigprocmask(SIG_BLOCK, &one, NULL) < 0)
		return -1;
	sigaddset(&lp->sigmask, signo);
	if (signals_apply(lp) < 0)
		return -1;
	s->signo = signo;
	s->cb = cb;
	s->arg = arg;
	s->active = 1;
	s->next = lp->signals;
	lp->signals = s;
	return 0;
}

void loop_signal_stop(struct loop *lp, struct loop_signal *s)
{
	struct loop_signal **pp;
	int still = 0;

	if (!s->active)
		return;
	for (pp = &lp->signals; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	s->active = 0;
	s->next = NULL;
	for (struct loop_signal *o = lp->signals; o; o = o->next)
		still |= o->signo == s->signo;
	if (!still) {
		/* The signal stays blocked: unblocking a pending one would deliver it raw. */
		sigdelset(&lp->sigmask, s->signo);
		signals_apply(lp);
	}
}

/* ---- running ---- */

int loop_run_once(struct loop *lp, int timeout_ms)
{
	int n;

	loop_update_time(lp);
	n = epoll_wait(lp->epfd, lp->batch, LOOP_BATCH, next_timeout_ms(lp, timeout_ms));
	if (n < 0) {
		if (errno != EINTR)
			return -1;
		n = 0;
	}
	loop_update_time(lp);
	lp->batch_len = n;
	for (lp->batch_pos = 0; lp->batch_pos < n && !lp->stopping;) {
		struct epoll_event *ev = &lp->batch[lp->batch_pos++];
		struct loop_io *w = ev->data.ptr;

		if (w != NULL && w->active)
			w->cb(w, ev->events, w->arg);
	}
	lp->batch_len = 0;
	lp->batch_pos = 0;
	run_timers(lp);
	lp->iterations++;
	return 0;
}

int loop_run(struct loop *lp)
{
	lp->stopping = 0;
	while (!lp->stopping) {
		if (loop_run_once(lp, -1) < 0)
			return -1;
	}
	lp->stopping = 0;
	return 0;
}
