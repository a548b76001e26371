/* Unit tests for common/termsafe.c: what reaches an operator's terminal
 * from foreign text. Tables of input and the exact text shown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "termsafe.h"
#include "utf8.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct escape_case {
	const char *in;
	const char *shown;
};

static void expect_escapes(const struct escape_case *cases, size_t n, int flags)
{
	for (size_t i = 0; i < n; i++) {
		char *out = termsafe_dup(cases[i].in, flags);
		assert_non_null(out);
		if (strcmp(out, cases[i].shown) != 0)
			fail_msg("case %zu: shown \"%s\", expected \"%s\"", i, out, cases[i].shown);
		free(out);
	}
}

static void test_c0_and_del(void **state)
{
	static const struct escape_case cases[] = {
		{ "\x1b[2J", "\\x1b[2J" },
		{ "\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\",
		  "\\x1b]8;;http://evil/\\x1b\\\\link\\x1b]8;;\\x1b\\\\" },
		{ "\x1b]0;title\a", "\\x1b]0;title\\x07" },
		{ "a\tb\nc\rd", "a\\tb\\nc\\rd" },
		{ "\x01\x1f", "\\x01\\x1f" },
		{ "del\x7f", "del\\x7f" },
		{ "back\\slash", "back\\\\slash" },
		{ " ~", " ~" },
		{ "", "" },
	};
	(void)state;
	expect_escapes(cases, ARRAY_LEN(cases), 0);
}

static void test_c1_and_unicode_controls(void **state)
{
	static const struct escape_case cases[] = {
		{ "\xc2\x9b" "2J", "\\u009b2J" },       /* U+009B CSI */
		{ "\xc2\x80\xc2\x9f", "\\u0080\\u009f" },
		{ "\xc2\xa0", "\xc2\xa0" },             /* U+00A0: printable */
		{ "abc\xe2\x80\xae" "evil", "abc\\u202eevil" }, /* bidi override */
		{ "\xe2\x80\xa8", "\\u2028" },          /* line separator */
		{ "\xe2\x81\xa6x\xe2\x81\xa9", "\\u2066x\\u2069" },
	};
	(void)state;
	expect_escapes(cases, ARRAY_LEN(cases), 0);
}

static void test_invalid_utf8(void **state)
{
	static const struct escape_case cases[] = {
		{ "\x9b" "2J", "\\x9b2J" },             /* raw C1 byte */
		{ "\x80", "\\x80" },                    /* stray continuation */
		{ "\xc0\xaf", "\\xc0\\xaf" },           /* overlong '/' */
		{ "\xc1\xbf", "\\xc1\\xbf" },
		{ "\xe0\x80\xaf", "\\xe0\\x80\\xaf" },  /* overlong, 3 bytes */
		{ "\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf" },
		{ "\xed\xa0\x80", "\\xed\\xa0\\x80" },  /* surrogate U+D800 */
		{ "\xed\xbf\xbf", "\\xed\\xbf\\xbf" },  /* surrogate U+DFFF */
		{ "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" }, /* U+110000 */
		{ "\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80" },
		{ "\xff\xfe", "\\xff\\xfe" },
		{ "ok\xe2\x82", "ok\\xe2\\x82" },       /* truncated at the end */
		{ "\xe2\x82x", "\\xe2\\x82x" },         /* truncated before ASCII */
		{ "\xf0\x9f\x98", "\\xf0\\x9f\\x98" },
	};
	(void)state;
	expect_escapes(cases, ARRAY_LEN(cases), 0);
}

static void test_valid_utf8_kept(void **state)
{
	static const struct escape_case cases[] = {
		{ "M\xc3\xbcller", "M\xc3\xbcller" },   /* Müller */
		{ "\xe2\x82\xac 5", "\xe2\x82\xac 5" }, /* € */
		{ "\xed\x9f\xbf", "\xed\x9f\xbf" },     /* U+D7FF, before surrogates */
		{ "\xee\x80\x80", "\xee\x80\x80" },     /* U+E000, after them */
		{ "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" }, /* emoji */
		{ "\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf" }, /* U+10FFFF */
		{ "web-1.example", "web-1.example" },
	};
	(void)state;
	expect_escapes(cases, ARRAY_LEN(cases), 0);
}

static void test_keep_lines(void **state)
{
	static const struct escape_case cases[] = {
		{ "line 1\nline 2\n", "line 1\nline 2\n" },
		{ "mail\r\nbody\r\n", "mail\nbody\n" },
		{ "lone\rcr", "lone\\rcr" },
		{ "tab\there\x1b[2J\n", "tab\\there\\x1b[2J\n" },
	};
	(void)state;
	expect_escapes(cases, ARRAY_LEN(cases), TERMSAFE_KEEP_LINES);
}

/* The worst case grows each byte to 4: the buffer must hold it. */
static void test_worst_case_size(void **state)
{
	char in[257], want[4 * 256 + 1];
	char *out;
	(void)state;

	for (int i = 0; i < 256; i++) {
		in[i] = (char)0xff;
		memcpy(want + 4 * i, "\\xff", 4);
	}
	in[256] = '\0';
	want[4 * 256] = '\0';
	out = termsafe_dup(in, 0);
	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
}

static void test_json_copy(void **state)
{
	static const char *const keep[] = { "evidence", NULL };
	json_t *in = json_pack("{s:s, s:s, s:i, s:b, s:n, s:[s, {s:s}]}", "name", "vm\x1b[2J",
			       "evidence", "a\nb\x1b", "n", 7, "t", 1, "z", "ips", "1\t2",
			       "evidence", "c\nd");
	json_t *out;
	(void)state;

	assert_non_null(in);
	out = termsafe_json(in, keep);
	assert_non_null(out);
	assert_string_equal(json_string_value(json_object_get(out, "name")), "vm\\x1b[2J");
	assert_string_equal(json_string_value(json_object_get(out, "evidence")), "a\nb\\x1b");
	assert_int_equal(json_integer_value(json_object_get(out, "n")), 7);
	assert_true(json_is_true(json_object_get(out, "t")));
	assert_true(json_is_null(json_object_get(out, "z")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(out, "ips"), 0)),
			    "1\\t2");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(out, "ips"), 1), "evidence")), "c\nd");
	/* The original is untouched: --json shows it exactly. */
	assert_string_equal(json_string_value(json_object_get(in, "name")), "vm\x1b[2J");
	json_decref(out);
	json_decref(in);
	assert_null(termsafe_json(NULL, NULL));
}

/* The wire codec refuses what the escaper would show as \xNN. */
static void test_utf8_valid(void **state)
{
	(void)state;
	assert_true(utf8_valid("M\xc3\xbcller \xf4\x8f\xbf\xbf \x1b"));
	assert_true(utf8_valid(""));
	assert_false(utf8_valid("\x9b"));
	assert_false(utf8_valid("\xc0\xaf"));
	assert_false(utf8_valid("\xed\xa0\x80"));
	assert_false(utf8_valid("ok\xe2\x82"));
}

static void test_fputs(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	(void)state;

	assert_non_null(f);
	assert_true(termsafe_fputs("x\x1b" "y\n", 0, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf, "x\\x1by\\n");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_c0_and_del),
		cmocka_unit_test(test_c1_and_unicode_controls),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_valid_utf8_kept),
		cmocka_unit_test(test_keep_lines),
		cmocka_unit_test(test_worst_case_size),
		cmocka_unit_test(test_json_copy),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_fputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
