/* Unit tests for agent/term.c, the agent's fence against a former leader:
 * which terms are taken, that a newer one is on disk before the message
 * is applied, that the term survives a restart (the state directory read
 * again), and that a damaged term file is refused rather than read as 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "term.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct fx {
	char dir[64];
	char file[96];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_term.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->file, sizeof(f->file), "%s/term", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unlink(f->file);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
}

static void read_file(const char *path, char *buf, size_t len)
{
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, len - 1, fp);
	buf[n] = '\0';
	fclose(fp);
}

/* The fence: older is stale, 0 only while nothing above 0 was taken. */
static void test_judge(void **state)
{
	static const struct { uint64_t seen, t; enum term_verdict want; } cases[] = {
		{ 0, 0, TERM_CURRENT },   /* a controller from before terms, never fenced */
		{ 0, 1, TERM_NEWER },
		{ 1, 0, TERM_STALE },     /* an older controller after a term: refused */
		{ 5, 5, TERM_CURRENT },
		{ 5, 4, TERM_STALE },
		{ 5, 6, TERM_NEWER },
		{ 5, UINT64_MAX, TERM_NEWER },
		{ UINT64_MAX, UINT64_MAX - 1, TERM_STALE },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		if (term_judge(cases[i].seen, cases[i].t) != cases[i].want)
			fail_msg("seen %llu, term %llu: verdict %d, want %d",
				 (unsigned long long)cases[i].seen, (unsigned long long)cases[i].t,
				 term_judge(cases[i].seen, cases[i].t), cases[i].want);
}

/* No file: term 0 (a fresh host, or one from before terms). */
static void test_open_missing(void **state)
{
	struct fx *f = *state;
	struct term_state t;
	char err[256] = "";

	assert_int_equal(term_open(&t, f->dir, err, sizeof(err)), 0);
	assert_true(t.seen == 0);
	assert_string_equal(t.path, f->file);
}

/* A newer term is on disk when term_accept says apply; a restart (the
 * directory opened again) starts from it and still fences older ones. */
static void test_accept_persists(void **state)
{
	struct fx *f = *state;
	struct term_state t, again;
	enum term_verdict v;
	char err[256] = "", text[32];

	assert_int_equal(term_open(&t, f->dir, err, sizeof(err)), 0);
	assert_int_equal(term_accept(&t, 0, &v), 1);   /* before terms: taken */
	assert_int_equal(v, TERM_CURRENT);
	assert_int_equal(access(f->file, F_OK), -1);    /* nothing to save */
	assert_int_equal(term_accept(&t, 3, &v), 1);
	assert_int_equal(v, TERM_NEWER);
	read_file(f->file, text, sizeof(text));
	assert_string_equal(text, "3\n");
	assert_int_equal(term_accept(&t, 3, &v), 1);
	assert_int_equal(v, TERM_CURRENT);
	assert_int_equal(term_accept(&t, 2, &v), 0);
	assert_int_equal(v, TERM_STALE);
	assert_int_equal(term_accept(&t, 0, &v), 0);
	assert_int_equal(v, TERM_STALE);
	assert_true(t.stale == 2 && t.seen == 3);

	assert_int_equal(term_open(&again, f->dir, err, sizeof(err)), 0);
	assert_true(again.seen == 3 && again.stale == 0);
	assert_int_equal(term_accept(&again, 2, NULL), 0);
	assert_int_equal(term_accept(&again, UINT64_MAX, NULL), 1);
	assert_int_equal(term_open(&again, f->dir, err, sizeof(err)), 0);
	assert_true(again.seen == UINT64_MAX);
	/* The file is private and no temporary is left beside it. */
	struct stat st;
	assert_int_equal(stat(f->file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	char tmp[128];
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->file);
	assert_int_equal(access(tmp, F_OK), -1);
}

/* A term that cannot be saved is not taken: the message is not applied
 * and the old term still holds. */
static void test_accept_save_fails(void **state)
{
	struct fx *f = *state;
	struct term_state t;
	enum term_verdict v;
	char err[256] = "";

	assert_int_equal(term_open(&t, f->dir, err, sizeof(err)), 0);
	assert_int_equal(term_accept(&t, 4, NULL), 1);
	/* A directory where the temporary file goes: the write fails. */
	char tmp[128];
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->file);
	assert_int_equal(mkdir(tmp, 0700), 0);
	assert_int_equal(term_accept(&t, 5, &v), 0);
	assert_int_equal(v, TERM_NEWER);
	assert_true(t.seen == 4 && t.stale == 0);
	rmdir(tmp);
	assert_int_equal(term_accept(&t, 5, NULL), 1);
	assert_true(t.seen == 5);
}

/* Anything but one decimal number refuses to start, naming the file. */
static void test_open_damaged(void **state)
{
	static const char *const bad[] = {
		"", "\n", "-1\n", "+3\n", "3 \n", " 3\n", "3\n\n", "0x10\n", "3a\n",
		"18446744073709551616\n", "99999999999999999999999\n", "{\"term\": 3}\n",
	};
	static const char *const good[] = { "0", "7", "7\n", "18446744073709551615\n" };
	struct fx *f = *state;
	struct term_state t;
	char err[256];

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		write_file(f->file, bad[i]);
		err[0] = '\0';
		if (term_open(&t, f->dir, err, sizeof(err)) == 0)
			fail_msg("'%s' accepted (term %llu)", bad[i], (unsigned long long)t.seen);
		assert_non_null(strstr(err, f->file));
	}
	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		write_file(f->file, good[i]);
		if (term_open(&t, f->dir, err, sizeof(err)) < 0)
			fail_msg("'%s' refused: %s", good[i], err);
		assert_true(t.seen == strtoull(good[i], NULL, 10));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge),
		cmocka_unit_test_setup_teardown(test_open_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept_persists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept_save_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_damaged, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
