/* enforce.c: converges this host to the desired state: persisted state
 * first, then one nft batch; re-asserts the table after tampering. */
#ifndef CORDON_ENFORCE_H
#define CORDON_ENFORCE_H

#include <stdbool.h>
#include <stdint.h>

#include "codec.h"
#include "inventory.h"
#include "nft.h"
#include "state.h"

struct enforcer {
	struct nft *nft;
	struct agent_state state;
	const struct inventory *inv;          /* borrowed */
	char state_path[4200];
	struct nft_view applied;              /* in the kernel */
	bool inv_ready;                       /* inventory read: ports from it */
	unsigned ports_recut;                 /* port devices re-created while cut */
	bool kernel_dirty;                    /* last batch failed: retry */
	bool state_dirty;                     /* last save failed: retry */
	bool staged;                          /* staged, not committed yet */
	unsigned tamper_count;
	int64_t last_tamper;                  /* wall seconds */
	bool table_ok;                        /* last verify / assert */
	bool libvirt_mech;                    /* mech.c runs: power off is real */
	size_t max_unlisted;                  /* config max_unlisted_vms */
	uint64_t unlisted_refused;            /* desired entries not kept */
	char last_error[256];
};

/* Loads the state file and asserts the table from it, before anything
 * else: cuts hold from the first moment. -1 with reason in err. */
int enforcer_start(struct enforcer *e, const char *table, const char *state_dir,
		   const struct inventory *inv, bool inv_ready, nft_port_probe_fn *probe,
		   void *probe_arg, char *err, size_t errlen);
void enforcer_stop(struct enforcer *e);

/* Takes desired states into memory only (no I/O), so that everything
 * queued on the link costs one state write and one kernel batch. full:
 * states not listed are lifted and forgotten. */
int enforcer_stage(struct enforcer *e, Cordon__VmState **desired, size_t n,
		   bool full);
/* Persists the state, then brings the kernel to it. 0 or -1. */
int enforcer_commit(struct enforcer *e);
/* Ack of the current generations of these VMs; empty while the state or
 * the kernel is not in sync. Free with enforcer_ack_free. */
int enforcer_ack_for(struct enforcer *e, char *const *uuids, size_t n,
		     Cordon__Ack *ack);
void enforcer_ack_free(Cordon__Ack *ack);

/* After the inventory changed: recompute MACs of known VMs. */
int enforcer_inventory_changed(struct enforcer *e);
/* Tampering seen on the monitor, or periodic check: verify/re-assert. */
void enforcer_reassert(struct enforcer *e, const char *why);
void enforcer_verify(struct enforcer *e);
/* Retries failed saves / batches. */
void enforcer_tick(struct enforcer *e);

/* The port's device exists (the probe given at start: link.c's cache). */
bool enforcer_port_present(const struct enforcer *e, const char *port);
/* What status and metrics count: v holds something on this host (a cut,
 * power off, a held NIC or saved power state); cut ports whose device is
 * gone; interfaces cut by MAC only (the bridge table). */
bool enforcer_vm_holds(const struct vm_enforced *v);
size_t enforcer_ports_missing(const struct enforcer *e);
size_t enforcer_macs_cut(const struct enforcer *e);
/* A link appeared (present) or vanished; name NULL: events were lost. */
void enforcer_link_event(struct enforcer *e, const char *name, bool present);

/* What holds for a VM now: "nft", "nft,detach", "nft,link-down",
 * "nft,power-off", "none"... (a static buffer, valid until the next call) */
const char *enforcer_mechanisms(const struct enforcer *e, const struct vm_enforced *v);
/* Persists the state now (mech.c, before a detach). 0 or -1. */
int enforcer_save(struct enforcer *e);
/* Enforced list for Hello: caller frees with enforcer_states_free. */
Cordon__VmState **enforcer_states(struct enforcer *e, size_t *n);
void enforcer_states_free(Cordon__VmState **v, size_t n);

#endif
