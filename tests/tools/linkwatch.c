/* linkwatch: prints agent/link.c's events in whatever network namespace it
 * is started in, for tests.
 *
 *   linkwatch [-d] [-l] [-b RCVBUF] [-p MS] SECONDS [NAME ...]
 *
 * One line per event, MS being milliseconds since the start:
 *
 *   MS ready              the cache is filled, events are watched
 *   MS add NAME IFINDEX
 *   MS del NAME
 *   MS resync             events were lost, the cache was refilled
 *   MS ifindex NAME N     at the end, link_watch_ifindex() for each NAME
 *
 * -b sets the socket's receive buffer until the first resync (small:
 * provokes one overrun, and only one), -p pauses that long after "ready"
 * before reading anything, -d logs libnl's raw cache events, -l looks each
 * NAME up after every read too (as the agent does between events). Exit: 0 ok,
 * 1 failure, 2 usage. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "link.h"
#include "log.h"

#define RCVBUF_AFTER_RESYNC (1024 * 1024)

static struct timespec start;

static long long elapsed_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)(ts.tv_sec - start.tv_sec) * 1000 +
	       (ts.tv_nsec - start.tv_nsec) / 1000000;
}

/* arg: the watch's fd if -b shrank its buffer (grown back on a resync,
 * before the line the test waits for), else NULL. */
static void print_event(void *arg, const char *name, int ifindex, bool present)
{
	int *shrunk_fd = arg, size = RCVBUF_AFTER_RESYNC;

	if (!name) {
		if (shrunk_fd && setsockopt(*shrunk_fd, SOL_SOCKET, SO_RCVBUF,
					    &size, sizeof(size)) < 0)
			perror("linkwatch: SO_RCVBUF");
		printf("%lld resync\n", elapsed_ms());
	} else if (present)
		printf("%lld add %s %d\n", elapsed_ms(), name, ifindex);
	else
		printf("%lld del %s\n", elapsed_ms(), name);
	fflush(stdout);
}

static void sleep_ms(int ms)
{
	struct timespec left = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&left, &left) < 0 && errno == EINTR)
		;
}

static void lookup_all(struct link_watch *lw, char **names, int n)
{
	for (int i = 0; i < n; i++)
		(void)link_watch_ifindex(lw, names[i]);
}

static int watch(struct link_watch *lw, long long until_ms, bool shrunk, char **names, int n)
{
	struct pollfd pfd = { .fd = link_watch_fd(lw), .events = POLLIN };
	int fd = pfd.fd;

	for (long long left; (left = until_ms - elapsed_ms()) > 0;) {
		int ret = poll(&pfd, 1, (int)left);
		if (ret < 0 && errno != EINTR) {
			perror("linkwatch: poll");
			return 1;
		}
		if (ret > 0 && link_watch_read(lw, print_event, shrunk ? &fd : NULL) < 0)
			return 1;
		lookup_all(lw, names, n);
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: linkwatch [-d] [-l] [-b RCVBUF] [-p MS] SECONDS [NAME ...]\n");
	exit(2);
}

static int parse_count(const char *text)
{
	char *end;
	long n = strtol(text, &end, 10);

	if (end == text || *end || n < 0 || n > 1000000000L)
		usage();
	return (int)n;
}

int main(int argc, char **argv)
{
	enum log_level level = LOG_LVL_INFO;
	int opt, rcvbuf = 0, pause_ms = 0, ret, lookups = 0;
	struct link_watch *lw;
	double secs;
	char *end;

	while ((opt = getopt(argc, argv, "dlb:p:")) != -1) {
		if (opt == 'd')
			level = LOG_LVL_DEBUG;
		else if (opt == 'l')
			lookups = 1;
		else if (opt == 'b')
			rcvbuf = parse_count(optarg);
		else if (opt == 'p')
			pause_ms = parse_count(optarg);
		else
			usage();
	}
	if (optind >= argc || (secs = strtod(argv[optind], &end)) <= 0 || *end)
		usage();
	log_init("linkwatch", level);
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (!(lw = link_watch_new()))
		return 1;
	if (rcvbuf > 0 && setsockopt(link_watch_fd(lw), SOL_SOCKET, SO_RCVBUF,
				     &rcvbuf, sizeof(rcvbuf)) < 0) {
		perror("linkwatch: SO_RCVBUF");
		link_watch_free(lw);
		return 1;
	}
	printf("%lld ready\n", elapsed_ms());
	fflush(stdout);
	sleep_ms(pause_ms);
	ret = watch(lw, (long long)(secs * 1000), rcvbuf > 0, argv + optind + 1,
		    lookups ? argc - optind - 1 : 0);
	for (int i = optind + 1; i < argc; i++)
		printf("%lld ifindex %s %d\n", elapsed_ms(), argv[i],
		       link_watch_ifindex(lw, argv[i]));
	link_watch_free(lw);
	return ret;
}
