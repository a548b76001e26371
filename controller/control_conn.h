/* control_conn.c: the control sockets' listeners and clients, served from
 * cordond's main loop. No client can hold that loop: every socket is
 * non-blocking, a request must arrive whole within CONTROL_REQUEST_MS of
 * the accept, its reply must be taken within CONTROL_REPLY_MS, and at most
 * CONTROL_MAX_CONNS clients are open at once (beyond, the listeners are not
 * polled: clients wait in the kernel's backlog until a slot frees). */
#ifndef CORDON_CONTROL_CONN_H
#define CORDON_CONTROL_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <zmq.h>

#define CONTROL_MAX_CONNS 64
#define CONTROL_MAX_LISTENERS 2
#define CONTROL_POLL_MAX (CONTROL_MAX_LISTENERS + CONTROL_MAX_CONNS)
#define CONTROL_REQUEST_MAX (1024 * 1024) /* 64 KiB evidence, escaped: < 400 KiB */
#define CONTROL_REQUEST_MS 2000
#define CONTROL_REPLY_MS 10000
/* A listener out of descriptors (EMFILE) is retried this much later, or
 * as soon as a client closes. */
#define CONTROL_ACCEPT_RETRY_MS 100

struct cordond;
struct control_server;

struct control_server *control_server_new(void);
/* Closes every client and listener (and unlinks the listeners' paths). */
void control_server_free(struct control_server *s);
/* Serves the listening socket fd (taken; path unlinked at free). readonly:
 * clients there get read commands only. -1 when the table is full. */
int control_server_add(struct control_server *s, int fd, const char *path, bool readonly);
/* The sockets to poll now, in items (room for CONTROL_POLL_MAX); their count. */
size_t control_poll_fill(struct control_server *s, zmq_pollitem_t *items);
/* Serves what zmq_poll reported on the items control_poll_fill gave, and
 * closes clients past their deadline. Called on every turn of the loop. */
void control_poll_handle(struct cordond *d, const zmq_pollitem_t *items, size_t n);

#endif
