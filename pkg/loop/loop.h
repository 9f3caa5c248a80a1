/* loop: the single-threaded epoll event loop both daemons run on (fds, monotonic timers, signals).
 */
#ifndef L2LB_LOOP_H
#define L2LB_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

struct loop;

/*
 * Watchers live in the caller's storage (a struct of the module that owns them), so starting
 * and stopping one never allocates. Their fields are private to the loop: set them only through
 * the functions below. A watcher must be stopped before its storage is freed.
 */
struct loop_io;
struct loop_timer;
struct loop_signal;

typedef void (*loop_io_cb)(struct loop_io *w, uint32_t events, void *arg);
typedef void (*loop_timer_cb)(struct loop_timer *t, void *arg);
typedef void (*loop_signal_cb)(struct loop_signal *s, int signo, void *arg);

struct loop_io {
	int fd;
	uint32_t events;
	int active;
	loop_io_cb cb;
	void *arg;
};

struct loop_timer {
	uint64_t due_ns;
	uint64_t repeat_ns;
	size_t heap_idx; /* position in the loop's heap, valid while active */
	int active;
	loop_timer_cb cb;
	void *arg;
};

struct loop_signal {
	int signo;
	int active;
	loop_signal_cb cb;
	void *arg;
	struct loop_signal *next;
};

/* Returns an owned loop, or NULL (errno set) when epoll cannot be created. */
struct loop *loop_new(void);
/* Frees the loop; watchers still started are forgotten, not called. Accepts NULL. */
void loop_free(struct loop *lp);

/*
 * Runs until loop_stop() is called from a callback, or an unrecoverable epoll error occurs.
 * Returns 0 after a stop, -1 on error (errno set).
 */
int loop_run(struct loop *lp);
/* Runs one iteration, waiting at most timeout_ms (-1: until something happens). */
int loop_run_once(struct loop *lp, int timeout_ms);
void loop_stop(struct loop *lp);

/* CLOCK_MONOTONIC, read at the start of the current iteration (cheap; updated by _update). */
uint64_t loop_now_ns(const struct loop *lp);
uint64_t loop_now_ms(const struct loop *lp);
void loop_update_time(struct loop *lp);
/* Iterations completed; the health endpoint reads it to tell a live loop from a wedged one. */
uint64_t loop_iterations(const struct loop *lp);

/* events: EPOLLIN and/or EPOLLOUT. Returns 0, or -1 (errno set) when epoll refuses the fd. */
int loop_io_start(struct loop *lp, struct loop_io *w, int fd, uint32_t events, loop_io_cb cb,
		  void *arg);
int loop_io_set_events(struct loop *lp, struct loop_io *w, uint32_t events);
/* Safe from any callback, including w's own; w is not called again after this returns. */
void loop_io_stop(struct loop *lp, struct loop_io *w);

/*
 * One-shot when repeat_ms is 0, else repeating every repeat_ms after the first expiry.
 * Restarting an active timer re-arms it. Returns 0, or -1 when out of memory.
 */
int loop_timer_start(struct loop *lp, struct loop_timer *t, uint64_t after_ms, uint64_t repeat_ms,
		     loop_timer_cb cb, void *arg);
/* As loop_timer_start, in nanoseconds. */
int loop_timer_start_ns(struct loop *lp, struct loop_timer *t, uint64_t after_ns,
			uint64_t repeat_ns, loop_timer_cb cb, void *arg);
/* Safe from any callback, including t's own; a stopped timer is not called. */
void loop_timer_stop(struct loop *lp, struct loop_timer *t);
int loop_timer_active(const struct loop_timer *t);

/*
 * Blocks signo for the process and delivers it through a signalfd on the loop. Several watchers
 * may watch one signal. Returns 0, or -1 (errno set).
 */
int loop_signal_start(struct loop *lp, struct loop_signal *s, int signo, loop_signal_cb cb,
		      void *arg);
void loop_signal_stop(struct loop *lp, struct loop_signal *s);

#endif
