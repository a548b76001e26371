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

/* A libvirt mechanism holding one interface (agent/mech.c). */
enum held_mech {
	HELD_DETACHING = 0,        /* XML saved, detach asked or about to be */
	HELD_DETACH,               /* gone from the live and persistent domain */
	HELD_LINK_DOWN,            /* guest did not release it: link down */
	/* Restored by link up, but the guest never answered the unplug
	 * request: QEMU completes it at the guest's next reset. Not a cut;
	 * watched to re-attach the NIC if it vanishes before the domain
	 * restarts (then the request is gone). */
	HELD_UNPLUG_PENDING,
};

struct held_iface {
	struct mac mac;
	int scope;                 /* scope index it was cut for */
	enum held_mech mech;
	char *xml;                 /* its live <interface> XML, saved before */
	bool unplug_pending;       /* detach asked, never answered by the guest */
	int domain_id;             /* UNPLUG_PENDING: libvirt id when restored */
};

/* Power held by cordon (desired power_off with libvirt). */
struct power_hold {
	bool saved;                /* was_running/autostart recorded: ours */
	bool held;                 /* shut off by cordon */
	bool was_running;          /* power on again at restore */
	bool autostart;            /* put back at restore */
};

/* The port (host-side device) an interface of a cut VM was last known to
 * be plugged into: its chains are asserted from the state at start,
 * before any inventory is read. */
struct vm_port {
	struct mac mac;
	char port[16];
};

struct vm_enforced {
	char uuid[STATE_UUID_MAX + 1];
	uint64_t generation;       /* last desired generation applied */
	uint32_t scopes;           /* SCOPE_* bits */
	bool power_off;
	/* MACs this VM put in each scope's set: enough to re-apply at start
	 * without any inventory, and to lift exactly what was added. */
	struct mac_list macs[SCOPE_COUNT];
	/* libvirt mechanisms (optional in the file: absent = none). */
	struct held_iface *held;
	size_t n_held;
	struct power_hold power;
	/* Ports of the cut MACs (optional in the file: absent = none known,
	 * as written by agents before ports: those MACs are cut by MAC until
	 * the inventory names their ports). */
	struct vm_port *ports;
	size_t n_ports;
	uint32_t restarted;        /* started by someone while it had to be off */
	/* Bits of its desired scopes this agent does not know (a newer
	 * controller's): every known scope is cut for them. Not saved: the
	 * scopes saved are all cut, and the controller's next set says it
	 * again. */
	uint32_t unknown_scopes;
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
/* text (and a newline) as the whole of path, the same way: a temporary
 * file (0600), fsync, rename, fsync of the directory. 0 or -1 (errno). */
int state_write_atomic(const char *path, const char *text);
void state_clear(struct agent_state *state);

struct vm_enforced *state_find(struct agent_state *state, const char *uuid);
/* Returns the existing entry or a new zeroed one with uuid set; NULL on
 * allocation failure or a uuid longer than STATE_UUID_MAX. */
struct vm_enforced *state_upsert(struct agent_state *state, const char *uuid);
void state_remove(struct agent_state *state, const char *uuid);
/* Removes every entry drop() says to, in one pass (order kept): lifting a
 * full set's worth of VMs is linear, not one memmove per VM. */
void state_remove_if(struct agent_state *state,
		     bool (*drop)(struct vm_enforced *vm, void *arg), void *arg);

/* Held interfaces: find by MAC; add takes a copy of xml; del frees it. */
struct held_iface *state_held_find(struct vm_enforced *vm, const struct mac *mac);
struct held_iface *state_held_add(struct vm_enforced *vm, const struct mac *mac,
				  int scope, const char *xml);
void state_held_del(struct vm_enforced *vm, const struct mac *mac);
const char *state_held_mech_name(enum held_mech m);

/* The recorded port of mac, or NULL. set: port NULL or "" forgets it.
 * 0, or -1 (allocation, or not a device name). */
const char *state_port_of(const struct vm_enforced *vm, const struct mac *mac);
int state_port_set(struct vm_enforced *vm, const struct mac *mac, const char *port);

#endif
