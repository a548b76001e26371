/* What operators do to a case: respond, resume, escalate, note, resolve,
 * called. Each change is one transaction with its audit event. */
#include <stdio.h>
#include <string.h>

#include "cases.h"
#include "cordond.h"
#include "desired.h"
#include "log.h"
#include "scheduler.h"
#include "util.h"

struct case_state {
	char vm_uuid[65];
	int64_t responded, resolved;
};

/* 0 found, -1 with *error set. */
static int case_get(struct cordond *d, int64_t id, struct case_state *c, json_t **error)
{
	struct db_stmt *st = store_prepare(d->store,
		"SELECT vm_uuid, coalesce(responded, 0), coalesce(resolved, 0) FROM cases WHERE id = ?");
	int rc = -1;

	if (!st) {
		*error = reply_error("database error");
		return -1;
	}
	db_bind_int64(st, 1, id);
	switch (store_step(d->store, st)) {
	case 1:
		strlcpy_checked(c->vm_uuid, (const char *)db_column_text(st, 0), sizeof(c->vm_uuid));
		c->responded = db_column_int64(st, 1);
		c->resolved = db_column_int64(st, 2);
		rc = 0;
		break;
	case 0:
		*error = reply_error("no case %lld (cordonctl case list shows them)", (long long)id);
		break;
	default:
		*error = reply_error("cannot read case %lld from the database; nothing changed",
				     (long long)id);
	}
	db_finalize(st);
	return rc;
}

/* Loads the case and refuses if it is resolved; -1 with *error. */
static int case_get_open(struct cordond *d, const json_t *req, int64_t *id,
			 struct case_state *c, json_t **error)
{
	if (req_case_id(req, id, error) < 0 || case_get(d, *id, c, error) < 0)
		return -1;
	if (c->resolved) {
		*error = reply_error("case %lld is resolved; nothing changed", (long long)*id);
		return -1;
	}
	return 0;
}

static int exec_case_update(struct cordond *d, const char *sql, int64_t id, int64_t value,
			    const char *text)
{
	struct db_stmt *st = store_prepare(d->store, sql);

	if (!st)
		return -1;
	db_bind_int64(st, 1, value);
	db_bind_text(st, 2, text);
	db_bind_int64(st, 3, id);
	return store_exec_stmt(d->store, st);
}

/* Commits, or rolls back and returns the error reply. */
static json_t *finish(struct cordond *d, int failed, int64_t id, const char *what)
{
	if (failed || store_commit(d->store) < 0) {
		store_rollback(d->store);
		d->n_push = 0;
		ctl_metrics_steps_discard(&d->metrics);
		return reply_store_error(d);
	}
	ctl_metrics_steps_commit(&d->metrics); /* an escalated step */
	agents_flush(d);
	cases_run_scheduler(d);
	return reply_ok(json_pack("{s:I, s:s}", "id", (json_int_t)id, "done", what));
}

static const char *need_text(const json_t *req, const char *key, size_t max)
{
	const char *t = req_str(req, key);
	return t && strlen(t) <= max ? t : NULL;
}

json_t *cases_cmd_respond(struct cordond *d, const json_t *req, uid_t uid)
{
	const char *note = need_text(req, "note", 2000);
	struct case_state c;
	json_t *error;
	int64_t id;
	int bad;

	if (case_get_open(d, req, &id, &c, &error) < 0)
		return error;
	if (!note)
		return reply_error("respond needs --note TEXT (what the customer said, at most 2000 bytes)");
	if (store_begin(d->store) < 0)
		return reply_store_error(d);
	bad = (!c.responded && exec_case_update(d, "UPDATE cases SET responded = ?1 WHERE id = ?3",
						id, store_now(), NULL) < 0) ||
	      scheduler_replan(d, id) < 0 ||
	      store_audit_case(d->store, uid, id, "respond", c.vm_uuid, note) < 0;
	return finish(d, bad, id, "customer response recorded; automatic escalation stopped");
}

json_t *cases_cmd_resume(struct cordond *d, const json_t *req, uid_t uid)
{
	struct case_state c;
	json_t *error;
	int64_t id;
	int bad;

	if (case_get_open(d, req, &id, &c, &error) < 0)
		return error;
	if (!c.responded)
		return reply_error("case %lld is escalating already; nothing to resume", (long long)id);
	if (store_begin(d->store) < 0)
		return reply_store_error(d);
	bad = exec_case_update(d, "UPDATE cases SET responded = NULL WHERE id = ?3", id, 0, NULL) < 0 ||
	      scheduler_replan(d, id) < 0 ||
	      store_audit_case(d->store, uid, id, "resume", c.vm_uuid,
			       "automatic escalation resumed; overdue steps fire now") < 0;
	return finish(d, bad, id, "escalation resumed");
}

json_t *cases_cmd_note(struct cordond *d, const json_t *req, uid_t uid)
{
	const char *text = need_text(req, "text", 2000);
	struct case_state c;
	json_t *error;
	int64_t id;

	if (req_case_id(req, &id, &error) < 0 || case_get(d, id, &c, &error) < 0)
		return error;
	if (!text)
		return reply_error("note needs a TEXT of at most 2000 bytes");
	if (store_begin(d->store) < 0)
		return reply_store_error(d);
	return finish(d, store_audit_case(d->store, uid, id, "note", c.vm_uuid, text) < 0, id,
		      "note added");
}

/* The next step not fired yet: pending or failing first by due time, then
 * skipped or waiting ones in ladder order. 1 found, 0 none, -1 error. */
static int next_step(struct cordond *d, int64_t id, struct step_ref *r)
{
	struct db_stmt *st = store_prepare(d->store,
		"SELECT step, report, coalesce(due, 0), attempts FROM case_steps WHERE case_id = ?"
		" AND state IN ('pending', 'failing', 'skipped', 'waiting')"
		" ORDER BY state NOT IN ('pending', 'failing'), due IS NULL, due, step, report LIMIT 1");
	int rc;

	if (!st)
		return -1;
	db_bind_int64(st, 1, id);
	rc = db_step(st);
	if (rc == DB_ROW) {
		*r = (struct step_ref){ .case_id = id, .step = db_column_int64(st, 0),
					.report = db_column_int64(st, 1),
					.due = db_column_int64(st, 2),
					.attempts = db_column_int64(st, 3) };
	}
	db_finalize(st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

json_t *cases_cmd_escalate(struct cordond *d, const json_t *req, uid_t uid)
{
	struct case_state c;
	struct step_ref r;
	char err[512];
	json_t *error;
	int64_t id;
	int found;

	if (case_get_open(d, req, &id, &c, &error) < 0)
		return error;
	if (store_begin(d->store) < 0)
		return reply_store_error(d);
	found = next_step(d, id, &r);
	if (found <= 0) {
		store_rollback(d->store);
		return found < 0 ? reply_store_error(d) :
			reply_error("case %lld has no step left to run", (long long)id);
	}
	if (!r.due)
		r.due = store_now();
	if (scheduler_fire(d, &r, uid, true, err, sizeof(err)) < 0) {
		store_rollback(d->store);
		d->n_push = 0;
		return reply_error("case %lld: step %lld failed: %s; nothing changed", (long long)id,
				   (long long)r.step + 1, err);
	}
	return finish(d, 0, id, "next step run now");
}

/* A resolved case has nothing left to do: its remaining steps and the
 * calls nobody made yet are cancelled (notifications already queued still
 * go out: they say what happened). */
static int cancel_rest(struct cordond *d, int64_t id)
{
	struct db_stmt *st = store_prepare(d->store,
		"UPDATE case_steps SET state = 'cancelled'"
		" WHERE case_id = ? AND state IN ('pending', 'failing', 'waiting', 'skipped')");

	if (!st)
		return -1;
	db_bind_int64(st, 1, id);
	if (store_exec_stmt(d->store, st) < 0)
		return -1;
	st = store_prepare(d->store,
		"UPDATE calls SET state = 'cancelled', note = 'case resolved' WHERE case_id = ? AND state = 'open'");
	if (!st)
		return -1;
	db_bind_int64(st, 1, id);
	return store_exec_stmt(d->store, st);
}

json_t *cases_cmd_resolve(struct cordond *d, const json_t *req, uid_t uid)
{
	const char *note = need_text(req, "note", 4000);
	struct case_state c;
	struct desired_row row;
	json_t *error;
	int64_t id;
	int bad;

	if (case_get_open(d, req, &id, &c, &error) < 0)
		return error;
	if (!note)
		return reply_error("resolve needs --note TEXT: the customer's written confirmation or "
				   "root cause (at most 4000 bytes); nothing changed");
	if (store_begin(d->store) < 0)
		return reply_store_error(d);
	bad = exec_case_update(d, "UPDATE cases SET resolved = ?1, resolution = ?2,"
			       " cut_scopes = 0, power_off = 0 WHERE id = ?3", id, store_now(), note) < 0 ||
	      cancel_rest(d, id) < 0 || desired_recompute(d->store, c.vm_uuid, &row) < 0 ||
	      store_audit_case(d->store, uid, id, "resolve", c.vm_uuid, note) < 0;
	if (!bad)
		agents_mark_vm(d, c.vm_uuid);
	return finish(d, bad, id, "resolved; what this case imposed is lifted");
}

json_t *cases_cmd_called(struct cordond *d, const json_t *req, uid_t uid)
{
	const char *note = need_text(req, "note", 2000);
	struct case_state c;
	json_t *error;
	int64_t id;
	int bad;

	if (req_case_id(req, &id, &error) < 0 || case_get(d, id, &c, &error) < 0)
		return error;
	if (store_begin(d->store) < 0)
		return reply_store_error(d);
	bad = exec_case_update(d, "UPDATE calls SET state = 'done', done_at = ?1, note = ?2"
			       " WHERE case_id = ?3 AND state = 'open'", id, store_now(), note) < 0;
	if (!bad && store_changes(d->store) == 0) {
		store_rollback(d->store);
		return reply_error("case %lld has no open call task", (long long)id);
	}
	/* A step "after call" counts from now if the call was late. */
	bad = bad || scheduler_replan(d, id) < 0 ||
	      store_audit_case(d->store, uid, id, "called", c.vm_uuid,
			       note ? note : "call made") < 0;
	return finish(d, bad, id, "call task closed");
}
