#include "log.h"
#include "termsafe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

static const char *log_progname = "cordon";
static enum log_level log_current = LOG_LVL_INFO;

void log_init(const char *progname, enum log_level level)
{
	log_progname = progname;
	log_current = level;
}

void log_set_level(enum log_level level)
{
	log_current = level;
}

int log_level_parse(const char *name, enum log_level *out)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/* Messages quote foreign strings (VM names, agents' errors, requests):
 * their control characters must not forge lines or escapes in journald. */
static void log_put_escaped(const char *fmt, va_list ap)
{
	char *msg;

	if (vasprintf(&msg, fmt, ap) < 0) {
		fputs("(log message lost: out of memory)", stderr);
		return;
	}
	termsafe_fputs(msg, 0, stderr);
	free(msg);
}

static void log_vwrite(enum log_level level, int errnum, const char *fmt,
		       va_list ap)
{
	static const char *tags[] = { "error", "warning", "info", "debug" };
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	if (level > log_current)
		return;
	/* A timestamp with milliseconds makes test logs and benchmarks
	 * readable without journald. */
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld %s[%s]: ", stamp, ts.tv_nsec / 1000000,
		log_progname, tags[level]);
	log_put_escaped(fmt, ap);
	if (errnum)
		fprintf(stderr, ": %s", strerror(errnum));
	fputc('\n', stderr);
}

#define LOG_BODY(level, errnum)                      \
	do {                                         \
		va_list ap;                          \
		va_start(ap, fmt);                   \
		log_vwrite(level, errnum, fmt, ap);  \
		va_end(ap);                          \
	} while (0)

void log_warn(const char *fmt, ...)
{
	int saved = errno;
	LOG_BODY(LOG_LVL_WARN, saved);
	errno = saved;
}

void log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN, 0);
}

void log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_INFO, 0);
}

void log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_DEBUG, 0);
}

void fatal(const char *fmt, ...)
{
	int saved = errno;
	LOG_BODY(LOG_LVL_ERR, saved);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERR, 0);
	exit(1);
}

/* Starts a new window when the current one is over, reporting what the old
 * one suppressed. */
static void log_limit_roll(struct log_limit *l, uint64_t now)
{
	if (l->window_start_ms && now - l->window_start_ms < LOG_LIMIT_WINDOW_MS)
		return;
	if (l->suppressed)
		log_info("%u similar messages suppressed", l->suppressed);
	l->window_start_ms = now;
	l->printed = 0;
	l->suppressed = 0;
}

void log_limited(struct log_limit *l, enum log_level level, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (level > log_current)
		return;
	log_limit_roll(l, now_mono_ms());
	if (l->printed >= LOG_LIMIT_BURST) {
		l->suppressed++;
		return;
	}
	l->printed++;
	va_start(ap, fmt);
	log_vwrite(level, errnum, fmt, ap);
	va_end(ap);
}

void log_limit_flush(struct log_limit *l)
{
	if (l->suppressed)
		log_limit_roll(l, now_mono_ms());
}
