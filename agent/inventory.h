/* inventory.c: the VMs on this host and their interfaces.
 *
 * One struct whatever the source: a static JSON file (inventory_load_static)
 * or libvirt (virt.c, virt_read.c). */
#ifndef CORDON_AGENT_INVENTORY_H
#define CORDON_AGENT_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "codec.h"
#include "config.h"
#include "contact.h"
#include "mac.h"
#include "strindex.h"

struct inv_iface {
	struct mac mac;
	char mac_text[MAC_STRLEN];
	char bridge[64];            /* source bridge, or the libvirt network's name */
	char scope[16];             /* "public" / "private" from the config map */
	bool unmapped;              /* bridge not in [scopes]: scope is "unmapped" */
	char type[16];              /* libvirt <interface type=>; "" from the file */
	char target[64];            /* tap device while running; "" when unknown */
	char model[32];             /* "virtio", ...; "" when unknown */
	char **ips;
	size_t n_ips;
};

struct inv_vm {
	char uuid[65];
	char name[128];
	char state[32];
	char contact[CONTACT_MAX + 1]; /* the owner's, "" when none */
	bool autostart;
	int domain_id;              /* libvirt's id while running (new at each
				     * start), -1 when off or static */
	struct inv_iface *ifaces;
	size_t n_ifaces;
};

struct inventory {
	struct inv_vm *vms;
	size_t n;
	struct strindex *index;     /* uuid -> position; built on first lookup */
	uint64_t read_ms;           /* libvirt: when the read began (monotonic) */
	bool complete;              /* every VM of the source was read: a VM
				     * absent from it is not on this host */
};

/* Replaces *out only on success; -1 with "file: reason" in err. */
int inventory_load_static(const char *path, const struct agent_config *cfg,
			  struct inventory *out, char *err, size_t errlen);
void inventory_clear(struct inventory *inv);
void inventory_vm_free(struct inv_vm *vm);
/* Adds one address (IPv4/IPv6 text) unless already listed: 0, or -1 when
 * it is not an address, the list is full (CORDON_MAX_IPS) or memory ran out. */
int inventory_iface_add_ip(struct inv_iface *ifc, const char *ip);
/* After filling inv->vms[0..n): sorts by uuid (so equal inventories compare
 * equal whatever order the source listed them in) and builds the index;
 * -1 if a uuid is listed twice. */
int inventory_finish(struct inventory *inv, char *err, size_t errlen);
/* Same VMs, interfaces, addresses and states, in the same order. */
bool inventory_equal(const struct inventory *a, const struct inventory *b);
const struct inv_vm *inventory_find(const struct inventory *inv,
				    const char *uuid);
/* The same, for the owner that completes a VM (virt.c's held interfaces). */
struct inv_vm *inventory_find_mut(const struct inventory *inv, const char *uuid);
/* The VM's interface with that MAC, or NULL (mutable for the owner that
 * completes a VM, as inventory_find_mut). */
struct inv_iface *inventory_vm_iface(const struct inv_vm *vm, const struct mac *mac);
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
