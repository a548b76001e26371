#include "scheduler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "cordond.h"
#include "desired.h"
#include "ladder.h"
#include "log.h"
#include "notify.h"
#include "policy.h"
#include "util.h"

struct case_row {
	int64_t id, ladder_id;
	char category[POLICY_CATEGORY_MAX + 1];
	char vm_uuid[65];
	char contact[256];
	int64_t opened, responded, resolved; /* 0 = not */
};

/* Always -1: "what: the store's message" into err. */
static int store_failed(struct cordond *d, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", what, store_errmsg(d->store));
	return -1;
}

static int case_from_row(struct db_stmt *st, int64_t id, struct case_row *c)
{
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->opened = db_column_int64(st, 3);
	c->responded = db_column_int64(st, 4);
	c->resolved = db_column_int64(st, 5);
	c->ladder_id = db_column_int64(st, 6);
	if (strlcpy_checked(c->category, (const char *)db_column_text(st, 0), sizeof(c->category)) < 0 ||
	    strlcpy_checked(c->vm_uuid, (const char *)db_column_text(st, 1), sizeof(c->vm_uuid)) < 0 ||
	    strlcpy_checked(c->contact, (const char *)db_column_text(st, 2), sizeof(c->contact)) < 0)
		return -1;
	return 0;
}

/* 0, or -1 with err (no such case, a store error). */
static int case_load(struct cordond *d, int64_t id, struct case_row *c, char *err, size_t errlen)
{
	static const char sql[] =
		"SELECT category, vm_uuid, coalesce(contact, ''), opened, coalesce(responded, 0),"
		" coalesce(resolved, 0), coalesce(ladder_id, 0) FROM cases WHERE id = ?";
	struct db_stmt *st = store_cached(d->store, sql);
	int rc;

	if (!st)
		return store_failed(d, "reading the case", err, errlen);
	db_bind_int64(st, 1, id);
	rc = db_step(st);
	if (rc == DB_ROW && case_from_row(st, id, c) < 0) {
		snprintf(err, errlen, "case %lld: a field is longer than cordond keeps", (long long)id);
		rc = DB_ERROR;
	} else if (rc == DB_DONE) {
		snprintf(err, errlen, "no case %lld", (long long)id);
	} else if (rc != DB_ROW) {
		store_failed(d, "reading the case", err, errlen);
	}
	db_reset(st);
	return rc == DB_ROW ? 0 : -1;
}

static int grow_times(time_t **v, size_t *cap)
{
	size_t n = *cap ? *cap * 2 : 4;
	time_t *p = realloc(*v, n * sizeof(*p));

	if (!p)
		return -1;
	*v = p;
	*cap = n;
	return 0;
}

/* Report times of a case, ascending; *out is the caller's to free. */
static int case_reports(struct cordond *d, int64_t id, time_t **out, size_t *n)
{
	static const char sql[] = "SELECT at FROM case_reports WHERE case_id = ? ORDER BY at";
	struct db_stmt *st = store_cached(d->store, sql);
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	db_bind_int64(st, 1, id);
	while ((rc = db_step(st)) == DB_ROW) {
		if (*n == cap && grow_times(out, &cap) < 0)
			break;
		(*out)[(*n)++] = (time_t)db_column_int64(st, 0);
	}
	db_reset(st);
	if (rc != DB_DONE) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static const char *due_state_name(enum policy_due_state s)
{
	return s == POLICY_DUE_PENDING ? "pending" : s == POLICY_DUE_SKIPPED ? "skipped" : "waiting";
}

static int store_plan(struct cordond *d, int64_t id, const struct policy_plan *plan)
{
	/* Steps already fired (done) or cancelled keep their history; a
	 * failing step that is still due stays failing, so its backoff holds. */
	static const char sql[] =
		"INSERT INTO case_steps (case_id, step, report, due, state) VALUES (?,?,?,?,?)"
		" ON CONFLICT (case_id, step, report) DO UPDATE SET due = excluded.due,"
		" state = CASE WHEN case_steps.state = 'failing' AND excluded.state = 'pending'"
		"  AND excluded.due <= ?6 THEN 'failing' ELSE excluded.state END"
		" WHERE case_steps.state NOT IN ('done', 'cancelled')";

	for (size_t i = 0; i < plan->n; i++) {
		const struct policy_due *it = &plan->items[i];
		struct db_stmt *st = store_cached(d->store, sql);
		if (!st)
			return -1;
		db_bind_int64(st, 1, id);
		db_bind_int64(st, 2, (int64_t)it->step);
		db_bind_int64(st, 3, (int64_t)it->report);
		if (it->state == POLICY_DUE_WAITING)
			db_bind_null(st, 4);
		else
			db_bind_int64(st, 4, it->due);
		db_bind_text(st, 5, due_state_name(it->state));
		db_bind_int64(st, 6, store_now());
		if (store_run(d->store, st) < 0)
			return -1;
	}
	return 0;
}

int scheduler_called_at(struct cordond *d, int64_t case_id, time_t *at)
{
	static const char sql[] =
		"SELECT coalesce(max(done_at), 0) FROM calls WHERE case_id = ? AND state = 'done'";
	struct db_stmt *st = store_cached(d->store, sql);
	int rc;

	*at = 0;
	if (!st)
		return -1;
	db_bind_int64(st, 1, case_id);
	rc = store_step(d->store, st);
	if (rc == 1)
		*at = (time_t)db_column_int64(st, 0);
	db_reset(st);
	return rc == 1 ? 0 : -1;
}

int scheduler_replan(struct cordond *d, int64_t case_id)
{
	struct case_row c;
	const struct policy *p;
	struct policy_case pc = { 0 };
	struct policy_plan *plan;
	time_t *reports;
	char err[512];
	int rc;

	if (case_load(d, case_id, &c, err, sizeof(err)) < 0) {
		log_warnx("case %lld: %s", (long long)case_id, err);
		return -1;
	}
	if (c.resolved)
		return 0;
	p = ladder_get(d, c.ladder_id, err, sizeof(err));
	if (!p) {
		/* Its rows stay as they are; firing them says why they fail. */
		log_warnx("case %lld: %s; its steps are not recomputed", (long long)case_id, err);
		return 0;
	}
	if (scheduler_called_at(d, case_id, &pc.called_at) < 0 ||
	    case_reports(d, case_id, &reports, &pc.n_reports) < 0)
		return -1;
	pc.opened = (time_t)c.opened;
	pc.responded = c.responded != 0;
	pc.responded_at = (time_t)c.responded;
	pc.reports = reports;
	plan = policy_plan_new(p, d->calendar, &pc);
	free(reports);
	if (!plan) {
		log_error("case %lld: cannot plan its ladder", (long long)case_id);
		return -1;
	}
	rc = store_plan(d, case_id, plan);
	policy_plan_free(plan);
	return rc;
}

static int add_notification(struct cordond *d, const struct case_row *c, const char *tmpl,
			    int64_t now, char *err, size_t errlen)
{
	static const char sql[] =
		"INSERT INTO notifications (case_id, template, recipient, created, state, next_try)"
		" VALUES (?,?,?,?,'pending',?)";
	struct db_stmt *st;
	char why[512];

	/* A case's ladder can be older than the templates directory: with its
	 * template renamed or broken since, the notification could never be
	 * rendered. The step fails instead, on the case, where operators look,
	 * and is retried until the template is back. */
	if (notify_check_template(d->cfg.templates, tmpl, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "template %s: %s", tmpl, why);
		return -1;
	}
	st = store_cached(d->store, sql);
	if (!st)
		return store_failed(d, "queueing the notification", err, errlen);
	db_bind_int64(st, 1, c->id);
	db_bind_text(st, 2, tmpl);
	db_bind_text(st, 3, c->contact);
	db_bind_int64(st, 4, now);
	db_bind_int64(st, 5, now);
	if (store_run(d->store, st) < 0)
		return store_failed(d, "queueing the notification", err, errlen);
	return 0;
}

static int add_call(struct cordond *d, const struct case_row *c, int64_t now, char *err,
		    size_t errlen)
{
	static const char sql[] =
		"INSERT INTO calls (case_id, contact, created, state, hook_state) VALUES (?,?,?,'open',?)";
	struct db_stmt *st = store_cached(d->store, sql);

	if (!st)
		return store_failed(d, "recording the call task", err, errlen);
	db_bind_int64(st, 1, c->id);
	db_bind_text(st, 2, c->contact);
	db_bind_int64(st, 3, now);
	if (d->cfg.call_hook[0])
		db_bind_text(st, 4, "pending");
	else
		db_bind_null(st, 4);
	if (store_run(d->store, st) < 0)
		return store_failed(d, "recording the call task", err, errlen);
	return 0;
}

/* Adds to what the case imposes on its VM and recomputes the VM's state. */
static int case_impose(struct cordond *d, const struct case_row *c, unsigned scopes,
		       bool power_off, char *err, size_t errlen)
{
	static const char sql[] =
		"UPDATE cases SET cut_scopes = cut_scopes | ?, power_off = power_off | ? WHERE id = ?";
	struct db_stmt *st = store_cached(d->store, sql);
	struct desired_row row;

	if (!st)
		return store_failed(d, "recording the cut", err, errlen);
	db_bind_int64(st, 1, scopes);
	db_bind_int64(st, 2, power_off);
	db_bind_int64(st, 3, c->id);
	if (store_run(d->store, st) < 0 || desired_recompute(d->store, c->vm_uuid, &row) < 0)
		return store_failed(d, "recording the cut", err, errlen);
	agents_mark_vm(d, c->vm_uuid);
	return 0;
}

static int step_act(struct cordond *d, const struct case_row *c, const struct policy_step *s,
		    int64_t now, char *err, size_t errlen)
{
	switch (s->action) {
	case POLICY_NOTIFY:
		return add_notification(d, c, s->tmpl, now, err, errlen);
	case POLICY_CALL:
		return add_call(d, c, now, err, errlen);
	case POLICY_SUSPEND:
		return case_impose(d, c, s->scopes, false, err, errlen);
	case POLICY_POWEROFF:
		return case_impose(d, c, 0, true, err, errlen);
	}
	snprintf(err, errlen, "unknown action %d", (int)s->action);
	return -1;
}

static int step_mark(struct cordond *d, const struct step_ref *r, const char *state,
		     int64_t now, int64_t late, char *err, size_t errlen)
{
	static const char sql[] =
		"UPDATE case_steps SET state = ?, fired_at = ?, late = ?, next_try = NULL"
		" WHERE case_id = ? AND step = ? AND report = ?";
	struct db_stmt *st = store_cached(d->store, sql);

	if (!st)
		return store_failed(d, "recording the step", err, errlen);
	db_bind_text(st, 1, state);
	db_bind_int64(st, 2, now);
	db_bind_int64(st, 3, late);
	db_bind_int64(st, 4, r->case_id);
	db_bind_int64(st, 5, r->step);
	db_bind_int64(st, 6, r->report);
	if (store_run(d->store, st) < 0)
		return store_failed(d, "recording the step", err, errlen);
	return 0;
}

static void fire_detail(char *buf, size_t len, const struct step_ref *r, const char *what,
			int64_t late, bool forced)
{
	char when[32], lateness[64] = "", tries[48] = "";

	if (late >= 2) {
		calendar_duration_format((long)late, lateness + 2, sizeof(lateness) - 2);
		memcpy(lateness, ", ", 2);
		strncat(lateness, " late (controller down or clock moved)",
			sizeof(lateness) - strlen(lateness) - 1);
	}
	if (r->attempts > 0)
		snprintf(tries, sizeof(tries), ", after %lld failed attempt(s)", (long long)r->attempts);
	snprintf(buf, len, "step %lld: %s (due %s%s)%s%s", (long long)r->step + 1, what,
		 format_time_utc(r->due, when, sizeof(when)), lateness, tries,
		 forced ? ", escalated by hand" : "");
}

int scheduler_fire(struct cordond *d, const struct step_ref *r, uid_t uid, bool forced,
		   char *err, size_t errlen)
{
	const struct policy *p;
	const struct policy_step *s;
	struct case_row c;
	int64_t now = store_now(), late = forced ? 0 : now - r->due;
	char what[96], detail[400];

	if (case_load(d, r->case_id, &c, err, errlen) < 0)
		return -1;
	if (c.resolved)
		return step_mark(d, r, "cancelled", now, 0, err, errlen);
	if (!(p = ladder_get(d, c.ladder_id, err, errlen)))
		return -1;
	if (!(s = r->step >= 0 ? policy_step(p, (size_t)r->step) : NULL)) {
		snprintf(err, errlen, "step %lld is not in ladder #%lld", (long long)r->step + 1,
			 (long long)c.ladder_id);
		return -1;
	}
	if (!forced && !s->always && c.responded && c.responded <= r->due)
		return step_mark(d, r, "skipped", now, 0, err, errlen);
	policy_step_describe(s, what, sizeof(what));
	if (step_act(d, &c, s, now, err, errlen) < 0 ||
	    step_mark(d, r, "done", now, late, err, errlen) < 0)
		return -1;
	fire_detail(detail, sizeof(detail), r, what, late, forced);
	log_debug("case %lld: %s", (long long)r->case_id, detail);
	if (store_audit_case(d->store, uid, r->case_id, "step", c.vm_uuid, detail) < 0)
		return store_failed(d, "auditing the step", err, errlen);
	ctl_metrics_step_fired(&d->metrics, forced, late);
	return 0;
}

/* Rows of sql (?1 now, ?2 limit) into rows: how many, or -1. */
static int read_steps(struct cordond *d, const char *sql, int64_t now, int max,
		      struct step_ref *rows)
{
	struct db_stmt *st = store_cached(d->store, sql);
	int n = 0, rc;

	if (!st)
		return -1;
	db_bind_int64(st, 1, now);
	db_bind_int64(st, 2, max);
	while ((rc = db_step(st)) == DB_ROW && n < max) {
		rows[n].case_id = db_column_int64(st, 0);
		rows[n].step = db_column_int64(st, 1);
		rows[n].report = db_column_int64(st, 2);
		rows[n].due = db_column_int64(st, 3);
		rows[n].attempts = db_column_int64(st, 4);
		n++;
	}
	db_reset(st);
	if (rc != DB_DONE) {
		log_errorx("scheduler: reading due steps: %s", store_errmsg(d->store));
		return -1;
	}
	return n;
}

/* Failing steps whose retry time has come first (they are the oldest due),
 * then pending ones by due time. */
static int collect_due(struct cordond *d, int64_t now, int max, struct step_ref *rows)
{
	static const char retry[] =
		"SELECT case_id, step, report, due, attempts FROM case_steps"
		" WHERE state = 'failing' AND next_try <= ?1 ORDER BY next_try, case_id, step, report"
		" LIMIT ?2";
	static const char due[] =
		"SELECT case_id, step, report, due, attempts FROM case_steps"
		" WHERE state = 'pending' AND due <= ?1 ORDER BY due, case_id, step, report LIMIT ?2";
	int n = read_steps(d, retry, now, max, rows), m;

	if (n < 0)
		return -1;
	m = read_steps(d, due, now, max - n, rows + n);
	return m < 0 ? -1 : n + m;
}

#define BATCH_MAX 4096

int scheduler_run(struct cordond *d, int batch)
{
	/* Runs on every loop turn: no allocation when nothing is due. */
	static struct step_ref rows[BATCH_MAX];
	int n, i, rc = 0, failed = 0;

	if (batch > BATCH_MAX)
		batch = BATCH_MAX;
	n = collect_due(d, store_now(), batch, rows);
	if (n <= 0 || store_begin(d->store) < 0)
		return n < 0 ? -1 : 0;
	for (i = 0; i < n && rc >= 0; i++) {
		rc = step_try(d, &rows[i]);
		failed += rc == 1;
	}
	if (rc < 0 || store_commit(d->store) < 0) {
		/* Nothing of this batch happened: it is retried on the next tick. */
		store_rollback(d->store);
		d->n_push = 0;
		ctl_metrics_steps_discard(&d->metrics);
		log_errorx("scheduler: a store error; the batch is rolled back and retried");
		return -1;
	}
	ctl_metrics_steps_commit(&d->metrics);
	agents_flush(d);
	if (failed)
		log_info("scheduler: %d step(s) fired, %d failed (retried later)", n - failed, failed);
	else
		log_info("scheduler: %d step(s) fired", n);
	return n;
}
