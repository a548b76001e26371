/* The agent's process-wide state, shared by main.c and status.c. */
#ifndef CORDON_AGENT_H
#define CORDON_AGENT_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "enforce.h"
#include "inventory.h"
#include "link.h"
#include "mech.h"
#include "metrics.h"
#include "term.h"
#include "transport.h"
#include "virt.h"

struct jsonsock_server;

struct agent {
	struct agent_config cfg;
	struct inventory inv;
	struct enforcer enf;
	struct agent_link *link;
	struct virt *virt;        /* NULL with the static inventory */
	struct link_watch *links; /* the host's links: ports come and go */
	struct mech *mech;        /* libvirt mechanisms; NULL with the static inventory */
	bool inv_ready;           /* read once from its source */
	bool hello_without_inv;   /* gave up waiting for libvirt (logged once) */
	struct jsonsock_server *status; /* the status socket and its clients */
	int64_t started;
	uint64_t started_mono;
	unsigned pending_acks;    /* desired states received, not yet acked */
	bool inventory_dirty;     /* changed since the controller last saw it */
	char **ack_uuids;         /* staged, to ack after the commit */
	size_t n_ack, cap_ack;
	struct agent_metrics metrics; /* metrics.c: GET /metrics */
	struct term_state term;   /* term.c: the newest controller term accepted */
};

/* status.c */
json_t *status_build(const struct agent *a);
/* Answers a `cordon-agent status` request (a jsonsock_serve_fn, ctx: agent). */
json_t *status_serve(void *ctx, const json_t *req, uid_t uid, int role);
/* `cordon-agent status`: returns the exit status. */
int status_main(int argc, char **argv);

#endif
