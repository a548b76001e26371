/* Unit tests for controller/notify.c: template rendering (all variables,
 * errors naming file:line, header injection, template names, the shipped
 * templates) and the runner (success with the exact message on stdin,
 * failure status with output, timeout with the process group killed and
 * reaped, environment, many concurrent jobs, no zombie and no fd leaks,
 * nothing but stdio inherited). Run from the source tree root (tests/run
 * does), or with CORDON_SRCDIR set: the shipped templates are read from
 * templates/. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "notify.h"
#include "util.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static char tmpdir[64];

/* ---- helpers ---- */

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Whole file into a static buffer; NULL if absent. */
static const char *read_back(const char *name)
{
	static char buf[65536];
	char path[256];
	size_t n;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	assert_int_equal(fclose(f), 0);
	return buf;
}

static json_t *all_vars(void)
{
	json_t *v = json_pack(
		"{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
		"case_id", (json_int_t)17, "category", "phishing",
		"vm_name", "web-01", "vm_uuid",
		"4b3e7a2c-1d2f-4e5a-9b8c-0123456789ab", "ip", "203.0.113.7",
		"contact", "ops@example.com", "from", "abuse@provider.example",
		"evidence", "GET /login.php HTTP/1.1\nHost: bank.example",
		"source", "CERT feed", "opened", "2026-11-23T05:00:00Z",
		"next_step", "phone call to your authorised contact",
		"next_due", "2026-11-23 07:00 UTC", "now",
		"2026-11-23T05:00:01Z");

	assert_non_null(v);
	return v;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	assert_int_equal(closedir(d), 0);
	return n - 1; /* the directory's own fd */
}

struct result {
	uint64_t id;
	int ok;
	char detail[NOTIFY_DETAIL_MAX];
};

struct results {
	struct result r[128];
	size_t n;
};

static void on_done(uint64_t id, int ok, const char *detail, void *arg)
{
	struct results *rs = arg;

	assert_true(rs->n < ARRAY_LEN(rs->r));
	rs->r[rs->n].id = id;
	rs->r[rs->n].ok = ok;
	snprintf(rs->r[rs->n].detail, sizeof rs->r[rs->n].detail, "%s", detail);
	rs->n++;
}

/* Polls until nothing runs, at most limit_ms; returns the time taken. */
static uint64_t drain(struct notifier *n, struct results *rs, int limit_ms)
{
	uint64_t start = now_mono_ms();
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	while (notifier_running(n) > 0) {
		assert_true(now_mono_ms() - start < (uint64_t)limit_ms);
		assert_true(notifier_poll(n, on_done, rs) >= 0);
		if (notifier_running(n) > 0)
			nanosleep(&ts, NULL);
	}
	return now_mono_ms() - start;
}

static void assert_no_children(void)
{
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

/* ---- setup ---- */

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_notify.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- templates ---- */

static void test_render_all_vars(void **state)
{
	json_t *v = all_vars();
	char err[256], *out;
	const char *expect =
		"To: ops@example.com\nFrom: abuse@provider.example\n"
		"Subject: [17] phishing web-01\n\n"
		"17 phishing web-01 4b3e7a2c-1d2f-4e5a-9b8c-0123456789ab "
		"203.0.113.7\nGET /login.php HTTP/1.1\nHost: bank.example\n"
		"CERT feed 2026-11-23T05:00:00Z\n"
		"phone call to your authorised contact at 2026-11-23 07:00 UTC"
		" (2026-11-23T05:00:01Z)\n";

	(void)state;
	write_file("all.txt",
		   "To: {{contact}}\nFrom: {{from}}\n"
		   "Subject: [{{case_id}}] {{category}} {{vm_name}}\n\n"
		   "{{case_id}} {{category}} {{vm_name}} {{vm_uuid}} {{ip}}\n"
		   "{{evidence}}\n{{source}} {{opened}}\n"
		   "{{next_step}} at {{next_due}} ({{now}})\n");
	assert_int_equal(notify_render(tmpdir, "all", v, &out, err,
				       sizeof err), 0);
	assert_string_equal(out, expect);
	free(out);
	assert_int_equal(notify_check_template(tmpdir, "all", err, sizeof err),
			 0);
	json_decref(v);
}

static void test_render_unknown_var(void **state)
{
	json_t *v = all_vars();
	char err[256], *out = (char *)1, want[128];

	(void)state;
	write_file("unk.txt", "To: {{contact}}\n\nline 3\n{{nope}} here\n");
	assert_int_equal(notify_render(tmpdir, "unk", v, &out, err,
				       sizeof err), -1);
	assert_null(out);
	snprintf(want, sizeof want, "%s/unk.txt:4:", tmpdir);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "{{nope}}"));
	/* The check knows the variable list without values. */
	err[0] = '\0';
	assert_int_equal(notify_check_template(tmpdir, "unk", err, sizeof err),
			 -1);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "nope"));
	json_decref(v);
}

static void test_render_malformed(void **state)
{
	static const struct { const char *text, *where, *what; } bad[] = {
		{ "To: x\n\n{{case_id\n", ":3:", "malformed" },
		{ "To: x\n\n{{}}\n", ":3:", "malformed" },
		{ "To: x\n\n{{case id}}\n", ":3:", "malformed" },
		{ "To: x\nnot a header\n\nbody\n", ":2:", "header" },
		{ "To: x\nSubject: y\n", "bad.txt:", "no empty line" },
		{ "To: {{contact}}\n\n{{vm_uuid}}\n", ":3:", "not a string" },
	};
	json_t *v = json_pack("{s:s, s:o}", "contact", "a@b", "vm_uuid",
			      json_real(1.5));
	char err[256], *out;

	(void)state;
	assert_non_null(v);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		write_file("bad.txt", bad[i].text);
		err[0] = '\0';
		assert_int_equal(notify_render(tmpdir, "bad", v, &out, err,
					       sizeof err), -1);
		if (!strstr(err, bad[i].where) || !strstr(err, bad[i].what))
			fail_msg("case %zu: %s", i, err);
	}
	json_decref(v);
}

static void test_header_injection(void **state)
{
	json_t *v = all_vars();
	char err[256], *out;

	(void)state;
	assert_int_equal(json_object_set_new(v, "contact", json_string(
		"ops@example.com\r\nBcc: victim@elsewhere.example")), 0);
	assert_int_equal(json_object_set_new(v, "category", json_string(
		"x\n\nforged body")), 0);
	assert_int_equal(json_object_set_new(v, "evidence", json_string(
		"line1\r\nBcc: stays@body.example")), 0);
	write_file("inj.txt", "To: {{contact}}\nSubject: {{category}}\n\n"
		   "{{evidence}}\n");
	assert_int_equal(notify_render(tmpdir, "inj", v, &out, err,
				       sizeof err), 0);
	assert_string_equal(out,
		"To: ops@example.com  Bcc: victim@elsewhere.example\n"
		"Subject: x  forged body\n\n"
		"line1\r\nBcc: stays@body.example\n");
	free(out);
	json_decref(v);
}

static void test_template_names(void **state)
{
	static const char *bad[] = {
		"", "../x", "a/b", "a.b", "x y", "/etc/passwd", "warning.txt",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	json_t *v = all_vars();
	char err[256], *out;

	(void)state;
	assert_int_equal(strlen(bad[ARRAY_LEN(bad) - 1]), NOTIFY_NAME_MAX + 1);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		assert_false(notify_name_ok(bad[i]));
		assert_int_equal(notify_render(tmpdir, bad[i], v, &out, err,
					       sizeof err), -1);
		assert_non_null(strstr(err, "bad template name"));
		assert_int_equal(notify_check_template(tmpdir, bad[i], err,
						       sizeof err), -1);
	}
	assert_false(notify_name_ok(NULL));
	assert_true(notify_name_ok("spam-report"));
	assert_true(notify_name_ok("A_z-09"));
	json_decref(v);
}

static void test_missing_template(void **state)
{
	json_t *v = all_vars();
	char err[256], *out, want[128];

	(void)state;
	snprintf(want, sizeof want, "%s/absent.txt: No such file", tmpdir);
	assert_int_equal(notify_render(tmpdir, "absent", v, &out, err,
				       sizeof err), -1);
	assert_non_null(strstr(err, want));
	assert_int_equal(notify_check_template(tmpdir, "absent", err,
					       sizeof err), -1);
	assert_non_null(strstr(err, want));
	assert_int_equal(notify_render(tmpdir, "warning", json_null(), &out,
				       err, sizeof err), -1);
	json_decref(v);
}

static void test_values(void **state)
{
	json_t *v = json_pack("{s:I, s:n, s:s}", "case_id",
			      (json_int_t)-9007199254740993LL, "evidence",
			      "ip", "2001:db8::1");
	char err[256], *out;

	(void)state;
	assert_non_null(v);
	write_file("val.txt", "X-Case: {{case_id}}\n\n[{{evidence}}] {{ip}}");
	assert_int_equal(notify_render(tmpdir, "val", v, &out, err,
				       sizeof err), 0);
	assert_string_equal(out, "X-Case: -9007199254740993\n\n[] 2001:db8::1");
	free(out);
	json_decref(v);
}

static const char *srcdir(void)
{
	const char *d = getenv("CORDON_SRCDIR");

	return d ? d : ".";
}

/* Every shipped template is valid and says what a customer must know. */
static void test_shipped_templates(void **state)
{
	static const char *names[] = { "warning", "ticket", "suspended",
				       "spam-report" };
	json_t *v = all_vars();
	char dir[256], err[256], *out;

	(void)state;
	snprintf(dir, sizeof dir, "%s/templates", srcdir());
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		if (notify_check_template(dir, names[i], err, sizeof err) < 0)
			fail_msg("%s", err);
		assert_int_equal(notify_render(dir, names[i], v, &out, err,
					       sizeof err), 0);
		assert_true(strncmp(out, "To: ops@example.com\n", 20) == 0);
		assert_non_null(strstr(out, "\nFrom: abuse@provider.example\n"));
		assert_non_null(strstr(out, "\nSubject: [Abuse case 17] "));
		assert_non_null(strstr(out, "phishing"));
		assert_non_null(strstr(out, "web-01"));
		assert_non_null(strstr(out, "203.0.113.7"));
		assert_non_null(strstr(out, "\n\nGET /login.php HTTP/1.1\n"));
		assert_non_null(strstr(out, "phone call to your authorised"));
		assert_non_null(strstr(out, "2026-11-23 07:00 UTC"));
		assert_non_null(strstr(out, "in writing"));
		free(out);
	}
	json_decref(v);
}

static void test_excerpt(void **state)
{
	char *e;

	(void)state;
	e = notify_excerpt("a\nb\nc\n", 100, 2);
	assert_string_equal(e, "a\nb\n[... truncated]");
	free(e);
	e = notify_excerpt("short", 100, 10);
	assert_string_equal(e, "short");
	free(e);
	/* "é" is 2 bytes: cutting at 2 must not keep half of it. */
	e = notify_excerpt("a\xc3\xa9z", 2, 10);
	assert_string_equal(e, "a\n[... truncated]");
	free(e);
}

/* ---- runner ---- */

static void spawn_ok(struct notifier *n, uint64_t id, const char *cmd,
		     const char *in, char *const env[], int timeout_ms)
{
	char err[256];

	if (notifier_spawn(n, id, cmd, in, env, timeout_ms, err,
			   sizeof err) < 0)
		fail_msg("spawn %s: %s", cmd, err);
}

static void test_run_success(void **state)
{
	struct notifier *n = notifier_new(4);
	struct results rs = { .n = 0 };
	char cmd[256], *big;
	const char *msg = "To: a@b\nSubject: x\n\nbody\n.\nend \xc3\xa9\n";
	size_t biglen = 1 << 20;

	(void)state;
	assert_non_null(n);
	snprintf(cmd, sizeof cmd, "cat > '%s/out.txt'", tmpdir);
	spawn_ok(n, 42, cmd, msg, NULL, 5000);
	assert_int_equal(notifier_running(n), 1);
	drain(n, &rs, 5000);
	assert_int_equal(rs.n, 1);
	assert_true(rs.r[0].id == 42);
	assert_int_equal(rs.r[0].ok, 1);
	assert_string_equal(rs.r[0].detail, "exit status 0");
	assert_string_equal(read_back("out.txt"), msg);
	/* 1 MiB, far more than a pipe holds: spawn must still not block. */
	big = malloc(biglen + 1);
	assert_non_null(big);
	memset(big, 'x', biglen);
	big[biglen] = '\0';
	snprintf(cmd, sizeof cmd, "sleep 0.2; wc -c > '%s/big.txt'", tmpdir);
	uint64_t t0 = now_mono_ms();
	spawn_ok(n, 43, cmd, big, NULL, 5000);
	assert_true(now_mono_ms() - t0 < 150);
	free(big);
	drain(n, &rs, 5000);
	assert_int_equal(rs.r[1].ok, 1);
	assert_int_equal(atol(read_back("big.txt")), (long)biglen);
	notifier_free(n);
	assert_no_children();
}

static void test_run_failure(void **state)
{
	struct notifier *n = notifier_new(4);
	struct results rs = { .n = 0 };

	(void)state;
	assert_non_null(n);
	spawn_ok(n, 1, "echo to-stderr >&2; echo to-stdout; exit 75", NULL,
		 NULL, 5000);
	spawn_ok(n, 2, "/nonexistent/sendmail -t -i", "x", NULL, 5000);
	spawn_ok(n, 3, "kill -TERM $$", NULL, NULL, 5000);
	drain(n, &rs, 5000);
	assert_int_equal(rs.n, 3);
	for (size_t i = 0; i < rs.n; i++) {
		const char *d = rs.r[i].detail;

		assert_int_equal(rs.r[i].ok, 0);
		if (rs.r[i].id == 1)
			assert_string_equal(d, "exit status 75: to-stderr "
					    "to-stdout");
		else if (rs.r[i].id == 2)
			assert_true(strncmp(d, "exit status 127: ", 17) == 0 &&
				    strstr(d, "/nonexistent/sendmail"));
		else
			assert_true(strncmp(d, "killed by signal 15 (", 21)
				    == 0);
	}
	notifier_free(n);
	assert_no_children();
}

/* Output tail: only the last bytes, one line. */
static void test_run_output_tail(void **state)
{
	struct notifier *n = notifier_new(1);
	struct results rs = { .n = 0 };
	const char *d;

	(void)state;
	assert_non_null(n);
	spawn_ok(n, 1, "i=0; while [ $i -lt 2000 ]; do echo line $i; "
		 "i=$((i+1)); done; printf 'END\\n\\n'; exit 3", NULL, NULL,
		 5000);
	drain(n, &rs, 5000);
	d = rs.r[0].detail;
	assert_true(strncmp(d, "exit status 3: ", 15) == 0);
	assert_true(strlen(d) <= 15 + NOTIFY_TAIL_MAX);
	assert_true(strlen(d) > 15 + NOTIFY_TAIL_MAX - 20);
	assert_string_equal(d + strlen(d) - 13, "line 1999 END");
	assert_null(strchr(d, '\n'));
	notifier_free(n);
}

static bool process_gone(pid_t pid)
{
	char path[64], buf[256];
	FILE *f;
	bool gone;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	/* A zombie waiting for its new parent (init) to reap it is dead. */
	gone = fgets(buf, sizeof buf, f) && strstr(buf, ") Z ");
	assert_int_equal(fclose(f), 0);
	return gone;
}

static void test_run_timeout(void **state)
{
	struct notifier *n = notifier_new(2);
	struct results rs = { .n = 0 };
	char cmd[256];
	uint64_t took;
	pid_t bg;
	int t;

	(void)state;
	assert_non_null(n);
	snprintf(cmd, sizeof cmd, "sleep 10 & echo $! > '%s/bg.pid'; sleep 10",
		 tmpdir);
	spawn_ok(n, 7, cmd, NULL, NULL, 200);
	t = notifier_timeout_ms(n);
	assert_true(t >= 0 && t <= NOTIFY_POLL_MS);
	took = drain(n, &rs, 2000);
	assert_true(took >= 190 && took < 1000);
	assert_int_equal(rs.n, 1);
	assert_int_equal(rs.r[0].ok, 0);
	assert_string_equal(rs.r[0].detail, "killed after timeout 200 ms");
	assert_int_equal(notifier_timeout_ms(n), -1);
	assert_no_children();
	/* The background sleep was in the job's process group. */
	bg = (pid_t)atol(read_back("bg.pid"));
	assert_true(bg > 0);
	for (int i = 0; i < 100 && !process_gone(bg); i++)
		usleep(10000);
	assert_true(process_gone(bg));
	notifier_free(n);
}

static void test_run_env(void **state)
{
	struct notifier *n = notifier_new(2);
	struct results rs = { .n = 0 };
	char *env[] = { "CORDON_CASE_ID=17", "CORDON_TEST_X=new", NULL };
	char *bad[] = { "NOEQUALS", NULL }, *bad2[] = { "=x", NULL };
	char cmd[256], err[256];

	(void)state;
	assert_non_null(n);
	assert_int_equal(setenv("CORDON_TEST_X", "old", 1), 0);
	snprintf(cmd, sizeof cmd, "printf '%%s %%s %%s %%s' \"$CORDON_CASE_ID\" "
		 "\"$CORDON_TEST_X\" $(env | grep -c '^CORDON_TEST_X=') "
		 "\"$HOME\" > '%s/env.txt'", tmpdir);
	spawn_ok(n, 1, cmd, NULL, env, 5000);
	drain(n, &rs, 5000);
	assert_int_equal(rs.r[0].ok, 1);
	snprintf(cmd, sizeof cmd, "17 new 1 %s", getenv("HOME") ? getenv("HOME") : "");
	assert_string_equal(read_back("env.txt"), cmd);
	assert_string_equal(getenv("CORDON_TEST_X"), "old");
	assert_int_equal(unsetenv("CORDON_TEST_X"), 0);
	errno = 0;
	assert_int_equal(notifier_spawn(n, 2, "true", NULL, bad, 1000, err,
					sizeof err), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(notifier_spawn(n, 2, "true", NULL, bad2, 1000, err,
					sizeof err), -1);
	assert_int_equal(notifier_running(n), 0);
	notifier_free(n);
}

static void test_run_bad_args(void **state)
{
	struct notifier *n;
	char err[256];

	(void)state;
	errno = 0;
	assert_null(notifier_new(0));
	assert_int_equal(errno, EINVAL);
	n = notifier_new(1);
	assert_non_null(n);
	assert_int_equal(notifier_spawn(n, 1, "true", NULL, NULL, 0, err,
					sizeof err), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(notifier_spawn(n, 1, "", NULL, NULL, 100, err,
					sizeof err), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(notifier_running(n), 0);
	assert_int_equal(notifier_poll(n, NULL, NULL), 0);
	notifier_free(n);
	notifier_free(NULL);
}

static void test_run_concurrent(void **state)
{
	enum { N = 64 };
	struct notifier *n = notifier_new(N);
	struct results rs = { .n = 0 };
	char cmd[256], in[32], err[256], name[32];
	bool seen[N] = { false };

	(void)state;
	assert_non_null(n);
	for (int i = 0; i < N; i++) {
		snprintf(cmd, sizeof cmd, "cat > '%s/c%d'", tmpdir, i);
		snprintf(in, sizeof in, "job %d\n", i);
		spawn_ok(n, (uint64_t)i + 1000, cmd, in, NULL, 10000);
	}
	assert_int_equal(notifier_running(n), N);
	errno = 0;
	assert_int_equal(notifier_spawn(n, 1, "true", NULL, NULL, 1000, err,
					sizeof err), -1);
	assert_int_equal(errno, EAGAIN);
	drain(n, &rs, 10000);
	assert_int_equal(rs.n, N);
	for (size_t i = 0; i < rs.n; i++) {
		int k = (int)(rs.r[i].id - 1000);

		assert_true(k >= 0 && k < N && !seen[k]);
		seen[k] = true;
		assert_int_equal(rs.r[i].ok, 1);
		snprintf(name, sizeof name, "c%d", k);
		snprintf(in, sizeof in, "job %d\n", k);
		assert_string_equal(read_back(name), in);
	}
	notifier_free(n);
	assert_no_children();
}

/* The child sees stdin, stdout, stderr and nothing else of ours. ls
 * lists its own fds (after the exec, so the shell's internal ones do not
 * count), the directory it reads being the lowest free one, 3. */
static void test_run_no_inherit(void **state)
{
	struct notifier *n = notifier_new(1);
	struct results rs = { .n = 0 };
	int fd = open("/dev/null", O_RDONLY); /* deliberately no O_CLOEXEC */

	(void)state;
	assert_non_null(n);
	assert_true(fd > 2);
	spawn_ok(n, 1, "exec ls /proc/self/fd", NULL, NULL, 5000);
	drain(n, &rs, 5000);
	assert_int_equal(rs.r[0].ok, 1);
	assert_string_equal(rs.r[0].detail, "exit status 0: 0 1 2 3");
	assert_int_equal(close(fd), 0);
	notifier_free(n);
}

static struct notifier *respawn_n;

/* done() may start the retry itself; the new job waits for a later poll. */
static void on_done_respawn(uint64_t id, int ok, const char *detail,
			    void *arg)
{
	on_done(id, ok, detail, arg);
	if (id == 1)
		spawn_ok(respawn_n, 2, "exit 0", NULL, NULL, 5000);
}

static void test_run_respawn_from_done(void **state)
{
	struct results rs = { .n = 0 };
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	(void)state;
	respawn_n = notifier_new(1);
	assert_non_null(respawn_n);
	spawn_ok(respawn_n, 1, "exit 1", NULL, NULL, 5000);
	for (int i = 0; i < 500 && rs.n < 2; i++) {
		assert_true(notifier_poll(respawn_n, on_done_respawn, &rs) >= 0);
		nanosleep(&ts, NULL);
	}
	assert_int_equal(rs.n, 2);
	assert_true(rs.r[0].id == 1 && rs.r[0].ok == 0);
	assert_true(rs.r[1].id == 2 && rs.r[1].ok == 1);
	notifier_free(respawn_n);
	assert_no_children();
}

static void test_no_leaks(void **state)
{
	struct notifier *n;
	struct results rs = { .n = 0 };
	int before = count_fds();

	(void)state;
	n = notifier_new(8);
	assert_non_null(n);
	spawn_ok(n, 1, "cat >/dev/null", "hello", NULL, 5000);
	spawn_ok(n, 2, "echo no; exit 75", NULL, NULL, 5000);
	spawn_ok(n, 3, "sleep 10", NULL, NULL, 100);
	assert_int_equal(count_fds(), before + 3);
	drain(n, &rs, 3000);
	assert_int_equal(rs.n, 3);
	assert_int_equal(count_fds(), before);
	/* Freed with jobs still running: killed and reaped, fds closed. */
	spawn_ok(n, 4, "sleep 10", NULL, NULL, 10000);
	spawn_ok(n, 5, "sleep 10 & sleep 10", NULL, NULL, 10000);
	notifier_free(n);
	assert_int_equal(count_fds(), before);
	assert_no_children();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_all_vars),
		cmocka_unit_test(test_render_unknown_var),
		cmocka_unit_test(test_render_malformed),
		cmocka_unit_test(test_header_injection),
		cmocka_unit_test(test_template_names),
		cmocka_unit_test(test_missing_template),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_shipped_templates),
		cmocka_unit_test(test_excerpt),
		cmocka_unit_test(test_run_success),
		cmocka_unit_test(test_run_failure),
		cmocka_unit_test(test_run_output_tail),
		cmocka_unit_test(test_run_timeout),
		cmocka_unit_test(test_run_env),
		cmocka_unit_test(test_run_bad_args),
		cmocka_unit_test(test_run_concurrent),
		cmocka_unit_test(test_run_no_inherit),
		cmocka_unit_test(test_run_respawn_from_done),
		cmocka_unit_test(test_no_leaks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
