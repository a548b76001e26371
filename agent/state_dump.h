/* state_dump.c: the agent state file's text (state.c writes it). */
#ifndef CORDON_AGENT_STATE_DUMP_H
#define CORDON_AGENT_STATE_DUMP_H

#include "state.h"

/* The whole file as a malloc'ed string, or NULL with errno set (EINVAL: a
 * VM state_load would refuse; ENOMEM). */
char *state_dump(const struct agent_state *state, int version);

#endif
