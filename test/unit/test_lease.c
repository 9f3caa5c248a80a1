/* Unit tests for kube/lease: elections of one set against the fake API server (test/fakes). */
#include "kube/lease.h"
#include "test/fakes/kube_client.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NODE_LEASE "l2lb-node-n1"
#define SVC_LEASE  "l2lb-svc-default.web"

static const struct leasefsm_config presence_cfg = {
	.identity = "n1", .lease_ms = 1500, .renew_ms = 1000, .retry_ms = 250
};
static const struct leasefsm_config svc_cfg = { .identity = "n1",
						.lease_ms = 15000,
						.renew_ms = 10000,
						.retry_ms = 2000,
						.renew_interval_ms = 5000 };

/* What the callbacks saw, in order. */
struct seen {
	int synced, seen_other, seen_other_deleted, deleted_done, done;
	char svc_holder_when_seen[64];
	struct lease *svc;
	/* "svc-stopped", "node-stopped", ... in order, with the write count at that moment */
	char ev[8][16];
	size_t ev_writes[8];
	int nev;
};

struct fixture {
	struct loop *lp;
	struct log *lg;
	struct kube_client *kc, *wc, *pc;
	struct lease_set *s;
	struct lease *node, *svc;
	struct seen seen;
};

static void note(struct seen *x, const char *what)
{
	const struct fake_kube_write *w;
	if (x->nev < 8) {
		snprintf(x->ev[x->nev], sizeof(x->ev[0]), "%s", what);
		x->ev_writes[x->nev++] = fake_kube_writes(&w);
	}
}

static void on_seen(const struct lease_rec *r, int deleted, void *arg)
{
	struct seen *x = arg;
	const char *name = r->name;
	if (strcmp(name, "other") == 0) {
		/* What the set keeps: the holder, also in the last state handed with a delete. */
		ck_assert_str_eq(r->rec.holder, "n2");
		ck_assert_int_eq(r->rec.duration_s, 2);
		ck_assert_int_eq(r->kind, LEASEIO_NONE);
		x->seen_other += !deleted;
		x->seen_other_deleted += deleted;
	}
	if (strcmp(name, SVC_LEASE) == 0 && x->svc)
		snprintf(x->svc_holder_when_seen, sizeof(x->svc_holder_when_seen), "%s",
			 lease_holder(x->svc));
}

static void on_synced(void *arg)
{
	((struct seen *)arg)->synced++;
}

static void svc_stopped(struct lease *l, enum leasefsm_stop_reason why, void *arg)
{
	(void)l;
	ck_assert_int_eq(why, LEASEFSM_STOP_RELEASED);
	note(arg, "svc-stopped");
}

static void node_stopped(struct lease *l, enum leasefsm_stop_reason why, void *arg)
{
	(void)l;
	(void)why;
	note(arg, "node-stopped");
}

static void on_done(void *arg)
{
	struct seen *x = arg;
	x->done++;
	note(x, "done");
}

static void on_deleted(const struct kube_error *err, json_t *obj, void *arg)
{
	(void)obj;
	ck_assert_int_eq(err->status, KUBE_OK);
	((struct seen *)arg)->deleted_done++;
}

/* Runs the loop until cond holds; fails after 5 s. */
static void run_until(struct fixture *f, int (*cond)(struct fixture *), const char *what)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!cond(f)) {
		loop_run_once(f->lp, 10);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 5)
			ck_abort_msg("no %s within 5 s", what);
	}
}

/* Runs the loop for about ms. */
static void run_for(struct fixture *f, int ms)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		loop_run_once(f->lp, 10);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

static int both_lead(struct fixture *f)
{
	return lease_is_leading(f->node) && lease_is_leading(f->svc);
}

static void put_other(void)
{
	json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:i}}", "apiVersion",
			      "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name",
			      "other", "namespace", "ns", "spec", "holderIdentity", "n2",
			      "leaseDurationSeconds", 2);
	ck_assert_int_eq(fake_kube_put(o), 0);
	json_decref(o);
}

/* A presence lease (its own client) and a service lease (the set's write client), tagged. */
static void setup(struct fixture *f, int hold_off_forever)
{
	char err[200];
	memset(f, 0, sizeof(*f));
	f->lp = loop_new();
	f->lg = log_new(STDERR_FILENO, LOG_LEVEL_ERROR);
	fake_kube_reset(f->lp);
	f->kc = fake_kube_client_new(f->lp, 0);
	f->wc = fake_kube_client_new(f->lp, 1);
	f->pc = fake_kube_client_new(f->lp, 2);
	put_other();
	f->s = lease_set_new(f->lp, f->lg, f->kc, "ns", NULL);
	ck_assert_ptr_nonnull(f->s);
	struct lease_set_observer o = { .seen = on_seen, .synced = on_synced, .arg = &f->seen };
	lease_set_observe(f->s, &o);
	lease_set_write_client(f->s, f->wc);
	if (hold_off_forever)
		lease_set_hold_off(f->s, LEASEFSM_NEVER);
	struct lease_callbacks ncb = { .stopped_leading = node_stopped, .arg = &f->seen };
	f->node = lease_new(f->s, NODE_LEASE, &presence_cfg, &ncb, err, sizeof(err));
	ck_assert_ptr_nonnull(f->node);
	ck_assert_int_eq(lease_tag(f->node, LEASEIO_PRESENCE, NULL, NULL), 0);
	lease_use_client(f->node, f->pc);
	struct lease_callbacks scb = { .stopped_leading = svc_stopped, .arg = &f->seen };
	f->svc = lease_new(f->s, SVC_LEASE, &svc_cfg, &scb, err, sizeof(err));
	ck_assert_ptr_nonnull(f->svc);
	f->seen.svc = f->svc;
	ck_assert_int_eq(lease_tag(f->svc, LEASEIO_SERVICE, "default", "web"), 0);
	lease_campaign(f->node, 0);
	lease_campaign(f->svc, 0);
	ck_assert_int_eq(lease_set_start(f->s), 0);
}

static void teardown(struct fixture *f)
{
	lease_set_free(f->s);
	fake_kube_client_free(f->kc);
	fake_kube_client_free(f->wc);
	fake_kube_client_free(f->pc);
	fake_kube_reset(NULL);
	log_free(f->lg);
	loop_free(f->lp);
}

static const char *label(const char *lease, const char *key)
{
	const json_t *o = fake_kube_get(lease);
	return json_string_value(
		json_object_get(json_object_get(json_object_get(o, "metadata"), "labels"), key));
}

static int first_write(const char *verb, const char *name, const char *holder)
{
	const struct fake_kube_write *w;
	size_t n = fake_kube_writes(&w);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(w[i].verb, verb) && !strcmp(w[i].name, name) &&
		    (!holder || !strcmp(w[i].holder, holder)))
			return (int)i;
	return -1;
}

static void count_obj(const struct lease_rec *r, void *arg)
{
	ck_assert_ptr_nonnull(r->name);
	(*(int *)arg)++;
}

static int other_deleted(struct fixture *f)
{
	return f->seen.deleted_done && f->seen.seen_other_deleted;
}

static int synced_cond(struct fixture *f)
{
	return lease_set_has_synced(f->s);
}

static int both_lead_and_seen(struct fixture *f)
{
	return both_lead(f) && f->seen.svc_holder_when_seen[0];
}

START_TEST(test_tags_clients_and_observer)
{
	struct fixture f;
	setup(&f, 0);
	run_until(&f, both_lead_and_seen, "leadership of both leases, seen by the watch");
	ck_assert_int_eq(f.seen.synced, 1);
	/* Every Lease reaches the observer, one without an election too. */
	ck_assert_int_eq(f.seen.seen_other, 1);
	/* ... after the election on it acted: it already knows it holds it. */
	ck_assert_str_eq(f.seen.svc_holder_when_seen, "n1");
	/* Written through the one codec, with the labels that say what each is for. */
	ck_assert_str_eq(label(NODE_LEASE, LEASEIO_LABEL_KIND), "presence");
	ck_assert_str_eq(label(NODE_LEASE, LEASEIO_LABEL_MANAGED), LEASEIO_MANAGER);
	ck_assert_str_eq(label(SVC_LEASE, LEASEIO_LABEL_KIND), "service");
	ck_assert_str_eq(label(SVC_LEASE, LEASEIO_LABEL_SVC_NS), "default");
	ck_assert_str_eq(label(SVC_LEASE, LEASEIO_LABEL_SVC), "web");
	/* Each through its own client: the presence lease never waits behind service writes. */
	const struct fake_kube_write *w;
	int pi = first_write("create", NODE_LEASE, "n1"),
	    si = first_write("create", SVC_LEASE, "n1");
	ck_assert_int_ge(pi, 0);
	ck_assert_int_ge(si, 0);
	fake_kube_writes(&w);
	ck_assert_int_eq(w[pi].client, 2);
	ck_assert_int_eq(w[si].client, 1);
	/* The cache, and a stale Lease deleted through the set. */
	ck_assert_ptr_nonnull(lease_set_get(f.s, "other"));
	const struct lease_rec *r = lease_set_get(f.s, SVC_LEASE);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r->name, SVC_LEASE);
	ck_assert_int_eq(r->kind, LEASEIO_SERVICE);
	ck_assert_str_eq(r->svc_ns, "default");
	ck_assert_str_eq(r->svc_name, "web");
	ck_assert_str_eq(r->rec.holder, "n1");
	ck_assert_str_ne(r->rv, "");
	r = lease_set_get(f.s, NODE_LEASE);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(r->kind, LEASEIO_PRESENCE);
	ck_assert_ptr_null(r->svc_ns);
	int n = 0;
	lease_set_foreach(f.s, count_obj, &n);
	ck_assert_int_eq(n, 3);
	ck_assert_ptr_nonnull(lease_set_delete(f.s, "other", on_deleted, &f.seen));
	run_until(&f, other_deleted, "the delete and its watch event");
	ck_assert_ptr_null(lease_set_get(f.s, "other"));
	ck_assert_int_eq(first_write("delete", "other", NULL) >= 0, 1);
	uint64_t writes, errors;
	lease_set_counts(f.s, &writes, &errors);
	ck_assert_uint_eq(writes, fake_kube_writes(&w));
	ck_assert_uint_eq(errors, 0);
	/* The election's view. */
	struct leasefsm_record rec;
	ck_assert_int_eq(lease_observed(f.svc, &rec), 1);
	ck_assert_str_eq(rec.holder, "n1");
	ck_assert_int_eq(lease_held_by_other(f.svc), 0);
	ck_assert_int_eq(lease_pending(f.svc), 1); /* it names us */
	teardown(&f);
}
END_TEST

static int stopped_done(struct fixture *f)
{
	return f->seen.done > 0;
}

START_TEST(test_release_all_services_then_presence)
{
	struct fixture f;
	setup(&f, 0);
	run_until(&f, both_lead, "leadership of both leases");
	lease_set_release_all(f.s, f.node, on_done, &f.seen);
	run_until(&f, stopped_done, "the end of the graceful stop");
	ck_assert_int_eq(f.seen.done, 1);
	/* The service stops leading before its release is sent, and the presence lease is released
	 * only after the service's release was answered. */
	int srel = first_write("update", SVC_LEASE, ""),
	    prel = first_write("update", NODE_LEASE, "");
	ck_assert_int_ge(srel, 0);
	ck_assert_int_gt(prel, srel);
	ck_assert_int_ge(f.seen.nev, 3);
	ck_assert_str_eq(f.seen.ev[0], "svc-stopped");
	ck_assert_uint_le(f.seen.ev_writes[0], (size_t)srel);
	ck_assert_str_eq(f.seen.ev[1], "node-stopped");
	ck_assert_uint_le(f.seen.ev_writes[1], (size_t)prel);
	ck_assert_str_eq(f.seen.ev[2], "done");
	ck_assert_uint_gt(f.seen.ev_writes[2], (size_t)prel);
	ck_assert_str_eq(
		json_string_value(json_object_get(
			json_object_get(fake_kube_get(NODE_LEASE), "spec"), "holderIdentity")),
		"");
	ck_assert_int_eq(lease_pending(f.node), 0);
	ck_assert_int_eq(lease_pending(f.svc), 0);
	teardown(&f);
}
END_TEST

static int svc_leads(struct fixture *f)
{
	return lease_is_leading(f->svc);
}

START_TEST(test_hold_off_until_lifted)
{
	struct fixture f;
	setup(&f, 1);
	/* Held off: a lease that does not name us is not taken, however long. */
	run_for(&f, 300);
	ck_assert_int_eq(first_write("create", SVC_LEASE, NULL), -1);
	ck_assert(lease_free_since(f.svc) == LEASEFSM_NEVER);
	/* The presence lease was absent too and waits as well: the owner lifts it in time. */
	lease_set_hold_off(f.s, (int64_t)loop_now_ms(f.lp));
	run_until(&f, svc_leads, "the service lease once the hold-off is lifted");
	ck_assert_int_ge(first_write("create", SVC_LEASE, "n1"), 0);
	teardown(&f);
}
END_TEST

static int ctl_renewed(struct fixture *f)
{
	const json_t *o = fake_kube_get("ctl");
	return lease_is_leading(f->svc) &&
	       json_integer_value(
		       json_object_get(json_object_get(o, "spec"), "leaseTransitions")) == 8;
}

/*
 * An untagged election (the controller's) keeps the labels and annotations someone else put on
 * its Lease, though the set keeps no Lease object: and one started after the first list takes
 * its own Lease back from what the set kept.
 */
START_TEST(test_untagged_keeps_foreign_metadata)
{
	struct fixture f;
	char err[200];
	memset(&f, 0, sizeof(f));
	f.lp = loop_new();
	f.lg = log_new(STDERR_FILENO, LOG_LEVEL_ERROR);
	fake_kube_reset(f.lp);
	f.kc = fake_kube_client_new(f.lp, 0);
	json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}, s:{s:s}}, s:{s:s, s:i, s:s, s:i}}",
			      "apiVersion", "coordination.k8s.io/v1", "kind", "Lease", "metadata",
			      "name", "ctl", "namespace", "ns", "labels", "team", "net",
			      "annotations", "note", "hands off", "spec", "holderIdentity", "n1",
			      "leaseDurationSeconds", 2, "acquireTime",
			      "2025-11-25T18:00:00.000000Z", "leaseTransitions", 7);
	ck_assert_int_eq(fake_kube_put(o), 0);
	json_decref(o);
	f.s = lease_set_new(f.lp, f.lg, f.kc, "ns", NULL);
	ck_assert_int_eq(lease_set_start(f.s), 0);
	run_until(&f, synced_cond, "the first list");
	/* Ours from before a restart: taken back at once, its history kept. */
	f.svc = lease_new(f.s, "ctl", &presence_cfg, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(f.svc);
	lease_campaign(f.svc, 0);
	run_until(&f, svc_leads, "the controller's lease");
	o = (json_t *)fake_kube_get("ctl");
	const json_t *md = json_object_get(o, "metadata");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(md, "labels"), "team")),
			 "net");
	ck_assert_str_eq(
		json_string_value(json_object_get(json_object_get(md, "annotations"), "note")),
		"hands off");
	ck_assert_str_eq(
		json_string_value(json_object_get(json_object_get(o, "spec"), "acquireTime")),
		"2025-11-25T18:00:00.000000Z");
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(o, "spec"), "leaseTransitions")),
		7);
	/* Someone else takes it and labels it anew: our next take keeps the new labels. */
	o = json_deep_copy(fake_kube_get("ctl"));
	json_object_set_new(json_object_get(json_object_get(o, "metadata"), "labels"), "team",
			    json_string("ops"));
	json_object_set_new(json_object_get(o, "spec"), "holderIdentity", json_string(""));
	json_object_del(json_object_get(o, "metadata"), "resourceVersion");
	ck_assert_int_eq(fake_kube_put(o), 0);
	json_decref(o);
	run_until(&f, ctl_renewed, "the lease taken again");
	md = json_object_get(fake_kube_get("ctl"), "metadata");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(md, "labels"), "team")),
			 "ops");
	lease_set_free(f.s);
	fake_kube_client_free(f.kc);
	fake_kube_reset(NULL);
	log_free(f.lg);
	loop_free(f.lp);
}
END_TEST

#define MANY 40

struct many {
	struct fixture f;
	struct lease *el[MANY];
	int led;
};

static void many_started(struct lease *l, void *arg)
{
	(void)l;
	((struct many *)arg)->led++;
}

static int all_but_one_lead(struct fixture *f)
{
	return ((struct many *)f)->led == MANY - 1;
}

/*
 * Forty elections on one set wait on the set's one timer: each creates its Lease once its own
 * rank delay has passed, in the order of the delays, and one freed while waiting never writes.
 */
START_TEST(test_many_elections_wake_in_order)
{
	struct many m;
	char err[200], name[16];
	memset(&m, 0, sizeof(m));
	m.f.lp = loop_new();
	m.f.lg = log_new(STDERR_FILENO, LOG_LEVEL_ERROR);
	fake_kube_reset(m.f.lp);
	m.f.kc = fake_kube_client_new(m.f.lp, 0);
	m.f.s = lease_set_new(m.f.lp, m.f.lg, m.f.kc, "ns", NULL);
	ck_assert_int_eq(lease_set_start(m.f.s), 0);
	run_until(&m.f, synced_cond, "the first list");
	struct lease_callbacks cb = { .started_leading = many_started, .arg = &m };
	for (int i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "e%02d", i);
		m.el[i] = lease_new(m.f.s, name, &presence_cfg, &cb, err, sizeof(err));
		ck_assert_ptr_nonnull(m.el[i]);
	}
	/* Interleaved delays, so that the queue must reorder them: e00 last, e39 first. */
	for (int i = 0; i < MANY; i++)
		lease_campaign(m.el[i], (int64_t)(MANY - i) * 20);
	lease_free(m.el[20]);
	m.el[20] = NULL;
	run_until(&m.f, all_but_one_lead, "every election leading");
	const struct fake_kube_write *w;
	size_t n = fake_kube_writes(&w);
	int last = MANY, creates = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(w[i].verb, "create") != 0)
			continue;
		int k = atoi(w[i].name + 1);
		ck_assert_int_ne(k, 20);
		ck_assert_msg(k < last, "%s created after e%02d", w[i].name, last);
		last = k;
		creates++;
	}
	ck_assert_int_eq(creates, MANY - 1);
	lease_set_free(m.f.s);
	fake_kube_client_free(m.f.kc);
	fake_kube_reset(NULL);
	log_free(m.f.lg);
	loop_free(m.f.lp);
}
END_TEST

static Suite *lease_suite(void)
{
	Suite *s = suite_create("lease");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_tags_clients_and_observer);
	tcase_add_test(tc, test_release_all_services_then_presence);
	tcase_add_test(tc, test_hold_off_until_lifted);
	tcase_add_test(tc, test_untagged_keeps_foreign_metadata);
	tcase_add_test(tc, test_many_elections_wake_in_order);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(lease_suite)
