#include "endpoint.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define TCP "tcp://"

static int why_set(char *why, size_t whylen, const char *text)
{
	if (why && whylen)
		snprintf(why, whylen, "%s", text);
	return -1;
}

/* Letters, digits, '-' and '.' (a name or a dotted quad); inet_pton
 * refuses a malformed dotted quad, a name has a letter somewhere. */
static bool host_valid(const char *h, size_t len)
{
	char buf[ENDPOINT_MAX + 1];
	unsigned char addr[sizeof(struct in6_addr)];

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, h, len);
	buf[len] = '\0';
	if (buf[0] == '[') {
		if (len < 3 || buf[len - 1] != ']')
			return false;
		buf[len - 1] = '\0';
		return inet_pton(AF_INET6, buf + 1, addr) == 1;
	}
	if (strspn(buf, "0123456789.") == len)
		return inet_pton(AF_INET, buf, addr) == 1;
	return strspn(buf, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			   "0123456789-.") == len && buf[0] != '-' && buf[0] != '.';
}

static bool host_wildcard(const char *h, size_t len)
{
	static const char *const any[] = { "*", "0.0.0.0", "[::]", "[::0]" };

	for (size_t i = 0; i < sizeof(any) / sizeof(any[0]); i++)
		if (strlen(any[i]) == len && memcmp(h, any[i], len) == 0)
			return true;
	return false;
}

int endpoint_check(const char *s, char *why, size_t whylen)
{
	const char *host, *colon, *bracket;
	long port;

	if (strlen(s) > ENDPOINT_MAX)
		return why_set(why, whylen, "longer than 255 characters");
	if (strncmp(s, TCP, strlen(TCP)) != 0)
		return why_set(why, whylen, "not tcp://HOST:PORT");
	host = s + strlen(TCP);
	colon = strrchr(host, ':');
	bracket = strchr(host, ']');
	/* "[::1]": the last colon inside the brackets is not the port's. */
	if (!colon || (host[0] == '[' && (!bracket || colon < bracket)))
		return why_set(why, whylen, "no port (tcp://HOST:PORT)");
	if (host_wildcard(host, (size_t)(colon - host)))
		return why_set(why, whylen, "a wildcard address names no host to connect to");
	if (!host_valid(host, (size_t)(colon - host)))
		return why_set(why, whylen, "not a host name, IPv4 or [IPv6] address");
	/* Digits only: strtol would take " 7440" or "+7440". */
	if (strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    parse_long(colon + 1, 1, 65535, &port) < 0)
		return why_set(why, whylen, "port is not a number in 1-65535");
	return 0;
}

bool endpoint_same(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

void endpoint_from_listen(const char *listen, char *out, size_t outlen)
{
	if (outlen == 0)
		return;
	out[0] = '\0';
	if (endpoint_check(listen, NULL, 0) == 0)
		strlcpy_checked(out, listen, outlen);
}
