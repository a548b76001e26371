/* inventory.c: hosts, VMs, interfaces and addresses as the agents report
 * them; resolving what an operator typed (uuid, name, IP) to one VM. */
#ifndef CORDON_CTL_INVENTORY_H
#define CORDON_CTL_INVENTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "codec.h"
#include "store.h"

/* vms is what host_id lists now. Each is listed by it (vm_hosts.c); when
 * complete, the VMs it listed before and not now are not any more. An
 * incomplete read (the agent could not read all its source) unlists
 * nothing. Call inside a transaction, after inventory_host_seen for a new
 * host. 0 or -1. */
int inventory_replace_host(struct store *store, const char *host_id,
			   Cordon__Vm **vms, size_t n, bool complete);
int inventory_host_seen(struct store *store, const char *host_id,
			const char *version);

/* key = uuid, name or IP. 0 and uuid filled, or -1 with an error message
 * meant for an operator ("no VM named 'x' (cordonctl vms lists them)"). */
int inventory_resolve(struct store *store, const char *key, char uuid[65],
		      char *err, size_t errlen);

/* JSON description of one VM: uuid, name, host, state, ips, interfaces
 * (when with_ifaces). NULL if unknown. */
json_t *inventory_vm_json(struct store *store, const char *uuid,
			  int with_ifaces);

#endif
