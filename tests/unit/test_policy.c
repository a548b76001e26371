/* Unit tests for controller/policy.c: the shipped ladders, malformed files
 * (each rejected with file:line and the problem named), policy sets, the
 * canonical format, and due-time plans on wall and business clocks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "calendar.h"
#include "policy.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define H 3600L
#define D 86400L
#define PUB_PRIV (POLICY_SCOPE_PUBLIC | POLICY_SCOPE_PRIVATE)

static time_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi };

	return timegm(&tm);
}

static void policies_dir(char *buf, size_t len)
{
	const char *d = getenv("CORDON_SRCDIR");

	snprintf(buf, len, "%s/policies", d ? d : ".");
}

static struct policy *load_shipped(const char *category)
{
	char dir[4096], path[4200], err[512];
	struct policy *p;

	policies_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/%s.policy", dir, category);
	p = policy_load(path, err, sizeof(err));
	if (!p)
		fail_msg("%s", err);
	return p;
}

/* ---- shipped ladders ---- */

struct want_step {
	long offset;
	enum policy_action action;
	const char *tmpl;
	unsigned scopes;
	bool always, each_report;
	unsigned min_reports;
	long window;
};

static void check_steps(const struct policy *p, const struct want_step *w,
			size_t n)
{
	assert_int_equal(policy_n_steps(p), n);
	for (size_t i = 0; i < n; i++) {
		const struct policy_step *st = policy_step(p, i);

		assert_non_null(st);
		assert_int_equal(st->offset, w[i].offset);
		assert_int_equal(st->action, w[i].action);
		assert_string_equal(st->tmpl, w[i].tmpl ? w[i].tmpl : "");
		assert_int_equal(st->scopes, w[i].scopes);
		assert_int_equal(st->always, w[i].always);
		assert_int_equal(st->each_report, w[i].each_report);
		assert_int_equal(st->min_reports, w[i].min_reports);
		assert_int_equal(st->window, w[i].window);
		assert_true(st->line > 0);
	}
	assert_null(policy_step(p, n));
}

static void test_shipped_policies(void **state)
{
	static const struct want_step outbound[] = {
		{ 0, POLICY_SUSPEND, NULL, PUB_PRIV, true, false, 0, 0 },
		{ 0, POLICY_NOTIFY, "suspended", 0, true, false, 0, 0 },
	};
	static const struct want_step phishing[] = {
		{ 0, POLICY_NOTIFY, "warning", 0, false, false, 0, 0 },
		{ 2 * H, POLICY_CALL, NULL, 0, false, false, 0, 0 },
		{ 2 * H, POLICY_SUSPEND, NULL, PUB_PRIV, false, false, 0, 0 }, /* after call */
	};
	static const struct want_step virus[] = {
		{ 0, POLICY_NOTIFY, "ticket", 0, false, false, 0, 0 },
		{ 1 * H, POLICY_CALL, NULL, 0, false, false, 0, 0 },
		{ 4 * H, POLICY_POWEROFF, NULL, 0, false, false, 0, 0 },
	};
	static const struct want_step compromise[] = {
		{ 0, POLICY_NOTIFY, "warning", 0, false, false, 0, 0 },
		{ 2 * H, POLICY_CALL, NULL, 0, false, false, 0, 0 },
		{ 2 * H, POLICY_POWEROFF, NULL, 0, false, false, 0, 0 }, /* after call */
	};
	static const struct want_step spam[] = {
		{ 0, POLICY_NOTIFY, "spam-report", 0, true, true, 0, 0 },
		{ 0, POLICY_SUSPEND, NULL, POLICY_SCOPE_SMTP, true, false, 3, 7 * D },
		{ 0, POLICY_SUSPEND, NULL, POLICY_SCOPE_PUBLIC, true, false, 5, 7 * D },
	};
	static const struct {
		const char *category;
		enum policy_clock clock;
		const struct want_step *steps;
		size_t n;
	} cases[] = {
		{ "outbound-attack", POLICY_CLOCK_WALL, outbound, ARRAY_LEN(outbound) },
		{ "phishing", POLICY_CLOCK_WALL, phishing, ARRAY_LEN(phishing) },
		{ "other", POLICY_CLOCK_WALL, phishing, ARRAY_LEN(phishing) },
		{ "virus", POLICY_CLOCK_BUSINESS, virus, ARRAY_LEN(virus) },
		{ "compromise", POLICY_CLOCK_WALL, compromise, ARRAY_LEN(compromise) },
		{ "spam", POLICY_CLOCK_WALL, spam, ARRAY_LEN(spam) },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct policy *p = load_shipped(cases[i].category);

		assert_string_equal(policy_category(p), cases[i].category);
		assert_int_equal(policy_clock(p), cases[i].clock);
		assert_true(strlen(policy_description(p)) > 0);
		check_steps(p, cases[i].steps, cases[i].n);
		/* The seeds time the last step from the call. */
		if (policy_step(p, 1)->action == POLICY_CALL && strcmp(cases[i].category, "virus")) {
			assert_true(policy_step(p, 2)->after_call);
			assert_int_equal(policy_step(p, 2)->anchor, 1);
		}
		policy_free(p);
	}
}

static void test_shipped_set(void **state)
{
	static const char *const cats[] = { "compromise", "other",
		"outbound-attack", "phishing", "spam", "virus" };
	char dir[4096], err[512];
	struct policy_set *set;
	(void)state;

	policies_dir(dir, sizeof(dir));
	set = policy_set_load_dir(dir, err, sizeof(err));
	if (!set)
		fail_msg("%s", err);
	assert_int_equal(policy_set_count(set), ARRAY_LEN(cats)); /* no .conf */
	for (size_t i = 0; i < ARRAY_LEN(cats); i++) {
		assert_string_equal(policy_category(policy_set_at(set, i)), cats[i]);
		assert_ptr_equal(policy_set_find(set, cats[i]), policy_set_at(set, i));
	}
	assert_null(policy_set_find(set, "ddos"));
	assert_null(policy_set_at(set, ARRAY_LEN(cats)));
	policy_set_free(set);
	policy_set_free(NULL);
}

/* ---- malformed input ---- */

static void test_malformed(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "category = virus\nclock = wall\n\n# x\nstep 0 notify t\n"
		  "step 1h call\nstep 4h shutdown\n",
		  "t.policy:7: unknown action 'shutdown' (expected notify, "
		  "call, suspend, poweroff)" },
		{ "category = x\nstep 2x call\n",
		  "t.policy:2: bad offset '2x' (expected 0 or a duration such "
		  "as 90m, 2h, 1h30m, 7d)" },
		{ "category = x\nstep 2 call\n", "t.policy:2: bad offset '2'" },
		{ "category = x\nstep 30m2h call\n", "t.policy:2: bad offset" },
		{ "category = x\nstep 9999d call\n",
		  "t.policy:2: offset '9999d' too long" },
		{ "category = x\nstep\n", "t.policy:2: step: missing offset" },
		{ "category = x\nstep after call 2h poweroff\n",
		  "t.policy:2: after call: no call step before this one" },
		{ "category = x\nstep 1h call\nstep after notify 2h poweroff\n",
		  "t.policy:3: after: expected 'after call OFFSET'" },
		{ "category = x\nstep 1h call\nstep after call\n", "t.policy:3: step: missing offset" },
		{ "category = x\nstep 1h call\nstep after call 2h poweroff each-report\n",
		  "t.policy:3: 'after call' cannot be combined with each-report or when" },
		{ "category = x\nstep 1h\n", "t.policy:2: step: missing action" },
		{ "category = x\nstep 1h notify\n",
		  "t.policy:2: notify: missing template name" },
		{ "category = x\nstep 1h notify ../etc\n",
		  "t.policy:2: bad template name '../etc'" },
		{ "category = x\nstep 1h suspend\n",
		  "t.policy:2: suspend: missing scopes" },
		{ "category = x\nstep 1h suspend public,dmz\n",
		  "t.policy:2: unknown scope 'dmz' (expected public, private, "
		  "smtp, all)" },
		{ "category = x\nstep 1h suspend public,\n",
		  "t.policy:2: bad scopes 'public,'" },
		{ "category = x\nstep 1h call loudly\n",
		  "t.policy:2: unknown condition 'loudly'" },
		{ "category = x\nstep 1h poweroff always always\n",
		  "t.policy:2: condition 'always' given twice" },
		{ "category = x\nstep 1h call always unless-responded\n",
		  "t.policy:2: 'always' and 'unless-responded' contradict" },
		{ "category = x\nstep 0 suspend smtp when reports > 3 within 7d\n",
		  "t.policy:2: bad condition: expected 'when reports >= N within "
		  "DURATION'" },
		{ "category = x\nstep 0 suspend smtp when reports >= 3\n",
		  "t.policy:2: bad condition" },
		{ "category = x\nstep 0 suspend smtp when reports >= 0 within 7d\n",
		  "t.policy:2: bad report count '0'" },
		{ "category = x\nstep 0 suspend smtp when reports >= 3 within 7x\n",
		  "t.policy:2: bad window '7x'" },
		{ "category = x\nstep 0 suspend smtp when reports >= 3 within 0\n",
		  "t.policy:2: window must be longer than 0" },
		{ "category = x\nstep 0 notify t each-report when reports >= 2 "
		  "within 1d\n",
		  "t.policy:2: 'each-report' cannot be combined with 'when'" },
		{ "category = x\nclock = fast\nstep 0 call\n",
		  "t.policy:2: unknown clock 'fast' (expected wall, business)" },
		{ "category = x\ncategory = y\n", "t.policy:2: 'category' given twice" },
		{ "category = Phishing\n", "t.policy:1: bad category 'Phishing'" },
		{ "category = a b\n", "t.policy:1: bad category 'a b'" },
		{ "category =\n", "t.policy:1: missing value for 'category'" },
		{ "categroy = x\n", "t.policy:1: unknown key 'categroy' (expected "
				    "category, clock, description, step)" },
		{ "category = x\nsteps 0 call\n",
		  "t.policy:2: expected 'key = value' or 'step OFFSET ACTION'" },
		{ "clock = wall\nstep 0 call\n", "t.policy: missing 'category = NAME'" },
		{ "category = x\n# nothing\n", "t.policy: no steps" },
		{ "", "t.policy: missing 'category" },
	};
	char err[512];
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct policy *p;

		err[0] = '\0';
		p = policy_parse("t.policy", cases[i].text, err, sizeof(err));
		if (p || strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, err,
				 cases[i].want);
	}
}

static void test_long_line_and_files(void **state)
{
	char text[3000], err[512];
	(void)state;

	memset(text, 'x', sizeof(text));
	memcpy(text, "category = y\ndescription = ", 27);
	text[sizeof(text) - 1] = '\0';
	assert_null(policy_parse("t.policy", text, err, sizeof(err)));
	assert_string_equal(err, "t.policy:2: line too long (over 1023 bytes)");
	assert_null(policy_load("/nonexistent/x.policy", err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/x.policy: No such file or directory");
	assert_null(policy_set_load_dir("/nonexistent", err, sizeof(err)));
	assert_string_equal(err, "/nonexistent: No such file or directory");
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void remove_file(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(unlink(path), 0);
}

static void test_set_errors(void **state)
{
	char dir[] = "/tmp/test_policy_XXXXXX", err[512], want[1024];
	struct policy_set *set;
	(void)state;

	assert_non_null(mkdtemp(dir));
	assert_null(policy_set_load_dir(dir, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: no *.policy files", dir);
	assert_string_equal(err, want);

	write_file(dir, "a.policy", "category = phishing\nstep 0 call\n");
	write_file(dir, "b.policy", "category = phishing\nstep 1h call\n");
	write_file(dir, ".hidden.policy", "garbage\n");
	write_file(dir, "c.policy~", "garbage\n");
	assert_null(policy_set_load_dir(dir, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s/b.policy: category 'phishing' already "
		 "defined in %s/a.policy", dir, dir);
	assert_string_equal(err, want);

	write_file(dir, "b.policy", "category = other\nstep 1h cal\n");
	assert_null(policy_set_load_dir(dir, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s/b.policy:2: unknown action 'cal'", dir);
	assert_int_equal(strncmp(err, want, strlen(want)), 0);

	write_file(dir, "b.policy", "category = other\nstep 1h call\n");
	set = policy_set_load_dir(dir, err, sizeof(err));
	assert_non_null(set);
	assert_int_equal(policy_set_count(set), 2);
	policy_set_free(set);

	remove_file(dir, "a.policy");
	remove_file(dir, "b.policy");
	remove_file(dir, ".hidden.policy");
	remove_file(dir, "c.policy~");
	assert_int_equal(rmdir(dir), 0);
}

/* ---- canonical format ---- */

static void test_format_roundtrip(void **state)
{
	static const char *const cats[] = { "outbound-attack", "phishing",
		"other", "virus", "compromise", "spam" };
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(cats); i++) {
		struct policy *p = load_shipped(cats[i]), *q;
		char *text = NULL, err[512];
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);

		assert_non_null(f);
		assert_int_equal(policy_format(p, f), 0);
		assert_int_equal(fclose(f), 0);
		q = policy_parse("formatted", text, err, sizeof(err));
		if (!q)
			fail_msg("%s: %s\n%s", cats[i], err, text);
		assert_string_equal(policy_category(q), policy_category(p));
		assert_string_equal(policy_description(q), policy_description(p));
		assert_int_equal(policy_clock(q), policy_clock(p));
		assert_int_equal(policy_n_steps(q), policy_n_steps(p));
		for (size_t k = 0; k < policy_n_steps(p); k++) {
			struct policy_step a = *policy_step(p, k);
			struct policy_step b = *policy_step(q, k);

			a.line = b.line = 0;
			assert_memory_equal(&a, &b, sizeof(a));
		}
		if (strcmp(cats[i], "spam") == 0)
			assert_non_null(strstr(text, "step 0      suspend smtp when "
					       "reports >= 3 within 7d always\n"));
		policy_free(q);
		policy_free(p);
		free(text);
	}
}

/* The ladder a case keeps (controller/ladder.c): policy_format_ladder of
 * text as a string (the caller frees it). */
static char *ladder_of(const char *text)
{
	char err[512], *out = NULL;
	size_t len = 0;
	struct policy *p = policy_parse("t.policy", text, err, sizeof(err));
	FILE *f;

	if (!p)
		fail_msg("%s", err);
	f = open_memstream(&out, &len);
	assert_non_null(f);
	assert_int_equal(policy_format_ladder(p, f), 0);
	assert_int_equal(fclose(f), 0);
	policy_free(p);
	return out;
}

/* Comments, the description, spacing and the file's name are not the
 * ladder: two files that run the same steps give the same text, which
 * loads again; another step gives another text. */
static void test_format_ladder(void **state)
{
	char *a = ladder_of("# phishing\ncategory = phishing\ndescription = one\n"
			    "step 0 notify warning\nstep 2h call # item 3\n"
			    "step 4h suspend private,public\n");
	char *b = ladder_of("category=phishing\nclock = wall\n\nstep 0   notify warning\n"
			    "step 120m  call\nstep 4h  suspend public,private\n");
	char *c = ladder_of("category = phishing\nstep 0 notify warning\nstep 1h notify reminder\n"
			    "step 2h call\nstep 4h suspend public,private\n");
	char *again = ladder_of(a);

	(void)state;
	assert_string_equal(a, "category = phishing\nclock = wall\nstep 0      notify warning\n"
			    "step 2h     call\nstep 4h     suspend public,private\n");
	assert_string_equal(a, b);
	assert_string_equal(a, again);
	assert_string_not_equal(a, c);
	free(a);
	free(b);
	free(c);
	free(again);
}

/* What identifies a step across ladders (case replan matches on it). */
static void test_step_describe(void **state)
{
	struct policy *p = load_shipped("outbound-attack"), *q = load_shipped("compromise");
	char buf[96];

	(void)state;
	policy_step_describe(policy_step(p, 0), buf, sizeof(buf));
	assert_string_equal(buf, "suspend public,private");
	policy_step_describe(policy_step(p, 1), buf, sizeof(buf));
	assert_string_equal(buf, "notify suspended");
	policy_step_describe(policy_step(q, 1), buf, sizeof(buf));
	assert_string_equal(buf, "call");
	policy_step_describe(policy_step(q, 2), buf, sizeof(buf));
	assert_string_equal(buf, "poweroff");
	policy_free(p);
	policy_free(q);
}

/* ---- plans ---- */

static struct policy_plan *plan(const struct policy *p,
				const struct calendar *cal,
				const struct policy_case *c)
{
	struct policy_plan *pl = policy_plan_new(p, cal, c);

	assert_non_null(pl);
	return pl;
}

static void check_item(const struct policy_plan *pl, size_t i, size_t step,
		       time_t due, enum policy_due_state st)
{
	assert_true(i < pl->n);
	assert_int_equal(pl->items[i].step, step);
	assert_int_equal(pl->items[i].state, st);
	if (st != POLICY_DUE_WAITING)
		assert_int_equal(pl->items[i].due, due);
}

/* "after call 2h": from the later of the call's due time and the
 * moment it was recorded; an unrecorded call holds nothing back. */
static void test_plan_after_call(void **state)
{
	struct policy *p = load_shipped("phishing");
	time_t t0 = utc(2026, 11, 23, 10, 0);
	struct policy_case c = { .opened = t0 };
	struct policy_plan *pl;
	char *text;
	size_t len;
	FILE *f;
	(void)state;

	pl = plan(p, NULL, &c); /* no call recorded: 2 h after its due time */
	check_item(pl, 2, 2, t0 + 4 * H, POLICY_DUE_PENDING);
	policy_plan_free(pl);
	c.called_at = t0 + 2 * H + 40 * 60; /* made 40 minutes late */
	pl = plan(p, NULL, &c);
	check_item(pl, 2, 2, t0 + 4 * H + 40 * 60, POLICY_DUE_PENDING);
	policy_plan_free(pl);
	c.called_at = t0 + H; /* made early: its due time still counts */
	pl = plan(p, NULL, &c);
	check_item(pl, 2, 2, t0 + 4 * H, POLICY_DUE_PENDING);
	policy_plan_free(pl);
	/* The canonical text says it and loads again. */
	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(policy_format_ladder(p, f), 0);
	fclose(f);
	assert_non_null(strstr(text, "step after call 2h     suspend public,private\n"));
	free(text);
	policy_free(p);
}

static void test_plan_phishing(void **state)
{
	struct policy *p = load_shipped("phishing");
	time_t t0 = utc(2026, 3, 28, 23, 0); /* wall clock: weekends count */
	struct policy_case c = { .opened = t0 };
	struct policy_plan *pl;
	(void)state;

	pl = plan(p, NULL, &c);
	assert_int_equal(pl->n, 3);
	check_item(pl, 0, 0, t0, POLICY_DUE_PENDING);
	check_item(pl, 1, 1, t0 + 2 * H, POLICY_DUE_PENDING);
	check_item(pl, 2, 2, t0 + 4 * H, POLICY_DUE_PENDING);
	policy_plan_free(pl);

	/* Responded after the call: the cut is skipped. */
	c.responded = true;
	c.responded_at = t0 + 3 * H;
	pl = plan(p, NULL, &c);
	check_item(pl, 1, 1, t0 + 2 * H, POLICY_DUE_PENDING);
	check_item(pl, 2, 2, t0 + 4 * H, POLICY_DUE_SKIPPED);
	policy_plan_free(pl);
	/* Responded exactly when the call fell due: the call is skipped too. */
	c.responded_at = t0 + 2 * H;
	pl = plan(p, NULL, &c);
	check_item(pl, 1, 1, t0 + 2 * H, POLICY_DUE_SKIPPED);
	policy_plan_free(pl);
	policy_free(p);
}

static void test_plan_outbound_always(void **state)
{
	struct policy *p = load_shipped("outbound-attack");
	time_t t0 = utc(2026, 5, 1, 12, 0);
	struct policy_case c = { .opened = t0, .responded = true,
				 .responded_at = t0 };
	struct policy_plan *pl = plan(p, NULL, &c);
	(void)state;

	assert_int_equal(pl->n, 2);
	check_item(pl, 0, 0, t0, POLICY_DUE_PENDING); /* suspend first */
	check_item(pl, 1, 1, t0, POLICY_DUE_PENDING);
	policy_plan_free(pl);
	policy_free(p);
}

static void test_plan_virus_business(void **state)
{
	struct policy *p = load_shipped("virus");
	struct calendar *cal = calendar_new();
	time_t raised = utc(2026, 3, 27, 5, 0); /* Fri 05:00 GMT */
	struct policy_case c = { .opened = raised };
	struct policy_plan *pl;
	char err[256];
	(void)state;

	assert_non_null(cal);
	if (calendar_set_zone(cal, "Europe/London", err, sizeof(err)) < 0)
		fail_msg("%s", err);
	pl = plan(p, cal, &c);
	check_item(pl, 0, 0, raised, POLICY_DUE_PENDING);  /* ticket at once */
	check_item(pl, 1, 1, utc(2026, 3, 27, 10, 0), POLICY_DUE_PENDING);
	check_item(pl, 2, 2, utc(2026, 3, 27, 13, 0), POLICY_DUE_PENDING);
	policy_plan_free(pl);

	/* Raised Friday 16:30: the power-off lands after the DST weekend. */
	c.opened = utc(2026, 3, 27, 16, 30);
	pl = plan(p, cal, &c);
	check_item(pl, 1, 1, utc(2026, 3, 27, 17, 30), POLICY_DUE_PENDING);
	check_item(pl, 2, 2, utc(2026, 3, 30, 10, 30), POLICY_DUE_PENDING); /* 11:30 BST */
	policy_plan_free(pl);

	/* Responded before the call. */
	c.responded = true;
	c.responded_at = utc(2026, 3, 27, 17, 0);
	pl = plan(p, cal, &c);
	check_item(pl, 0, 0, c.opened, POLICY_DUE_PENDING);
	check_item(pl, 1, 1, utc(2026, 3, 27, 17, 30), POLICY_DUE_SKIPPED);
	check_item(pl, 2, 2, utc(2026, 3, 30, 10, 30), POLICY_DUE_SKIPPED);
	policy_plan_free(pl);

	/* A business clock needs a calendar. */
	assert_null(policy_plan_new(p, NULL, &c));
	assert_int_equal(errno, EINVAL);
	calendar_free(cal);
	policy_free(p);
}

static void test_plan_spam_thresholds(void **state)
{
	struct policy *p = load_shipped("spam");
	time_t t0 = utc(2026, 6, 1, 10, 0);
	time_t two[] = { t0, t0 + D };
	time_t three[] = { t0, t0 + D, t0 + 3 * D };
	time_t spread[] = { t0, t0 + 4 * D, t0 + 8 * D };
	time_t five[] = { t0, t0 + H, t0 + 2 * H, t0 + 3 * H, t0 + 9 * D,
			  t0 + 10 * D, t0 + 11 * D, t0 + 12 * D, t0 + 13 * D };
	struct policy_case c = { .opened = t0 };
	struct policy_plan *pl;
	(void)state;

	/* One report: notify only, both cuts waiting. */
	pl = plan(p, NULL, &c);
	assert_int_equal(pl->n, 3);
	check_item(pl, 0, 0, t0, POLICY_DUE_PENDING);
	check_item(pl, 1, 1, 0, POLICY_DUE_WAITING);
	check_item(pl, 2, 2, 0, POLICY_DUE_WAITING);
	policy_plan_free(pl);

	c.reports = two;
	c.n_reports = ARRAY_LEN(two);
	pl = plan(p, NULL, &c);
	assert_int_equal(pl->n, 4); /* a notice per report */
	check_item(pl, 1, 0, t0 + D, POLICY_DUE_PENDING);
	assert_int_equal(pl->items[1].report, 1);
	check_item(pl, 2, 1, 0, POLICY_DUE_WAITING);
	policy_plan_free(pl);

	/* Third report within 7 days: smtp cut due at its arrival, even
	 * though the customer answered (the step is "always"). */
	c.reports = three;
	c.n_reports = ARRAY_LEN(three);
	c.responded = true;
	c.responded_at = t0 + 2 * H;
	pl = plan(p, NULL, &c);
	check_item(pl, 3, 1, t0 + 3 * D, POLICY_DUE_PENDING);
	check_item(pl, 4, 2, 0, POLICY_DUE_WAITING);
	policy_plan_free(pl);

	/* Three reports but never three within 7 days. */
	c.reports = spread;
	c.n_reports = ARRAY_LEN(spread);
	pl = plan(p, NULL, &c);
	check_item(pl, 3, 1, 0, POLICY_DUE_WAITING);
	policy_plan_free(pl);

	/* 4 within 3 h, a lull, then 5 within 7 days only by day 13. */
	c.reports = five;
	c.n_reports = ARRAY_LEN(five);
	pl = plan(p, NULL, &c);
	assert_int_equal(pl->n, 11);
	check_item(pl, 3, 1, t0 + 2 * H, POLICY_DUE_PENDING);
	check_item(pl, 10, 2, t0 + 13 * D, POLICY_DUE_PENDING);
	policy_plan_free(pl);

	/* Reports out of order are refused. */
	time_t bad[] = { t0 + D, t0 };
	c.reports = bad;
	c.n_reports = 2;
	assert_null(policy_plan_new(p, NULL, &c));
	assert_int_equal(errno, EINVAL);
	policy_free(p);
}

static void test_plan_conditions(void **state)
{
	static const char text[] =
		"category = t\n"
		"step 1h notify a each-report          # per report, from it\n"
		"step 2h suspend smtp when reports >= 2 within 1h\n"
		"step 0  notify b unless-responded\n";
	char err[256];
	struct policy *p = policy_parse("t.policy", text, err, sizeof(err));
	time_t t0 = 1000000;
	time_t r[] = { t0, t0 + 30 * 60, t0 + 5 * H, t0 + 5 * H + 10 * 60 };
	struct policy_case c = { .opened = t0, .reports = r, .n_reports = 4,
				 .responded = true, .responded_at = t0 + 4 * H };
	struct policy_plan *pl;
	(void)state;

	if (!p)
		fail_msg("%s", err);
	pl = plan(p, NULL, &c);
	assert_int_equal(pl->n, 6);
	check_item(pl, 0, 2, t0, POLICY_DUE_PENDING);
	check_item(pl, 1, 0, t0 + H, POLICY_DUE_PENDING);
	check_item(pl, 2, 0, t0 + 90 * 60, POLICY_DUE_PENDING);
	/* At base (t0+2h) only 1 report in the last hour; threshold met at
	 * 5h10, but that is after the response: skipped. */
	check_item(pl, 3, 1, t0 + 5 * H + 10 * 60, POLICY_DUE_SKIPPED);
	check_item(pl, 4, 0, t0 + 6 * H, POLICY_DUE_SKIPPED);
	check_item(pl, 5, 0, t0 + 6 * H + 10 * 60, POLICY_DUE_SKIPPED);
	policy_plan_free(pl);
	policy_plan_free(NULL);
	policy_free(p);
	policy_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_policies),
		cmocka_unit_test(test_shipped_set),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_long_line_and_files),
		cmocka_unit_test(test_set_errors),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_format_ladder),
		cmocka_unit_test(test_step_describe),
		cmocka_unit_test(test_plan_phishing),
		cmocka_unit_test(test_plan_after_call),
		cmocka_unit_test(test_plan_outbound_always),
		cmocka_unit_test(test_plan_virus_business),
		cmocka_unit_test(test_plan_spam_thresholds),
		cmocka_unit_test(test_plan_conditions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
