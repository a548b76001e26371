/* Business-hours calendar.
 *
 * Time zones: we read the zone's TZif file (RFC 8536) ourselves instead of
 * setting TZ and calling localtime()/mktime(). glibc keeps exactly one zone
 * per process in global state behind TZ; switching it under a mutex of our
 * own would still race with every other localtime()/getenv() caller (libc,
 * sqlite, libraries), would make two calendars in two zones contend, and an
 * unknown zone name silently becomes UTC. A TZif reader is ~200 lines, has
 * no global state, and fails loudly on a bad zone name. The POSIX TZ string
 * in the file's footer covers instants after the last listed transition.
 *
 * Working time: working hours are wall-clock times, and a working day is
 * counted in local wall-clock hours. All counting is done on "civil"
 * seconds (local wall time as if it were UTC), which makes weekends, DST
 * weekends and long spans plain arithmetic; only the start and the result
 * are converted. A result that falls in the hour skipped by a spring-forward
 * change is moved forward by the gap (as mktime does); one that falls in the
 * hour repeated by a fall-back change takes its first occurrence not before
 * the start. */
#include "calendar.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DAY 86400L
#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define TZ_MAX_FILE (256 * 1024)
#define TZ_ABBR_MAX 16
/* add_working gives up after this many days: no real ladder is that long. */
#define WALK_MAX_DAYS (200L * 366)
#define DURATION_MAX (3650L * DAY)

/* ---- civil dates (H. Hinnant's algorithms, proleptic Gregorian) ---- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* 0 = Monday .. 6 = Sunday; 1970-01-01 was a Thursday. */
static int weekday_mon0(int64_t days)
{
	return (int)(((days % 7) + 7 + 3) % 7);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
	static const int n[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : n[m - 1];
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- POSIX TZ rule (the TZif footer, e.g. "GMT0BST,M3.5.0/1,M10.5.0") ---- */

struct tz_date {
	char kind;      /* 'M' month.week.day, 'J' Julian 1..365, 'N' 0..365 */
	int m, w, d, n;
	int32_t secs;   /* local time of day the change happens */
};

struct tz_rule {
	int32_t std_off, dst_off; /* seconds east of UTC */
	bool has_dst;
	char std_abbr[TZ_ABBR_MAX], dst_abbr[TZ_ABBR_MAX];
	struct tz_date start, end;
};

static const char *rule_name(const char *s, char *out)
{
	size_t n = 0;

	if (*s == '<') {
		for (s++; *s && *s != '>'; s++)
			if (n + 1 < TZ_ABBR_MAX)
				out[n++] = *s;
		if (*s != '>')
			return NULL;
		s++;
	} else {
		for (; isalpha((unsigned char)*s); s++)
			if (n + 1 < TZ_ABBR_MAX)
				out[n++] = *s;
	}
	out[n] = '\0';
	return n >= 3 ? s : NULL;
}

static const char *rule_num(const char *s, int max, int *out)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s))
		return NULL;
	v = strtol(s, &end, 10);
	if (v > max)
		return NULL;
	*out = (int)v;
	return end;
}

/* [+-]hh[:mm[:ss]] with hh up to 167 (RFC 8536 extension). */
static const char *rule_time(const char *s, int32_t *out)
{
	int sign = 1, h, m = 0, sec = 0;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (!(s = rule_num(s, 167, &h)))
		return NULL;
	if (*s == ':' && !(s = rule_num(s + 1, 59, &m)))
		return NULL;
	if (*s == ':' && !(s = rule_num(s + 1, 59, &sec)))
		return NULL;
	*out = sign * (h * 3600 + m * 60 + sec);
	return s;
}

static const char *rule_date(const char *s, struct tz_date *dt)
{
	memset(dt, 0, sizeof(*dt));
	dt->secs = 7200;
	if (*s == 'M') {
		dt->kind = 'M';
		if (!(s = rule_num(s + 1, 12, &dt->m)) || *s != '.' ||
		    !(s = rule_num(s + 1, 5, &dt->w)) || *s != '.' ||
		    !(s = rule_num(s + 1, 6, &dt->d)) || dt->m < 1 || dt->w < 1)
			return NULL;
	} else if (*s == 'J') {
		dt->kind = 'J';
		if (!(s = rule_num(s + 1, 365, &dt->n)) || dt->n < 1)
			return NULL;
	} else {
		dt->kind = 'N';
		if (!(s = rule_num(s, 365, &dt->n)))
			return NULL;
	}
	if (*s == '/' && !(s = rule_time(s + 1, &dt->secs)))
		return NULL;
	return s;
}

static int rule_parse(const char *s, struct tz_rule *r)
{
	int32_t off;

	memset(r, 0, sizeof(*r));
	if (!(s = rule_name(s, r->std_abbr)) || !(s = rule_time(s, &off)))
		return -1;
	r->std_off = -off; /* POSIX offsets count west of Greenwich */
	if (*s == '\0')
		return 0;
	if (!(s = rule_name(s, r->dst_abbr)))
		return -1;
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (*s != ',' && *s != '\0') {
		if (!(s = rule_time(s, &off)))
			return -1;
		r->dst_off = -off;
	}
	/* A footer with DST but no rule is legal POSIX but never produced by
	 * zic; refuse it rather than guess. */
	if (*s != ',' || !(s = rule_date(s + 1, &r->start)) || *s != ',' ||
	    !(s = rule_date(s + 1, &r->end)))
		return -1;
	return *s == '\0' ? 0 : -1;
}

/* Day number of a rule date in year y. */
static int64_t rule_day(const struct tz_date *dt, int64_t y)
{
	int64_t jan1 = days_from_civil(y, 1, 1), first;
	int wd, day;

	if (dt->kind == 'J')
		return jan1 + dt->n - 1 + (is_leap(y) && dt->n >= 60);
	if (dt->kind == 'N')
		return jan1 + dt->n;
	first = days_from_civil(y, dt->m, 1);
	wd = (weekday_mon0(first) + 1) % 7; /* Sunday = 0 as POSIX counts */
	day = 1 + (dt->d - wd + 7) % 7 + 7 * (dt->w - 1);
	while (day > month_days(y, dt->m))
		day -= 7;
	return first + day - 1;
}

static bool rule_is_dst(const struct tz_rule *r, int64_t t)
{
	int64_t y, start, end;
	int m, d;

	if (!r->has_dst)
		return false;
	civil_from_days(floor_div(t + r->std_off, DAY), &y, &m, &d);
	start = rule_day(&r->start, y) * DAY + r->start.secs - r->std_off;
	end = rule_day(&r->end, y) * DAY + r->end.secs - r->dst_off;
	if (start < end)
		return t >= start && t < end;
	return !(t >= end && t < start); /* southern hemisphere */
}

/* ---- TZif zones ---- */

struct tz_type {
	int32_t off;
	char abbr[TZ_ABBR_MAX];
};

struct tz {
	char name[CAL_ZONE_MAX];
	size_t n_trans, n_types;
	int64_t *at;            /* transition instants, ascending */
	uint8_t *idx;           /* type index per transition */
	struct tz_type *types;
	bool has_rule;
	struct tz_rule rule;
};

static void tz_free(struct tz *tz)
{
	if (!tz)
		return;
	free(tz->at);
	free(tz->idx);
	free(tz->types);
	free(tz);
}

static struct tz *tz_utc(const char *name)
{
	struct tz *tz = calloc(1, sizeof(*tz));

	if (!tz)
		return NULL;
	tz->types = calloc(1, sizeof(*tz->types));
	if (!tz->types) {
		free(tz);
		return NULL;
	}
	tz->n_types = 1;
	snprintf(tz->types[0].abbr, TZ_ABBR_MAX, "UTC");
	snprintf(tz->name, sizeof(tz->name), "%s", name);
	return tz;
}

struct tzif_hdr {
	unsigned version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int tzif_header(const unsigned char *p, size_t len, struct tzif_hdr *h)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	h->version = p[4] ? (unsigned)(p[4] - '0') : 1;
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	if (h->typecnt == 0 || h->typecnt > 256 || h->timecnt > 100000 ||
	    h->charcnt > 4096 || h->isutcnt > h->typecnt ||
	    h->isstdcnt > h->typecnt || h->leapcnt > 10000)
		return -1;
	return 0;
}

static size_t tzif_block_len(const struct tzif_hdr *h, size_t tsize)
{
	return h->timecnt * (tsize + 1) + h->typecnt * 6 + h->charcnt +
	       h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

static int tzif_alloc(struct tz *tz, const struct tzif_hdr *h)
{
	tz->n_trans = h->timecnt;
	tz->n_types = h->typecnt;
	tz->at = calloc(h->timecnt ? h->timecnt : 1, sizeof(*tz->at));
	tz->idx = calloc(h->timecnt ? h->timecnt : 1, 1);
	tz->types = calloc(h->typecnt, sizeof(*tz->types));
	return tz->at && tz->idx && tz->types ? 0 : -1;
}

/* Reads one data block (p just after its header). */
static int tzif_block(struct tz *tz, const struct tzif_hdr *h,
		      const unsigned char *p, size_t tsize)
{
	const unsigned char *types = p + h->timecnt * (tsize + 1);
	const char *chars = (const char *)types + h->typecnt * 6;

	for (size_t i = 0; i < h->timecnt; i++) {
		tz->at[i] = tsize == 8 ? be64(p + i * 8)
				       : (int32_t)be32(p + i * 4);
		tz->idx[i] = p[h->timecnt * tsize + i];
		if (tz->idx[i] >= h->typecnt ||
		    (i > 0 && tz->at[i] <= tz->at[i - 1]))
			return -1;
	}
	for (size_t i = 0; i < h->typecnt; i++) {
		const unsigned char *t = types + i * 6;
		int32_t off = (int32_t)be32(t);

		if (t[5] >= h->charcnt || off <= -26 * 3600 || off >= 26 * 3600)
			return -1;
		tz->types[i].off = off;
		snprintf(tz->types[i].abbr, TZ_ABBR_MAX, "%.*s",
			 (int)(h->charcnt - t[5]), chars + t[5]);
	}
	return 0;
}

static int tzif_footer(struct tz *tz, const unsigned char *p, size_t len)
{
	char buf[128];
	const unsigned char *nl;

	if (len < 2 || p[0] != '\n')
		return -1;
	nl = memchr(p + 1, '\n', len - 1);
	if (!nl || (size_t)(nl - p - 1) >= sizeof(buf))
		return -1;
	memcpy(buf, p + 1, (size_t)(nl - p - 1));
	buf[nl - p - 1] = '\0';
	if (buf[0] == '\0')
		return 0; /* empty footer: no rule beyond the table */
	if (rule_parse(buf, &tz->rule) < 0)
		return -1;
	tz->has_rule = true;
	return 0;
}

static int tzif_parse(struct tz *tz, const unsigned char *p, size_t len)
{
	struct tzif_hdr h;
	size_t blk;

	if (tzif_header(p, len, &h) < 0)
		return -1;
	blk = tzif_block_len(&h, 4);
	if (len < 44 + blk)
		return -1;
	if (h.version >= 2) { /* skip the 32-bit block, use the 64-bit one */
		p += 44 + blk;
		len -= 44 + blk;
		if (tzif_header(p, len, &h) < 0)
			return -1;
		blk = tzif_block_len(&h, 8);
		if (len < 44 + blk)
			return -1;
	}
	/* time_t does not count leap seconds; "right/" zones would be wrong. */
	if (h.leapcnt != 0 || tzif_alloc(tz, &h) < 0 ||
	    tzif_block(tz, &h, p + 44, h.version >= 2 ? 8 : 4) < 0)
		return -1;
	if (h.version >= 2)
		return tzif_footer(tz, p + 44 + blk, len - 44 - blk);
	return 0;
}

static bool zone_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= CAL_ZONE_MAX || name[0] == '/' || name[0] == '.' ||
	    strstr(name, "..") || strstr(name, "/."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) &&
		    !strchr("/_+-.", name[i]))
			return false;
	return true;
}

static unsigned char *read_small_file(const char *path, size_t max,
				      size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;

	if (!f)
		return NULL;
	buf = malloc(max);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, max, f);
	if (ferror(f) || *len == max) {
		if (!ferror(f))
			errno = EFBIG;
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	return buf;
}

/* TZDIR as glibc honours it, so tests and odd installs can point elsewhere. */
static struct tz *tz_load(const char *name, char *err, size_t errlen)
{
	const char *dir = getenv("TZDIR");
	char path[4096];
	unsigned char *data;
	size_t len;
	struct tz *tz;

	if (!zone_name_ok(name)) {
		set_err(err, errlen, "invalid time zone name '%s'", name);
		errno = EINVAL;
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : TZ_DEFAULT_DIR,
		 name);
	data = read_small_file(path, TZ_MAX_FILE, &len);
	if (!data) {
		/* UTC needs no data: keep working where tzdata is absent. */
		if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0)
			return tz_utc(name);
		set_err(err, errlen, "unknown time zone '%s' (%s: %s)", name,
			path, strerror(errno));
		errno = EINVAL;
		return NULL;
	}
	tz = calloc(1, sizeof(*tz));
	if (!tz) {
		free(data);
		return NULL;
	}
	snprintf(tz->name, sizeof(tz->name), "%s", name);
	if (tzif_parse(tz, data, len) < 0) {
		set_err(err, errlen, "%s: not a usable TZif file", path);
		free(data);
		tz_free(tz);
		errno = EINVAL;
		return NULL;
	}
	free(data);
	return tz;
}

/* UTC offset in force at instant t, and its abbreviation. */
static int32_t tz_offset(const struct tz *tz, int64_t t, const char **abbr)
{
	const struct tz_type *ty = &tz->types[0];
	size_t lo = 0, hi = tz->n_trans;

	if (tz->has_rule && (tz->n_trans == 0 || t >= tz->at[tz->n_trans - 1])) {
		bool dst = rule_is_dst(&tz->rule, t);

		if (abbr)
			*abbr = dst ? tz->rule.dst_abbr : tz->rule.std_abbr;
		return dst ? tz->rule.dst_off : tz->rule.std_off;
	}
	if (tz->n_trans > 0 && t >= tz->at[0]) {
		while (hi - lo > 1) { /* last transition <= t */
			size_t mid = lo + (hi - lo) / 2;

			if (tz->at[mid] <= t)
				lo = mid;
			else
				hi = mid;
		}
		ty = &tz->types[tz->idx[lo]];
	}
	if (abbr)
		*abbr = ty->abbr;
	return ty->off;
}

/* Index of the table's first transition after t. */
static size_t tz_next_transition(const struct tz *tz, int64_t t)
{
	size_t lo = 0, hi = tz->n_trans;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (tz->at[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#define TZ_NEAR_MAX 8

/* The offsets that may be in force at civil time c: a day before and after
 * it, and those the table switches to in between (a zone can change twice
 * within a day: sampling a day either side alone misses the middle one). */
static size_t tz_offsets_near(const struct tz *tz, int64_t c, int32_t *off)
{
	size_t n = 0;

	off[n++] = tz_offset(tz, c - DAY, NULL);
	for (size_t i = tz_next_transition(tz, c - 2 * DAY);
	     i < tz->n_trans && tz->at[i] <= c + 2 * DAY && n < TZ_NEAR_MAX - 1; i++)
		off[n++] = tz->types[tz->idx[i]].off;
	off[n++] = tz_offset(tz, c + DAY, NULL);
	return n;
}

/* The instant showing civil time c, the first one not before min_t; see the
 * header comment for skipped and repeated hours. */
/* c was skipped by a jump forward: the offset from before the jump is one
 * whose instant already shows a larger offset, and c minus it is c pushed
 * forward by the gap. The earliest such instant from min_t on; INT64_MAX if
 * none. */
static int64_t tz_gap_to_utc(const struct tz *tz, int64_t c, const int32_t *off, size_t n,
			     int64_t min_t)
{
	int64_t best = INT64_MAX;

	for (size_t i = 0; i < n; i++) {
		int64_t t = c - off[i];

		if (tz_offset(tz, t, NULL) > off[i] && t >= min_t && t < best)
			best = t;
	}
	return best;
}

static int64_t tz_to_utc(const struct tz *tz, int64_t c, int64_t min_t)
{
	int32_t off[TZ_NEAR_MAX];
	size_t n = tz_offsets_near(tz, c, off);
	int64_t first = INT64_MAX, last = INT64_MIN;

	for (size_t i = 0; i < n; i++) {
		int64_t t = c - off[i];

		if (tz_offset(tz, t, NULL) != off[i])
			continue; /* c does not show at that offset */
		if (t >= min_t && t < first)
			first = t;
		if (t > last)
			last = t;
	}
	if (first != INT64_MAX)
		return first;
	/* No instant from min_t on shows c: c is in a gap (a jump forward),
	 * or the only instants that show it are before min_t (a zone table
	 * whose older offsets come back: found by fuzz_calendar). */
	first = tz_gap_to_utc(tz, c, off, n, min_t);
	if (first != INT64_MAX)
		return first;
	if (last != INT64_MIN && last >= min_t)
		return last;
	return c - off[0] > min_t ? c - off[0] : min_t;
}

/* Years 1..9999: keeps every sum below far from int64 overflow. */
static bool time_ok(int64_t t)
{
	return t >= -62135596800LL && t <= 253402300799LL;
}

static int64_t tz_to_civil(const struct tz *tz, int64_t t)
{
	return t + tz_offset(tz, t, NULL);
}

/* ---- the calendar ---- */

struct calendar {
	int open_min, close_min;
	unsigned days;
	struct tz *tz;
	int64_t *holidays; /* day numbers, sorted, unique */
	size_t n_holidays, cap_holidays;
};

/* TZ may be ":Europe/London"; without TZ, /etc/localtime names the zone. */
static void default_zone(char *out, size_t len)
{
	const char *tz = getenv("TZ");
	char link[4096];
	ssize_t n;
	const char *p;

	snprintf(out, len, "UTC");
	if (tz && *tz) {
		snprintf(out, len, "%s", tz[0] == ':' ? tz + 1 : tz);
		return;
	}
	n = readlink("/etc/localtime", link, sizeof(link) - 1);
	if (n <= 0)
		return;
	link[n] = '\0';
	p = strstr(link, "zoneinfo/");
	if (p)
		snprintf(out, len, "%s", p + strlen("zoneinfo/"));
}

struct calendar *calendar_new(void)
{
	struct calendar *cal = calloc(1, sizeof(*cal));
	char zone[CAL_ZONE_MAX];

	if (!cal)
		return NULL;
	cal->open_min = 9 * 60;
	cal->close_min = 18 * 60;
	cal->days = CAL_WEEKDAYS;
	default_zone(zone, sizeof(zone));
	cal->tz = tz_load(zone, NULL, 0);
	if (!cal->tz)
		cal->tz = tz_utc("UTC");
	if (!cal->tz) {
		free(cal);
		return NULL;
	}
	return cal;
}

void calendar_free(struct calendar *cal)
{
	if (!cal)
		return;
	tz_free(cal->tz);
	free(cal->holidays);
	free(cal);
}

int calendar_set_hours(struct calendar *cal, int open_min, int close_min)
{
	if (open_min < 0 || close_min > 24 * 60 || open_min >= close_min) {
		errno = EINVAL;
		return -1;
	}
	cal->open_min = open_min;
	cal->close_min = close_min;
	return 0;
}

int calendar_set_days(struct calendar *cal, unsigned mask)
{
	if (mask == 0 || mask > 0x7fu) {
		errno = EINVAL;
		return -1;
	}
	cal->days = mask;
	return 0;
}

int calendar_set_zone(struct calendar *cal, const char *zone, char *err,
		      size_t errlen)
{
	struct tz *tz = tz_load(zone, err, errlen);

	if (!tz)
		return -1;
	tz_free(cal->tz);
	cal->tz = tz;
	return 0;
}

static bool holiday_find(const struct calendar *cal, int64_t day, size_t *pos)
{
	size_t lo = 0, hi = cal->n_holidays;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cal->holidays[mid] < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return lo < cal->n_holidays && cal->holidays[lo] == day;
}

int calendar_add_holiday(struct calendar *cal, int year, int month, int day)
{
	int64_t dn;
	size_t pos;

	if (year < 1970 || year > 9999 || month < 1 || month > 12 || day < 1 ||
	    day > month_days(year, month)) {
		errno = EINVAL;
		return -1;
	}
	dn = days_from_civil(year, month, day);
	if (holiday_find(cal, dn, &pos))
		return 0;
	if (cal->n_holidays == cal->cap_holidays) {
		size_t cap = cal->cap_holidays ? cal->cap_holidays * 2 : 16;
		int64_t *h = realloc(cal->holidays, cap * sizeof(*h));

		if (!h)
			return -1;
		cal->holidays = h;
		cal->cap_holidays = cap;
	}
	memmove(cal->holidays + pos + 1, cal->holidays + pos,
		(cal->n_holidays - pos) * sizeof(*cal->holidays));
	cal->holidays[pos] = dn;
	cal->n_holidays++;
	return 0;
}

void calendar_hours(const struct calendar *cal, int *open_min, int *close_min)
{
	*open_min = cal->open_min;
	*close_min = cal->close_min;
}

unsigned calendar_days(const struct calendar *cal)
{
	return cal->days;
}

const char *calendar_zone(const struct calendar *cal)
{
	return cal->tz->name;
}

size_t calendar_n_holidays(const struct calendar *cal)
{
	return cal->n_holidays;
}

static bool is_holiday(const struct calendar *cal, int64_t day)
{
	size_t pos;

	return holiday_find(cal, day, &pos);
}

static bool is_work_day(const struct calendar *cal, int64_t day)
{
	return (cal->days & (1u << weekday_mon0(day))) && !is_holiday(cal, day);
}

bool calendar_is_working(const struct calendar *cal, time_t t)
{
	int64_t c, day, sod;

	if (!time_ok(t))
		return false;
	c = tz_to_civil(cal->tz, t);
	day = floor_div(c, DAY);
	sod = c - day * DAY;
	return is_work_day(cal, day) && sod >= cal->open_min * 60L &&
	       sod < cal->close_min * 60L;
}

/* ---- calendar.conf ---- */

static const char *const day_names[] = { "Mon", "Tue", "Wed", "Thu",
					 "Fri", "Sat", "Sun" };

static int parse_hhmm(const char *s, int *min, const char **end)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    s[2] != ':' || !isdigit((unsigned char)s[3]) ||
	    !isdigit((unsigned char)s[4]))
		return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0');
	int m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		return -1;
	*min = h * 60 + m;
	*end = s + 5;
	return 0;
}

static int parse_hours(struct calendar *cal, const char *v, char *err,
		       size_t errlen)
{
	int open, close;
	const char *p;

	if (parse_hhmm(v, &open, &p) < 0 || *p != '-' ||
	    parse_hhmm(p + 1, &close, &p) < 0 || *p != '\0') {
		set_err(err, errlen, "bad hours '%s' (expected HH:MM-HH:MM)", v);
		return -1;
	}
	if (calendar_set_hours(cal, open, close) < 0) {
		set_err(err, errlen,
			"bad hours '%s' (opening must be before closing)", v);
		return -1;
	}
	return 0;
}

static int day_index(const char *s, size_t n)
{
	for (int i = 0; i < 7; i++)
		if (n == 3 && strncasecmp(s, day_names[i], 3) == 0)
			return i;
	return -1;
}

/* "Mon-Fri", "Mon,Wed,Fri", "Sun-Thu", "Mon-Fri,Sun". */
static int parse_days(struct calendar *cal, const char *v, char *err,
		      size_t errlen)
{
	unsigned mask = 0;
	const char *p = v;

	while (*p) {
		size_t n = strcspn(p, ",-");
		int a = day_index(p, n), b;

		b = a;
		p += n;
		if (a >= 0 && *p == '-') {
			n = strcspn(p + 1, ",-");
			b = day_index(p + 1, n);
			p += 1 + n;
		}
		if (a < 0 || b < 0 || (*p == ',' && p[1] == '\0')) {
			set_err(err, errlen,
				"bad days '%s' (expected e.g. Mon-Fri or Mon,Wed)", v);
			return -1;
		}
		for (int i = a;; i = (i + 1) % 7) { /* ranges may wrap: Sun-Thu */
			mask |= 1u << i;
			if (i == b)
				break;
		}
		if (*p == ',')
			p++;
	}
	if (calendar_set_days(cal, mask) < 0) {
		set_err(err, errlen, "bad days '%s' (no working day)", v);
		return -1;
	}
	return 0;
}

static int parse_holiday(struct calendar *cal, const char *v, char *err,
			 size_t errlen)
{
	int y, m, d, n = 0;

	errno = 0;
	if (sscanf(v, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 ||
	    v[n] != '\0' || !isdigit((unsigned char)v[0]) ||
	    calendar_add_holiday(cal, y, m, d) < 0) {
		if (n == 10 && errno == ENOMEM)
			set_err(err, errlen, "out of memory");
		else
			set_err(err, errlen, "bad holiday '%s' (expected a date "
				"YYYY-MM-DD)", v);
		return -1;
	}
	return 0;
}

/* Splits "key = value # comment" in place; key/value NULL on a blank line. */
static int split_line(char *s, char **key, char **val)
{
	char *eq, *end;

	s[strcspn(s, "#\r\n")] = '\0';
	while (isspace((unsigned char)*s))
		s++;
	*key = *val = NULL;
	if (*s == '\0')
		return 0;
	eq = strchr(s, '=');
	if (!eq)
		return -1;
	for (end = eq; end > s && isspace((unsigned char)end[-1]); end--)
		;
	*end = '\0';
	for (eq++; isspace((unsigned char)*eq); eq++)
		;
	for (end = eq + strlen(eq); end > eq && isspace((unsigned char)end[-1]);
	     end--)
		;
	*end = '\0';
	*key = s;
	*val = eq;
	return 0;
}

static int apply_kv(struct calendar *cal, const char *k, const char *v,
		    char *err, size_t errlen)
{
	if (*v == '\0') {
		set_err(err, errlen, "missing value for '%s'", k);
		return -1;
	}
	if (strcmp(k, "hours") == 0)
		return parse_hours(cal, v, err, errlen);
	if (strcmp(k, "days") == 0)
		return parse_days(cal, v, err, errlen);
	if (strcmp(k, "zone") == 0)
		return calendar_set_zone(cal, v, err, errlen);
	if (strcmp(k, "holiday") == 0)
		return parse_holiday(cal, v, err, errlen);
	set_err(err, errlen,
		"unknown key '%s' (expected hours, days, zone, holiday)", k);
	return -1;
}

int calendar_parse_line(struct calendar *cal, const char *line, char *err,
			size_t errlen)
{
	char buf[1024];
	char *k, *v;

	if (strlen(line) >= sizeof(buf)) {
		set_err(err, errlen, "line too long");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", line);
	if (split_line(buf, &k, &v) < 0) {
		set_err(err, errlen, "expected 'key = value'");
		return -1;
	}
	return k ? apply_kv(cal, k, v, err, errlen) : 0;
}

/* Repeating hours/days/zone is most likely a merge mistake: refuse it. */
static int check_repeat(const char *line, unsigned *seen, char *err,
			size_t errlen)
{
	static const char *const once[] = { "hours", "days", "zone" };
	char buf[1024], *k, *v;

	snprintf(buf, sizeof(buf), "%s", line);
	if (split_line(buf, &k, &v) < 0 || !k)
		return 0;
	for (unsigned i = 0; i < 3; i++) {
		if (strcmp(k, once[i]) != 0)
			continue;
		if (*seen & (1u << i)) {
			set_err(err, errlen, "'%s' given twice", k);
			return -1;
		}
		*seen |= 1u << i;
	}
	return 0;
}

static int load_lines(struct calendar *cal, FILE *f, const char *path,
		      char *err, size_t errlen)
{
	char line[1024], why[512];
	unsigned lineno = 0, seen = 0;

	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			set_err(err, errlen, "%s:%u: line too long", path, lineno);
			return -1;
		}
		if (check_repeat(line, &seen, why, sizeof(why)) < 0 ||
		    calendar_parse_line(cal, line, why, sizeof(why)) < 0) {
			set_err(err, errlen, "%s:%u: %s", path, lineno, why);
			return -1;
		}
	}
	if (ferror(f)) {
		set_err(err, errlen, "%s: read error", path);
		return -1;
	}
	return 0;
}

struct calendar *calendar_load(const char *path, char *err, size_t errlen)
{
	struct calendar *cal;
	FILE *f = fopen(path, "r");
	int rc;

	if (!f) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	cal = calendar_new();
	if (!cal) {
		set_err(err, errlen, "%s: out of memory", path);
		fclose(f);
		return NULL;
	}
	rc = load_lines(cal, f, path, err, errlen);
	fclose(f);
	if (rc < 0) {
		calendar_free(cal);
		return NULL;
	}
	return cal;
}

/* ---- counting working time ---- */

/* What a walk through the calendar saw, for calendar_explain(). */
struct walk {
	int64_t from;           /* civil second counting began */
	int64_t due;            /* civil second the count completed */
	long work_days, off_days, holidays;
	int64_t hol[3];         /* the first holidays skipped */
	size_t n_hol;
};

static void walk_holiday(struct walk *w, int64_t day)
{
	if (w->n_hol < sizeof(w->hol) / sizeof(w->hol[0]))
		w->hol[w->n_hol++] = day;
	w->holidays++;
}

/* Counts one day from civil position pos; true once rem is used up. */
static bool walk_day(const struct calendar *cal, int64_t day, int64_t pos,
		     long *rem, struct walk *w)
{
	int64_t open = day * DAY + cal->open_min * 60L;
	int64_t close = day * DAY + cal->close_min * 60L;
	int64_t from = pos > open ? pos : open;

	if (!(cal->days & (1u << weekday_mon0(day)))) {
		w->off_days++;
		return false;
	}
	if (is_holiday(cal, day)) {
		walk_holiday(w, day);
		return false;
	}
	if (from >= close)
		return false;
	if (w->work_days++ == 0)
		w->from = from;
	if (*rem <= close - from) {
		w->due = from + *rem;
		return true;
	}
	*rem -= (long)(close - from);
	return false;
}

/* Skips the 7 days from day when rem outlasts them: long ladders (1000
 * working hours) cost a step per week, not per day or minute. */
static bool walk_week(const struct calendar *cal, int64_t day, long *rem,
		      struct walk *w)
{
	long daylen = (cal->close_min - cal->open_min) * 60L;
	long n_days = __builtin_popcount(cal->days), n_hol = 0;
	size_t pos;

	holiday_find(cal, day, &pos);
	for (size_t i = pos; i < cal->n_holidays && cal->holidays[i] < day + 7;
	     i++)
		if (cal->days & (1u << weekday_mon0(cal->holidays[i])))
			n_hol++;
	if (*rem <= (n_days - n_hol) * daylen)
		return false;
	*rem -= (n_days - n_hol) * daylen;
	w->work_days += n_days - n_hol;
	w->off_days += 7 - n_days;
	for (size_t i = pos; i < cal->n_holidays && cal->holidays[i] < day + 7;
	     i++)
		if (cal->days & (1u << weekday_mon0(cal->holidays[i])))
			walk_holiday(w, cal->holidays[i]);
	return true;
}

static int walk(const struct calendar *cal, int64_t c, long seconds,
		struct walk *w)
{
	int64_t day = floor_div(c, DAY), first = day, pos = c;
	long rem = seconds;

	memset(w, 0, sizeof(*w));
	w->from = w->due = c;
	if (seconds < 0 || cal->days == 0) {
		errno = EINVAL;
		return -1;
	}
	if (seconds == 0)
		return 0;
	for (;;) {
		if (day - first > WALK_MAX_DAYS) {
			errno = ERANGE;
			return -1;
		}
		if (day != first && w->work_days > 0 && walk_week(cal, day, &rem, w)) {
			day += 7;
			continue;
		}
		if (walk_day(cal, day, pos, &rem, w))
			return 0;
		day++;
		pos = day * DAY;
	}
}

int calendar_add_working(const struct calendar *cal, time_t start,
			 long seconds, time_t *out)
{
	struct walk w;

	if (!time_ok(start)) {
		errno = ERANGE;
		return -1;
	}
	if (walk(cal, tz_to_civil(cal->tz, start), seconds, &w) < 0)
		return -1;
	/* Zero waits for nothing: keep start exactly, even in a repeated hour. */
	*out = seconds == 0 ? start : (time_t)tz_to_utc(cal->tz, w.due, start);
	return 0;
}

/* ---- explanations ---- */

struct sbuf {
	char *p;
	size_t len, used;
	bool trunc;
};

static void sb_printf(struct sbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->used >= sb->len) {
		sb->trunc = true;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(sb->p + sb->used, sb->len - sb->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sb->len - sb->used) {
		sb->trunc = true;
		sb->used = sb->len;
		return;
	}
	sb->used += (size_t)n;
}

/* "09:00 Mon 2026-03-02" */
static void sb_civil(struct sbuf *sb, int64_t c)
{
	int64_t day = floor_div(c, DAY), sod = c - day * DAY, y;
	int m, d;

	civil_from_days(day, &y, &m, &d);
	sb_printf(sb, "%02d:%02d %s %04lld-%02d-%02d", (int)(sod / 3600),
		  (int)(sod % 3600 / 60), day_names[weekday_mon0(day)],
		  (long long)y, m, d);
}

static void sb_instant(struct sbuf *sb, const struct tz *tz, int64_t t)
{
	const char *abbr;
	int32_t off = tz_offset(tz, t, &abbr);

	sb_civil(sb, t + off);
	sb_printf(sb, " %s", abbr);
}

static void sb_date(struct sbuf *sb, int64_t day)
{
	int64_t y;
	int m, d;

	civil_from_days(day, &y, &m, &d);
	sb_printf(sb, "%04lld-%02d-%02d", (long long)y, m, d);
}

/* "Mon-Fri", "Mon,Wed,Fri", "Mon-Thu,Sun" */
static void sb_days(struct sbuf *sb, unsigned mask)
{
	const char *sep = "";

	for (int i = 0; i < 7; i++) {
		int j = i;

		if (!(mask & (1u << i)))
			continue;
		while (j + 1 < 7 && (mask & (1u << (j + 1))))
			j++;
		if (j - i >= 2) {
			sb_printf(sb, "%s%s-%s", sep, day_names[i], day_names[j]);
			sep = ",";
		} else {
			for (int k = i; k <= j; k++) {
				sb_printf(sb, "%s%s", sep, day_names[k]);
				sep = ",";
			}
		}
		i = j;
	}
}

static const char *start_state(const struct calendar *cal, int64_t c)
{
	int64_t day = floor_div(c, DAY), sod = c - day * DAY;

	if (!(cal->days & (1u << weekday_mon0(day))))
		return "on a non-working day";
	if (is_holiday(cal, day))
		return "on a holiday";
	if (sod < cal->open_min * 60L)
		return "before working hours";
	if (sod >= cal->close_min * 60L)
		return "after working hours";
	return "within working hours";
}

static void sb_skipped(struct sbuf *sb, const struct walk *w)
{
	if (w->work_days > 1)
		sb_printf(sb, " over %ld working days", w->work_days);
	if (w->off_days > 0)
		sb_printf(sb, ", skipping %ld non-working day%s", w->off_days,
			  w->off_days == 1 ? "" : "s");
	if (w->holidays == 0)
		return;
	sb_printf(sb, "%s %ld holiday%s (", w->off_days ? " and" : ", skipping",
		  w->holidays, w->holidays == 1 ? "" : "s");
	for (size_t i = 0; i < w->n_hol; i++) {
		sb_printf(sb, "%s", i ? ", " : "");
		sb_date(sb, w->hol[i]);
	}
	sb_printf(sb, "%s)", w->holidays > (long)w->n_hol ? ", ..." : "");
}

/* "4 working hours counted from 09:00 Mon 2026-03-02 to 13:00 ..." */
static void sb_counted(struct sbuf *sb, const struct calendar *cal,
		       long seconds, const struct walk *w, time_t due)
{
	char dur[CAL_DURATION_STRLEN];

	if (seconds % 3600 == 0) {
		sb_printf(sb, "%ld working hour%s", seconds / 3600,
			  seconds == 3600 ? "" : "s");
	} else {
		calendar_duration_format(seconds, dur, sizeof(dur));
		sb_printf(sb, "%s of working time", dur);
	}
	sb_printf(sb, " counted from ");
	sb_civil(sb, w->from);
	sb_printf(sb, " to ");
	sb_instant(sb, cal->tz, due);
	sb_skipped(sb, w);
}

int calendar_explain(const struct calendar *cal, time_t start, long seconds,
		     char *buf, size_t len)
{
	struct sbuf sb = { buf, len, 0, false };
	int64_t c;
	time_t due;
	struct walk w;

	if (len == 0) {
		errno = ENOSPC;
		return -1;
	}
	if (calendar_add_working(cal, start, seconds, &due) < 0)
		return -1;
	c = tz_to_civil(cal->tz, start);
	if (walk(cal, c, seconds, &w) < 0)
		return -1;
	buf[0] = '\0';
	sb_printf(&sb, "raised ");
	sb_instant(&sb, cal->tz, start);
	sb_printf(&sb, ", %s; ", start_state(cal, c));
	if (seconds == 0)
		sb_printf(&sb, "no working time to wait: due at once");
	else
		sb_counted(&sb, cal, seconds, &w, due);
	sb_printf(&sb, "; calendar %02d:%02d-%02d:%02d ", cal->open_min / 60,
		  cal->open_min % 60, cal->close_min / 60, cal->close_min % 60);
	sb_days(&sb, cal->days);
	sb_printf(&sb, " %s", cal->tz->name);
	if (sb.trunc) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

/* ---- durations ---- */

static const struct {
	char unit;
	long secs;
} dur_units[] = { { 'd', DAY }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };

#define N_DUR_UNITS (sizeof(dur_units) / sizeof(dur_units[0]))

int calendar_duration_parse(const char *s, long *seconds)
{
	long total = 0;
	size_t next = 0; /* units must come in order d, h, m, s */

	if (strcmp(s, "0") == 0) {
		*seconds = 0;
		return 0;
	}
	if (*s == '\0')
		goto bad;
	while (*s) {
		char *end;
		long v;
		size_t u;

		if (!isdigit((unsigned char)*s))
			goto bad;
		errno = 0;
		v = strtol(s, &end, 10);
		for (u = next; u < N_DUR_UNITS && dur_units[u].unit != *end; u++)
			;
		if (u == N_DUR_UNITS)
			goto bad;
		if (errno == ERANGE || v > DURATION_MAX / dur_units[u].secs ||
		    total + v * dur_units[u].secs > DURATION_MAX) {
			errno = ERANGE;
			return -1;
		}
		total += v * dur_units[u].secs;
		next = u + 1;
		s = end + 1;
	}
	*seconds = total;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

void calendar_duration_format(long seconds, char *buf, size_t len)
{
	struct sbuf sb = { buf, len, 0, false };
	unsigned long rest;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (seconds == 0) {
		sb_printf(&sb, "0");
		return;
	}
	if (seconds < 0)
		sb_printf(&sb, "-");
	rest = seconds < 0 ? -(unsigned long)seconds : (unsigned long)seconds;
	for (size_t u = 0; u < N_DUR_UNITS; u++) {
		unsigned long n = rest / (unsigned long)dur_units[u].secs;

		if (n == 0)
			continue;
		sb_printf(&sb, "%lu%c", n, dur_units[u].unit);
		rest -= n * (unsigned long)dur_units[u].secs;
	}
}
