#include "log.h"
#include "termsafe.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static const char *log_progname = "cordon";
static enum log_level log_current = LOG_LVL_INFO;
static bool log_to_journal;

/* systemd sets JOURNAL_STREAM=DEV:INO for a service whose stderr is the
 * journal; it is inherited, so it counts only when it still names our
 * stderr (not when a child of the service redirected it to a file). */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (!env || sscanf(env, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *progname, enum log_level level)
{
	log_progname = progname;
	log_current = level;
	log_to_journal = stderr_is_journal();
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

/* journald takes the priority from the prefix and adds the time and the
 * program's name itself. */
static void log_put_journal_prefix(enum log_level level)
{
	static const char *prio[] = { SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG };

	fputs(prio[level], stderr);
}

/* A timestamp with milliseconds makes test logs and benchmarks readable
 * without journald. */
static void log_put_plain_prefix(enum log_level level)
{
	static const char *tags[] = { "error", "warning", "info", "debug" };
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld %s[%s]: ", stamp, ts.tv_nsec / 1000000,
		log_progname, tags[level]);
}

static void log_vwrite(enum log_level level, int errnum, const char *fmt,
		       va_list ap)
{
	if (level > log_current)
		return;
	if (log_to_journal)
		log_put_journal_prefix(level);
	else
		log_put_plain_prefix(level);
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

/* Appends strerror(errno), and leaves errno as it was for the caller. */
#define LOG_BODY_ERRNO(level)                \
	do {                                 \
		int saved = errno;           \
		LOG_BODY(level, saved);      \
		errno = saved;               \
	} while (0)

void log_error(const char *fmt, ...)
{
	LOG_BODY_ERRNO(LOG_LVL_ERR);
}

void log_errorx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERR, 0);
}

void log_warn(const char *fmt, ...)
{
	LOG_BODY_ERRNO(LOG_LVL_WARN);
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
