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

static int parse_v6(const char *value, struct metrics_addr *a)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->sa;
	const char *close = strchr(value, ']');
	char host[INET6_ADDRSTRLEN];
	size_t n = close ? (size_t)(close - value - 1) : 0;

	if (!close || n == 0 || n >= sizeof(host) || close[1] != ':')
		return -1;
	memcpy(host, value + 1, n);
	host[n] = '\0';
	sin6->sin6_family = AF_INET6;
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1 ||
	    parse_port(close + 2, &sin6->sin6_port) < 0)
		return -1;
	a->sa_len = sizeof(*sin6);
	return 0;
}

static int parse_v4(const char *value, struct metrics_addr *a)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->sa;
	const char *colon = strrchr(value, ':');
	char host[INET_ADDRSTRLEN];
	size_t n = colon ? (size_t)(colon - value) : 0;

	if (!colon || n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, value, n);
	host[n] = '\0';
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1 ||
	    parse_port(colon + 1, &sin->sin_port) < 0)
		return -1;
	a->sa_len = sizeof(*sin);
	return 0;
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
	rc = strlen(value) >= sizeof(a.text) ? -1 :
	     value[0] == '[' ? parse_v6(value, &a) : parse_v4(value, &a);
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
