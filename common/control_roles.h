/* control_roles.c: which control requests only read, shared by cordond
 * (its read-only socket answers these only) and cordonctl (which may send
 * these to the read-only socket). */
#ifndef CORDON_CONTROL_ROLES_H
#define CORDON_CONTROL_ROLES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* True when req (a control request) changes nothing. */
bool control_request_is_read(const json_t *req);
/* A socket beside the control socket: "X.sock" -> "X-TAG.sock" (else
 * "X-TAG"): the read-only one ("ro") and the report one ("report"),
 * cordond's defaults and where cordonctl looks. -1 when it does not fit
 * in len. */
int control_socket_sibling(const char *control_socket, const char *tag, char *out, size_t len);

#endif
