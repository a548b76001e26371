/* metrics.c: cordond's Prometheus metrics (GET /metrics, docs/metrics.md):
 * what the registry and the store say at each scrape, plus counters kept
 * in memory since the start. */
#ifndef CORDON_CTL_METRICS_H
#define CORDON_CTL_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "metrics_text.h"

struct cordond;
struct metrics_http;

struct ctl_metrics {
	struct metrics_http *http;  /* NULL: metrics_listen = off, or not bound */
	/* Steps fired in the transaction under way count once it commits. */
	struct mhist late, late_staged;
	uint64_t escalated, escalated_staged;
	uint64_t notify_failures;   /* failed attempts to send a notification */
};

void ctl_metrics_init(struct ctl_metrics *m);
/* Serves metrics_listen; an address that cannot be bound is logged, never
 * a reason not to run (enforcement matters more than its dashboard). */
void ctl_metrics_start(struct cordond *d);
void ctl_metrics_stop(struct cordond *d);

/* A step fired (forced: escalated by hand), late_s after it was due. */
void ctl_metrics_step_fired(struct ctl_metrics *m, bool forced, int64_t late_s);
/* After the transaction's commit / rollback. */
void ctl_metrics_steps_commit(struct ctl_metrics *m);
void ctl_metrics_steps_discard(struct ctl_metrics *m);

#endif
