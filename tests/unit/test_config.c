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
#include "endpoint.h"

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
	/* controller lists: the reason names the key and the bad item. */
	{ AGENT, "controller list with an empty item",
	  "[agent]\nhost_id = hv1\ncontroller = tcp://a:1, , tcp://b:2\n", 3,
	  "controller: item 2 of the list is empty" },
	{ AGENT, "controller list with a trailing comma",
	  "[agent]\ncontroller = tcp://a:1,\n", 2, "controller: item 2 of the list is empty" },
	{ AGENT, "controller without a port",
	  "[agent]\ncontroller = tcp://a:1, tcp://b\n", 2, "controller: 'tcp://b': no port" },
	{ AGENT, "controller not tcp", "[agent]\ncontroller = ipc:///run/c.sock\n", 2,
	  "controller: 'ipc:///run/c.sock': not tcp://HOST:PORT" },
	{ AGENT, "controller port 0", "[agent]\ncontroller = tcp://a:0\n", 2,
	  "controller: 'tcp://a:0': port" },
	{ AGENT, "controller port 65536", "[agent]\ncontroller = tcp://a:65536\n", 2, "port" },
	{ AGENT, "controller wildcard", "[agent]\ncontroller = tcp://0.0.0.0:7440\n", 2,
	  "wildcard" },
	{ AGENT, "controller bad host", "[agent]\ncontroller = tcp://a_b:7440\n", 2,
	  "'tcp://a_b:7440': not a host name" },
	{ AGENT, "controller bad IPv4", "[agent]\ncontroller = tcp://198.18.0.256:7440\n", 2,
	  "not a host name" },
	{ AGENT, "controller IPv6 without brackets", "[agent]\ncontroller = tcp://::1:7440\n", 2,
	  "not a host name" },
	{ AGENT, "controller listed twice",
	  "[agent]\ncontroller = tcp://a:1, tcp://B:2, tcp://b:2\n", 2,
	  "controller: 'tcp://b:2' is listed twice" },
	{ AGENT, "nine controllers", "[agent]\ncontroller = tcp://a:1, tcp://a:2, tcp://a:3, "
	  "tcp://a:4, tcp://a:5, tcp://a:6, tcp://a:7, tcp://a:8, tcp://a:9\n", 2,
	  "controller: more than 8 items" },
	{ AGENT, "controller_key with an empty item",
	  "[agent]\ncontroller_key = /a.cert,,/b.cert\n", 2,
	  "controller_key: item 2 of the list is empty" },
	{ CTL, "advertise a wildcard", "[controller]\nadvertise = tcp://*:7440\n", 2,
	  "advertise 'tcp://*:7440': a wildcard" },
	{ CTL, "advertise without a port", "[controller]\nadvertise = tcp://198.18.0.1\n", 2,
	  "advertise 'tcp://198.18.0.1': no port" },
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

/* A whole file that loads, or the reason it did not. */
static void load_agent(const char *text, struct agent_config *cfg, char *err, size_t errlen,
		       int want)
{
	write_conf(text);
	agent_config_defaults(cfg);
	err[0] = '\0';
	if (agent_config_load(path, cfg, err, errlen) != want)
		fail_msg("'%s': %s", text, want == 0 ? err : "loaded");
}

/* One endpoint: today's configuration, with the default key for it. */
static void test_controller_one(void **state)
{
	struct agent_config cfg;
	char err[512];

	(void)state;
	load_agent(AGENT_OK, &cfg, err, sizeof(err), 0);
	assert_int_equal(cfg.n_controllers, 1);
	assert_string_equal(cfg.controllers[0], "tcp://198.18.0.1:7440");
	assert_int_equal(cfg.n_controller_keys, 1);
	assert_string_equal(agent_config_controller_key(&cfg, 0), "/etc/cordon/controller.cert");
}

/* A list in order, blanks trimmed; one key for all or one per endpoint. */
static void test_controller_list(void **state)
{
	struct agent_config cfg;
	char err[512];

	(void)state;
	load_agent("[agent]\nhost_id = hv1\ncontroller = tcp://198.18.0.1:7440 ,\t"
		   "tcp://[2001:2::1]:7441,tcp://cordond-b.example:7442\n"
		   "controller_key = /etc/cordon/shared.cert\n", &cfg, err, sizeof(err), 0);
	assert_int_equal(cfg.n_controllers, 3);
	assert_string_equal(cfg.controllers[0], "tcp://198.18.0.1:7440");
	assert_string_equal(cfg.controllers[1], "tcp://[2001:2::1]:7441");
	assert_string_equal(cfg.controllers[2], "tcp://cordond-b.example:7442");
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(agent_config_controller_key(&cfg, i), "/etc/cordon/shared.cert");
	load_agent("[agent]\nhost_id = hv1\ncontroller = tcp://a:1, tcp://b:2\n"
		   "controller_key = /k/a.cert, /k/b.cert\n", &cfg, err, sizeof(err), 0);
	assert_string_equal(agent_config_controller_key(&cfg, 0), "/k/a.cert");
	assert_string_equal(agent_config_controller_key(&cfg, 1), "/k/b.cert");
	/* Eight is the most. */
	load_agent("[agent]\nhost_id = hv1\ncontroller = tcp://a:1, tcp://a:2, tcp://a:3, "
		   "tcp://a:4, tcp://a:5, tcp://a:6, tcp://a:7, tcp://a:8\n", &cfg, err,
		   sizeof(err), 0);
	assert_int_equal(cfg.n_controllers, AGENT_MAX_CONTROLLERS);
}

/* Two keys for three endpoints: refused after the whole file is read,
 * naming both keys, and nothing changed. */
static void test_controller_key_count(void **state)
{
	struct agent_config cfg, before;
	char err[512];

	(void)state;
	write_conf("[agent]\nhost_id = hv1\ncontroller = tcp://a:1, tcp://b:2, tcp://c:3\n"
		   "controller_key = /k/a.cert, /k/b.cert\n");
	agent_config_defaults(&cfg);
	before = cfg;
	assert_int_equal(agent_config_load(path, &cfg, err, sizeof(err)), -1);
	assert_memory_equal(&cfg, &before, sizeof(cfg));
	if (!strstr(err, "controller_key lists 2 key files for the 3 endpoints of controller"))
		fail_msg("got \"%s\"", err);
	/* A list of keys with the default single controller missing: that
	 * is the missing controller, said first. */
	load_agent("[agent]\nhost_id = hv1\ncontroller_key = /a, /b\n", &cfg, err,
		   sizeof(err), -1);
	assert_non_null(strstr(err, "controller is missing"));
}

/* advertise: as written, else listen unless it is a wildcard. */
static void test_advertise(void **state)
{
	static const struct { const char *conf, *want; } cases[] = {
		{ "[controller]\n", "" },
		{ "[controller]\nlisten = tcp://198.18.0.1:7440\n", "tcp://198.18.0.1:7440" },
		{ "[controller]\nlisten = tcp://*:7440\n", "" },
		{ "[controller]\nlisten = tcp://[::]:7440\n", "" },
		{ "[controller]\nlisten = tcp://[2001:2::1]:7440\n", "tcp://[2001:2::1]:7440" },
		{ "[controller]\nlisten = tcp://0.0.0.0:7440\nadvertise = tcp://ctl-a.example:7440\n",
		  "tcp://ctl-a.example:7440" },
		{ "[controller]\nlisten = tcp://198.18.0.1:7440\nadvertise =\n", "" },
	};
	struct ctl_config cfg;
	char err[512];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		write_conf(cases[i].conf);
		ctl_config_defaults(&cfg);
		if (ctl_config_load(path, 1, &cfg, err, sizeof(err)) < 0)
			fail_msg("%s: %s", cases[i].conf, err);
		assert_string_equal(cfg.advertise, cases[i].want);
	}
}

/* common/endpoint.c on its own: what a controller endpoint may be. */
static void test_endpoint_check(void **state)
{
	static const char *const good[] = {
		"tcp://198.18.0.1:7440", "tcp://a:1", "tcp://cordond-a.example.net:65535",
		"tcp://[::1]:7440", "tcp://[2001:2::1]:7440", "tcp://A.B:7440",
	};
	static const char *const bad[] = {
		"", "tcp://", "tcp://:7440", "tcp://a:", "tcp://a:+7440", "tcp://a: 7440",
		"tcp://a:7440x", "tcp://a b:7440", "tcp://-a:7440", "tcp://[::1:7440",
		"tcp://[nope]:7440", "tcp://*:7440", "tcp://[::]:7440", "udp://a:7440",
		"tcp://a:7440/", "TCP://a:7440", "tcp://1.2.3:7440",
	};
	char why[128];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(good); i++)
		if (endpoint_check(good[i], why, sizeof(why)) < 0)
			fail_msg("'%s' refused: %s", good[i], why);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		why[0] = '\0';
		if (endpoint_check(bad[i], why, sizeof(why)) == 0)
			fail_msg("'%s' accepted", bad[i]);
		assert_true(why[0] != '\0');
	}
	assert_true(endpoint_same("tcp://CTL-A.example:7440", "tcp://ctl-a.example:7440"));
	assert_false(endpoint_same("tcp://ctl-a:7440", "tcp://ctl-a:7441"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_bad_line),
		cmocka_unit_test(test_good_files),
		cmocka_unit_test(test_controller_one),
		cmocka_unit_test(test_controller_list),
		cmocka_unit_test(test_controller_key_count),
		cmocka_unit_test(test_advertise),
		cmocka_unit_test(test_endpoint_check),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
