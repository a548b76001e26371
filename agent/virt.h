/* virt.c: the host's VMs from libvirt, kept current by libvirt's events.
 *
 * The main loop polls virt_event_fd(); on readiness it calls
 * virt_handle_wakeup(), and on every turn virt_tick(), which reconnects when
 * due and says when the inventory should be read again (virt_read_inventory).
 * All libvirt calls are made from the thread that calls these functions. */
#ifndef CORDON_AGENT_VIRT_H
#define CORDON_AGENT_VIRT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "inventory.h"
#include "state.h"

/* Namespace of the metadata element a provisioning system writes into the
 * domain XML to give each interface its addresses (docs/interfaces.md):
 *   <cordon:vm xmlns:cordon="https://cordon.dev/xmlns/vm/1">
 *     <cordon:interface mac="52:54:00:..."><cordon:ip>A</cordon:ip>...
 */
#define CORDON_VM_XMLNS "https://cordon.dev/xmlns/vm/1"

struct virt;

/* Starts libvirt's event loop thread; connects later, in virt_tick. Call
 * after the signal mask is set (the thread inherits it). NULL with err. */
struct virt *virt_new(const char *uri, char *err, size_t errlen);
void virt_free(struct virt *v);
int virt_event_fd(const struct virt *v);
/* Drains the event fd: notes a lost connection or schedules a re-read. */
void virt_handle_wakeup(struct virt *v);
/* Asks for a re-read soon (SIGHUP); also retries a lost connection now. */
void virt_request_reload(struct virt *v);
/* Connects when due; true when the inventory should be read now. */
bool virt_tick(struct virt *v, uint64_t now);
/* Milliseconds until virt_tick has something to do (at most max_ms). */
long virt_timeout_ms(const struct virt *v, uint64_t now, long max_ms);
bool virt_connected(const struct virt *v);
/* Every domain, running or defined. Replaces *out only on success; on -1
 * (not connected, libvirtd failing) *out is the last good inventory.
 * held (may be NULL): the agent state; interfaces it holds detached are
 * listed from their saved XML (with their metadata addresses). */
int virt_read_inventory(struct virt *v, const struct agent_config *cfg,
			struct agent_state *held, struct inventory *out, char *err,
			size_t errlen);
/* The <interface> element with this MAC in the domain's XML as of the
 * last good read (live XML when running), malloc'ed; NULL if unknown. */
char *virt_iface_xml(const struct virt *v, const char *uuid, const struct mac *mac);
/* {uri, connected, last_error, domains, reconnects, events, ...} */
json_t *virt_status(const struct virt *v);

#endif
