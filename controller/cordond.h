/* The controller's process-wide state, shared by its modules. */
#ifndef CORDON_CORDOND_H
#define CORDON_CORDOND_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "registry.h"
#include "store.h"
#include "transport.h"

struct cordond {
	struct ctl_config cfg;
	struct store *store;
	struct ctl_transport *transport;
	struct registry registry;
	int control_fd;
	int64_t started;
	bool test_clock;
};

/* agents.c: messages from agents, and desired state to them. */
void agents_handle(struct cordond *d, const struct peer *peer,
		   const Cordon__Envelope *env);
/* Sends the VM's desired state to the host it is on, if connected. */
void agents_push_vm(struct cordond *d, const char *uuid);
/* Sends the full desired set to host (after hello or a VM move). */
void agents_push_full(struct cordond *d, const char *host_id);
/* Resends what is not acked yet, expires silent agents. */
void agents_tick(struct cordond *d);

/* control.c: the unix control socket for cordonctl. */
void control_accept(struct cordond *d);
json_t *control_dispatch(struct cordond *d, const json_t *req, uid_t uid);

#endif
