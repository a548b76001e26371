/* desired.c: each VM's desired state = union of its holds (manual suspends;
 * open cases later), with a generation that grows on every change, and
 * what the agents acked. */
#ifndef CORDON_DESIRED_H
#define CORDON_DESIRED_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "codec.h"
#include "store.h"

struct desired_row {
	char uuid[65];
	uint64_t generation;
	uint32_t scopes;
	bool power_off;
	uint64_t acked_generation;
};

/* Manual hold: sets (scopes != 0) or clears (scopes == 0) it. Call inside a
 * transaction; then desired_recompute(). 0, or -1. */
int desired_set_hold(struct store *store, const char *uuid, uint32_t scopes,
		     const char *reason, uid_t uid);
/* 1 if the VM has a manual hold, 0 if not, -1 on error. */
int desired_has_hold(struct store *store, const char *uuid);

/* Recomputes the VM's desired state from its holds; a change gets a new
 * generation. *row receives the result. Inside a transaction. 0 or -1. */
int desired_recompute(struct store *store, const char *uuid,
		      struct desired_row *row);

int desired_get(struct store *store, const char *uuid, struct desired_row *row);

/* Records an agent's ack; older or foreign acks are ignored. */
int desired_ack(struct store *store, const char *host_id,
		const Cordon__VmState *state);

enum desired_select {
	DESIRED_ALL,        /* every row of the host (full set) */
	DESIRED_UNACKED,    /* rows not acked yet (resend) */
	DESIRED_NEWER,      /* rows newer than a generation (just changed) */
};

/* Calls fn for the selected desired rows of VMs on host_id. */
int desired_foreach_host(struct store *store, const char *host_id,
			 enum desired_select sel, uint64_t newer_than,
			 void (*fn)(const struct desired_row *row, void *arg),
			 void *arg);

/* "enforced" (acked and cut), "pending" (not acked yet) or "none". */
const char *desired_state_name(const struct desired_row *row);
/* Adds scopes, power_off, generation, acked_generation, state, mechanisms,
 * error to obj. */
void desired_add_json(struct store *store, const char *uuid, json_t *obj);

#endif
