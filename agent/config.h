/* config.c: agent.conf ([agent] and [scopes] sections). */
#ifndef CORDON_AGENT_CONFIG_H
#define CORDON_AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "endpoint.h"
#include "metrics_addr.h"

#define AGENT_DEFAULT_CONFIG "/etc/cordon/agent.conf"
#define AGENT_DEFAULT_METRICS "127.0.0.1:9751"
#define AGENT_MAX_SCOPE_MAP 64
/* controller = a list of endpoints (cordond instances sharing a store),
 * one at a time in use: the acting leader's. */
#define AGENT_MAX_CONTROLLERS 8
#define AGENT_KEY_PATH_MAX 4096

struct scope_map_entry {
	char bridge[64];
	char scope[16];             /* "public" or "private" */
};

/* Where the agent learns which VMs the host has ([agent] inventory). */
enum inventory_source { INVENTORY_STATIC = 0, INVENTORY_LIBVIRT };

#define AGENT_DEFAULT_LIBVIRT_URI "qemu:///system"

struct agent_config {
	char host_id[65];
	/* The endpoints in the order written; the agent starts at the first. */
	char controllers[AGENT_MAX_CONTROLLERS][ENDPOINT_MAX + 1];
	size_t n_controllers;
	/* One public key file for every endpoint (they share the key pair),
	 * or one per endpoint, in the same order. */
	char controller_keys[AGENT_MAX_CONTROLLERS][AGENT_KEY_PATH_MAX];
	size_t n_controller_keys;
	char key[4096];
	char state_dir[4096];
	char status_socket[108];
	char status_group[64];      /* "" = root only (0600), else 0660 and this group */
	char nft_table[64];
	char inventory_file[4096];
	enum inventory_source inventory;
	char libvirt_uri[1024];
	char log_level[16];
	long heartbeat_ms;
	long verify_ms;
	long max_unlisted_vms;      /* new desired entries for VMs not in the
				     * inventory beyond this are not kept */
	struct scope_map_entry scopes[AGENT_MAX_SCOPE_MAP];
	size_t n_scopes;
	char unmapped_scope[16];    /* scope of unlisted bridges */
	/* [agent] mechanisms: "nft" always; "detach" (libvirt only) saves,
	 * detaches and falls back to link down. Default: nft,detach with
	 * inventory = libvirt, else nft. Power off is always libvirt's. */
	char mechanisms[64];
	bool mech_detach;
	long detach_timeout_ms;
	long shutdown_timeout_ms;
	struct metrics_addr metrics; /* GET /metrics; default 127.0.0.1:9751 */
};

void agent_config_defaults(struct agent_config *cfg);
/* -1 with "file:line: reason" in err; checks required keys too. */
int agent_config_load(const char *path, struct agent_config *cfg, char *err,
		      size_t errlen);
/* The key file of the controller at endpoint i (0 <= i < n_controllers). */
const char *agent_config_controller_key(const struct agent_config *cfg, size_t i);
/* Scope of a bridge (or libvirt network) by the [scopes] map, else NULL. */
const char *agent_config_scope_find(const struct agent_config *cfg,
				   const char *bridge);
/* Scope of a bridge by the [scopes] map, else unmapped_scope. */
const char *agent_config_scope_of(const struct agent_config *cfg,
				  const char *bridge);

#endif
