/* calendar.c: business-hours calendar (working hours, working days, IANA
 * time zone, holidays) and the duration syntax shared by policies and
 * cordonctl ("0", "90m", "2h", "1h30m", "7d").
 *
 * A calendar is immutable once configured, so every query below is a pure
 * function of its arguments and safe from any thread: the time zone is read
 * from its TZif file into the calendar, never through TZ/localtime. */
#ifndef CORDON_CALENDAR_H
#define CORDON_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Working-day mask: bit 0 = Monday .. bit 6 = Sunday. */
#define CAL_MON 0x01u
#define CAL_TUE 0x02u
#define CAL_WED 0x04u
#define CAL_THU 0x08u
#define CAL_FRI 0x10u
#define CAL_SAT 0x20u
#define CAL_SUN 0x40u
#define CAL_WEEKDAYS 0x1fu

#define CAL_ZONE_MAX 64

struct calendar;

/* Defaults: 09:00-18:00, Mon-Fri, no holidays, the controller's zone (TZ,
 * else /etc/localtime, else UTC; a zone that cannot be loaded falls back
 * to UTC, see calendar_zone()). NULL only when out of memory. */
struct calendar *calendar_new(void);
void calendar_free(struct calendar *cal);

/* Defaults overlaid with a calendar.conf ("hours = 09:00-18:00",
 * "days = Mon-Fri", "zone = Europe/London", "holiday = 2026-12-25").
 * NULL with "path:line: reason" in err. */
struct calendar *calendar_load(const char *path, char *err, size_t errlen);

/* One calendar.conf line (comments and blank lines accepted). -1 with the
 * reason, without file or line, in err. */
int calendar_parse_line(struct calendar *cal, const char *line, char *err,
			size_t errlen);

/* Setters: -1 with errno EINVAL (bad value) or ENOMEM; err may be NULL. */
int calendar_set_hours(struct calendar *cal, int open_min, int close_min);
int calendar_set_days(struct calendar *cal, unsigned mask);
int calendar_set_zone(struct calendar *cal, const char *zone, char *err,
		      size_t errlen);
int calendar_add_holiday(struct calendar *cal, int year, int month, int day);

/* Accessors. */
void calendar_hours(const struct calendar *cal, int *open_min, int *close_min);
unsigned calendar_days(const struct calendar *cal);
const char *calendar_zone(const struct calendar *cal);
size_t calendar_n_holidays(const struct calendar *cal);

/* True when t is inside working hours of a working, non-holiday day. */
bool calendar_is_working(const struct calendar *cal, time_t t);

/* The instant at which the seconds-th working second after start elapses.
 * Counting starts at start if it is inside working hours, else at the next
 * opening; 0 seconds gives start itself (nothing to wait for). Working time
 * is measured on the local wall clock (see calendar.c). -1 with errno
 * EINVAL (negative seconds, no working days) or ERANGE (beyond ~200 years). */
int calendar_add_working(const struct calendar *cal, time_t start,
			 long seconds, time_t *out);

/* A sentence explaining calendar_add_working(cal, start, seconds), e.g.
 * "raised 05:00 Mon 2026-03-02 GMT, before working hours; 4 working hours
 * counted from 09:00 Mon 2026-03-02 to 13:00 Mon 2026-03-02 GMT; calendar
 * 09:00-18:00 Mon-Fri Europe/London". -1 with errno as above, or ENOSPC
 * when truncated (buf is still terminated). */
int calendar_explain(const struct calendar *cal, time_t start, long seconds,
		     char *buf, size_t len);

/* Durations: "0" or number+unit groups in order d, h, m, s, each at most
 * once ("1h30m", "7d", "90m"). -1 with EINVAL / ERANGE (over 3650 days). */
int calendar_duration_parse(const char *text, long *seconds);
/* Canonical form ("1h30m", "0"); buf needs CAL_DURATION_STRLEN bytes. */
#define CAL_DURATION_STRLEN 32
void calendar_duration_format(long seconds, char *buf, size_t len);

#endif
