/* Unit tests for pkg/kube/watch: events, chunk boundaries at every byte, oversize, garbage. */
#include "kube/watch.h"
#include "unit.h"

#include <string.h>

/* What the callback saw, one line per outcome: "event ADDED rv=5 code=0 gone=0" or "garbage". */
struct rec {
	char out[8192];
	size_t n;
	int stop_after; /* ask the decoder to stop after this many outcomes (0: never) */
	int seen;
};

static int rec_cb(enum watch_result r, const struct watch_event *ev, const char *detail, void *arg)
{
	struct rec *rc = arg;
	ck_assert_msg((ev != NULL) != (detail != NULL), "exactly one of ev and detail");
	if (r == WATCH_RESULT_EVENT) {
		json_t *name = json_object_get(json_object_get(ev->object, "metadata"), "name");
		rc->n += (size_t)snprintf(rc->out + rc->n, sizeof(rc->out) - rc->n,
					  "event %s %s rv=%s code=%d gone=%d\n",
					  watch_type_str(ev->type),
					  json_is_string(name) ? json_string_value(name) : "-",
					  ev->resource_version ? ev->resource_version : "-",
					  ev->status_code, ev->gone);
	} else {
		rc->n += (size_t)snprintf(rc->out + rc->n, sizeof(rc->out) - rc->n, "%s\n",
					  watch_result_str(r));
	}
	ck_assert_uint_lt(rc->n, sizeof(rc->out));
	rc->seen++;
	return rc->stop_after && rc->seen >= rc->stop_after;
}

#define EV(type, name, rv)                                                                     \
	"{\"type\":\"" type "\",\"object\":{\"kind\":\"Lease\",\"metadata\":{\"name\":\"" name \
	"\",\"namespace\":\"ns\",\"resourceVersion\":\"" rv "\"}}}"

static const char stream[] = EV("ADDED", "a", "1") "\n" EV(
	"MODIFIED", "a",
	"2") "\r\n"
	     "\n" /* keep-alive blank line */
	     "not json at all\n" EV(
		     "DELETED", "a",
		     "3") "\n"
			  "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Lease\",\"metadata\":{\"resourceVersion\":"
			  "\"9\"}}}\n"
			  "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":"
			  "\"Failure\",\"message\":\"too old resource version: 1 (5)\",\"reason\":\"Expired\","
			  "\"code\":410}}\n"
			  "{\"type\":\"ADDED\"}\n"
			  "{\"type\":\"RENAMED\",\"object\":{}}\n"
			  "[1,2]\n" EV("ADDED", "b", "10") "\n";

static const char stream_want[] = "event ADDED a rv=1 code=0 gone=0\n"
				  "event MODIFIED a rv=2 code=0 gone=0\n"
				  "garbage\n"
				  "event DELETED a rv=3 code=0 gone=0\n"
				  "event BOOKMARK - rv=9 code=0 gone=0\n"
				  "event ERROR - rv=- code=410 gone=1\n"
				  "bad_shape\n"
				  "unknown_type\n"
				  "garbage\n"
				  "event ADDED b rv=10 code=0 gone=0\n";

START_TEST(test_whole_stream)
{
	struct rec r = { 0 };
	struct watch_decoder *d = watch_decoder_new(0, rec_cb, &r);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(watch_decoder_feed(d, (const uint8_t *)stream, strlen(stream)), 0);
	ck_assert_uint_eq(watch_decoder_pending(d), 0);
	ck_assert_str_eq(r.out, stream_want);
	watch_decoder_free(d);
}
END_TEST

/* Every split of the stream into three chunks at byte positions i <= j decodes the same. */
START_TEST(test_every_boundary)
{
	const uint8_t *s = (const uint8_t *)stream;
	size_t n = strlen(stream);
	for (size_t i = 0; i <= n; i++) {
		for (size_t j = i; j <= n; j += (j < i + 24 ? 1 : 11)) {
			struct rec r = { 0 };
			struct watch_decoder *d = watch_decoder_new(0, rec_cb, &r);
			ck_assert_ptr_nonnull(d);
			ck_assert_int_eq(watch_decoder_feed(d, s, i), 0);
			ck_assert_int_eq(watch_decoder_feed(d, s + i, j - i), 0);
			ck_assert_int_eq(watch_decoder_feed(d, s + j, n - j), 0);
			ck_assert_int_eq(watch_decoder_finish(d), 0);
			ck_assert_msg(strcmp(r.out, stream_want) == 0, "split %zu/%zu gave:\n%s", i,
				      j, r.out);
			watch_decoder_free(d);
		}
	}
}
END_TEST

START_TEST(test_byte_at_a_time)
{
	struct rec r = { 0 };
	struct watch_decoder *d = watch_decoder_new(0, rec_cb, &r);
	for (size_t i = 0; stream[i]; i++)
		ck_assert_int_eq(watch_decoder_feed(d, (const uint8_t *)stream + i, 1), 0);
	ck_assert_str_eq(r.out, stream_want);
	watch_decoder_free(d);
}
END_TEST

START_TEST(test_finish_decodes_last_line)
{
	struct rec r = { 0 };
	struct watch_decoder *d = watch_decoder_new(0, rec_cb, &r);
	const char *s = EV("ADDED", "x", "7");
	ck_assert_int_eq(watch_decoder_feed(d, (const uint8_t *)s, strlen(s)), 0);
	ck_assert_str_eq(r.out, "");
	ck_assert_uint_eq(watch_decoder_pending(d), strlen(s));
	ck_assert_int_eq(watch_decoder_finish(d), 0);
	ck_assert_str_eq(r.out, "event ADDED x rv=7 code=0 gone=0\n");
	ck_assert_uint_eq(watch_decoder_pending(d), 0);
	watch_decoder_free(d);
}
END_TEST

/* A line over the bound is reported once, skipped to its newline, and the next line decodes. */
START_TEST(test_oversize)
{
	const size_t max = 150;
	const char *ok = EV("ADDED", "k", "1") "\n";
	char big[400];
	memset(big, 'x', sizeof(big));
	for (size_t chunk = 1; chunk <= sizeof(big); chunk++) {
		struct rec r = { 0 };
		struct watch_decoder *d = watch_decoder_new(max, rec_cb, &r);
		for (size_t off = 0; off < sizeof(big); off += chunk) {
			size_t n = sizeof(big) - off < chunk ? sizeof(big) - off : chunk;
			ck_assert_int_eq(watch_decoder_feed(d, (const uint8_t *)big + off, n), 0);
			ck_assert_uint_le(watch_decoder_pending(d), max);
		}
		ck_assert_int_eq(watch_decoder_feed(d, (const uint8_t *)"\n", 1), 0);
		ck_assert_int_eq(watch_decoder_feed(d, (const uint8_t *)ok, strlen(ok)), 0);
		ck_assert_msg(strcmp(r.out, "oversize\nevent ADDED k rv=1 code=0 gone=0\n") == 0,
			      "chunk %zu gave:\n%s", chunk, r.out);
		watch_decoder_free(d);
	}
}
END_TEST

/* A line of exactly the bound is accepted; one byte more is not. */
START_TEST(test_oversize_edge)
{
	const char *ok = EV("ADDED", "k", "1");
	size_t n = strlen(ok);
	for (int extra = 0; extra <= 1; extra++) {
		struct rec r = { 0 };
		struct watch_decoder *d = watch_decoder_new(n + 1 - (size_t)extra, rec_cb, &r);
		/* in two pieces, so the buffered path is the one measured */
		ck_assert_int_eq(watch_decoder_feed(d, (const uint8_t *)ok, 5), 0);
		ck_assert_int_eq(watch_decoder_feed(d, (const uint8_t *)ok + 5, n - 5), 0);
		ck_assert_int_eq(watch_decoder_feed(d, (const uint8_t *)" \n", 2), 0);
		ck_assert_str_eq(r.out,
				 extra ? "oversize\n" : "event ADDED k rv=1 code=0 gone=0\n");
		watch_decoder_free(d);
	}
}
END_TEST

static const struct {
	const char *line;
	const char *want;
} errors[] = {
	{ "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":\"Gone\"}}",
	  "event ERROR - rv=- code=410 gone=1\n" },
	{ "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"reason\":\"Expired\"}}",
	  "event ERROR - rv=- code=0 gone=1\n" },
	{ "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":500,\"reason\":"
	  "\"InternalError\"}}",
	  "event ERROR - rv=- code=500 gone=0\n" },
	{ "{\"type\":\"ERROR\",\"object\":{\"code\":\"410\"}}",
	  "event ERROR - rv=- code=0 gone=0\n" },
	{ "{\"type\":\"ERROR\",\"object\":{\"code\":-410}}", "event ERROR - rv=- code=0 gone=0\n" },
	{ "{\"type\":5,\"object\":{}}", "bad_shape\n" },
	{ "{\"type\":\"ADDED\",\"object\":[]}", "bad_shape\n" },
	{ "{\"type\":\"added\",\"object\":{}}", "unknown_type\n" },
	{ "{\"type\":\"ADDED\",\"object\":{}} trailing", "garbage\n" },
	{ "{\"type\":\"ADDED\",\"type\":\"DELETED\",\"object\":{}}", "garbage\n" },
	{ "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"resourceVersion\":5}}}",
	  "event ADDED - rv=- code=0 gone=0\n" },
	{ "\"just a string\"", "garbage\n" },
	{ "\x01\xff\xfe", "garbage\n" },
	{ "   \t\r", "" },
};

START_TEST(test_error_and_garbage_table)
{
	struct rec r = { 0 };
	struct watch_decoder *d = watch_decoder_new(0, rec_cb, &r);
	ck_assert_int_eq(
		watch_decoder_feed(d, (const uint8_t *)errors[_i].line, strlen(errors[_i].line)),
		0);
	ck_assert_int_eq(watch_decoder_feed(d, (const uint8_t *)"\n", 1), 0);
	ck_assert_msg(strcmp(r.out, errors[_i].want) == 0, "line %d gave %s", _i, r.out);
	watch_decoder_free(d);
}
END_TEST

/* A callback that asks to stop ends the feed at once; reset makes the decoder usable again. */
START_TEST(test_stop_and_reset)
{
	struct rec r = { .stop_after = 1 };
	struct watch_decoder *d = watch_decoder_new(0, rec_cb, &r);
	const char *two =
		EV("ADDED", "a", "1") "\n" EV("ADDED", "b", "2") "\n" EV("ADDED", "c", "3");
	ck_assert_int_eq(watch_decoder_feed(d, (const uint8_t *)two, strlen(two)), 1);
	ck_assert_str_eq(r.out, "event ADDED a rv=1 code=0 gone=0\n");
	watch_decoder_reset(d);
	ck_assert_uint_eq(watch_decoder_pending(d), 0);
	r.stop_after = 0;
	const char *one = EV("DELETED", "z", "9") "\n";
	ck_assert_int_eq(watch_decoder_feed(d, (const uint8_t *)one, strlen(one)), 0);
	ck_assert_str_eq(r.out,
			 "event ADDED a rv=1 code=0 gone=0\nevent DELETED z rv=9 code=0 gone=0\n");
	watch_decoder_free(d);
}
END_TEST

static Suite *watch_suite(void)
{
	Suite *s = suite_create("watch");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_whole_stream);
	tcase_add_test(tc, test_every_boundary);
	tcase_add_test(tc, test_byte_at_a_time);
	tcase_add_test(tc, test_finish_decodes_last_line);
	tcase_add_test(tc, test_oversize);
	tcase_add_test(tc, test_oversize_edge);
	tcase_add_loop_test(tc, test_error_and_garbage_table, 0,
			    (int)(sizeof(errors) / sizeof(errors[0])));
	tcase_add_test(tc, test_stop_and_reset);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(watch_suite)
