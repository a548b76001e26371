/* Unit tests for the Prometheus text writer (common/metrics_text.c) and
 * the metrics_listen parser (common/metrics_addr.c): label values and help
 * texts escaped as the 0.0.4 format says, histograms cumulative with +Inf,
 * _sum and _count, a rewind dropping a family whole; addresses accepted
 * and refused with the key named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "metrics_addr.h"
#include "metrics_text.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static char *take(struct mtext *m)
{
	char *s = mtext_take(m, NULL);

	assert_non_null(s);
	return s;
}

static void test_escaping(void **state)
{
	struct mtext m;
	struct mlabel l[2] = { { "category", "a\"b\\c\nd" }, { "state", "open" } };
	char *s;

	(void)state;
	mtext_init(&m);
	mtext_family(&m, "x_total", "counter", "back\\slash and\nnewline \"kept\"");
	mtext_sample(&m, "x_total", l, 2, 3);
	mtext_sample(&m, "x_total", NULL, 0, 0.1);
	s = take(&m);
	assert_string_equal(s,
		"# HELP x_total back\\\\slash and\\nnewline \"kept\"\n"
		"# TYPE x_total counter\n"
		"x_total{category=\"a\\\"b\\\\c\\nd\",state=\"open\"} 3\n"
		"x_total 0.1\n");
	free(s);
}

static void test_histogram(void **state)
{
	static const double bounds[] = { 1, 5 };
	struct mhist h, staged;
	struct mtext m;
	char *s;

	(void)state;
	mhist_init(&h, bounds, ARRAY_LEN(bounds));
	mhist_init(&staged, bounds, ARRAY_LEN(bounds));
	mhist_observe(&staged, 0.5);
	mhist_observe(&staged, 1);   /* le is inclusive */
	mhist_observe(&staged, 7);
	mhist_merge(&h, &staged);
	mhist_reset(&staged);
	assert_int_equal(staged.count, 0);
	mtext_init(&m);
	mtext_histogram(&m, "lat_seconds", "lateness", &h);
	s = take(&m);
	assert_string_equal(s,
		"# HELP lat_seconds lateness\n# TYPE lat_seconds histogram\n"
		"lat_seconds_bucket{le=\"1\"} 2\nlat_seconds_bucket{le=\"5\"} 2\n"
		"lat_seconds_bucket{le=\"+Inf\"} 3\nlat_seconds_sum 8.5\nlat_seconds_count 3\n");
	free(s);
}

static void test_rewind(void **state)
{
	struct mtext m;
	size_t mark;
	char *s;

	(void)state;
	mtext_init(&m);
	mtext_single(&m, "a", "gauge", "kept", 1);
	mark = m.len;
	mtext_single(&m, "b", "gauge", "dropped", 2);
	mtext_rewind(&m, mark);
	s = take(&m);
	assert_string_equal(s, "# HELP a kept\n# TYPE a gauge\na 1\n");
	free(s);
}

static void test_addr_good(void **state)
{
	struct metrics_addr a;
	char why[200] = "";

	(void)state;
	assert_int_equal(metrics_addr_parse("127.0.0.1:9750", &a, why, sizeof(why)), 0);
	assert_true(a.enabled);
	assert_int_equal(a.sa.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&a.sa)->sin_port), 9750);
	assert_int_equal(metrics_addr_parse("[::1]:9751", &a, why, sizeof(why)), 0);
	assert_int_equal(a.sa.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&a.sa)->sin6_port), 9751);
	assert_string_equal(a.text, "[::1]:9751");
	assert_int_equal(metrics_addr_parse("off", &a, why, sizeof(why)), 0);
	assert_false(a.enabled);
	assert_int_equal(metrics_addr_parse("", &a, why, sizeof(why)), 0);
	assert_false(a.enabled);
}

static void test_addr_bad(void **state)
{
	static const char *const bad[] = {
		"localhost:9750", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
		"127.0.0.1:+80", "::1:9750", "[::1]9750", "[::1]:", "[]:80", "[127.0.0.1]:80",
		"1.2.3.4:80x", ":9750", "yes",
	};
	struct metrics_addr a;
	char why[200];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		why[0] = '\0';
		if (metrics_addr_parse(bad[i], &a, why, sizeof(why)) == 0)
			fail_msg("'%s' was accepted", bad[i]);
		assert_non_null(strstr(why, "metrics_listen: '"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_rewind),
		cmocka_unit_test(test_addr_good),
		cmocka_unit_test(test_addr_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
