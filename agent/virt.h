/* virt.c: the host's VMs from libvirt, kept current by libvirt's events.
 *
 * A reader thread makes every libvirt call (connect, list, XML), so a hung
 * libvirtd never stalls the caller: the main loop polls virt_event_fd()
 * and takes each complete read with virt_take_inventory(). */
#ifndef CORDON_AGENT_VIRT_H
#define CORDON_AGENT_VIRT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "inventory.h"
#include "state.h"

struct virt;

/* Starts libvirt's event loop thread and the reader, which connects at
 * once and reads every domain. cfg ([scopes], unmapped default) must
 * outlive v. Call after the signal mask is set (threads inherit it). */
struct virt *virt_new(const char *uri, const struct agent_config *cfg, char *err,
		      size_t errlen);
/* Stops the reader after its current libvirt call, then the event loop. */
void virt_free(struct virt *v);
/* Readable when a new complete read is published (virt_take_inventory). */
int virt_event_fd(const struct virt *v);
/* Waits up to timeout_ms for the reader's first connect + read. true when
 * a read is ready to take; false with why in err. */
bool virt_wait_first(struct virt *v, long timeout_ms, char *err, size_t errlen);
/* Takes the newest complete read: 1 replaced *out (a read that failed
 * publishes nothing: the last good inventory stays), 0 none new. held
 * (may be NULL): the agent state; interfaces it holds detached are listed
 * from their saved XML, with their metadata addresses. */
int virt_take_inventory(struct virt *v, struct agent_state *held, struct inventory *out);
/* Asks for a read now (SIGHUP, after a mechanism acted); also retries a
 * lost connection now. */
void virt_request_reload(struct virt *v);
/* The <interface> element with this MAC in the domain's XML as of the
 * last read taken (live XML when running), malloc'ed; NULL if unknown. */
char *virt_iface_xml(const struct virt *v, const char *uuid, const struct mac *mac);
/* {uri, connected, last_error, domains, reconnects, events, ...} */
json_t *virt_status(const struct virt *v);

#endif
