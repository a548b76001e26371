/* Unit tests for common/mac.c: parsing and formatting, scope masks, and
 * the sorted-list operations the agent's set diffs rely on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mac.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void test_mac_parse_valid(void **state)
{
	static const struct {
		const char *text;
		uint8_t b[6];
		const char *formatted;
	} cases[] = {
		{ "52:54:00:12:34:56", { 0x52, 0x54, 0, 0x12, 0x34, 0x56 },
		  "52:54:00:12:34:56" },
		{ "FE:DC:BA:98:76:54", { 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54 },
		  "fe:dc:ba:98:76:54" },
		{ "00:00:00:00:00:00", { 0 }, "00:00:00:00:00:00" },
		{ "ff:ff:ff:ff:ff:ff", { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		  "ff:ff:ff:ff:ff:ff" },
		{ "0a:Bc:0D:e0:F1:23", { 0x0a, 0xbc, 0x0d, 0xe0, 0xf1, 0x23 },
		  "0a:bc:0d:e0:f1:23" },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct mac m;
		char out[MAC_STRLEN];

		assert_int_equal(mac_parse(cases[i].text, &m), 0);
		assert_memory_equal(m.b, cases[i].b, 6);
		mac_format(&m, out);
		assert_string_equal(out, cases[i].formatted);
	}
}

static void test_mac_parse_invalid(void **state)
{
	static const char *const cases[] = {
		"",
		"52:54:00:12:34",
		"52:54:00:12:34:5",
		"52:54:00:12:34:567",
		"52:54:00:12:34:56:",
		"52-54-00-12-34-56",
		"5254.0012.3456",
		"525400123456",
		"52:54:00:12:34:5g",
		"g2:54:00:12:34:56",
		" 52:54:00:12:34:5",
		"52:54:00:12:34:5 ",
		"52:54:00:12:34 56",
		"52::54:00:12:34:5",
		"+2:54:00:12:34:56",
		"52:54:00:12:34:-1",
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct mac m;

		if (mac_parse(cases[i], &m) != -1)
			fail_msg("accepted \"%s\"", cases[i]);
	}
}

static void test_mac_unicast(void **state)
{
	static const struct {
		const char *text;
		bool unicast;
	} cases[] = {
		{ "52:54:00:12:34:56", true },  { "02:00:00:00:00:01", true },
		{ "00:00:00:00:00:00", false }, { "01:00:5e:00:00:01", false },
		{ "ff:ff:ff:ff:ff:ff", false }, { "33:33:00:00:00:01", false },
		{ "fe:ff:ff:ff:ff:ff", true },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct mac m;

		assert_int_equal(mac_parse(cases[i].text, &m), 0);
		if (mac_is_unicast(&m) != cases[i].unicast)
			fail_msg("%s: unicast should be %d", cases[i].text,
				 cases[i].unicast);
	}
}

static void test_scope_names(void **state)
{
	(void)state;
	assert_string_equal(scope_name(0), "public");
	assert_string_equal(scope_name(1), "private");
	assert_string_equal(scope_name(2), "smtp");
	assert_string_equal(scope_name(-1), "?");
	assert_string_equal(scope_name(SCOPE_COUNT), "?");
	for (int i = 0; i < SCOPE_COUNT; i++)
		assert_int_equal(scope_index(scope_name(i)), i);
	assert_int_equal(scope_index("Public"), -1);
	assert_int_equal(scope_index(""), -1);
	assert_int_equal(scope_index("all"), -1);
}

static void test_scope_mask_parse(void **state)
{
	static const struct {
		const char *text;
		int rc;
		uint32_t mask;
	} cases[] = {
		{ "public", 0, SCOPE_PUBLIC },
		{ "private", 0, SCOPE_PRIVATE },
		{ "smtp", 0, SCOPE_SMTP },
		{ "public,private", 0, SCOPE_PUBLIC | SCOPE_PRIVATE },
		{ "smtp,public", 0, SCOPE_PUBLIC | SCOPE_SMTP },
		{ "public,public", 0, SCOPE_PUBLIC },
		{ "public,private,smtp", 0, SCOPE_ALL },
		/* "all" = the VM's network, which includes its mail. */
		{ "all", 0, SCOPE_PUBLIC | SCOPE_PRIVATE },
		{ "none", 0, 0 },
		{ "", -1, 0 },
		{ ",", -1, 0 },
		{ ",public", -1, 0 },
		{ "public,", -1, 0 },
		{ "public,,private", -1, 0 },
		{ "public private", -1, 0 },
		{ "PUBLIC", -1, 0 },
		{ "dmz", -1, 0 },
		{ "public,all", -1, 0 },
		{ "public,none", -1, 0 },
		{ "publicpublicpublicpublicpublicpublic", -1, 0 },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		uint32_t mask = 0xdead;
		int rc = scope_mask_parse(cases[i].text, &mask);

		if (rc != cases[i].rc)
			fail_msg("\"%s\": rc %d, expected %d", cases[i].text,
				 rc, cases[i].rc);
		if (rc == 0 && mask != cases[i].mask)
			fail_msg("\"%s\": mask %u, expected %u", cases[i].text,
				 mask, cases[i].mask);
		if (rc != 0 && mask != 0xdead)
			fail_msg("\"%s\": *out written on error",
				 cases[i].text);
	}
}

static void test_scope_mask_format(void **state)
{
	static const struct {
		uint32_t mask;
		const char *text;
	} cases[] = {
		{ 0, "none" },
		{ SCOPE_PUBLIC, "public" },
		{ SCOPE_PRIVATE | SCOPE_SMTP, "private,smtp" },
		{ SCOPE_ALL, "public,private,smtp" },
		{ 8, "none" },
	};
	char buf[64];
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		uint32_t back;

		scope_mask_format(cases[i].mask, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].text);
		assert_int_equal(scope_mask_parse(buf, &back), 0);
		assert_int_equal(back, cases[i].mask & SCOPE_ALL);
	}
	/* Too small a buffer cuts, never overflows. */
	scope_mask_format(SCOPE_ALL, buf, 10);
	assert_true(strlen(buf) < 10);
}

static void list_from(struct mac_list *l, const char *const *texts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct mac m;

		assert_int_equal(mac_parse(texts[i], &m), 0);
		assert_int_equal(mac_list_add(l, &m), 0);
	}
}

static void assert_list(const struct mac_list *l, const char *const *texts,
			size_t n)
{
	char buf[MAC_STRLEN];

	assert_int_equal(l->n, n);
	for (size_t i = 0; i < n; i++) {
		mac_format(&l->v[i], buf);
		assert_string_equal(buf, texts[i]);
	}
}

static void test_list_sort_unique(void **state)
{
	static const char *const in[] = {
		"52:54:00:00:00:03", "52:54:00:00:00:01", "52:54:00:00:00:03",
		"02:00:00:00:00:09", "52:54:00:00:00:01", "52:54:00:00:00:01",
	};
	static const char *const want[] = {
		"02:00:00:00:00:09",
		"52:54:00:00:00:01",
		"52:54:00:00:00:03",
	};
	struct mac_list l = { 0 };
	struct mac m;
	(void)state;

	mac_list_sort_unique(&l); /* empty list */
	assert_int_equal(l.n, 0);
	list_from(&l, in, ARRAY_LEN(in));
	mac_list_sort_unique(&l);
	assert_list(&l, want, ARRAY_LEN(want));
	assert_int_equal(mac_parse("52:54:00:00:00:03", &m), 0);
	assert_true(mac_list_contains(&l, &m));
	assert_int_equal(mac_parse("52:54:00:00:00:02", &m), 0);
	assert_false(mac_list_contains(&l, &m));
	mac_list_clear(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	assert_int_equal(l.cap, 0);
	mac_list_clear(&l); /* twice is fine */
}

static void test_list_grow(void **state)
{
	struct mac_list l = { 0 };
	(void)state;

	for (unsigned i = 0; i < 10000; i++) {
		struct mac m = { { 0x52, 0x54, 0, 0, (uint8_t)(i >> 8),
				   (uint8_t)i } };
		assert_int_equal(mac_list_add(&l, &m), 0);
	}
	assert_int_equal(l.n, 10000);
	for (unsigned i = 0; i < 10000; i++)
		assert_int_equal(l.v[i].b[4] << 8 | l.v[i].b[5], i);
	mac_list_clear(&l);
}

static void test_list_diff(void **state)
{
	static const char *const a[] = { "02:00:00:00:00:01",
					 "02:00:00:00:00:02",
					 "02:00:00:00:00:04",
					 "02:00:00:00:00:07" };
	static const char *const b[] = { "02:00:00:00:00:00",
					 "02:00:00:00:00:02",
					 "02:00:00:00:00:03",
					 "02:00:00:00:00:07",
					 "02:00:00:00:00:08" };
	static const char *const a_minus_b[] = { "02:00:00:00:00:01",
						 "02:00:00:00:00:04" };
	static const char *const b_minus_a[] = { "02:00:00:00:00:00",
						 "02:00:00:00:00:03",
						 "02:00:00:00:00:08" };
	struct mac_list la = { 0 }, lb = { 0 }, empty = { 0 }, out = { 0 };
	(void)state;

	list_from(&la, a, ARRAY_LEN(a));
	list_from(&lb, b, ARRAY_LEN(b));
	assert_int_equal(mac_list_diff(&la, &lb, &out), 0);
	assert_list(&out, a_minus_b, ARRAY_LEN(a_minus_b));
	out.n = 0;
	assert_int_equal(mac_list_diff(&lb, &la, &out), 0);
	assert_list(&out, b_minus_a, ARRAY_LEN(b_minus_a));
	out.n = 0;
	assert_int_equal(mac_list_diff(&la, &empty, &out), 0);
	assert_list(&out, a, ARRAY_LEN(a));
	out.n = 0;
	assert_int_equal(mac_list_diff(&empty, &la, &out), 0);
	assert_int_equal(out.n, 0);
	assert_int_equal(mac_list_diff(&la, &la, &out), 0);
	assert_int_equal(out.n, 0);
	mac_list_clear(&la);
	mac_list_clear(&lb);
	mac_list_clear(&out);
}

static void test_list_union_has(void **state)
{
	static const char *const a[] = { "02:00:00:00:00:01", "02:00:00:00:00:04" };
	static const char *const b[] = { "02:00:00:00:00:00", "02:00:00:00:00:04",
					 "02:00:00:00:00:09" };
	static const char *const both[] = { "02:00:00:00:00:00", "02:00:00:00:00:01",
					    "02:00:00:00:00:04", "02:00:00:00:00:09" };
	struct mac_list la = { 0 }, lb = { 0 }, empty = { 0 }, out;
	struct mac m;
	(void)state;

	list_from(&la, a, ARRAY_LEN(a));
	list_from(&lb, b, ARRAY_LEN(b));
	assert_int_equal(mac_list_union(&la, &lb, &out), 0);
	assert_list(&out, both, ARRAY_LEN(both));
	for (size_t i = 0; i < ARRAY_LEN(both); i++) {
		assert_int_equal(mac_parse(both[i], &m), 0);
		assert_true(mac_list_has_sorted(&out, &m));
	}
	assert_int_equal(mac_parse("02:00:00:00:00:02", &m), 0);
	assert_false(mac_list_has_sorted(&out, &m));
	assert_false(mac_list_has_sorted(&empty, &m));
	mac_list_clear(&out);
	assert_int_equal(mac_list_union(&empty, &la, &out), 0);
	assert_list(&out, a, ARRAY_LEN(a));
	mac_list_clear(&out);
	mac_list_clear(&la);
	mac_list_clear(&lb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac_parse_valid),
		cmocka_unit_test(test_mac_parse_invalid),
		cmocka_unit_test(test_mac_unicast),
		cmocka_unit_test(test_scope_names),
		cmocka_unit_test(test_scope_mask_parse),
		cmocka_unit_test(test_scope_mask_format),
		cmocka_unit_test(test_list_sort_unique),
		cmocka_unit_test(test_list_grow),
		cmocka_unit_test(test_list_diff),
		cmocka_unit_test(test_list_union_has),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
