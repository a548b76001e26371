#include "registry.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

void registry_clear(struct registry *reg)
{
	free(reg->agents);
	memset(reg, 0, sizeof(*reg));
}

struct agent_conn *registry_by_host(struct registry *reg, const char *host)
{
	for (size_t i = 0; i < reg->n; i++)
		if (strcmp(reg->agents[i].peer.host_id, host) == 0)
			return &reg->agents[i];
	return NULL;
}

struct agent_conn *registry_by_peer(struct registry *reg, const struct peer *peer)
{
	struct agent_conn *a = registry_by_host(reg, peer->host_id);

	if (!a || !a->connected || a->peer.rid_len != peer->rid_len ||
	    memcmp(a->peer.rid, peer->rid, peer->rid_len) != 0)
		return NULL;
	return a;
}

/* host's entry, a new (zeroed) one if it has none; NULL without memory. */
static struct agent_conn *registry_slot(struct registry *reg, const char *host)
{
	struct agent_conn *a = registry_by_host(reg, host);

	if (a)
		return a;
	if (reg->n == reg->cap) {
		size_t cap = reg->cap ? reg->cap * 2 : 8;
		struct agent_conn *v = realloc(reg->agents, cap * sizeof(*v));
		if (!v)
			return NULL;
		reg->agents = v;
		reg->cap = cap;
	}
	a = &reg->agents[reg->n++];
	memset(a, 0, sizeof(*a));
	return a;
}

struct agent_conn *registry_bind(struct registry *reg, const struct peer *peer)
{
	struct agent_conn *a = registry_slot(reg, peer->host_id);

	if (!a)
		return NULL;
	/* A new connection of the same host replaces the old one (restart). */
	a->peer = *peer;
	a->protocol = peer->version;
	a->refused[0] = '\0';
	a->connected = true;
	a->last_resend_mono = 0;
	a->sent_gen = 0;
	registry_touch(a);
	return a;
}

int registry_refuse(struct registry *reg, const struct peer *peer, const char *reason)
{
	struct agent_conn *a = registry_slot(reg, peer->host_id);
	int changed;

	if (!a)
		return -1;
	changed = strcmp(a->refused, reason) != 0 || a->connected;
	/* Its routing id too: the agent that was there is gone. */
	a->peer = *peer;
	a->protocol = peer->version;
	a->connected = false;
	strlcpy_checked(a->refused, reason, sizeof(a->refused));
	registry_touch(a);
	return changed;
}

void registry_touch(struct agent_conn *agent)
{
	agent->last_seen_mono = now_mono_ms();
	agent->last_seen_wall = (int64_t)(now_wall_ms() / 1000);
}

int registry_expire(struct registry *reg, uint64_t timeout_ms, uint64_t read_at)
{
	int changed = 0;

	for (size_t i = 0; i < reg->n; i++) {
		struct agent_conn *a = &reg->agents[i];
		if (a->connected && read_at > a->last_seen_mono &&
		    read_at - a->last_seen_mono > timeout_ms) {
			a->connected = false;
			log_warnx("agent %s silent for %llu ms: disconnected",
				  a->peer.host_id, (unsigned long long)(read_at - a->last_seen_mono));
			changed++;
		}
	}
	return changed;
}

size_t registry_connected_count(const struct registry *reg)
{
	size_t n = 0;
	for (size_t i = 0; i < reg->n; i++)
		n += reg->agents[i].connected;
	return n;
}
