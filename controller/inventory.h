/* inventory.c: hosts, VMs, interfaces and addresses as the agents report
 * them; resolving what an operator typed (uuid, name, IP) to one VM. */
#ifndef CORDON_CTL_INVENTORY_H
#define CORDON_CTL_INVENTORY_H

#include <jansson.h>
#include <stddef.h>

#include "codec.h"
#include "store.h"

/* Makes vms the whole inventory of host_id: VMs listed are (re)bound to it,
 * VMs bound to it but not listed are unbound. Collects into moved[] the
 * distinct previous hosts of VMs that came from another host (for a
 * resync), up to max_moved. Call inside a transaction. 0 or -1. */
int inventory_replace_host(struct store *store, const char *host_id,
			   Cordon__Vm **vms, size_t n, char moved[][65],
			   size_t max_moved, size_t *n_moved);
int inventory_host_seen(struct store *store, const char *host_id,
			const char *version);

/* key = uuid, name or IP. 0 and uuid filled, or -1 with an error message
 * meant for an operator ("no VM named 'x' (cordonctl vms lists them)"). */
int inventory_resolve(struct store *store, const char *key, char uuid[65],
		      char *err, size_t errlen);
/* Host a VM is on now; "" when unknown. */
int inventory_vm_host(struct store *store, const char *uuid, char host[65]);

/* JSON description of one VM: uuid, name, host, state, ips, interfaces
 * (when with_ifaces). NULL if unknown. */
json_t *inventory_vm_json(struct store *store, const char *uuid,
			  int with_ifaces);

#endif
