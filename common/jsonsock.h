/* jsonsock.c: one JSON request / one JSON reply over a unix stream socket.
 * Used by the controller's control socket (cordonctl) and the agent's
 * status socket (cordon-agent status). Each message is one line. */
#ifndef CORDON_JSONSOCK_H
#define CORDON_JSONSOCK_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#define JSONSOCK_MAX (256 * 1024 * 1024) /* 100k VMs with details: ~40 MB */

/* Binds a listening socket at path (a stale socket file is replaced), mode
 * applied, group by name (NULL or "" = keep). -1 with reason in err; a
 * group that does not exist or cannot be set is only reported in err (the
 * socket stays root's). */
int jsonsock_listen(const char *path, unsigned mode, const char *group,
		    char *err, size_t errlen);
/* Reads one line (blocking, with a timeout) and parses it. NULL with a
 * reason in err. */
json_t *jsonsock_read(int fd, int timeout_ms, char *err, size_t errlen);
int jsonsock_write(int fd, const json_t *msg);
/* msg as one line (compact JSON and '\n', no NUL), malloc'd; NULL when it
 * cannot be encoded. */
char *jsonsock_encode(const json_t *msg, size_t *len);
/* Client: connect, send request, read the reply. NULL with reason in err;
 * *unreachable is the errno (EACCES, ENOENT, ...) when the socket could not
 * be connected at all, else 0. */
json_t *jsonsock_call(const char *path, const json_t *req, int timeout_ms,
		      int *unreachable, char *err, size_t errlen);
/* Peer credentials of a connected socket (SO_PEERCRED). */
int jsonsock_peer_uid(int fd, uid_t *uid);

#endif
