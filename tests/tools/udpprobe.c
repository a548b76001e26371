/* udpprobe: a fine-grained connectivity probe for benchmarks.
 *
 *   udpprobe echo PORT
 *       echo every datagram back (run inside the VM's namespace)
 *   udpprobe stream IP PORT INTERVAL_US DURATION_MS
 *       send a numbered datagram every INTERVAL_US for DURATION_MS, then
 *       print one line per datagram: "SEQ SENT_REALTIME_NS REPLIED(0/1)"
 *
 * The stream side prints wall-clock send times, so a driver script can
 * compare them with the moment `cordonctl suspend` returned. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int run_echo(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	char buf[64];

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("udpprobe echo");
		return 1;
	}
	for (;;) {
		struct sockaddr_in from;
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
		if (n > 0)
			sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
	}
}

static void drain_replies(int fd, uint8_t *replied, uint32_t count)
{
	uint32_t seq;

	while (recv(fd, &seq, sizeof(seq), MSG_DONTWAIT) == sizeof(seq))
		if (seq < count)
			replied[seq] = 1;
}

static int run_stream(const char *ip, int port, long interval_us, long duration_ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	uint32_t count = (uint32_t)(duration_ms * 1000 / interval_us);
	uint64_t *sent = calloc(count, sizeof(*sent));
	uint8_t *replied = calloc(count, 1);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	uint64_t start = now_ns(CLOCK_MONOTONIC);

	if (!sent || !replied || fd < 0 || inet_pton(AF_INET, ip, &sa.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("udpprobe stream");
		return 1;
	}
	for (uint32_t seq = 0; seq < count; seq++) {
		while (now_ns(CLOCK_MONOTONIC) < start + (uint64_t)seq * (uint64_t)interval_us * 1000)
			drain_replies(fd, replied, count);
		sent[seq] = now_ns(CLOCK_REALTIME);
		send(fd, &seq, sizeof(seq), MSG_DONTWAIT);
	}
	/* Late replies: give the last ones 50 ms. */
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	while (poll(&pfd, 1, 50) > 0)
		drain_replies(fd, replied, count);
	for (uint32_t seq = 0; seq < count; seq++)
		printf("%u %llu %u\n", seq, (unsigned long long)sent[seq], replied[seq]);
	free(sent);
	free(replied);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "echo") == 0)
		return run_echo(atoi(argv[2]));
	if (argc == 6 && strcmp(argv[1], "stream") == 0)
		return run_stream(argv[2], atoi(argv[3]), atol(argv[4]), atol(argv[5]));
	fprintf(stderr, "usage: udpprobe echo PORT | udpprobe stream IP PORT INTERVAL_US DURATION_MS\n");
	return 2;
}
