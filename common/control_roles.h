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
/* The read-only socket beside the control socket path: "X.sock" ->
 * "X-ro.sock" (else "X-ro"), cordond's default and where cordonctl looks.
 * -1 when it does not fit in len. */
int control_readonly_path(const char *control_socket, char *out, size_t len);

#endif
