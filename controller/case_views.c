/* Reading cases: list and show (events, reports, steps with due times and,
 * on a business clock, why they fall when they do), and the audit trail. */
#include <stdio.h>
#include <string.h>

#include "calendar.h"
#include "cases.h"
#include "cordond.h"
#include "inventory.h"
#include "policy.h"
#include "util.h"

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static json_t *col_time(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return json_null();
	return json_integer(sqlite3_column_int64(st, i));
}

static const char *case_state_name(sqlite3_stmt *st, int responded_col, int resolved_col)
{
	if (sqlite3_column_type(st, resolved_col) != SQLITE_NULL)
		return "resolved";
	return sqlite3_column_type(st, responded_col) != SQLITE_NULL ? "responded" : "open";
}

static void step_text(const struct policy *p, int64_t step, char *buf, size_t len)
{
	const struct policy_step *s;
	char scopes[32];

	if (!p || (size_t)step >= policy_n_steps(p)) {
		snprintf(buf, len, "step %lld", (long long)step + 1);
		return;
	}
	s = policy_step(p, (size_t)step);
	if (s->action == POLICY_NOTIFY)
		snprintf(buf, len, "notify %s", s->tmpl);
	else if (s->action == POLICY_SUSPEND) {
		policy_scopes_format(s->scopes, scopes, sizeof(scopes));
		snprintf(buf, len, "suspend %s", scopes);
	} else
		snprintf(buf, len, "%s", policy_action_name(s->action));
}

/* The next pending step of a case: {action, due} or null. */
static json_t *next_step_json(struct cordond *d, int64_t id, const struct policy *p)
{
	static const char sql[] =
		"SELECT step, due FROM case_steps WHERE case_id = ? AND state = 'pending'"
		" ORDER BY due, step LIMIT 1";
	sqlite3_stmt *st = store_cached(d->store, sql);
	json_t *next = json_null();
	char what[96];

	if (!st)
		return next;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		step_text(p, sqlite3_column_int64(st, 0), what, sizeof(what));
		next = json_pack("{s:s, s:I}", "action", what, "due",
				 (json_int_t)sqlite3_column_int64(st, 1));
	}
	sqlite3_reset(st);
	return next;
}

static json_int_t open_calls(struct cordond *d, int64_t id)
{
	static const char sql[] = "SELECT count(*) FROM calls WHERE case_id = ? AND state = 'open'";
	sqlite3_stmt *st = store_cached(d->store, sql);
	json_int_t n = 0;

	if (st) {
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	return n;
}

#define CASE_COLUMNS "c.id, c.category, c.vm_uuid, coalesce(v.name, ''), c.ip, c.contact," \
	" c.opened, c.responded, c.resolved, c.cut_scopes, c.power_off, c.source"

static json_t *case_row_json(struct cordond *d, sqlite3_stmt *st)
{
	int64_t id = sqlite3_column_int64(st, 0);
	const struct policy *p = policy_set_find(d->policies, col_text(st, 1));
	char cut[32];

	policy_scopes_format((unsigned)sqlite3_column_int64(st, 9), cut, sizeof(cut));
	return json_pack("{s:I, s:s, s:s, s:s, s:s?, s:s?, s:o, s:o, s:o, s:s, s:s, s:b, s:s?,"
			 " s:o, s:I}",
		"id", (json_int_t)id, "category", col_text(st, 1), "vm_uuid", col_text(st, 2),
		"vm_name", col_text(st, 3), "ip", col_text(st, 4), "contact", col_text(st, 5),
		"opened", col_time(st, 6), "responded", col_time(st, 7), "resolved", col_time(st, 8),
		"state", case_state_name(st, 7, 8),
		"cut", sqlite3_column_int64(st, 9) ? cut : "", "power_off", sqlite3_column_int(st, 10),
		"source", col_text(st, 11), "next", next_step_json(d, id, p),
		"calls_open", open_calls(d, id));
}

json_t *cases_cmd_list(struct cordond *d, const json_t *req, uid_t uid)
{
	const char *state = req_str(req, "state");
	const char *where = "c.resolved IS NULL";
	sqlite3_stmt *st;
	json_t *arr;
	char sql[512];

	(void)uid;
	if (state && strcmp(state, "resolved") == 0)
		where = "c.resolved IS NOT NULL";
	else if (state && strcmp(state, "responded") == 0)
		where = "c.resolved IS NULL AND c.responded IS NOT NULL";
	else if (state && strcmp(state, "all") == 0)
		where = "1";
	else if (state && strcmp(state, "open") != 0)
		return reply_error("unknown state '%s' (open, responded, resolved, all)", state);
	snprintf(sql, sizeof(sql), "SELECT " CASE_COLUMNS " FROM cases c LEFT JOIN vms v"
		 " ON v.uuid = c.vm_uuid WHERE %s ORDER BY c.id LIMIT 10000", where);
	st = store_prepare(d->store, sql);
	if (!st)
		return reply_error("database error");
	arr = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(arr, case_row_json(d, st));
	sqlite3_finalize(st);
	return reply_ok(arr);
}

static json_t *step_json(struct cordond *d, const struct policy *p, sqlite3_stmt *st,
			 int64_t opened)
{
	int64_t step = sqlite3_column_int64(st, 0);
	char what[96], why[512] = "";
	json_t *o;

	step_text(p, step, what, sizeof(what));
	o = json_pack("{s:I, s:I, s:s, s:o, s:s, s:o, s:o}", "step", (json_int_t)step + 1,
		"report", (json_int_t)sqlite3_column_int64(st, 1) + 1, "action", what,
		"due", col_time(st, 2), "state", col_text(st, 3), "fired_at", col_time(st, 4),
		"late", col_time(st, 5));
	if (p && policy_clock(p) == POLICY_CLOCK_BUSINESS && (size_t)step < policy_n_steps(p) &&
	    !policy_step(p, (size_t)step)->each_report && d->calendar &&
	    calendar_explain(d->calendar, (time_t)opened, policy_step(p, (size_t)step)->offset,
			     why, sizeof(why)) == 0)
		json_object_set_new(o, "why", json_string(why));
	return o;
}

static json_t *steps_json(struct cordond *d, int64_t id, const struct policy *p, int64_t opened)
{
	sqlite3_stmt *st = store_prepare(d->store,
		"SELECT step, report, due, state, fired_at, late FROM case_steps WHERE case_id = ?"
		" ORDER BY due IS NULL, due, step, report");
	json_t *arr = json_array();

	if (!st)
		return arr;
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(arr, step_json(d, p, st, opened));
	sqlite3_finalize(st);
	return arr;
}

/* Rows of a simple query as an array of objects named by keys. */
static json_t *rows_json(struct cordond *d, const char *sql, int64_t id, const char *const keys[],
			 int n_keys)
{
	sqlite3_stmt *st = store_prepare(d->store, sql);
	json_t *arr = json_array();

	if (!st)
		return arr;
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = json_object();
		for (int i = 0; i < n_keys; i++) {
			int t = sqlite3_column_type(st, i);
			json_object_set_new(o, keys[i], t == SQLITE_NULL ? json_null() :
				t == SQLITE_INTEGER ? json_integer(sqlite3_column_int64(st, i)) :
				json_string(col_text(st, i)));
		}
		json_array_append_new(arr, o);
	}
	sqlite3_finalize(st);
	return arr;
}

static void add_history(struct cordond *d, json_t *c, int64_t id)
{
	static const char *const ev[] = { "at", "uid", "action", "detail" };
	static const char *const rep[] = { "at", "source", "evidence" };
	static const char *const no[] = { "id", "template", "recipient", "state", "attempts",
					  "last_error", "sent_at" };
	static const char *const ca[] = { "id", "contact", "created", "state", "hook_state",
					  "hook_detail", "done_at", "note" };

	json_object_set_new(c, "events", rows_json(d,
		"SELECT at, uid, action, detail FROM audit WHERE case_id = ? ORDER BY id", id, ev, 4));
	json_object_set_new(c, "reports", rows_json(d,
		"SELECT at, source, evidence FROM case_reports WHERE case_id = ? ORDER BY at", id, rep, 3));
	json_object_set_new(c, "notifications", rows_json(d,
		"SELECT id, template, recipient, state, attempts, last_error, sent_at"
		" FROM notifications WHERE case_id = ? ORDER BY id", id, no, 7));
	json_object_set_new(c, "calls", rows_json(d,
		"SELECT id, contact, created, state, hook_state, hook_detail, done_at, note"
		" FROM calls WHERE case_id = ? ORDER BY id", id, ca, 8));
}

json_t *cases_cmd_show(struct cordond *d, const json_t *req, uid_t uid)
{
	sqlite3_stmt *st = store_prepare(d->store, "SELECT " CASE_COLUMNS ", c.evidence, c.resolution"
		" FROM cases c LEFT JOIN vms v ON v.uuid = c.vm_uuid WHERE c.id = ?");
	const struct policy *p;
	json_t *c = NULL, *error;
	int64_t id;

	(void)uid;
	if (req_case_id(req, &id, &error) < 0) {
		sqlite3_finalize(st);
		return error;
	}
	if (!st)
		return reply_error("database error");
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		c = case_row_json(d, st);
		p = policy_set_find(d->policies, col_text(st, 1));
		json_object_set_new(c, "evidence", col_text(st, 12) ? json_string(col_text(st, 12)) : json_null());
		json_object_set_new(c, "resolution", col_text(st, 13) ? json_string(col_text(st, 13)) : json_null());
		json_object_set_new(c, "clock", json_string(p && policy_clock(p) == POLICY_CLOCK_BUSINESS ?
							   "business" : "wall"));
		json_object_set_new(c, "steps", steps_json(d, id, p, sqlite3_column_int64(st, 6)));
		add_history(d, c, id);
	}
	sqlite3_finalize(st);
	return c ? reply_ok(c) : reply_error("no case %lld (cordonctl case list shows them)", (long long)id);
}
