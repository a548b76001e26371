/* jsonsock_server.c: unix sockets of one-JSON-request-per-connection
 * clients (cordond's control sockets, the agent's status socket), served
 * from the daemon's main loop. No client can hold that loop: every socket
 * is non-blocking, a request must arrive whole within JSONSOCK_REQUEST_MS
 * of the accept, its reply must be taken within JSONSOCK_REPLY_MS, and at
 * most JSONSOCK_MAX_CONNS clients are open at once (beyond, the listeners
 * are not polled: clients wait in the kernel's backlog until a slot frees). */
#ifndef CORDON_JSONSOCK_SERVER_H
#define CORDON_JSONSOCK_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <zmq.h>

#define JSONSOCK_MAX_CONNS 64
#define JSONSOCK_MAX_LISTENERS 3
#define JSONSOCK_POLL_MAX (JSONSOCK_MAX_LISTENERS + JSONSOCK_MAX_CONNS)
#define JSONSOCK_REQUEST_MAX (1024 * 1024) /* 64 KiB evidence, escaped: < 400 KiB */
#define JSONSOCK_REQUEST_MS 2000
#define JSONSOCK_REPLY_MS 10000
/* A listener out of descriptors (EMFILE) is retried this much later, or
 * as soon as a client closes. */
#define JSONSOCK_ACCEPT_RETRY_MS 100
/* After a reply larger than this the heap is trimmed (malloc_trim). */
#define JSONSOCK_TRIM_AFTER (1024 * 1024)

/* Answers one request (the reply is the caller's to free; NULL: none).
 * role: the tag of the listener it came through (what the server lets
 * that socket's clients do: its own meaning). */
typedef json_t *(*jsonsock_serve_fn)(void *ctx, const json_t *req, uid_t uid, int role);

struct jsonsock_server;

/* what names the sockets in log lines ("control socket"; a static string). */
struct jsonsock_server *jsonsock_server_new(const char *what, jsonsock_serve_fn serve, void *ctx);
/* Closes every client and listener (and unlinks the listeners' paths). */
void jsonsock_server_free(struct jsonsock_server *s);
/* Serves the listening socket fd (taken; path unlinked at free) with its
 * role for the serve function; a request longer than request_max (0:
 * JSONSOCK_REQUEST_MAX) is refused. -1 when the table of listeners is
 * full. */
int jsonsock_server_add(struct jsonsock_server *s, int fd, const char *path, int role,
			size_t request_max);
/* The sockets to poll now, in items (room for JSONSOCK_POLL_MAX); their count. */
size_t jsonsock_server_poll_fill(struct jsonsock_server *s, zmq_pollitem_t *items);
/* Serves what zmq_poll reported on the items poll_fill gave, and closes
 * clients past their deadline. Called on every turn of the loop. */
void jsonsock_server_poll_handle(struct jsonsock_server *s, const zmq_pollitem_t *items, size_t n);

#endif
