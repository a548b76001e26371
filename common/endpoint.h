/* endpoint.c: controller endpoints as agents reach them ("tcp://HOST:PORT"):
 * the agent's controller list, cordond's advertise, NotLeader.leader. */
#ifndef CORDON_ENDPOINT_H
#define CORDON_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

/* The longest endpoint kept: "tcp://" + a 253-byte DNS name would not fit
 * an INI line anyway (libinih's 200 characters). */
#define ENDPOINT_MAX 255

/* "tcp://HOST:PORT": HOST a DNS name, an IPv4 address or [IPv6], not a
 * wildcard; PORT 1-65535. 0, or -1 with why ("no port", ...). */
int endpoint_check(const char *s, char *why, size_t whylen);
/* Two spellings of one endpoint (DNS names are case-insensitive). */
bool endpoint_same(const char *a, const char *b);
/* What agents reach a cordond listening on listen at: listen itself when
 * it names a host, "" for a wildcard (0.0.0.0, *, [::]) or anything that
 * is not tcp://HOST:PORT. */
void endpoint_from_listen(const char *listen, char *out, size_t outlen);

#endif
