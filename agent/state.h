/* state.c: the agent's persisted enforcement state.
 *
 * What the agent enforces survives restarts, crashes and reboots: it is
 * written atomically (temporary file, fsync, rename, fsync of the
 * directory) after every change and read back at start, before the agent
 * connects to anyone, so the cuts can be re-applied at once. JSON (jansson),
 * so a host admin can read it. */
#ifndef CORDON_STATE_H
#define CORDON_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "mac.h"
#include "strindex.h"

#define STATE_UUID_MAX 64

struct vm_enforced {
	char uuid[STATE_UUID_MAX + 1];
	uint64_t generation;       /* last desired generation applied */
	uint32_t scopes;           /* SCOPE_* bits */
	bool power_off;
	/* MACs this VM put in each scope's set: enough to re-apply at start
	 * without any inventory, and to lift exactly what was added. */
	struct mac_list macs[SCOPE_COUNT];
};

struct agent_state {
	struct vm_enforced *vms;
	size_t n, cap;
	struct strindex index;     /* uuid -> position in vms */
};

/* A missing file is an empty state (returns 0). A file that cannot be
 * parsed or fails validation returns -1 with a reason in err, and leaves
 * *out empty. */
int state_load(const char *path, struct agent_state *out, char *err,
	       size_t errlen);
/* Atomic replace. 0 or -1 (errno set). */
int state_save(const char *path, const struct agent_state *state);
void state_clear(struct agent_state *state);

struct vm_enforced *state_find(struct agent_state *state, const char *uuid);
/* Returns the existing entry or a new zeroed one with uuid set; NULL on
 * allocation failure or a uuid longer than STATE_UUID_MAX. */
struct vm_enforced *state_upsert(struct agent_state *state, const char *uuid);
void state_remove(struct agent_state *state, const char *uuid);

#endif
