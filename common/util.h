/* util.c: small helpers both daemons and the CLIs share. */
#ifndef CORDON_UTIL_H
#define CORDON_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CORDON_VERSION "0.1.0"

uint64_t now_mono_ms(void);      /* CLOCK_MONOTONIC */
uint64_t now_mono_us(void);
uint64_t now_wall_ms(void);      /* CLOCK_REALTIME */
/* Joins t if it ends within ms; false if it is still running (stuck in a
 * call that never returns, e.g. to a hung daemon): then it is left. */
bool thread_join_within(pthread_t t, long ms);
/* "2026-11-23T13:45:00Z" into buf; "-" for 0. */
const char *format_time_utc(int64_t unix_seconds, char *buf, size_t len);
/* Creates dir and parents (mode for the last one). 0 or -1. */
int mkdir_parents(const char *path, unsigned mode);
/* Directory part of path into buf; 0 or -1 if it does not fit. */
int path_dirname(const char *path, char *buf, size_t len);
/* Copies src into dst (size len); -1 if truncated. */
int strlcpy_checked(char *dst, const char *src, size_t len);
/* A name the kernel accepts for a network device (dev_valid_name): 1..15
 * bytes, not "." or "..", no '/', ':' or white space. */
bool ifname_valid(const char *name);
/* "2026-11-23T05:00:00Z", "2026-11-23T05:00Z", "2026-11-23 05:00:00"
 * (UTC), with an optional "+05:30"/"-0800" offset instead of Z, or
 * "@1764000000". 0 or -1. */
int parse_time_utc(const char *text, int64_t *out);
/* Blocks SIGTERM, SIGINT and SIGHUP (delivered through the returned
 * signalfd to the event loop) and ignores SIGPIPE. -1 on error. */
int signals_to_fd(void);
/* write(2) until all of buf is written (EINTR retried); 0 or -1 with errno. */
int write_all(int fd, const void *buf, size_t len);
/* Whole-number parsing with range checks; 0 or -1. */
int parse_long(const char *text, long min, long max, long *out);

#endif
