/* guestexec: run one shell command inside a test guest (tests/vm), as root,
 * through the guest's command channel: its second serial port (ttyS1), which
 * libvirt exposes on the host as a unix socket (lv_define_guest).
 *
 *   guestexec [-t SECS] [-w SECS] SOCKET COMMAND...
 *
 * COMMAND (the arguments joined by spaces, one line: no newline) runs in the
 * guest as `timeout SECS sh -c COMMAND` (-t, default 30) with stdin from
 * /dev/null; its stdout and stderr are printed here (stderr merged into
 * stdout; a last line without a newline gets one) and its exit status is
 * guestexec's. 255: no answer within -w SECS (default -t + 15), SOCKET
 * unusable, or a usage error; the reason goes to stderr.
 *
 * Protocol (the reader is the guest's /init, tests/vm/build-guest.sh):
 *   host  -> guest  "ID SECS COMMAND\n"          ID = CX<pid>.<time>
 *   guest -> host   "CORDON-EXEC-BEGIN ID\n"     at once, before running it
 *                   output lines
 *                   "CORDON-EXEC-END ID STATUS\n"
 * The guest runs one command at a time. Until BEGIN arrives the line is sent
 * again every 2 s (bytes written before the guest opened ttyS1 may be lost,
 * e.g. while it boots); the guest runs a repeated ID only once and answers a
 * repeat with the stored output. Lines that belong to no BEGIN/END of our ID
 * (another client's, the guest's "CORDON-EXEC-READY") are skipped. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FAIL 255

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fprintf(stderr, "usage: guestexec [-t SECS] [-w SECS] SOCKET COMMAND...\n");
	return FAIL;
}

/* connect to SOCKET, retrying (QEMU may not have created it yet) until END. */
static int connect_until(const char *path, double end)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int last = 0;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "guestexec: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			perror("guestexec: socket");
			return -1;
		}
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		last = errno;
		close(fd);
		if (now_s() >= end) {
			fprintf(stderr, "guestexec: connect %s: %s\n", path, strerror(last));
			return -1;
		}
		usleep(100000);
	}
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long secs = 30, wait_s = -1;
	int opt;

	while ((opt = getopt(argc, argv, "+t:w:")) != -1) {
		switch (opt) {
		case 't': secs = atol(optarg); break;
		case 'w': wait_s = atol(optarg); break;
		default: return usage();
		}
	}
	if (argc - optind < 2 || secs <= 0)
		return usage();
	if (wait_s < 0)
		wait_s = secs + 15;
	const char *path = argv[optind];

	char id[64];
	snprintf(id, sizeof(id), "CX%ld.%ld", (long)getpid(), (long)time(NULL));
	/* "ID SECS COMMAND\n" */
	size_t cap = strlen(id) + 32;
	for (int i = optind + 1; i < argc; i++)
		cap += strlen(argv[i]) + 1;
	char *line = malloc(cap);
	char *buf = NULL; /* the current, incomplete line */
	int rc = FAIL, fd = -1;
	if (!line)
		goto out;
	int len = snprintf(line, cap, "%s %ld", id, secs);
	for (int i = optind + 1; i < argc; i++)
		len += snprintf(line + len, cap - (size_t)len, " %s", argv[i]);
	if (strpbrk(line, "\r\n")) {
		fprintf(stderr, "guestexec: the command must be one line\n");
		goto out;
	}
	line[len++] = '\n';

	double end = now_s() + (double)wait_s;
	fd = connect_until(path, end);
	if (fd < 0)
		goto out;

	char begin[96], endp[96];
	snprintf(begin, sizeof(begin), "CORDON-EXEC-BEGIN %s", id);
	snprintf(endp, sizeof(endp), "CORDON-EXEC-END %s ", id);
	size_t endp_len = strlen(endp);

	int started = 0;
	double sent_at = 0;
	size_t blen = 0, bcap = 0;

	for (;;) {
		double now = now_s();
		if (!started && now - sent_at >= 2.0) {
			if (send_all(fd, line, (size_t)len) < 0) {
				fprintf(stderr, "guestexec: send: %s\n", strerror(errno));
				goto out;
			}
			sent_at = now;
		}
		if (now >= end) {
			fprintf(stderr, "guestexec: %s: no %s within %ld s\n", path,
				started ? "end of output" : "answer", wait_s);
			goto out;
		}
		double left = end - now;
		if (!started && left > 2.0 - (now - sent_at))
			left = 2.0 - (now - sent_at);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int pr = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue;
		char chunk[4096];
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "guestexec: %s: connection closed\n", path);
			goto out;
		}
		for (ssize_t i = 0; i < n; i++) {
			char c = chunk[i];
			if (c != '\n') {
				if (blen + 1 >= bcap) {
					bcap = bcap ? 2 * bcap : 256;
					char *grown = realloc(buf, bcap);
					if (!grown)
						goto out;
					buf = grown;
				}
				buf[blen++] = c;
				continue;
			}
			if (blen > 0 && buf[blen - 1] == '\r')
				blen--;
			if (buf)
				buf[blen] = '\0';
			const char *l = buf ? buf : "";
			if (!started) {
				if (strcmp(l, begin) == 0)
					started = 1;
			} else if (strncmp(l, endp, endp_len) == 0) {
				fflush(stdout);
				rc = atoi(l + endp_len) & 0xff;
				goto out;
			} else {
				fwrite(l, 1, blen, stdout);
				fputc('\n', stdout);
			}
			blen = 0;
		}
	}
out: /* the tool's one exit: what it took is given back (LeakSanitizer) */
	if (fd >= 0)
		close(fd);
	free(buf);
	free(line);
	return rc;
}
