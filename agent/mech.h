/* mech.c: libvirt mechanisms behind the nft cut: NIC detach (link-down
 * fallback) and power off, converged in a worker thread with its own
 * libvirt connection; results come back through mech_event_fd(). */
#ifndef CORDON_AGENT_MECH_H
#define CORDON_AGENT_MECH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "enforce.h"
#include "inventory.h"
#include "virt.h"

struct mech;

/* Starts the worker (it connects on its first job). NULL with err. */
struct mech *mech_new(const struct agent_config *cfg, char *err, size_t errlen);
/* Stops the worker after its current job (a detach in progress is
 * finished or undone by the next start, from the state file). */
void mech_free(struct mech *m);
int mech_event_fd(const struct mech *m);

/* Something changed (desired state, inventory, results): plan again on
 * the next mech_tick. */
void mech_kick(struct mech *m);
/* Applies finished jobs to the state (persisted) and queues what is due.
 * Returns the uuids whose reported mechanisms changed (to ack again) in
 * *changed (caller frees each and the array), their count in *n_changed. */
void mech_tick(struct mech *m, struct enforcer *e, const struct inventory *inv,
	       struct virt *v, char ***changed, size_t *n_changed);
/* Work queued or running for this VM, e.g. "detach 52:54:00:..", or NULL. */
const char *mech_pending(const struct mech *m, const char *uuid);
/* Jobs that failed since the start (each retried with backoff). */
unsigned long mech_jobs_failed(const struct mech *m);
/* {queued, running, connected, last_error, jobs_done, jobs_failed} */
json_t *mech_status(const struct mech *m);

#endif
