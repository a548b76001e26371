/* Unit tests for controller/calendar.c: the seed's virus example, weekends,
 * holidays, both DST changes in two zones (inside and outside working
 * hours), zero and long durations, working-day masks, explanations,
 * calendar.conf parsing and durations. Random cases are checked against an
 * oracle that walks minute by minute with glibc's localtime_r (TZ set in
 * this single-threaded test), which also checks our TZif reader, including
 * the footer rule beyond 2037. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "calendar.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define H 3600L

static time_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi };

	return timegm(&tm);
}

/* Local wall time through glibc, for unambiguous times only. */
static time_t local(const char *zone, int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_isdst = -1 };

	assert_int_equal(setenv("TZ", zone, 1), 0);
	tzset();
	return mktime(&tm);
}

static struct calendar *cal_in(const char *zone)
{
	struct calendar *cal = calendar_new();
	char err[256];

	assert_non_null(cal);
	if (calendar_set_zone(cal, zone, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return cal;
}

static time_t add(const struct calendar *cal, time_t start, long secs)
{
	time_t out = 0;

	assert_int_equal(calendar_add_working(cal, start, secs, &out), 0);
	return out;
}

static void test_seed_virus_example(void **state)
{
	struct calendar *cal = cal_in("Asia/Kolkata");
	time_t raised = local("Asia/Kolkata", 2026, 3, 2, 5, 0); /* Monday */
	(void)state;

	assert_int_equal(add(cal, raised, 4 * H),
			 local("Asia/Kolkata", 2026, 3, 2, 13, 0));
	assert_int_equal(add(cal, raised, 1 * H),
			 local("Asia/Kolkata", 2026, 3, 2, 10, 0));
	assert_false(calendar_is_working(cal, raised));
	assert_true(calendar_is_working(cal, raised + 4 * H));
	calendar_free(cal);
}

static void test_friday_to_monday(void **state)
{
	static const char *const zones[] = { "Europe/London",
					     "America/New_York", "UTC" };
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(zones); i++) {
		struct calendar *cal = cal_in(zones[i]);

		/* An ordinary weekend, then the spring-forward weekends. */
		assert_int_equal(add(cal, local(zones[i], 2026, 2, 13, 17, 0), 4 * H),
				 local(zones[i], 2026, 2, 16, 12, 0));
		assert_int_equal(add(cal, local(zones[i], 2026, 3, 27, 17, 0), 4 * H),
				 local(zones[i], 2026, 3, 30, 12, 0));
		assert_int_equal(add(cal, local(zones[i], 2026, 3, 6, 17, 0), 4 * H),
				 local(zones[i], 2026, 3, 9, 12, 0));
		calendar_free(cal);
	}
	/* Exact values, independent of glibc: London 2026-03-30 is BST. */
	struct calendar *cal = cal_in("Europe/London");
	assert_int_equal(add(cal, utc(2026, 3, 27, 17, 0), 4 * H),
			 utc(2026, 3, 30, 11, 0));
	calendar_free(cal);
}

static void test_end_of_day_boundaries(void **state)
{
	struct calendar *cal = cal_in("UTC");
	(void)state;

	/* Exactly the rest of the day ends at closing, not next morning. */
	assert_int_equal(add(cal, utc(2026, 3, 2, 14, 0), 4 * H),
			 utc(2026, 3, 2, 18, 0));
	assert_int_equal(add(cal, utc(2026, 3, 2, 14, 0), 4 * H + 1),
			 utc(2026, 3, 3, 9, 0) + 1);
	/* After closing: counting starts at the next opening. */
	assert_int_equal(add(cal, utc(2026, 3, 2, 18, 0), 60),
			 utc(2026, 3, 3, 9, 1));
	assert_int_equal(add(cal, utc(2026, 3, 2, 23, 59), 9 * H),
			 utc(2026, 3, 3, 18, 0));
	calendar_free(cal);
}

static void test_holidays(void **state)
{
	struct calendar *cal = cal_in("Europe/London");
	char buf[512];
	(void)state;

	/* Easter 2026: Good Friday 04-03, Easter Monday 04-06. */
	assert_int_equal(calendar_add_holiday(cal, 2026, 4, 3), 0);
	assert_int_equal(calendar_add_holiday(cal, 2026, 4, 6), 0);
	assert_int_equal(calendar_add_holiday(cal, 2026, 4, 6), 0); /* dup */
	assert_int_equal(calendar_n_holidays(cal), 2);
	assert_int_equal(add(cal, utc(2026, 4, 2, 16, 0), 4 * H), /* 17:00 BST */
			 utc(2026, 4, 7, 11, 0));
	/* Raised on the holiday itself. */
	assert_false(calendar_is_working(cal, utc(2026, 4, 3, 10, 0)));
	assert_int_equal(add(cal, utc(2026, 4, 3, 10, 0), H),
			 utc(2026, 4, 7, 9, 0));
	assert_int_equal(calendar_explain(cal, utc(2026, 4, 2, 16, 0), 4 * H,
					  buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "counted from 17:00 Thu 2026-04-02 to "
			       "12:00 Tue 2026-04-07 BST over 2 working days, "
			       "skipping 2 non-working days and 2 holidays "
			       "(2026-04-03, 2026-04-06)"));
	assert_int_equal(calendar_add_holiday(cal, 2026, 2, 29), -1);
	assert_int_equal(calendar_add_holiday(cal, 2026, 13, 1), -1);
	assert_int_equal(calendar_add_holiday(cal, 2028, 2, 29), 0);
	calendar_free(cal);
}

/* Working hours not spanning the change (09:00-18:00, every day). */
static void test_dst_london_outside_hours(void **state)
{
	struct calendar *cal = cal_in("Europe/London");
	(void)state;

	assert_int_equal(calendar_set_days(cal, 0x7f), 0);
	/* Spring forward Sun 2026-03-29 01:00 GMT -> 02:00 BST. */
	assert_int_equal(add(cal, utc(2026, 3, 28, 17, 0), 2 * H),
			 utc(2026, 3, 29, 9, 0)); /* 10:00 BST */
	assert_int_equal(add(cal, utc(2026, 3, 29, 8, 0), 9 * H),
			 utc(2026, 3, 29, 17, 0)); /* a full 9-hour day */
	/* Fall back Sun 2026-10-25 02:00 BST -> 01:00 GMT. */
	assert_int_equal(add(cal, utc(2026, 10, 24, 16, 0), 2 * H),
			 utc(2026, 10, 25, 10, 0)); /* 10:00 GMT */
	assert_int_equal(add(cal, utc(2026, 10, 25, 9, 0), 9 * H),
			 utc(2026, 10, 25, 18, 0));
	calendar_free(cal);
}

/* Working hours spanning the change (00:00-06:00): counted on the wall
 * clock, so the short day still holds six working hours. */
static void test_dst_london_spanning_hours(void **state)
{
	struct calendar *cal = cal_in("Europe/London");
	(void)state;

	assert_int_equal(calendar_set_days(cal, 0x7f), 0);
	assert_int_equal(calendar_set_hours(cal, 0, 6 * 60), 0);
	/* Spring: 00:00 GMT + 4h -> 04:00 BST, 3 real hours later. */
	assert_int_equal(add(cal, utc(2026, 3, 29, 0, 0), 4 * H),
			 utc(2026, 3, 29, 3, 0));
	/* Ends at 01:30, which does not exist: moved on by the gap, 02:30 BST. */
	assert_int_equal(add(cal, utc(2026, 3, 29, 0, 0), 90 * 60),
			 utc(2026, 3, 29, 1, 30));
	assert_int_equal(add(cal, utc(2026, 3, 29, 0, 0), 6 * H),
			 utc(2026, 3, 29, 5, 0));
	/* Fall: 00:00 BST (Sat 23:00 UTC) + 4h -> 04:00 GMT, 5 real hours. */
	assert_int_equal(add(cal, utc(2026, 10, 24, 23, 0), 4 * H),
			 utc(2026, 10, 25, 4, 0));
	/* Ends at 01:30, shown twice: the first time, 01:30 BST. */
	assert_int_equal(add(cal, utc(2026, 10, 25, 0, 0), 30 * 60),
			 utc(2026, 10, 25, 0, 30));
	/* Started during the second 01:xx: never a deadline before start. */
	assert_int_equal(add(cal, utc(2026, 10, 25, 1, 20), 10 * 60),
			 utc(2026, 10, 25, 1, 30));
	assert_true(calendar_is_working(cal, utc(2026, 10, 25, 1, 30)));
	assert_false(calendar_is_working(cal, utc(2026, 10, 25, 6, 0)));
	calendar_free(cal);
}

static void test_dst_new_york(void **state)
{
	struct calendar *cal = cal_in("America/New_York");
	(void)state;

	/* Spring forward Sun 2026-03-08, fall back Sun 2026-11-01. */
	assert_int_equal(add(cal, utc(2026, 3, 6, 22, 0), 4 * H), /* Fri 17 EST */
			 utc(2026, 3, 9, 16, 0));                  /* Mon 12 EDT */
	assert_int_equal(add(cal, utc(2026, 10, 30, 21, 0), 4 * H), /* 17 EDT */
			 utc(2026, 11, 2, 17, 0));                   /* 12 EST */
	/* Round-the-clock working day across both changes. */
	assert_int_equal(calendar_set_days(cal, 0x7f), 0);
	assert_int_equal(calendar_set_hours(cal, 0, 24 * 60), 0);
	assert_int_equal(add(cal, utc(2026, 3, 8, 5, 0), 24 * H), /* 00 EST */
			 utc(2026, 3, 9, 4, 0));   /* 00 EDT: 23 real hours */
	assert_int_equal(add(cal, utc(2026, 11, 1, 4, 0), 24 * H), /* 00 EDT */
			 utc(2026, 11, 2, 5, 0));  /* 00 EST: 25 real hours */
	/* 02:30 on 03-08 does not exist: 03:30 EDT. */
	assert_int_equal(add(cal, utc(2026, 3, 8, 5, 0), 150 * 60),
			 utc(2026, 3, 8, 7, 30));
	calendar_free(cal);
}

static void test_zero_duration(void **state)
{
	struct calendar *cal = cal_in("Europe/London");
	time_t sat = utc(2026, 3, 28, 3, 0);
	char buf[512];
	(void)state;

	assert_int_equal(add(cal, sat, 0), sat);
	assert_int_equal(add(cal, utc(2026, 3, 2, 10, 0), 0),
			 utc(2026, 3, 2, 10, 0));
	/* Second 01:30 of the fall-back night stays itself. */
	assert_int_equal(add(cal, utc(2026, 10, 25, 1, 30), 0),
			 utc(2026, 10, 25, 1, 30));
	assert_int_equal(calendar_explain(cal, sat, 0, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "on a non-working day; no working time to "
			       "wait: due at once"));
	calendar_free(cal);
}

static void test_long_durations(void **state)
{
	struct calendar *cal = cal_in("Europe/London");
	struct timespec a, b;
	time_t out;
	(void)state;

	/* 100000 h = 2222 weeks of 45 h + 10 h: Mon 09:00 -> Tue 10:00. */
	clock_gettime(CLOCK_MONOTONIC, &a);
	out = add(cal, local("Europe/London", 2026, 1, 5, 9, 0), 100000 * H);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_int_equal(out, local("Europe/London", 2026, 1, 6 + 2222 * 7, 10, 0));
	assert_true((b.tv_sec - a.tv_sec) * 1000 +
		    (b.tv_nsec - a.tv_nsec) / 1000000 < 100);
	/* 1000 h with a holiday in the way: 22 weeks (990 h) + 10 h, then one
	 * more day for the holiday. */
	assert_int_equal(calendar_add_holiday(cal, 2026, 2, 2), 0);
	assert_int_equal(add(cal, local("Europe/London", 2026, 1, 5, 9, 0), 1000 * H),
			 local("Europe/London", 2026, 1, 7 + 22 * 7, 10, 0));
	/* Beyond what a ladder could mean, and nonsense. */
	assert_int_equal(calendar_add_working(cal, 0, 9000000 * H, &out), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(calendar_add_working(cal, 0, -1, &out), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(calendar_add_working(cal, INT64_MAX, H, &out), -1);
	assert_int_equal(errno, ERANGE);
	assert_false(calendar_is_working(cal, INT64_MIN));
	calendar_free(cal);
}

static void test_working_day_mask(void **state)
{
	struct calendar *cal = cal_in("UTC");
	char err[256];
	(void)state;

	/* Sun-Thu week: Thu 17:00 + 4h -> Sun 12:00. */
	assert_int_equal(calendar_parse_line(cal, "days = Sun-Thu", err,
					     sizeof(err)), 0);
	assert_int_equal(calendar_days(cal), CAL_SUN | 0x0fu);
	assert_int_equal(add(cal, utc(2026, 3, 5, 17, 0), 4 * H),
			 utc(2026, 3, 8, 12, 0));
	assert_false(calendar_is_working(cal, utc(2026, 3, 6, 12, 0)));
	assert_true(calendar_is_working(cal, utc(2026, 3, 8, 12, 0)));
	/* Only Wednesdays. */
	assert_int_equal(calendar_set_days(cal, CAL_WED), 0);
	assert_int_equal(add(cal, utc(2026, 3, 5, 17, 0), 10 * H),
			 utc(2026, 3, 18, 10, 0));
	assert_int_equal(calendar_set_days(cal, 0), -1);
	assert_int_equal(calendar_set_days(cal, 0x80), -1);
	assert_int_equal(calendar_parse_line(cal, "days = Mon,Wed,Fri-Sat", err,
					     sizeof(err)), 0);
	assert_int_equal(calendar_days(cal), CAL_MON | CAL_WED | CAL_FRI | CAL_SAT);
	calendar_free(cal);
}

static void test_explain(void **state)
{
	struct calendar *cal = cal_in("Europe/London");
	char buf[512], tiny[20];
	(void)state;

	assert_int_equal(calendar_explain(cal, utc(2026, 3, 2, 5, 0), 4 * H,
					  buf, sizeof(buf)), 0);
	assert_string_equal(buf,
		"raised 05:00 Mon 2026-03-02 GMT, before working hours; "
		"4 working hours counted from 09:00 Mon 2026-03-02 to "
		"13:00 Mon 2026-03-02 GMT; calendar 09:00-18:00 Mon-Fri "
		"Europe/London");
	assert_int_equal(calendar_explain(cal, utc(2026, 3, 27, 17, 0), 4 * H,
					  buf, sizeof(buf)), 0);
	assert_string_equal(buf,
		"raised 17:00 Fri 2026-03-27 GMT, within working hours; "
		"4 working hours counted from 17:00 Fri 2026-03-27 to "
		"12:00 Mon 2026-03-30 BST over 2 working days, skipping 2 "
		"non-working days; calendar 09:00-18:00 Mon-Fri Europe/London");
	assert_int_equal(calendar_explain(cal, utc(2026, 3, 2, 19, 0), 90 * 60,
					  buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "after working hours; 1h30m of working "
			       "time counted from 09:00 Tue 2026-03-03"));
	assert_int_equal(calendar_explain(cal, 0, H, tiny, sizeof(tiny)), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
	calendar_free(cal);
}

/* ---- oracle: glibc's localtime_r, one minute at a time ---- */

struct oracle_cal {
	const char *zone;
	int open, close;
	unsigned days;
	int hol[3][3];
};

static int oracle_working(const struct oracle_cal *o, time_t t)
{
	struct tm tm;
	int mod;

	assert_non_null(localtime_r(&t, &tm));
	mod = tm.tm_hour * 60 + tm.tm_min;
	if (!(o->days & (1u << ((tm.tm_wday + 6) % 7))))
		return 0;
	for (size_t i = 0; i < 3; i++)
		if (o->hol[i][0] == tm.tm_year + 1900 &&
		    o->hol[i][1] == tm.tm_mon + 1 && o->hol[i][2] == tm.tm_mday)
			return 0;
	return mod >= o->open && mod < o->close;
}

static time_t oracle_add(const struct oracle_cal *o, time_t t, long minutes)
{
	while (minutes > 0) {
		if (oracle_working(o, t))
			minutes--;
		t += 60;
	}
	return t;
}

static void check_oracle(const struct oracle_cal *o, unsigned seed, int n,
			 int y0, int years)
{
	struct calendar *cal = cal_in(o->zone);

	assert_int_equal(calendar_set_hours(cal, o->open, o->close), 0);
	assert_int_equal(calendar_set_days(cal, o->days), 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(calendar_add_holiday(cal, o->hol[i][0],
						      o->hol[i][1], o->hol[i][2]), 0);
	assert_int_equal(setenv("TZ", o->zone, 1), 0);
	tzset();
	srand(seed);
	for (int i = 0; i < n; i++) {
		time_t start = utc(y0, 1, 1, 0, 0) +
			       (time_t)(rand() % (years * 366)) * 86400 +
			       (rand() % 1440) * 60;
		long minutes = rand() % 4 ? rand() % 600 : rand() % 6000;
		time_t want = oracle_add(o, start, minutes);
		time_t got = add(cal, start, minutes * 60);

		if (got != want)
			fail_msg("%s start %lld +%ldm: got %lld want %lld",
				 o->zone, (long long)start, minutes,
				 (long long)got, (long long)want);
	}
	calendar_free(cal);
}

static void test_oracle(void **state)
{
	static const struct oracle_cal cals[] = {
		{ "Europe/London", 540, 1080, CAL_WEEKDAYS,
		  { { 2026, 4, 3 }, { 2026, 12, 25 }, { 2045, 5, 1 } } },
		{ "America/New_York", 480, 1020, CAL_WEEKDAYS | CAL_SAT,
		  { { 2026, 7, 3 }, { 2026, 11, 26 }, { 2050, 1, 3 } } },
		{ "Australia/Sydney", 570, 1050, CAL_WEEKDAYS,
		  { { 2026, 1, 26 }, { 2026, 4, 6 }, { 2040, 10, 1 } } },
		{ "Asia/Kolkata", 540, 1080, CAL_WEEKDAYS,
		  { { 2026, 1, 26 }, { 2026, 8, 14 }, { 2026, 10, 2 } } },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(cals); i++) {
		check_oracle(&cals[i], 1000 + (unsigned)i, 150, 2025, 3);
		/* Past the last TZif transition (2037): the footer rule. */
		check_oracle(&cals[i], 2000 + (unsigned)i, 60, 2038, 30);
	}
}

/* ---- calendar.conf and zones ---- */

static const char *srcdir(void)
{
	const char *d = getenv("CORDON_SRCDIR");

	return d ? d : ".";
}

static void test_load_shipped_conf(void **state)
{
	char path[4096], err[512];
	struct calendar *cal;
	int open, close;
	(void)state;

	snprintf(path, sizeof(path), "%s/docs/examples/calendar-e2e.conf", srcdir());
	cal = calendar_load(path, err, sizeof(err));
	if (!cal)
		fail_msg("%s", err);
	calendar_hours(cal, &open, &close);
	assert_int_equal(open, 540);
	assert_int_equal(close, 1080);
	assert_int_equal(calendar_days(cal), CAL_WEEKDAYS);
	assert_string_equal(calendar_zone(cal), "Asia/Kolkata");
	assert_int_equal(calendar_n_holidays(cal), 3);
	assert_false(calendar_is_working(cal, local("Asia/Kolkata", 2026, 1, 26,
						    10, 0)));
	calendar_free(cal);
}

static void test_conf_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "hours = 9-18\n", ":1: bad hours '9-18' (expected HH:MM-HH:MM)" },
		{ "hours = 18:00-09:00\n", ":1: bad hours '18:00-09:00' (opening" },
		{ "hours = 09:00-24:30\n", ":1: bad hours" },
		{ "hours = 09:60-18:00\n", ":1: bad hours" },
		{ "# ok\n\ndays = Mon-Fry\n", ":3: bad days 'Mon-Fry'" },
		{ "days = Mon,\n", ":1: bad days" },
		{ "days =\n", ":1: missing value for 'days'" },
		{ "zone = Europe/Lodnon\n", ":1: unknown time zone 'Europe/Lodnon'" },
		{ "zone = ../../etc/passwd\n", ":1: invalid time zone name" },
		{ "holiday = 2026-02-30\n", ":1: bad holiday '2026-02-30'" },
		{ "holiday = 26-12-25\n", ":1: bad holiday" },
		{ "holiday = 2026-12-25x\n", ":1: bad holiday" },
		{ "hour = 09:00-18:00\n", ":1: unknown key 'hour' (expected hours, "
					  "days, zone, holiday)" },
		{ "hours 09:00-18:00\n", ":1: expected 'key = value'" },
		{ "zone = UTC\nzone = UTC\n", ":2: 'zone' given twice" },
	};
	char path[] = "/tmp/test_calendar_XXXXXX", err[512];
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		int fd = mkstemp(path);
		FILE *f;

		assert_true(fd >= 0);
		f = fdopen(fd, "w");
		assert_non_null(f);
		assert_true(fputs(cases[i].text, f) >= 0);
		assert_int_equal(fclose(f), 0);
		err[0] = '\0';
		assert_null(calendar_load(path, err, sizeof(err)));
		if (strncmp(err, path, strlen(path)) != 0 ||
		    !strstr(err, cases[i].want))
			fail_msg("case %zu: got '%s', want '%s'", i, err,
				 cases[i].want);
		assert_int_equal(unlink(path), 0);
		memcpy(path + strlen(path) - 6, "XXXXXX", 6);
	}
	assert_null(calendar_load("/nonexistent/calendar.conf", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/calendar.conf: No such file"));
}

static void test_durations(void **state)
{
	static const struct {
		const char *text;
		long secs;
		const char *canon;
	} ok[] = {
		{ "0", 0, "0" }, { "90m", 5400, "1h30m" }, { "2h", 7200, "2h" },
		{ "1h30m", 5400, "1h30m" }, { "7d", 604800, "7d" },
		{ "45s", 45, "45s" }, { "1d2h3m4s", 93784, "1d2h3m4s" },
		{ "0h", 0, "0" }, { "3650d", 3650 * 86400L, "3650d" },
	};
	static const char *const bad[] = {
		"", "2", "h", "2x", "-2h", "+2h", "2h 30m", "30m2h", "2h2h",
		"1.5h", "2H", " 2h", "2h ",
	};
	char buf[CAL_DURATION_STRLEN];
	long v;
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
		assert_int_equal(calendar_duration_parse(ok[i].text, &v), 0);
		assert_int_equal(v, ok[i].secs);
		calendar_duration_format(v, buf, sizeof(buf));
		assert_string_equal(buf, ok[i].canon);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		if (calendar_duration_parse(bad[i], &v) == 0)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(errno, EINVAL);
	}
	assert_int_equal(calendar_duration_parse("3651d", &v), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(calendar_duration_parse("99999999999999999999h", &v), -1);
	assert_int_equal(errno, ERANGE);
}

static void test_zone_default_and_errors(void **state)
{
	struct calendar *cal;
	char err[512];
	(void)state;

	assert_int_equal(setenv("TZ", ":America/New_York", 1), 0);
	cal = calendar_new();
	assert_non_null(cal);
	assert_string_equal(calendar_zone(cal), "America/New_York");
	assert_int_equal(calendar_set_zone(cal, "Nowhere/Atlantis", err,
					   sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown time zone 'Nowhere/Atlantis'"));
	assert_string_equal(calendar_zone(cal), "America/New_York");
	assert_int_equal(calendar_set_zone(cal, "/etc/passwd", err,
					   sizeof(err)), -1);
	assert_int_equal(calendar_set_zone(cal, "right/UTC", err,
					   sizeof(err)), -1); /* leap seconds */
	calendar_free(cal);
	assert_int_equal(setenv("TZ", "Bogus/Zone", 1), 0);
	cal = calendar_new();
	assert_non_null(cal);
	assert_string_equal(calendar_zone(cal), "UTC");
	calendar_free(cal);
	calendar_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_virus_example),
		cmocka_unit_test(test_friday_to_monday),
		cmocka_unit_test(test_end_of_day_boundaries),
		cmocka_unit_test(test_holidays),
		cmocka_unit_test(test_dst_london_outside_hours),
		cmocka_unit_test(test_dst_london_spanning_hours),
		cmocka_unit_test(test_dst_new_york),
		cmocka_unit_test(test_zero_duration),
		cmocka_unit_test(test_long_durations),
		cmocka_unit_test(test_working_day_mask),
		cmocka_unit_test(test_explain),
		cmocka_unit_test(test_oracle),
		cmocka_unit_test(test_load_shipped_conf),
		cmocka_unit_test(test_conf_errors),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_zone_default_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
