/* Unit tests for pkg/log: levels, logfmt quoting and escaping, runtime level changes. */
#include "log/log.h"
#include "unit.h"

#include <regex.h>
#include <string.h>
#include <unistd.h>

/* Logs through a pipe and returns what one call wrote (without the timestamp check). */
struct capture {
	int fds[2];
	char out[16384];
};

static struct log *cap_open(struct capture *c, enum log_level level)
{
	ck_assert_int_eq(pipe(c->fds), 0);
	struct log *lg = log_new(c->fds[1], level);
	ck_assert_ptr_nonnull(lg);
	return lg;
}

static const char *cap_read(struct capture *c)
{
	close(c->fds[1]);
	ssize_t n, total = 0;
	while ((n = read(c->fds[0], c->out + total, sizeof(c->out) - 1 - (size_t)total)) > 0)
		total += n;
	close(c->fds[0]);
	c->out[total] = '\0';
	return c->out;
}

/* The line after "ts=<...> ", checked to have the documented timestamp shape. */
static const char *after_ts(const char *line)
{
	regex_t re;
	ck_assert_int_eq(
		regcomp(&re,
			"^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z ",
			REG_EXTENDED),
		0);
	ck_assert_msg(regexec(&re, line, 0, NULL, 0) == 0, "bad timestamp in: %s", line);
	regfree(&re);
	return strchr(line, ' ') + 1;
}

START_TEST(test_plain_fields)
{
	struct capture c;
	struct log *lg = cap_open(&c, LOG_LEVEL_INFO);
	log_info(lg, "ip allocated", "service", "default/web", "ip", "192.0.2.200");
	log_free(lg);
	ck_assert_str_eq(after_ts(cap_read(&c)),
			 "level=info msg=\"ip allocated\" service=default/web ip=192.0.2.200\n");
}
END_TEST

static const struct {
	const char *in;
	const char *out;
} escapes[] = {
	{ "simple", "simple" },
	{ "", "\"\"" },
	{ "two words", "\"two words\"" },
	{ "a=b", "\"a=b\"" },
	{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
	{ "back\\slash", "\"back\\\\slash\"" },
	{ "line\nbreak", "\"line\\nbreak\"" },
	{ "tab\there", "\"tab\\there\"" },
	{ "bell\x07", "\"bell\\u0007\"" },
	{ "del\x7f", "\"del\\u007f\"" },
	{ "caf\xc3\xa9", "caf\xc3\xa9" },
};

START_TEST(test_escaping)
{
	struct capture c;
	char want[256];
	struct log *lg = cap_open(&c, LOG_LEVEL_DEBUG);
	log_warn(lg, "m", "v", escapes[_i].in);
	log_free(lg);
	snprintf(want, sizeof(want), "level=warn msg=m v=%s\n", escapes[_i].out);
	ck_assert_str_eq(after_ts(cap_read(&c)), want);
}
END_TEST

START_TEST(test_null_value_and_bad_key)
{
	struct capture c;
	struct log *lg = cap_open(&c, LOG_LEVEL_INFO);
	log_info(lg, "x", "bad key=", (const char *)NULL);
	log_free(lg);
	ck_assert_str_eq(after_ts(cap_read(&c)), "level=info msg=x bad_key_=\"\"\n");
}
END_TEST

START_TEST(test_levels_filter_and_change_at_run_time)
{
	struct capture c;
	struct log *lg = cap_open(&c, LOG_LEVEL_WARN);
	log_info(lg, "hidden");
	log_debug(lg, "hidden");
	log_error(lg, "shown1");
	log_set_level(lg, LOG_LEVEL_DEBUG);
	ck_assert_int_eq(log_get_level(lg), LOG_LEVEL_DEBUG);
	log_debug(lg, "shown2");
	log_set_level(lg, LOG_LEVEL_ERROR);
	log_warn(lg, "hidden");
	log_free(lg);
	const char *out = cap_read(&c);
	ck_assert_ptr_null(strstr(out, "hidden"));
	ck_assert_ptr_nonnull(strstr(out, "level=error msg=shown1\n"));
	ck_assert_ptr_nonnull(strstr(out, "level=debug msg=shown2\n"));
}
END_TEST

START_TEST(test_level_parse)
{
	enum log_level l;
	ck_assert_int_eq(log_level_parse("debug", &l), 0);
	ck_assert_int_eq(l, LOG_LEVEL_DEBUG);
	ck_assert_int_eq(log_level_parse("warn", &l), 0);
	ck_assert_int_eq(l, LOG_LEVEL_WARN);
	ck_assert_int_eq(log_level_parse("WARN", &l), -1);
	ck_assert_int_eq(log_level_parse("verbose", &l), -1);
	ck_assert_int_eq(log_level_parse(NULL, &l), -1);
}
END_TEST

START_TEST(test_long_line_is_marked_truncated)
{
	struct capture c;
	static char big[12000];
	memset(big, 'x', sizeof(big) - 1);
	struct log *lg = cap_open(&c, LOG_LEVEL_INFO);
	log_info(lg, "big", "v", big, "after", "lost");
	log_free(lg);
	const char *out = cap_read(&c);
	size_t n = strlen(out);
	ck_assert_uint_lt(n, 8193);
	ck_assert_str_eq(out + n - strlen(" truncated=true\n"), " truncated=true\n");
	ck_assert_ptr_null(strchr(out, '\n') == out + n - 1 ? NULL : out);
}
END_TEST

/* A state dump: the header line, then the block's lines indented, in one write. */
START_TEST(test_block_follows_its_line_indented)
{
	struct capture c;
	struct log *lg = cap_open(&c, LOG_LEVEL_INFO);
	log_block(lg, LOG_LEVEL_INFO, "a b\nc\n", "state", "addresses", "2", (const char *)NULL);
	log_block(lg, LOG_LEVEL_DEBUG, "hidden\n", "filtered out", (const char *)NULL);
	log_block(lg, LOG_LEVEL_INFO, "last line without newline", "tail", (const char *)NULL);
	log_free(lg);
	const char *out = after_ts(cap_read(&c));
	const char *want = "level=info msg=state addresses=2\n    a b\n    c\nts=";
	ck_assert_int_eq(strncmp(out, want, strlen(want)), 0);
	ck_assert_ptr_null(strstr(out, "hidden"));
	const char *tail = strstr(c.out, "msg=tail\n");
	ck_assert_ptr_nonnull(tail);
	ck_assert_str_eq(tail, "msg=tail\n    last line without newline\n");
}
END_TEST

START_TEST(test_fmt_and_free_null)
{
	char b[16];
	ck_assert_str_eq(log_fmt(b, sizeof(b), "%d ms", 250), "250 ms");
	ck_assert_str_eq(log_fmt(b, 4, "%d", 123456), "123");
	log_free(NULL);
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_plain_fields);
	tcase_add_loop_test(tc, test_escaping, 0, sizeof(escapes) / sizeof(escapes[0]));
	tcase_add_test(tc, test_null_value_and_bad_key);
	tcase_add_test(tc, test_levels_filter_and_change_at_run_time);
	tcase_add_test(tc, test_level_parse);
	tcase_add_test(tc, test_long_line_is_marked_truncated);
	tcase_add_test(tc, test_block_follows_its_line_indented);
	tcase_add_test(tc, test_fmt_and_free_null);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(log_suite)
