/* metrics.c: cordon-agent's Prometheus metrics (GET /metrics,
 * docs/metrics.md), read from the agent's own state at each scrape. */
#ifndef CORDON_AGENT_METRICS_H
#define CORDON_AGENT_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "metrics_text.h"

struct agent;
struct metrics_http;

struct agent_metrics {
	struct metrics_http *http;  /* NULL: metrics_listen = off, or not bound */
	struct mhist apply;         /* desired state received -> kernel committed */
	uint64_t received_mono_us;  /* first desired state not committed yet; 0 none */
};

void agent_metrics_init(struct agent_metrics *m);
/* The exposition text (a metrics_render_fn; ctx: the struct agent). */
char *agent_metrics_render(void *ctx, size_t *len);
/* A desired state arrived / what arrived is in the kernel now. */
void agent_metrics_received(struct agent_metrics *m);
void agent_metrics_applied(struct agent_metrics *m);

#endif
