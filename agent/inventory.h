/* inventory.c: the VMs on this host and their interfaces.
 *
 * One small interface so the source can change: today a static JSON file
 * (inventory_load_static); libvirt later fills the same struct. */
#ifndef CORDON_AGENT_INVENTORY_H
#define CORDON_AGENT_INVENTORY_H

#include <stddef.h>

#include "codec.h"
#include "config.h"
#include "mac.h"
#include "strindex.h"

struct inv_iface {
	struct mac mac;
	char mac_text[MAC_STRLEN];
	char bridge[64];
	char scope[16];             /* "public" / "private" from the config map */
	char **ips;
	size_t n_ips;
};

struct inv_vm {
	char uuid[65];
	char name[128];
	char state[32];
	struct inv_iface *ifaces;
	size_t n_ifaces;
};

struct inventory {
	struct inv_vm *vms;
	size_t n;
	struct strindex *index;     /* uuid -> position; built on first lookup */
};

/* Replaces *out only on success; -1 with "file: reason" in err. */
int inventory_load_static(const char *path, const struct agent_config *cfg,
			  struct inventory *out, char *err, size_t errlen);
void inventory_clear(struct inventory *inv);
const struct inv_vm *inventory_find(const struct inventory *inv,
				    const char *uuid);
/* Appends the VM's MACs to cut for scope index (smtp: public ones). */
int inventory_vm_macs(const struct inv_vm *vm, int scope, struct mac_list *out);

/* Wire form; strings are borrowed from inv, so inv must outlive it. */
struct inventory_wire {
	Cordon__Vm **vms;
	size_t n;
	Cordon__Vm *vm_store;
	Cordon__Interface *if_store;
	Cordon__Interface **if_ptrs;
};
int inventory_to_wire(const struct inventory *inv, struct inventory_wire *w);
void inventory_wire_free(struct inventory_wire *w);

#endif
