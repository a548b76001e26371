/* metrics.c: cordond's Prometheus metrics (GET /metrics, docs/metrics.md):
 * what the registry and the store say at each scrape, plus counters kept
 * in memory since the start. */
#ifndef CORDON_CTL_METRICS_H
#define CORDON_CTL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
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
/* The exposition text (a metrics_render_fn; ctx: the struct cordond). */
char *ctl_metrics_render(void *ctx, size_t *len);

/* A step fired (forced: escalated by hand), late_s after it was due. */
void ctl_metrics_step_fired(struct ctl_metrics *m, bool forced, int64_t late_s);
/* After the transaction's commit / rollback. */
void ctl_metrics_steps_commit(struct ctl_metrics *m);
void ctl_metrics_steps_discard(struct ctl_metrics *m);

#endif
