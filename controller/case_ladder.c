/* The ladder a case follows: shown by `case show`, and replaced by the
 * current policy's with `case replan ID` (issue 9).
 *
 * The replan rule. Each step that fired under the old ladder, taken in the
 * order they fired, is matched to the first step of the new ladder with
 * the same action (kind and argument: "notify warning", "call", "suspend
 * public,private", "poweroff") and the same report that no earlier fired
 * step took. A matched step is done, with its original due and fire times.
 * A fired step with no match is kept in the case's history
 * (case_step_history, "replaced_steps" in case show); what it did stays
 * done: a cut stays cut until the case is resolved. Every other step of
 * the new ladder is planned as if the case had followed it from its
 * opening: one whose due time has passed fires now (as after resume), the
 * rest at their time, and a response skips them as usual. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "cordond.h"
#include "ladder.h"
#include "log.h"
#include "policy.h"
#include "scheduler.h"
#include "util.h"

static json_t *ladder_steps_json(const struct policy *p)
{
	json_t *arr = json_array();
	char what[96];

	for (size_t i = 0; arr && i < policy_n_steps(p); i++) {
		const struct policy_step *s = policy_step(p, i);
		policy_step_describe(s, what, sizeof(what));
		if (json_array_append_new(arr, json_pack("{s:I, s:I, s:s}", "step", (json_int_t)i + 1,
				"offset", (json_int_t)s->offset, "action", what)) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* Adds the ladder's stored hash and text to o; -1 on a store error. */
static int add_stored(struct cordond *d, json_t *o, int64_t ladder)
{
	static const char sql[] = "SELECT hash, text FROM ladders WHERE id = ?";
	struct db_stmt *st = store_cached(d->store, sql);
	int rc;

	if (!st)
		return -1;
	db_bind_int64(st, 1, ladder);
	rc = db_step(st);
	if (rc == DB_ROW &&
	    (json_object_set_new(o, "hash", json_string((const char *)db_column_text(st, 0))) < 0 ||
	     json_object_set_new(o, "text", json_string((const char *)db_column_text(st, 1))) < 0))
		rc = DB_ERROR;
	db_reset(st);
	return rc == DB_ROW || rc == DB_DONE ? 0 : -1;
}

/* Adds the stored ladder and its steps to o; -1 on error. A ladder that
 * cannot be read says why in "error". */
static int add_ladder_text(struct cordond *d, json_t *o, int64_t ladder)
{
	const struct policy *p;
	char err[512];

	if (add_stored(d, o, ladder) < 0)
		return -1;
	if (!(p = ladder_get(d, ladder, err, sizeof(err))))
		return json_object_set_new(o, "error", json_string(err));
	return json_object_set_new(o, "clock", json_string(policy_clock(p) == POLICY_CLOCK_BUSINESS ?
							  "business" : "wall")) < 0 ||
	       json_object_set_new(o, "steps", ladder_steps_json(p)) < 0 ? -1 : 0;
}

json_t *case_ladder_json(struct cordond *d, int64_t ladder, const char *category)
{
	int64_t cur = ladder_current(d, category);
	json_t *o;

	if (cur < 0)
		return NULL;
	o = json_pack("{s:o, s:b, s:o}", "id", ladder > 0 ? json_integer(ladder) : json_null(),
		      "current", cur > 0 && cur == ladder,
		      "current_id", cur > 0 ? json_integer(cur) : json_null());
	if (o && ladder > 0 && add_ladder_text(d, o, ladder) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

struct fired {
	int64_t step, report, due, fired_at, late, attempts;
	char action[96];
	bool kept;
};

struct replan {
	int64_t id, from, to;
	char vm_uuid[65], category[POLICY_CATEGORY_MAX + 1];
	struct fired *fired;
	size_t n_fired;
	int kept, history;
	int64_t planned;
};

/* The case and the ladder it moves to; -1 with *error (unknown, resolved,
 * no current policy). */
static int replan_load(struct cordond *d, int64_t id, struct replan *r, json_t **error)
{
	struct db_stmt *st = store_prepare(d->store, "SELECT category, vm_uuid, coalesce(ladder_id, 0),"
					 " resolved IS NOT NULL FROM cases WHERE id = ?");
	char err[512];
	int rc, resolved = 0;

	if (!st) {
		*error = reply_error("database error; nothing changed");
		return -1;
	}
	db_bind_int64(st, 1, id);
	if ((rc = db_step(st)) == DB_ROW) {
		r->id = id;
		r->from = db_column_int64(st, 2);
		resolved = db_column_int(st, 3);
		if (strlcpy_checked(r->category, (const char *)db_column_text(st, 0), sizeof(r->category)) < 0 ||
		    strlcpy_checked(r->vm_uuid, (const char *)db_column_text(st, 1), sizeof(r->vm_uuid)) < 0)
			rc = DB_ERROR;
	}
	db_finalize(st);
	if (rc != DB_ROW) {
		*error = rc == DB_DONE ?
			reply_error("no case %lld (cordonctl case list shows them)", (long long)id) :
			reply_error("database error; nothing changed");
		return -1;
	}
	if (resolved) {
		*error = reply_error("case %lld is resolved; nothing changed", (long long)id);
		return -1;
	}
	r->to = ladder_current(d, r->category);
	if (r->to <= 0) {
		*error = r->to < 0 ? reply_error("database error; nothing changed") :
			reply_error("no %s policy is loaded (cordonctl policy list); nothing changed",
				    r->category);
		return -1;
	}
	if (!ladder_get(d, r->to, err, sizeof(err))) {
		*error = reply_error("the current %s policy cannot be read: %s; nothing changed",
				     r->category, err);
		return -1;
	}
	return 0;
}

static int fired_add(struct replan *r, struct db_stmt *st, struct cordond *d, size_t *cap)
{
	struct fired *f;

	if (r->n_fired == *cap) {
		size_t n = *cap ? *cap * 2 : 8;
		struct fired *v = realloc(r->fired, n * sizeof(*v));
		if (!v)
			return -1;
		r->fired = v;
		*cap = n;
	}
	f = &r->fired[r->n_fired++];
	*f = (struct fired){ .step = db_column_int64(st, 0), .report = db_column_int64(st, 1),
			     .due = db_column_int64(st, 2), .fired_at = db_column_int64(st, 3),
			     .late = db_column_int64(st, 4), .attempts = db_column_int64(st, 5) };
	ladder_step_text(d, r->from, f->step, f->action, sizeof(f->action));
	return 0;
}

/* The steps that fired under the old ladder, in the order they fired. */
static int read_fired(struct cordond *d, struct replan *r)
{
	struct db_stmt *st = store_prepare(d->store,
		"SELECT step, report, coalesce(due, 0), coalesce(fired_at, 0), coalesce(late, 0), attempts"
		" FROM case_steps WHERE case_id = ? AND state = 'done' ORDER BY fired_at, step, report");
	size_t cap = 0;
	int rc;

	if (!st)
		return -1;
	db_bind_int64(st, 1, r->id);
	while ((rc = db_step(st)) == DB_ROW)
		if (fired_add(r, st, d, &cap) < 0)
			break;
	db_finalize(st);
	return rc == DB_DONE ? 0 : -1;
}

/* Marks new step (step, f->report) done with f's times, unless it is done
 * already: 1 marked, 0 not, -1 error. */
static int take_step(struct cordond *d, int64_t case_id, int64_t step, const struct fired *f)
{
	struct db_stmt *st = store_prepare(d->store,
		"UPDATE case_steps SET state = 'done', due = ?, fired_at = ?, late = ?, attempts = ?,"
		" next_try = NULL, last_error = NULL"
		" WHERE case_id = ? AND step = ? AND report = ? AND state != 'done'");

	if (!st)
		return -1;
	db_bind_int64(st, 1, f->due);
	db_bind_int64(st, 2, f->fired_at);
	db_bind_int64(st, 3, f->late);
	db_bind_int64(st, 4, f->attempts);
	db_bind_int64(st, 5, case_id);
	db_bind_int64(st, 6, step);
	db_bind_int64(st, 7, f->report);
	if (store_exec_stmt(d->store, st) < 0)
		return -1;
	return store_changes(d->store) == 1;
}

static int match_fired(struct cordond *d, struct replan *r, const struct policy *to)
{
	char what[96];

	for (size_t i = 0; i < r->n_fired; i++) {
		struct fired *f = &r->fired[i];
		for (size_t j = 0; j < policy_n_steps(to) && !f->kept; j++) {
			int rc;
			policy_step_describe(policy_step(to, j), what, sizeof(what));
			if (strcmp(what, f->action) != 0)
				continue;
			if ((rc = take_step(d, r->id, (int64_t)j, f)) < 0)
				return -1;
			f->kept = rc == 1;
		}
		r->kept += f->kept;
	}
	return 0;
}

static int keep_history(struct cordond *d, struct replan *r)
{
	for (size_t i = 0; i < r->n_fired; i++) {
		const struct fired *f = &r->fired[i];
		struct db_stmt *st;
		if (f->kept)
			continue;
		st = store_prepare(d->store, "INSERT INTO case_step_history (case_id, ladder_id, step,"
				   " report, action, due, fired_at, late, replaced) VALUES (?,?,?,?,?,?,?,?,?)");
		if (!st)
			return -1;
		db_bind_int64(st, 1, r->id);
		db_bind_int64(st, 2, r->from);
		db_bind_int64(st, 3, f->step);
		db_bind_int64(st, 4, f->report);
		db_bind_text(st, 5, f->action);
		db_bind_int64(st, 6, f->due);
		db_bind_int64(st, 7, f->fired_at);
		db_bind_int64(st, 8, f->late);
		db_bind_int64(st, 9, store_now());
		if (store_exec_stmt(d->store, st) < 0)
			return -1;
		r->history++;
	}
	return 0;
}

/* Runs sql with ?1 = a and, if sql has it, ?2 = b; -1 on error. */
static int exec2(struct cordond *d, const char *sql, int64_t a, int64_t b)
{
	struct db_stmt *st = store_prepare(d->store, sql);

	if (!st)
		return -1;
	if (db_bind_int64(st, 1, a) != 0 ||
	    (db_bind_parameter_count(st) >= 2 && db_bind_int64(st, 2, b) != 0)) {
		db_finalize(st);
		return -1;
	}
	return store_exec_stmt(d->store, st);
}

static int count_planned(struct cordond *d, struct replan *r)
{
	struct db_stmt *st = store_prepare(d->store,
		"SELECT count(*) FROM case_steps WHERE case_id = ? AND state != 'done'");
	int rc;

	if (!st)
		return -1;
	db_bind_int64(st, 1, r->id);
	if ((rc = db_step(st)) == DB_ROW)
		r->planned = db_column_int64(st, 0);
	db_finalize(st);
	return rc == DB_ROW ? 0 : -1;
}

/* Inside a transaction: the old rows out, the new ladder planned, the
 * fired steps matched (see the top of this file). */
static int replan_apply(struct cordond *d, struct replan *r)
{
	char err[256];
	const struct policy *to = ladder_get(d, r->to, err, sizeof(err));

	return !to || read_fired(d, r) < 0 ||
	       exec2(d, "DELETE FROM case_steps WHERE case_id = ?1", r->id, 0) < 0 ||
	       exec2(d, "UPDATE cases SET ladder_id = ?2 WHERE id = ?1", r->id, r->to) < 0 ||
	       scheduler_replan(d, r->id) < 0 || match_fired(d, r, to) < 0 ||
	       keep_history(d, r) < 0 || count_planned(d, r) < 0 ? -1 : 0;
}

static json_t *replan_reply(const struct replan *r, bool changed, const char *done)
{
	return reply_ok(json_pack("{s:I, s:b, s:s, s:I, s:I, s:i, s:i, s:I}", "id", (json_int_t)r->id,
		"changed", changed, "done", done, "from", (json_int_t)r->from, "to", (json_int_t)r->to,
		"kept", r->kept, "history", r->history, "planned", (json_int_t)r->planned));
}

static json_t *replan_commit(struct cordond *d, struct replan *r, uid_t uid)
{
	char detail[300];

	if (store_begin(d->store) < 0)
		return reply_error("database busy; nothing changed");
	if (replan_apply(d, r) < 0)
		goto failed;
	snprintf(detail, sizeof(detail), "ladder #%lld -> #%lld (the current %s policy): %d fired "
		 "step(s) kept, %d only in the history, %lld planned", (long long)r->from,
		 (long long)r->to, r->category, r->kept, r->history, (long long)r->planned);
	if (store_audit_case(d->store, uid, r->id, "replan", r->vm_uuid, detail) < 0 ||
	    store_commit(d->store) < 0)
		goto failed;
	log_info("uid %u: case %lld: %s", (unsigned)uid, (long long)r->id, detail);
	cases_run_scheduler(d); /* the new steps already due fire now */
	return replan_reply(r, true, "follows the current policy");
failed:
	store_rollback(d->store);
	d->n_push = 0;
	return reply_error("database error; nothing changed");
}

json_t *cases_cmd_replan(struct cordond *d, const json_t *req, uid_t uid)
{
	struct replan r = { 0 };
	json_t *reply;
	int64_t id;

	if (req_case_id(req, &id, &reply) < 0 || replan_load(d, id, &r, &reply) < 0)
		return reply;
	if (r.to == r.from)
		return replan_reply(&r, false, "already follows the current policy; nothing changed");
	reply = replan_commit(d, &r, uid);
	free(r.fired);
	return reply;
}
