/* metrics_addr.c: the metrics_listen key of cordond.conf and agent.conf:
 * "HOST:PORT" with a numeric IPv4 host, "[IPv6]:PORT", or "off" / empty
 * (no metrics served). */
#ifndef CORDON_METRICS_ADDR_H
#define CORDON_METRICS_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct metrics_addr {
	bool enabled;
	struct sockaddr_storage sa;
	socklen_t sa_len;
	char text[64]; /* as configured, for messages; "off" when disabled */
};

/* 0, or -1 with why ("metrics_listen: ..."). */
int metrics_addr_parse(const char *value, struct metrics_addr *out, char *why,
		       size_t whylen);

#endif
