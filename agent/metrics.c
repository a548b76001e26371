#include "metrics.h"

#include <string.h>

#include "agent.h"
#include "util.h"

/* One netlink batch is milliseconds; seconds mean a state write or the
 * kernel was stuck (or retried after a failure). */
static const double apply_bounds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

void agent_metrics_init(struct agent_metrics *m)
{
	memset(m, 0, sizeof(*m));
	mhist_init(&m->apply, apply_bounds, sizeof(apply_bounds) / sizeof(apply_bounds[0]));
}

void agent_metrics_received(struct agent_metrics *m)
{
	if (!m->received_mono_us)
		m->received_mono_us = now_mono_us();
}

void agent_metrics_applied(struct agent_metrics *m)
{
	if (!m->received_mono_us)
		return;
	mhist_observe(&m->apply, (double)(now_mono_us() - m->received_mono_us) / 1e6);
	m->received_mono_us = 0;
}

static void put_info(const struct agent *a, struct mtext *m)
{
	struct mlabel l[2] = { { "version", CORDON_VERSION }, { "host", a->cfg.host_id } };

	mtext_family(m, "cordon_agent_build_info", "gauge",
		     "cordon-agent's version and host id (always 1).");
	mtext_sample(m, "cordon_agent_build_info", l, 2, 1);
	mtext_single(m, "cordon_agent_start_time_seconds", "gauge",
		     "When the agent started (Unix time).", (double)a->started);
}

/* What is cut, as `cordon-agent status` counts it. */
static void put_enforcement(const struct agent *a, struct mtext *m)
{
	const struct enforcer *e = &a->enf;
	size_t enforced = 0;

	for (size_t i = 0; i < e->state.n; i++)
		enforced += enforcer_vm_holds(&e->state.vms[i]);
	mtext_single(m, "cordon_agent_vms_enforced", "gauge",
		     "VMs this host enforces something on (a cut, power off, a held NIC).",
		     (double)enforced);
	mtext_single(m, "cordon_agent_ports_cut", "gauge",
		     "VM ports with cut chains in the kernel.", (double)e->applied.ports.n);
	mtext_single(m, "cordon_agent_ports_missing", "gauge",
		     "Cut ports whose device does not exist now (kept, cut again when back).",
		     (double)enforcer_ports_missing(e));
	mtext_single(m, "cordon_agent_macs_cut", "gauge",
		     "Interfaces cut by MAC only (port unknown; spoofable fallback).",
		     (double)enforcer_macs_cut(e));
	mtext_single(m, "cordon_agent_nft_table_healthy", "gauge",
		     "1 when the last verify found the table as it must be and no batch failed.",
		     e->table_ok && !e->kernel_dirty);
	mtext_single(m, "cordon_agent_tamper_reasserts_total", "counter",
		     "Times the table was found changed by someone else and re-asserted.",
		     (double)e->tamper_count);
	mtext_histogram(m, "cordon_agent_apply_seconds",
			"From a desired state received to the kernel committed.", &a->metrics.apply);
	mtext_single(m, "cordon_agent_pending_acks", "gauge",
		     "Desired states received and not acked yet.", (double)a->pending_acks);
}

static void put_links(const struct agent *a, struct mtext *m)
{
	const struct agent_link *l = a->link;
	int64_t now = (int64_t)(now_wall_ms() / 1000);
	/* Never heard from yet: counted from the start, so an agent that never
	 * reached its controller shows as silent too. */
	int64_t since = l && l->last_heartbeat_wall ? l->last_heartbeat_wall : a->started;

	mtext_single(m, "cordon_agent_controller_link_up", "gauge",
		     "1 while the controller link is up (in sync and answering).",
		     l && l->state == LINK_UP && !l->silent);
	mtext_single(m, "cordon_agent_controller_heartbeat_age_seconds", "gauge",
		     "Seconds since the controller last answered a heartbeat (since the start"
		     " if it never did).", now > since ? (double)(now - since) : 0);
	mtext_single(m, "cordon_agent_controller_term", "gauge",
		     "The newest controller term this host accepted (0: none yet).",
		     (double)a->term.seen);
	mtext_single(m, "cordon_agent_stale_term_messages_total", "counter",
		     "Desired sets ignored for a term older than the newest accepted (a former"
		     " leader).", (double)a->term.stale);
	mtext_single(m, "cordon_agent_libvirt_job_failures_total", "counter",
		     "libvirt jobs (detach, link down, power off, re-attach) that failed.",
		     a->mech ? (double)mech_jobs_failed(a->mech) : 0);
}

char *agent_metrics_render(void *ctx, size_t *len)
{
	const struct agent *a = ctx;
	struct mtext m;

	mtext_init(&m);
	put_info(a, &m);
	put_enforcement(a, &m);
	put_links(a, &m);
	return mtext_take(&m, len);
}
