/* vm_hosts.c: which hosts list a VM, and what each of them acked.
 *
 * A VM may be listed by several hosts at once (a live migration, a stale
 * definition, a host that lies). Each host that lists it gets its desired
 * state and acks it on its own; a host lifts a cut only when its own
 * inventory no longer has the VM. The desired row's ack columns are a
 * summary of the listing hosts' acks (acks_summarize), so that a VM is
 * "enforced" only once every host that has it enforces it. */
#ifndef CORDON_VM_HOSTS_H
#define CORDON_VM_HOSTS_H

#include <jansson.h>

#include "codec.h"
#include "store.h"

/* host lists uuid (state as reported). 1 if it did not before, 0 if it
 * did, -1 on error. Inside a transaction. */
int vm_hosts_add(struct store *store, const char *uuid, const char *host,
		 const char *state);
/* Drops every listing of host whose uuid is not in the temp table
 * `listed`, with that host's acks of it; fn is called for each (after).
 * Inside a transaction. 0 or -1. */
int vm_hosts_drop_unlisted(struct store *store, const char *host,
			   int (*fn)(struct store *store, const char *uuid, void *arg),
			   void *arg);
/* Calls fn for each host listing uuid; 0, or -1 (a read error). */
int vm_hosts_foreach(struct store *store, const char *uuid,
		     void (*fn)(const char *host, void *arg), void *arg);
/* The host to show for uuid: one that runs it, else the latest to list
 * it; "" when none. 0 or -1. */
int vm_hosts_pick_shown(struct store *store, const char *uuid, char host[65]);

/* Records host's ack of one VM. Refused (0, logged) when host does not
 * list the VM, when it acks a generation the controller never sent, or
 * acks the current generation with other scopes or power state than the
 * desired row: an agent never marks enforced what it does not enforce.
 * Inside a transaction. 0 or -1. */
int acks_record(struct store *store, const char *host, const Cordon__VmState *state);
/* Rewrites the desired row's ack summary from the listing hosts' acks:
 * the lowest generation acked (0 when a host has not acked), their
 * mechanisms and errors. No listing host: left as it was. 0 or -1. */
int acks_summarize(struct store *store, const char *uuid);
/* [{host, vm_state, acked_generation, mechanisms, error, acked_at}] */
json_t *vm_hosts_json(struct store *store, const char *uuid);

#endif
