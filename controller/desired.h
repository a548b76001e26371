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

/* The manual hold of a VM has two parts: cut scopes (suspend/restore) and
 * power off (poweroff/poweron). */
enum hold_part { HOLD_SCOPES, HOLD_POWER };

/* Sets one part (value 0 clears it; a hold with nothing left is removed).
 * Call inside a transaction; then desired_recompute(). 0, or -1. */
int desired_set_hold(struct store *store, const char *uuid, enum hold_part part,
		     uint32_t value, const char *reason, uid_t uid);
/* 1 if that part of the VM's manual hold is set, 0 if not, -1 on error. */
int desired_has_hold(struct store *store, const char *uuid, enum hold_part part);

/* Recomputes the VM's desired state from its holds; a change gets a new
 * generation. *row receives the result. Inside a transaction. 0 or -1. */
int desired_recompute(struct store *store, const char *uuid,
		      struct desired_row *row);

int desired_get(struct store *store, const char *uuid, struct desired_row *row);

enum desired_select {
	DESIRED_ALL,        /* every row of the host (full set) */
	DESIRED_UNACKED,    /* rows not acked yet (resend) */
	DESIRED_NEWER,      /* rows newer than a generation (just changed) */
};

/* Calls fn for the selected desired rows of the VMs host_id lists. 0, or
 * -1 when the read failed part way (then nothing must be sent). */
int desired_foreach_host(struct store *store, const char *host_id,
			 enum desired_select sel, uint64_t newer_than,
			 void (*fn)(const struct desired_row *row, void *arg),
			 void *arg);

/* Adds scopes, power_off, generation, acked_generation, mechanisms, error,
 * hosts (vm_hosts_json) and state to obj: "enforced" (acked by every host
 * listing it, and cut), "pending" (not acked yet), "error" (acked, an agent
 * reported an error) or "none". 0, or -1 on a read error. */
int desired_add_json(struct store *store, const char *uuid, json_t *obj);

#endif
