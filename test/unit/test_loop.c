/* Unit tests for pkg/loop: timer order, cancellation inside callbacks, fd removal, signals. */
#include "loop/loop.h"
#include "unit.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

/* Every test bounds its run: a loop that never stops fails instead of hanging. */
static void run_bounded(struct loop *lp, int max_iterations)
{
	for (int i = 0; i < max_iterations; i++) {
		uint64_t before = loop_iterations(lp);
		ck_assert_int_eq(loop_run_once(lp, 100), 0);
		ck_assert_uint_eq(loop_iterations(lp), before + 1);
	}
}

struct order {
	char seen[32];
	size_t n;
	struct loop *lp;
	struct loop_timer t[6];
	int stop_after;
};

static void record(struct loop_timer *t, void *arg)
{
	struct order *o = arg;
	o->seen[o->n++] = (char)('a' + (t - o->t));
	if ((int)o->n == o->stop_after)
		loop_stop(o->lp);
}

START_TEST(test_timers_fire_in_due_order)
{
	struct order o = { .stop_after = 5 };
	static const int after[] = { 50, 10, 40, 0, 20 };
	o.lp = loop_new();
	ck_assert_ptr_nonnull(o.lp);
	memset(o.t, 0, sizeof(o.t));
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(loop_timer_start(o.lp, &o.t[i], after[i], 0, record, &o), 0);
	uint64_t start = loop_now_ms(o.lp);
	ck_assert_int_eq(loop_run(o.lp), 0);
	ck_assert_str_eq(o.seen, "dbeca");
	ck_assert_uint_ge(loop_now_ms(o.lp) - start, 50);
	for (int i = 0; i < 5; i++)
		ck_assert(!loop_timer_active(&o.t[i]));
	loop_free(o.lp);
}
END_TEST

struct cancel {
	struct loop *lp;
	struct loop_timer first, victim, last;
	int victim_ran, last_ran;
};

static void cancel_victim(struct loop_timer *t, void *arg)
{
	struct cancel *c = arg;
	(void)t;
	loop_timer_stop(c->lp, &c->victim);
}

static void victim_cb(struct loop_timer *t, void *arg)
{
	(void)t;
	((struct cancel *)arg)->victim_ran++;
}

static void last_cb(struct loop_timer *t, void *arg)
{
	struct cancel *c = arg;
	(void)t;
	c->last_ran++;
	loop_stop(c->lp);
}

START_TEST(test_cancel_timer_from_another_timer)
{
	/* Both due in the same iteration: the first cancels the second before it runs. */
	struct cancel c = { 0 };
	c.lp = loop_new();
	ck_assert_int_eq(loop_timer_start(c.lp, &c.first, 5, 0, cancel_victim, &c), 0);
	ck_assert_int_eq(loop_timer_start(c.lp, &c.victim, 6, 0, victim_cb, &c), 0);
	ck_assert_int_eq(loop_timer_start(c.lp, &c.last, 30, 0, last_cb, &c), 0);
	/* Let both come due before the loop looks, so they share one dispatch. */
	usleep(15000);
	ck_assert_int_eq(loop_run(c.lp), 0);
	ck_assert_int_eq(c.victim_ran, 0);
	ck_assert_int_eq(c.last_ran, 1);
	loop_free(c.lp);
}
END_TEST

struct rep {
	struct loop *lp;
	struct loop_timer t;
	int n;
};

static void rep_cb(struct loop_timer *t, void *arg)
{
	struct rep *r = arg;
	if (++r->n == 3)
		loop_timer_stop(r->lp, t); /* a repeating timer stopping itself */
}

START_TEST(test_repeating_timer_stops_itself)
{
	struct rep r = { 0 };
	r.lp = loop_new();
	ck_assert_int_eq(loop_timer_start(r.lp, &r.t, 1, 2, rep_cb, &r), 0);
	for (int i = 0; i < 100 && loop_timer_active(&r.t); i++)
		ck_assert_int_eq(loop_run_once(r.lp, 100), 0);
	ck_assert_int_eq(r.n, 3);
	ck_assert(!loop_timer_active(&r.t));
	loop_free(r.lp);
}
END_TEST

struct rearm {
	struct loop_timer t;
	struct loop *lp;
	int n;
};

static void rearm_cb(struct loop_timer *t, void *arg)
{
	struct rearm *r = arg;
	r->n++;
	loop_timer_start(r->lp, t, 0, 0, rearm_cb, r);
}

START_TEST(test_zero_timer_rearming_does_not_spin_one_iteration)
{
	struct rearm r = { 0 };
	r.lp = loop_new();
	ck_assert_int_eq(loop_timer_start(r.lp, &r.t, 0, 0, rearm_cb, &r), 0);
	run_bounded(r.lp, 3);
	ck_assert_int_eq(r.n, 3);
	loop_timer_stop(r.lp, &r.t);
	loop_free(r.lp);
}
END_TEST

struct fds {
	struct loop *lp;
	int p1[2], p2[2];
	struct loop_io w1, w2;
	int n1, n2;
};

static void self_remove(struct loop_io *w, uint32_t ev, void *arg)
{
	struct fds *f = arg;
	(void)ev;
	f->n1++;
	loop_io_stop(f->lp, w);
	close(w->fd);
}

static void other_remove(struct loop_io *w, uint32_t ev, void *arg)
{
	struct fds *f = arg;
	(void)ev;
	(void)w;
	f->n2++;
	/* Removing the other watcher, ready in the same batch, must keep it from running. */
	if (f->w1.active)
		loop_io_stop(f->lp, &f->w1);
	if (f->w2.active)
		loop_io_stop(f->lp, &f->w2);
}

START_TEST(test_fd_removed_inside_own_callback)
{
	struct fds f = { 0 };
	signal(SIGPIPE, SIG_IGN);
	f.lp = loop_new();
	ck_assert_int_eq(pipe(f.p1), 0);
	ck_assert_int_eq(loop_io_start(f.lp, &f.w1, f.p1[0], EPOLLIN, self_remove, &f), 0);
	ck_assert_int_eq(write(f.p1[1], "x", 1), 1);
	run_bounded(f.lp, 1);
	ck_assert_int_eq(write(f.p1[1], "y", 1), -1); /* reader closed: the pipe is broken */
	run_bounded(f.lp, 1);
	ck_assert_int_eq(f.n1, 1);
	ck_assert(!f.w1.active);
	close(f.p1[1]);
	loop_free(f.lp);
}
END_TEST

START_TEST(test_fd_removed_by_sibling_in_same_batch)
{
	struct fds f = { 0 };
	signal(SIGPIPE, SIG_IGN);
	f.lp = loop_new();
	ck_assert_int_eq(pipe(f.p1), 0);
	ck_assert_int_eq(pipe(f.p2), 0);
	ck_assert_int_eq(loop_io_start(f.lp, &f.w1, f.p1[0], EPOLLIN, other_remove, &f), 0);
	ck_assert_int_eq(loop_io_start(f.lp, &f.w2, f.p2[0], EPOLLIN, other_remove, &f), 0);
	ck_assert_int_eq(write(f.p1[1], "x", 1), 1);
	ck_assert_int_eq(write(f.p2[1], "x", 1), 1);
	run_bounded(f.lp, 2);
	ck_assert_int_eq(f.n2, 1); /* whichever ran first removed the other */
	close(f.p1[0]);
	close(f.p1[1]);
	close(f.p2[0]);
	close(f.p2[1]);
	loop_free(f.lp);
}
END_TEST

struct sig {
	struct loop *lp;
	struct loop_signal s1, s2;
	int got1, got2;
};

static void sig_cb(struct loop_signal *s, int signo, void *arg)
{
	struct sig *g = arg;
	if (s == &g->s1)
		g->got1 = signo;
	else
		g->got2 = signo;
	loop_stop(g->lp);
}

START_TEST(test_signals_delivered_through_loop)
{
	struct sig g = { 0 };
	g.lp = loop_new();
	ck_assert_int_eq(loop_signal_start(g.lp, &g.s1, SIGUSR1, sig_cb, &g), 0);
	ck_assert_int_eq(loop_signal_start(g.lp, &g.s2, SIGTERM, sig_cb, &g), 0);
	ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
	ck_assert_int_eq(loop_run(g.lp), 0);
	ck_assert_int_eq(g.got1, SIGUSR1);
	ck_assert_int_eq(g.got2, 0);
	ck_assert_int_eq(kill(getpid(), SIGTERM), 0);
	ck_assert_int_eq(loop_run(g.lp), 0);
	ck_assert_int_eq(g.got2, SIGTERM);
	loop_signal_stop(g.lp, &g.s1);
	loop_signal_stop(g.lp, &g.s2);
	loop_free(g.lp);
}
END_TEST

START_TEST(test_now_is_monotonic_and_free_null)
{
	struct loop *lp = loop_new();
	uint64_t a = loop_now_ns(lp);
	usleep(2000);
	loop_update_time(lp);
	ck_assert_uint_gt(loop_now_ns(lp), a + 1000000);
	loop_free(lp);
	loop_free(NULL);
}
END_TEST

static Suite *loop_suite(void)
{
	Suite *s = suite_create("loop");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_timers_fire_in_due_order);
	tcase_add_test(tc, test_cancel_timer_from_another_timer);
	tcase_add_test(tc, test_repeating_timer_stops_itself);
	tcase_add_test(tc, test_zero_timer_rearming_does_not_spin_one_iteration);
	tcase_add_test(tc, test_fd_removed_inside_own_callback);
	tcase_add_test(tc, test_fd_removed_by_sibling_in_same_batch);
	tcase_add_test(tc, test_signals_delivered_through_loop);
	tcase_add_test(tc, test_now_is_monotonic_and_free_null);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(loop_suite)
