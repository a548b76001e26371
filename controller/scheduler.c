#include "scheduler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "cordond.h"
#include "desired.h"
#include "log.h"
#include "policy.h"
#include "util.h"

struct case_row {
	int64_t id;
	char category[POLICY_CATEGORY_MAX + 1];
	char vm_uuid[65];
	char contact[256];
	int64_t opened, responded, resolved; /* 0 = not */
};

static int case_load(struct cordond *d, int64_t id, struct case_row *c)
{
	static const char sql[] =
		"SELECT category, vm_uuid, coalesce(contact, ''), opened,"
		" coalesce(responded, 0), coalesce(resolved, 0) FROM cases WHERE id = ?";
	sqlite3_stmt *st = store_cached(d->store, sql);
	int rc = -1;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		memset(c, 0, sizeof(*c));
		c->id = id;
		strlcpy_checked(c->category, (const char *)sqlite3_column_text(st, 0), sizeof(c->category));
		strlcpy_checked(c->vm_uuid, (const char *)sqlite3_column_text(st, 1), sizeof(c->vm_uuid));
		strlcpy_checked(c->contact, (const char *)sqlite3_column_text(st, 2), sizeof(c->contact));
		c->opened = sqlite3_column_int64(st, 3);
		c->responded = sqlite3_column_int64(st, 4);
		c->resolved = sqlite3_column_int64(st, 5);
		rc = 0;
	}
	sqlite3_reset(st);
	return rc;
}

/* Report times of a case, ascending; *out is the caller's to free. */
static int case_reports(struct cordond *d, int64_t id, time_t **out, size_t *n)
{
	static const char sql[] = "SELECT at FROM case_reports WHERE case_id = ? ORDER BY at";
	sqlite3_stmt *st = store_cached(d->store, sql);
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			time_t *v = realloc(*out, cap * sizeof(*v));
			if (!v) {
				sqlite3_reset(st);
				return -1;
			}
			*out = v;
		}
		(*out)[(*n)++] = (time_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	return 0;
}

static const char *due_state_name(enum policy_due_state s)
{
	return s == POLICY_DUE_PENDING ? "pending" : s == POLICY_DUE_SKIPPED ? "skipped" : "waiting";
}

static int store_plan(struct cordond *d, int64_t id, const struct policy_plan *plan)
{
	/* Steps already fired (done) or cancelled keep their history. */
	static const char sql[] =
		"INSERT INTO case_steps (case_id, step, report, due, state) VALUES (?,?,?,?,?)"
		" ON CONFLICT (case_id, step, report) DO UPDATE SET due = excluded.due,"
		" state = excluded.state WHERE case_steps.state NOT IN ('done', 'cancelled')";

	for (size_t i = 0; i < plan->n; i++) {
		const struct policy_due *it = &plan->items[i];
		sqlite3_stmt *st = store_cached(d->store, sql);
		if (!st)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)it->step);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)it->report);
		if (it->state == POLICY_DUE_WAITING)
			sqlite3_bind_null(st, 4);
		else
			sqlite3_bind_int64(st, 4, it->due);
		sqlite3_bind_text(st, 5, due_state_name(it->state), -1, SQLITE_STATIC);
		if (store_run(d->store, st) < 0)
			return -1;
	}
	return 0;
}

int scheduler_replan(struct cordond *d, int64_t case_id)
{
	struct case_row c;
	const struct policy *p;
	struct policy_case pc = { 0 };
	struct policy_plan *plan;
	time_t *reports;
	int rc;

	if (case_load(d, case_id, &c) < 0)
		return -1;
	if (c.resolved)
		return 0;
	p = policy_set_find(d->policies, c.category);
	if (!p) {
		log_warnx("case %lld: no policy for category '%s' any more; its ladder is frozen",
			  (long long)case_id, c.category);
		return 0;
	}
	if (case_reports(d, case_id, &reports, &pc.n_reports) < 0)
		return -1;
	pc.opened = (time_t)c.opened;
	pc.responded = c.responded != 0;
	pc.responded_at = (time_t)c.responded;
	pc.reports = reports;
	plan = policy_plan_new(p, d->calendar, &pc);
	free(reports);
	if (!plan) {
		log_warn("case %lld: cannot plan its ladder", (long long)case_id);
		return -1;
	}
	rc = store_plan(d, case_id, plan);
	policy_plan_free(plan);
	return rc;
}

static void step_describe(const struct policy_step *s, char *buf, size_t len)
{
	char scopes[32];

	switch (s->action) {
	case POLICY_NOTIFY:
		snprintf(buf, len, "notify %s", s->tmpl);
		break;
	case POLICY_SUSPEND:
		policy_scopes_format(s->scopes, scopes, sizeof(scopes));
		snprintf(buf, len, "suspend %s", scopes);
		break;
	default:
		snprintf(buf, len, "%s", policy_action_name(s->action));
	}
}

static int add_notification(struct cordond *d, const struct case_row *c, const char *tmpl,
			    int64_t now)
{
	static const char sql[] =
		"INSERT INTO notifications (case_id, template, recipient, created, state, next_try)"
		" VALUES (?,?,?,?,'pending',?)";
	sqlite3_stmt *st = store_cached(d->store, sql);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, c->id);
	sqlite3_bind_text(st, 2, tmpl, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->contact, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, now);
	return store_run(d->store, st);
}

static int add_call(struct cordond *d, const struct case_row *c, int64_t now)
{
	static const char sql[] =
		"INSERT INTO calls (case_id, contact, created, state, hook_state) VALUES (?,?,?,'open',?)";
	sqlite3_stmt *st = store_cached(d->store, sql);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, c->id);
	sqlite3_bind_text(st, 2, c->contact, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	if (d->cfg.call_hook[0])
		sqlite3_bind_text(st, 4, "pending", -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	return store_run(d->store, st);
}

/* Adds to what the case imposes on its VM and recomputes the VM's state. */
static int case_impose(struct cordond *d, const struct case_row *c, unsigned scopes,
		       bool power_off)
{
	static const char sql[] =
		"UPDATE cases SET cut_scopes = cut_scopes | ?, power_off = power_off | ? WHERE id = ?";
	sqlite3_stmt *st = store_cached(d->store, sql);
	struct desired_row row;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, scopes);
	sqlite3_bind_int(st, 2, power_off);
	sqlite3_bind_int64(st, 3, c->id);
	if (store_run(d->store, st) < 0 || desired_recompute(d->store, c->vm_uuid, &row) < 0)
		return -1;
	agents_mark_vm(d, c->vm_uuid);
	return 0;
}

static int step_act(struct cordond *d, const struct case_row *c, const struct policy_step *s,
		    int64_t now)
{
	switch (s->action) {
	case POLICY_NOTIFY:
		return add_notification(d, c, s->tmpl, now);
	case POLICY_CALL:
		return add_call(d, c, now);
	case POLICY_SUSPEND:
		return case_impose(d, c, s->scopes, false);
	case POLICY_POWEROFF:
		return case_impose(d, c, 0, true);
	}
	return -1;
}

static int step_mark(struct cordond *d, int64_t case_id, int64_t step, int64_t report,
		     const char *state, int64_t now, int64_t late)
{
	static const char sql[] =
		"UPDATE case_steps SET state = ?, fired_at = ?, late = ?"
		" WHERE case_id = ? AND step = ? AND report = ?";
	sqlite3_stmt *st = store_cached(d->store, sql);

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, late);
	sqlite3_bind_int64(st, 4, case_id);
	sqlite3_bind_int64(st, 5, step);
	sqlite3_bind_int64(st, 6, report);
	return store_run(d->store, st);
}

static void fire_detail(char *buf, size_t len, int64_t step, const char *what, int64_t due,
			int64_t late, bool forced)
{
	char when[32], lateness[64] = "";

	if (late >= 2) {
		calendar_duration_format((long)late, lateness + 2, sizeof(lateness) - 2);
		memcpy(lateness, ", ", 2);
		strncat(lateness, " late (controller down or clock moved)",
			sizeof(lateness) - strlen(lateness) - 1);
	}
	snprintf(buf, len, "step %lld: %s (due %s%s)%s", (long long)step + 1, what,
		 format_time_utc(due, when, sizeof(when)), lateness,
		 forced ? ", escalated by hand" : "");
}

int scheduler_fire(struct cordond *d, int64_t case_id, int64_t step, int64_t report,
		   int64_t due, uid_t uid, bool forced)
{
	const struct policy *p;
	const struct policy_step *s;
	struct case_row c;
	int64_t now = store_now();
	char what[96], detail[320];

	if (case_load(d, case_id, &c) < 0)
		return -1;
	p = policy_set_find(d->policies, c.category);
	if (c.resolved || !p || (size_t)step >= policy_n_steps(p))
		return step_mark(d, case_id, step, report, "cancelled", now, 0);
	s = policy_step(p, (size_t)step);
	if (!forced && !s->always && c.responded && c.responded <= due)
		return step_mark(d, case_id, step, report, "skipped", now, 0);
	step_describe(s, what, sizeof(what));
	if (step_act(d, &c, s, now) < 0 ||
	    step_mark(d, case_id, step, report, "done", now, forced ? 0 : now - due) < 0)
		return -1;
	fire_detail(detail, sizeof(detail), step, what, due, forced ? 0 : now - due, forced);
	log_debug("case %lld: %s", (long long)case_id, detail);
	return store_audit_case(d->store, uid, case_id, "step", c.vm_uuid, detail);
}

struct due_row {
	int64_t case_id, step, report, due;
};

static int collect_due(struct cordond *d, int64_t now, int batch, struct due_row *rows)
{
	static const char sql[] =
		"SELECT case_id, step, report, due FROM case_steps"
		" WHERE state = 'pending' AND due <= ? ORDER BY due, case_id, step, report LIMIT ?";
	sqlite3_stmt *st = store_cached(d->store, sql);
	int n = 0;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, batch);
	while (n < batch && sqlite3_step(st) == SQLITE_ROW) {
		rows[n].case_id = sqlite3_column_int64(st, 0);
		rows[n].step = sqlite3_column_int64(st, 1);
		rows[n].report = sqlite3_column_int64(st, 2);
		rows[n].due = sqlite3_column_int64(st, 3);
		n++;
	}
	sqlite3_reset(st);
	return n;
}

#define BATCH_MAX 4096

int scheduler_run(struct cordond *d, int batch)
{
	/* Runs on every loop turn: no allocation when nothing is due. */
	static struct due_row rows[BATCH_MAX];
	int n, i;

	if (batch > BATCH_MAX)
		batch = BATCH_MAX;
	n = collect_due(d, store_now(), batch, rows);
	if (n <= 0 || store_begin(d->store) < 0)
		return n < 0 ? -1 : 0;
	for (i = 0; i < n; i++)
		if (scheduler_fire(d, rows[i].case_id, rows[i].step, rows[i].report, rows[i].due,
				   (uid_t)-1, false) < 0)
			break;
	if (i < n || store_commit(d->store) < 0) {
		/* Nothing of this batch happened: it is retried on the next tick. */
		store_rollback(d->store);
		d->n_push = 0;
		log_warnx("scheduler: a step failed; the batch is rolled back and retried");
		return -1;
	}
	agents_flush(d);
	log_info("scheduler: %d step(s) fired", n);
	return n;
}
