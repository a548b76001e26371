#include "metrics.h"

#include <stdio.h>
#include <string.h>

#include "case_counts.h"
#include "cordond.h"
#include "log.h"
#include "util.h"

/* Lateness of a step: most fire within a tick; minutes and hours mean the
 * controller was down or stuck. */
static const double late_bounds[] = { 1, 5, 15, 60, 300, 900, 3600, 14400, 86400 };

void ctl_metrics_init(struct ctl_metrics *m)
{
	memset(m, 0, sizeof(*m));
	mhist_init(&m->late, late_bounds, sizeof(late_bounds) / sizeof(late_bounds[0]));
	mhist_init(&m->late_staged, late_bounds, sizeof(late_bounds) / sizeof(late_bounds[0]));
}

void ctl_metrics_step_fired(struct ctl_metrics *m, bool forced, int64_t late_s)
{
	if (forced)
		m->escalated_staged++;
	else
		mhist_observe(&m->late_staged, late_s > 0 ? (double)late_s : 0);
}

void ctl_metrics_steps_commit(struct ctl_metrics *m)
{
	mhist_merge(&m->late, &m->late_staged);
	m->escalated += m->escalated_staged;
	ctl_metrics_steps_discard(m);
}

void ctl_metrics_steps_discard(struct ctl_metrics *m)
{
	mhist_reset(&m->late_staged);
	m->escalated_staged = 0;
}

/* Gauges that are the columns of one row of one query (?1, if it has
 * one: now). */
struct gauge_row {
	const char *sql;
	struct {
		const char *name, *help;
	} g[5];
	int n;
};

static const struct gauge_row gauge_rows[] = {
	{ "SELECT (SELECT count(*) FROM hosts), (SELECT count(*) FROM vms)",
	  { { "cordon_agents_known", "Hosts the store knows." },
	    { "cordon_vms_known", "VMs in the agents' inventories." } }, 2 },
	/* The desired table once (a row per VM ever cut: 20k rows are a few
	 * milliseconds); the counts of `cordonctl status`. */
	{ "SELECT count(*) FILTER (WHERE scopes <> 0 OR power_off <> 0),"
	  " count(*) FILTER (WHERE (scopes <> 0 OR power_off <> 0) AND error IS NULL"
	  "   AND acked_generation >= generation),"
	  " count(*) FILTER (WHERE acked_generation < generation),"
	  " count(*) FILTER (WHERE error IS NOT NULL AND acked_generation >= generation),"
	  " ?1 - min(CASE WHEN acked_generation < generation THEN updated END)"
	  " FROM desired",
	  { { "cordon_vms_cut_desired", "VMs whose desired state cuts something (a scope or power)." },
	    { "cordon_vms_cut_acked",
	      "VMs with a desired cut their hosts acked at its current generation." },
	    { "cordon_vms_pending", "VMs whose current generation (cut or restore) is not acked yet." },
	    { "cordon_vms_error", "VMs whose host acked their generation with an error." },
	    { "cordon_oldest_unacked_generation_age_seconds",
	      "Age of the oldest generation not acked yet (0 when all are acked)." } }, 5 },
	/* Both through the (state, due) index. */
	{ "SELECT (SELECT count(*) FROM case_steps WHERE state = 'failing'),"
	  " ?1 - (SELECT min(due) FROM case_steps WHERE state = 'pending')",
	  { { "cordon_steps_failing", "Steps that failed and are retried with backoff." },
	    { "cordon_steps_overdue_seconds",
	      "How long the most overdue pending step has been due (0 if none is)." } }, 2 },
	{ "SELECT (SELECT count(*) FROM notifications WHERE state = 'pending' AND attempts > 0),"
	  " (SELECT count(*) FROM notifications WHERE state = 'failed')",
	  { { "cordon_notifications_retrying", "Notifications whose last attempt failed, to be retried." },
	    { "cordon_notifications_failed",
	      "Notifications given up after every attempt failed (kept, never resent)." } }, 2 },
};

/* NULL (no unacked generation, no pending step) and negative (a due time
 * ahead) read as 0. */
static int put_gauge_row(struct cordond *d, struct mtext *m, const struct gauge_row *r)
{
	struct db_stmt *st = store_cached(d->store, r->sql);
	int rc;

	if (!st || (db_bind_parameter_count(st) > 0 &&
		    db_bind_int64(st, 1, store_now()) != 0))
		return -1;
	rc = store_step(d->store, st);
	for (int i = 0; rc == 1 && i < r->n; i++) {
		int64_t v = db_column_int64(st, i); /* NULL: 0 */
		mtext_single(m, r->g[i].name, "gauge", r->g[i].help, v > 0 ? (double)v : 0);
	}
	db_reset(st);
	return rc == 1 ? 0 : -1;
}

static void put_info(struct cordond *d, struct mtext *m)
{
	struct mlabel v = { "version", CORDON_VERSION };

	mtext_family(m, "cordon_build_info", "gauge", "cordond's version (always 1).");
	mtext_sample(m, "cordon_build_info", &v, 1, 1);
	mtext_single(m, "cordon_start_time_seconds", "gauge",
		     "When cordond started (Unix time).", (double)d->started);
	mtext_single(m, "cordon_agents_connected", "gauge",
		     "Agents connected now (said hello, not timed out).",
		     (double)registry_connected_count(&d->registry));
	mtext_single(m, "cordon_store_errors_total", "counter",
		     "Store (SQLite or PostgreSQL) statements that failed since the start.",
		     (double)store_error_count(d->store));
	mtext_single(m, "cordon_notification_failures_total", "counter",
		     "Attempts to send a notification that failed since the start.",
		     (double)d->metrics.notify_failures);
}

/* Leadership (leader.c): which instance acts, under which term, for how
 * long yet, and whether it reaches its database. */
static void put_leader(struct cordond *d, struct mtext *m)
{
	struct mlabel inst = { "instance", d->cfg.instance };

	mtext_family(m, "cordon_controller_leader", "gauge",
		     "1 while this instance acts (scheduler, pushes, changes), 0 following.");
	mtext_sample(m, "cordon_controller_leader", &inst, 1, leader_acting(d));
	mtext_single(m, "cordon_controller_term", "gauge",
		     "The leader's term (this instance's while it acts).", (double)leader_term(d));
	mtext_single(m, "cordon_controller_lease_seconds", "gauge",
		     "Lease left before a leader that cannot confirm its session stops acting.",
		     (double)leader_lease_left_ms(d) / 1000.0);
	mtext_single(m, "cordon_controller_database_up", "gauge",
		     "1 when the last leadership check reached the database.", d->leader.db_up);
}

/* Every host the store knows, connected or not: "agent down" per host. */
static int put_hosts(struct cordond *d, struct mtext *m)
{
	static const char sql[] = "SELECT host_id FROM hosts ORDER BY host_id";
	struct db_stmt *st = store_cached(d->store, sql);
	int rc;

	if (!st)
		return -1;
	mtext_family(m, "cordon_agent_connected", "gauge",
		     "1 while the host's agent is connected, 0 when it is not.");
	while ((rc = store_step(d->store, st)) == 1) {
		const char *host = (const char *)db_column_text(st, 0);
		struct agent_conn *a = registry_by_host(&d->registry, host ? host : "");
		struct mlabel l = { "host", host ? host : "" };
		mtext_sample(m, "cordon_agent_connected", &l, 1, a && a->connected);
	}
	db_reset(st);
	return rc;
}

/* Kept by case_counts.c: a million open cases cost nothing here. Each
 * category with a case since the start shows, 0 included. */
static int put_cases(struct cordond *d, struct mtext *m)
{
	static const char *const states[] = { "escalating", "responded" };
	struct db_stmt *st = store_cached(d->store, case_counts_sql(d->store));
	struct mlabel l[2] = { { "category", "" }, { "state", "" } };
	int rc;

	if (!st)
		return -1;
	mtext_family(m, "cordon_cases_open", "gauge",
		     "Open cases by category and state (escalating: the ladder runs;"
		     " responded: the customer answered, escalation stopped).");
	while ((rc = store_step(d->store, st)) == 1) {
		const char *cat = (const char *)db_column_text(st, 0);
		l[0].value = cat ? cat : "";
		l[1].value = states[db_column_int(st, 1) != 0];
		mtext_sample(m, "cordon_cases_open", l, 2, (double)db_column_int64(st, 2));
	}
	db_reset(st);
	return rc;
}

/* Counted in memory as the steps' transactions commit. */
static void put_steps_fired(const struct ctl_metrics *cm, struct mtext *m)
{
	struct mlabel how[2] = { { "how", "deadline" }, { "how", "escalated" } };

	mtext_family(m, "cordon_steps_fired_total", "counter",
		     "Ladder steps fired since the start: on their deadline, or by hand.");
	mtext_sample(m, "cordon_steps_fired_total", &how[0], 1, (double)cm->late.count);
	mtext_sample(m, "cordon_steps_fired_total", &how[1], 1, (double)cm->escalated);
	mtext_histogram(m, "cordon_step_lateness_seconds",
			"Fired time minus due time of the steps fired on their deadline.",
			&cm->late);
}

/* The store's families one by one: one that cannot be read is left out
 * whole (never shown as 0), and cordon_metrics_store_read_ok says so. */
/* A family that cannot be read is dropped whole (never shown as 0). */
static void put_or_drop(struct mtext *m, int rc, size_t mark, bool *ok)
{
	if (rc < 0) {
		mtext_rewind(m, mark);
		*ok = false;
	}
}

char *ctl_metrics_render(void *ctx, size_t *len)
{
	struct cordond *d = ctx;
	struct mtext m;
	bool ok = true;
	size_t mark;

	mtext_init(&m);
	put_info(d, &m);
	put_leader(d, &m);
	put_steps_fired(&d->metrics, &m);
	mark = m.len;
	put_or_drop(&m, put_hosts(d, &m), mark, &ok);
	for (size_t i = 0; i < sizeof(gauge_rows) / sizeof(gauge_rows[0]); i++) {
		mark = m.len;
		put_or_drop(&m, put_gauge_row(d, &m, &gauge_rows[i]), mark, &ok);
	}
	mark = m.len;
	put_or_drop(&m, put_cases(d, &m), mark, &ok);
	mtext_single(&m, "cordon_metrics_store_read_ok", "gauge",
		     "1 when this scrape read every family from the store.", ok);
	return mtext_take(&m, len);
}
