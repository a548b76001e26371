/* log.c: OpenBSD-style logging to stderr. Under systemd, when stderr is the
 * journal (JOURNAL_STREAM), each line carries a <N> priority prefix and no
 * timestamp (journald adds its own); otherwise "HH:MM:SS.mmm prog[level]: ". */
#ifndef CORDON_LOG_H
#define CORDON_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_init(const char *progname, enum log_level level);
int log_level_parse(const char *name, enum log_level *out);
void log_set_level(enum log_level level);

/* log_error appends strerror(errno), like log_warn; for failures the
 * operator must act on (configuration, store, state file). */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Rate limit for a message that can repeat without bound (a flood of
 * connections, a listener out of descriptors): at most LOG_LIMIT_BURST lines
 * per LOG_LIMIT_WINDOW_MS, then "N similar messages suppressed" once the
 * window is over. One zeroed struct per kind of message. */
#define LOG_LIMIT_BURST 5
#define LOG_LIMIT_WINDOW_MS 10000

struct log_limit {
	uint64_t window_start_ms;
	unsigned printed, suppressed;
};

void log_limited(struct log_limit *l, enum log_level level, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Reports what was suppressed once the window is over, if anything was:
 * called periodically, so a flood that stopped is still accounted for. */
void log_limit_flush(struct log_limit *l);

#endif
