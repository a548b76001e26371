/* Unit tests for agent/follow.c's decisions: where a NotLeader sends the
 * agent (only to an endpoint its host admin configured, never back to the
 * one that said it) and how long each move waits (no spinning between
 * two followers that name each other). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "follow.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char eps[3][ENDPOINT_MAX + 1] = {
	"tcp://198.18.0.1:7440", "tcp://198.18.0.2:7440", "tcp://ctl-c.example:7440",
};

static void test_target(void **state)
{
	static const struct {
		size_t n, current;
		const char *leader;
		size_t want;
		bool listed;
	} cases[] = {
		{ 3, 0, "tcp://198.18.0.2:7440", 1, true },     /* the named leader */
		{ 3, 1, "tcp://CTL-C.example:7440", 2, true },  /* names are case-blind */
		{ 3, 2, "tcp://198.18.0.1:7440", 0, true },
		{ 3, 0, "", 1, false },                          /* none known: the next */
		{ 3, 2, "", 0, false },                          /* round robin wraps */
		{ 3, 0, "tcp://198.18.0.9:7440", 1, false },     /* not ours: the next */
		{ 3, 0, "tcp://198.18.0.1:7441", 1, false },     /* another port is another */
		{ 3, 1, "tcp://198.18.0.2:7440", 2, true },      /* "the leader is me" */
		{ 1, 0, "", 0, false },                          /* one endpoint: itself */
		{ 1, 0, "tcp://198.18.0.2:7440", 0, false },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		bool listed = !cases[i].listed;
		size_t to = follow_target(eps, cases[i].n, cases[i].current, cases[i].leader,
					  &listed);
		if (to != cases[i].want || listed != cases[i].listed)
			fail_msg("case %zu (leader '%s' from %zu): to %zu listed %d, want %zu %d", i,
				 cases[i].leader, cases[i].current, to, listed, cases[i].want,
				 cases[i].listed);
	}
}

/* 0, then 100 ms doubling, capped: two followers pointing at each other
 * cost one move per interval at most, never a tight loop. */
static void test_delay(void **state)
{
	static const uint64_t want[] = { 0, 100, 200, 400, 800, 1600, 2000, 2000 };
	(void)state;

	for (unsigned h = 0; h < ARRAY_LEN(want); h++)
		assert_true(follow_delay_ms(h, 2000) == want[h]);
	assert_true(follow_delay_ms(1, 50) == 50);
	assert_true(follow_delay_ms(1000, 2000) == 2000);  /* no overflow */
	assert_true(follow_delay_ms(UINT32_MAX, 2000) == 2000);
	uint64_t total = 0;
	for (unsigned h = 0; h < 20; h++)
		total += follow_delay_ms(h, 2000);
	assert_true(total >= 30000);  /* 20 moves take half a minute */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_delay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
