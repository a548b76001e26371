#include "metrics_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* "9750" -> 9750; 1..65535, digits only. */
static int parse_port(const char *text, in_port_t *out)
{
	long port;

	if (!*text || strspn(text, "0123456789") != strlen(text) ||
	    parse_long(text, 1, 65535, &port) < 0)
		return -1;
	*out = htons((in_port_t)port);
	return 0;
}

/* The n bytes at host (not NUL-terminated) and port into a, as family. */
static int fill(struct metrics_addr *a, int family, const char *host, size_t n,
		const char *port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->sa;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->sa;
	void *dst = family == AF_INET ? (void *)&sin->sin_addr : (void *)&sin6->sin6_addr;
	in_port_t *p = family == AF_INET ? &sin->sin_port : &sin6->sin6_port;
	char buf[INET6_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, host, n);
	buf[n] = '\0';
	a->sa.ss_family = (sa_family_t)family;
	a->sa_len = family == AF_INET ? sizeof(*sin) : sizeof(*sin6);
	return inet_pton(family, buf, dst) == 1 && parse_port(port, p) == 0 ? 0 : -1;
}

/* "[IPV6]:PORT" or "IPV4:PORT". */
static int parse(const char *value, struct metrics_addr *a)
{
	const char *close = strchr(value, ']'), *colon = strrchr(value, ':');

	if (value[0] == '[')
		return close && close[1] == ':' ?
		       fill(a, AF_INET6, value + 1, (size_t)(close - value - 1), close + 2) : -1;
	return colon ? fill(a, AF_INET, value, (size_t)(colon - value), colon + 1) : -1;
}

int metrics_addr_parse(const char *value, struct metrics_addr *out, char *why,
		       size_t whylen)
{
	struct metrics_addr a = { 0 };
	int rc;

	if (!value[0] || strcmp(value, "off") == 0) {
		strcpy(out->text, "off");
		out->enabled = false;
		return 0;
	}
	rc = strlen(value) >= sizeof(a.text) ? -1 : parse(value, &a);
	if (rc < 0) {
		snprintf(why, whylen, "metrics_listen: '%.80s' is not ADDRESS:PORT"
			 " (e.g. 127.0.0.1:9750, [::1]:9750, or off)", value);
		return -1;
	}
	a.enabled = true;
	strcpy(a.text, value);
	*out = a;
	return 0;
}
