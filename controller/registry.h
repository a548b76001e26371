/* registry.c: the agents the controller knows, connected or not. The
 * connection (routing id) lives here; hosts seen before are in the store. */
#ifndef CORDON_REGISTRY_H
#define CORDON_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "transport.h"

struct agent_conn {
	struct peer peer;          /* routing id + host id */
	bool connected;            /* said hello and not timed out */
	uint64_t last_seen_mono;   /* ms */
	int64_t last_seen_wall;    /* s */
	uint64_t last_resend_mono; /* ms */
	uint64_t last_ack_mono;    /* ms: the agent is making progress */
	uint64_t sent_gen;         /* highest generation sent on this link */
	uint64_t hello_again_mono; /* ms: its inventory is not stored, ask again then; 0 */
	char version[32];
	uint32_t vm_count;
	uint32_t protocol;         /* the agent's own protocol version; 0 unknown */
	char refused[128];         /* why its last connection was refused, or "" */
};

struct registry {
	struct agent_conn *agents;
	size_t n, cap;
};

void registry_clear(struct registry *reg);
struct agent_conn *registry_by_host(struct registry *reg, const char *host);
/* The connected agent behind this routing id, or NULL. */
struct agent_conn *registry_by_peer(struct registry *reg, const struct peer *peer);
/* Binds host to a (new) connection; NULL on allocation failure. */
struct agent_conn *registry_bind(struct registry *reg, const struct peer *peer);
/* Records that host's connection was refused (not connected, reason kept
 * for `cordonctl agents`). 1 when the reason is new (log it), 0 the same
 * as before, -1 on allocation failure. */
int registry_refuse(struct registry *reg, const struct peer *peer, const char *reason);
void registry_touch(struct agent_conn *agent);
/* Marks silent agents disconnected; returns how many changed. */
int registry_expire(struct registry *reg, uint64_t timeout_ms, uint64_t read_at);
size_t registry_connected_count(const struct registry *reg);

#endif
