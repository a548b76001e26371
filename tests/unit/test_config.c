/* Unit tests for the two configuration files, cordond.conf
 * (controller/config.c) and agent.conf (agent/config.c): a bad file is
 * refused naming its first bad line and what is wrong with that line (not
 * a later one), a line too long for the INI reader is refused rather than
 * cut, and a refused file changes nothing in the configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../agent/config.h"
#include "../../controller/config.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static char path[] = "/tmp/cordon-test-config.XXXXXX";

static int setup(void **state)
{
	int fd = mkstemp(path);

	(void)state;
	if (fd < 0)
		return -1;
	return close(fd);
}

static int teardown(void **state)
{
	(void)state;
	return unlink(path);
}

static void write_conf(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* err is "PATH:LINE: REASON": checks LINE and that REASON has want. */
static void assert_err(const char *err, unsigned line, const char *want)
{
	char head[sizeof(path) + 16];

	snprintf(head, sizeof(head), "%s:%u: ", path, line);
	if (strncmp(err, head, strlen(head)) != 0 || !strstr(err, want))
		fail_msg("got \"%s\", want \"%s...%s\"", err, head, want);
}

enum which { CTL, AGENT };

struct bad_case {
	enum which file;
	const char *what, *text;
	unsigned line;
	const char *reason;
};

#define AGENT_OK "[agent]\nhost_id = hv1\ncontroller = tcp://198.18.0.1:7440\n"
#define LONG_VALUE "/var/lib/cordon/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.db"
#define BLANKS "                                                                              "

static const struct bad_case bad[] = {
	{ CTL, "two unknown keys", "[controller]\nfoo = 1\nresend_ms = 5\nbar = 2\n", 2,
	  "'foo'" },
	{ CTL, "syntax, then an unknown key", "[controller]\nnot a key line\nbar = 2\n", 2,
	  "syntax" },
	{ CTL, "bad value, then an unknown key", "[controller]\nresend_ms = soon\nbar = 2\n",
	  2, "resend_ms" },
	{ CTL, "line too long", "[controller]\ndatabase = " LONG_VALUE "\n", 2, "too long" },
	{ CTL, "line too long, a comment after", "[controller]\ndatabase = " LONG_VALUE
	  BLANKS BLANKS "# a comment\n", 2, "too long" },
	{ AGENT, "bad value, then a bad scope",
	  AGENT_OK "heartbeat_ms = 1\n[scopes]\nbr0 = pubic\n", 4, "heartbeat_ms" },
	{ AGENT, "unknown section, then an unknown key",
	  "[agnet]\nhost_id = hv1\n[agent]\nfoo = 1\n", 2, "[agnet]" },
	{ AGENT, "line too long", AGENT_OK "state_dir = " LONG_VALUE "\n", 4, "too long" },
};

/* Loads path over the defaults: -1 expected, and nothing changed. */
static void load_refused(enum which file, char *err, size_t errlen)
{
	struct ctl_config ctl, ctl_before;
	struct agent_config agent, agent_before;

	if (file == CTL) {
		ctl_config_defaults(&ctl);
		ctl_before = ctl;
		assert_int_equal(ctl_config_load(path, 1, &ctl, err, errlen), -1);
		assert_memory_equal(&ctl, &ctl_before, sizeof(ctl));
	} else {
		agent_config_defaults(&agent);
		agent_before = agent;
		assert_int_equal(agent_config_load(path, &agent, err, errlen), -1);
		assert_memory_equal(&agent, &agent_before, sizeof(agent));
	}
}

static void test_first_bad_line(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		char err[512] = "";

		print_message("%s: %s\n", bad[i].file == CTL ? "cordond.conf" : "agent.conf",
			      bad[i].what);
		write_conf(bad[i].text);
		load_refused(bad[i].file, err, sizeof(err));
		assert_err(err, bad[i].line, bad[i].reason);
	}
}

/* Good files still load, values as written. */
static void test_good_files(void **state)
{
	struct agent_config acfg;
	struct ctl_config ccfg;
	char err[512] = "";

	(void)state;
	write_conf(AGENT_OK "heartbeat_ms = 50\n[scopes]\nbr0 = private\n");
	agent_config_defaults(&acfg);
	if (agent_config_load(path, &acfg, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(acfg.heartbeat_ms, 50);
	assert_string_equal(agent_config_scope_of(&acfg, "br0"), "private");
	write_conf("[controller]\nresend_ms = 10 ; inline comment\n");
	ctl_config_defaults(&ccfg);
	if (ctl_config_load(path, 1, &ccfg, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_int_equal(ccfg.resend_ms, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_bad_line),
		cmocka_unit_test(test_good_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
