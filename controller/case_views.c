/* Reading cases: list and show (events, reports, steps with due times and,
 * on a business clock, why they fall when they do; the ladder the case
 * follows). A read that fails is an error reply, never a short answer. */
#include <stdio.h>
#include <string.h>

#include "calendar.h"
#include "cases.h"
#include "cordond.h"
#include "inventory.h"
#include "ladder.h"
#include "policy.h"
#include "scheduler.h"
#include "util.h"

static const char *col_text(struct db_stmt *st, int i)
{
	return (const char *)db_column_text(st, i);
}

static json_t *col_time(struct db_stmt *st, int i)
{
	if (db_column_is_null(st, i))
		return json_null();
	return json_integer(db_column_int64(st, i));
}

static const char *case_state_name(struct db_stmt *st, int responded_col, int resolved_col)
{
	if (!db_column_is_null(st, resolved_col))
		return "resolved";
	return !db_column_is_null(st, responded_col) ? "responded" : "open";
}

/* The next step to fire: {action, due, state} or JSON null; NULL on error. */
static json_t *next_step_json(struct cordond *d, int64_t id, int64_t ladder)
{
	static const char sql[] =
		"SELECT step, due, state FROM case_steps WHERE case_id = ?"
		" AND state IN ('pending', 'failing') ORDER BY due, step LIMIT 1";
	struct db_stmt *st = store_cached(d->store, sql);
	json_t *next = NULL;
	char what[96];
	int rc;

	if (!st)
		return NULL;
	db_bind_int64(st, 1, id);
	rc = db_step(st);
	if (rc == DB_ROW) {
		ladder_step_text(d, ladder, db_column_int64(st, 0), what, sizeof(what));
		next = json_pack("{s:s, s:I, s:s}", "action", what, "due",
				 (json_int_t)db_column_int64(st, 1), "state", col_text(st, 2));
	} else if (rc == DB_DONE) {
		next = json_null();
	}
	db_reset(st);
	return next;
}

static json_int_t open_calls(struct cordond *d, int64_t id)
{
	static const char sql[] = "SELECT count(*) FROM calls WHERE case_id = ? AND state = 'open'";
	struct db_stmt *st = store_cached(d->store, sql);
	json_int_t n = -1;

	if (st) {
		db_bind_int64(st, 1, id);
		if (db_step(st) == DB_ROW)
			n = db_column_int64(st, 0);
		db_reset(st);
	}
	return n;
}

#define CASE_COLUMNS "c.id, c.category, c.vm_uuid, coalesce(v.name, ''), c.ip, c.contact," \
	" c.opened, c.responded, c.resolved, c.cut_scopes, c.power_off, c.source," \
	" coalesce(c.ladder_id, 0)"

/* NULL on a store error. */
static json_t *case_row_json(struct cordond *d, struct db_stmt *st, const void *ctx)
{
	int64_t id = db_column_int64(st, 0);
	json_t *next = next_step_json(d, id, db_column_int64(st, 12));
	json_int_t calls = open_calls(d, id);
	char cut[32];

	(void)ctx;
	if (!next || calls < 0) {
		json_decref(next);
		return NULL;
	}
	policy_scopes_format((unsigned)db_column_int64(st, 9), cut, sizeof(cut));
	return json_pack("{s:I, s:s, s:s, s:s, s:s?, s:s?, s:o, s:o, s:o, s:s, s:s, s:b, s:s?,"
			 " s:o, s:I}",
		"id", (json_int_t)id, "category", col_text(st, 1), "vm_uuid", col_text(st, 2),
		"vm_name", col_text(st, 3), "ip", col_text(st, 4), "contact", col_text(st, 5),
		"opened", col_time(st, 6), "responded", col_time(st, 7), "resolved", col_time(st, 8),
		"state", case_state_name(st, 7, 8),
		"cut", db_column_int64(st, 9) ? cut : "", "power_off", db_column_int(st, 10),
		"source", col_text(st, 11), "next", next, "calls_open", calls);
}

typedef json_t *row_fn(struct cordond *d, struct db_stmt *st, const void *ctx);

/* Appends what make(d, st, ctx) builds for each row of st to arr: 0 when
 * the rows ended, -1 (arr freed) on any error. Finalizes st. */
static int collect_rows(struct cordond *d, struct db_stmt *st, json_t *arr, row_fn *make,
			const void *ctx)
{
	int rc;

	while ((rc = db_step(st)) == DB_ROW)
		if (json_array_append_new(arr, make(d, st, ctx)) < 0)
			break;
	db_finalize(st);
	if (rc != DB_DONE) {
		json_decref(arr);
		return -1;
	}
	return 0;
}

json_t *cases_cmd_list(struct cordond *d, const json_t *req, uid_t uid)
{
	const char *state = req_str(req, "state");
	const char *where = "c.resolved IS NULL";
	struct db_stmt *st;
	json_t *arr;
	char sql[512];

	(void)uid;
	if (state && strcmp(state, "resolved") == 0)
		where = "c.resolved IS NOT NULL";
	else if (state && strcmp(state, "responded") == 0)
		where = "c.resolved IS NULL AND c.responded IS NOT NULL";
	else if (state && strcmp(state, "all") == 0)
		where = "TRUE";
	else if (state && strcmp(state, "open") != 0)
		return reply_error("unknown state '%s' (open, responded, resolved, all)", state);
	snprintf(sql, sizeof(sql), "SELECT " CASE_COLUMNS " FROM cases c LEFT JOIN vms v"
		 " ON v.uuid = c.vm_uuid WHERE %s ORDER BY c.id LIMIT 10000", where);
	st = store_prepare(d->store, sql);
	if (!st || !(arr = json_array())) {
		db_finalize(st);
		return reply_error("database error");
	}
	if (collect_rows(d, st, arr, case_row_json, NULL) < 0)
		return reply_error("database error");
	return reply_ok(arr);
}

/* What a step row needs beyond its columns: the case's ladder. */
struct show_ctx {
	int64_t id, ladder, opened;
	const struct policy *p; /* NULL when the ladder cannot be read */
};

/* The due time of the case's step (its first row); 0 none. */
static int64_t step_due(struct cordond *d, int64_t id, size_t step)
{
	static const char sql[] =
		"SELECT due FROM case_steps WHERE case_id = ? AND step = ? AND report = 0";
	struct db_stmt *st = store_cached(d->store, sql);
	int64_t due = 0;

	if (!st)
		return 0;
	db_bind_int64(st, 1, id);
	db_bind_int64(st, 2, (int64_t)step);
	if (db_step(st) == DB_ROW)
		due = db_column_int64(st, 0);
	db_reset(st);
	return due;
}

/* "2h after the call was made (2026-11-23T12:40:00Z), later than its due
 * time": which moment an "after call" step counts from, and why. */
static void why_after_call(struct cordond *d, const struct show_ctx *ctx,
			   const struct policy_step *s, char *why, size_t len)
{
	int64_t due = step_due(d, ctx->id, s->anchor);
	time_t made = 0;
	char off[CAL_DURATION_STRLEN], t1[32], t2[32];

	if (scheduler_called_at(d, ctx->id, &made) < 0)
		made = 0; /* logged; the explanation then names the due time */
	calendar_duration_format(s->offset, off, sizeof(off));
	if (made > due)
		snprintf(why, len, "%s after the call was made (%s), later than its due time %s",
			 off, format_time_utc(made, t1, sizeof(t1)),
			 format_time_utc(due, t2, sizeof(t2)));
	else
		snprintf(why, len, "%s after the call's due time (%s)%s", off,
			 format_time_utc(due, t1, sizeof(t1)),
			 made ? "; it was made before that" : "; no call recorded yet");
}

static void add_why(struct cordond *d, json_t *o, int64_t step, const struct show_ctx *ctx)
{
	const struct policy_step *s = ctx->p ? policy_step(ctx->p, (size_t)step) : NULL;
	char why[512];

	if (s && s->after_call) {
		why_after_call(d, ctx, s, why, sizeof(why));
		json_object_set_new(o, "why", json_string(why));
	} else if (s && policy_clock(ctx->p) == POLICY_CLOCK_BUSINESS && !s->each_report &&
		   d->calendar && calendar_explain(d->calendar, (time_t)ctx->opened, s->offset,
						   why, sizeof(why)) == 0) {
		json_object_set_new(o, "why", json_string(why));
	} else if (s && policy_clock(ctx->p) == POLICY_CLOCK_WALL && !s->each_report &&
		   !s->min_reports) {
		char off[CAL_DURATION_STRLEN], t[32];

		calendar_duration_format(s->offset, off, sizeof(off));
		snprintf(why, sizeof(why), "%s after the case was opened (%s)", off,
			 format_time_utc(ctx->opened, t, sizeof(t)));
		json_object_set_new(o, "why", json_string(why));
	}
}

static json_t *step_json(struct cordond *d, struct db_stmt *st, const void *arg)
{
	const struct show_ctx *ctx = arg;
	int64_t step = db_column_int64(st, 0);
	char what[96];
	json_t *o;

	ladder_step_text(d, ctx->ladder, step, what, sizeof(what));
	o = json_pack("{s:I, s:I, s:s, s:o, s:s, s:o, s:o, s:I, s:o, s:s?}",
		"step", (json_int_t)step + 1,
		"report", (json_int_t)db_column_int64(st, 1) + 1, "action", what,
		"due", col_time(st, 2), "state", col_text(st, 3), "fired_at", col_time(st, 4),
		"late", col_time(st, 5), "attempts", (json_int_t)db_column_int64(st, 6),
		"next_try", col_time(st, 7), "last_error", col_text(st, 8));
	if (o && step >= 0)
		add_why(d, o, step, ctx);
	return o;
}

/* The rows of sql (?1 = id), each made by make(d, st, ctx), as an array;
 * NULL on error. */
static json_t *query_rows(struct cordond *d, const char *sql, int64_t id, row_fn *make,
			  const void *ctx)
{
	struct db_stmt *st = store_prepare(d->store, sql);
	json_t *arr = json_array();

	if (!st || !arr) {
		db_finalize(st);
		json_decref(arr);
		return NULL;
	}
	db_bind_int64(st, 1, id);
	return collect_rows(d, st, arr, make, ctx) < 0 ? NULL : arr;
}

static json_t *steps_json(struct cordond *d, int64_t id, const struct show_ctx *ctx)
{
	return query_rows(d, "SELECT step, report, due, state, fired_at, late, attempts, next_try,"
			  " last_error FROM case_steps WHERE case_id = ?"
			  " ORDER BY due IS NULL, due, step, report", id, step_json, ctx);
}

/* ctx: the keys, NULL terminated, one per column. */
static json_t *keyed_row_json(struct cordond *d, struct db_stmt *st, const void *ctx)
{
	const char *const *keys = ctx;
	json_t *o = json_object();

	(void)d;
	for (int i = 0; o && keys[i]; i++) {
		json_object_set_new(o, keys[i], db_column_is_null(st, i) ? json_null() :
			db_column_is_integer(st, i) ? json_integer(db_column_int64(st, i)) :
			json_string(col_text(st, i)));
	}
	return o;
}

/* Sets c[key] to the rows of sql (?1 = id) as objects named by keys (NULL
 * terminated); -1 on error. */
static int set_rows(struct cordond *d, json_t *c, const char *key, const char *sql, int64_t id,
		    const char *const keys[])
{
	json_t *rows = query_rows(d, sql, id, keyed_row_json, keys);

	return rows ? json_object_set_new(c, key, rows) : -1;
}

static int add_history(struct cordond *d, json_t *c, int64_t id)
{
	static const char *const ev[] = { "at", "uid", "action", "detail", "instance", NULL };
	static const char *const rep[] = { "at", "source", "evidence", NULL };
	static const char *const no[] = { "id", "template", "recipient", "state", "attempts",
					  "last_error", "sent_at", NULL };
	static const char *const ca[] = { "id", "contact", "created", "state", "hook_state",
					  "hook_detail", "done_at", "note", NULL };
	static const char *const hi[] = { "ladder", "step", "report", "action", "due",
					  "fired_at", "late", "replaced", NULL };

	return set_rows(d, c, "events", "SELECT at, uid, action, detail, instance FROM audit"
			" WHERE case_id = ? ORDER BY id", id, ev) < 0 ||
	       set_rows(d, c, "reports", "SELECT at, source, evidence FROM case_reports"
			" WHERE case_id = ? ORDER BY at", id, rep) < 0 ||
	       set_rows(d, c, "notifications", "SELECT id, template, recipient, state, attempts,"
			" last_error, sent_at FROM notifications WHERE case_id = ? ORDER BY id", id, no) < 0 ||
	       set_rows(d, c, "calls", "SELECT id, contact, created, state, hook_state, hook_detail,"
			" done_at, note FROM calls WHERE case_id = ? ORDER BY id", id, ca) < 0 ||
	       set_rows(d, c, "replaced_steps", "SELECT ladder_id, step + 1, report + 1, action, due,"
			" fired_at, late, replaced FROM case_step_history WHERE case_id = ?"
			" ORDER BY fired_at, step", id, hi) < 0 ? -1 : 0;
}

/* The case's own fields beyond the list's: -1 on error. */
static int add_details(struct cordond *d, json_t *c, struct db_stmt *st)
{
	int64_t id = db_column_int64(st, 0);
	struct show_ctx ctx = { .id = id, .ladder = db_column_int64(st, 12),
				.opened = db_column_int64(st, 6) };
	char err[256];
	json_t *ladder, *steps;
	int bad;

	ctx.p = ladder_get(d, ctx.ladder, err, sizeof(err));
	ladder = case_ladder_json(d, ctx.ladder, col_text(st, 1));
	steps = steps_json(d, id, &ctx);
	if (!ladder || !steps) {
		json_decref(ladder);
		json_decref(steps);
		return -1;
	}
	/* Both set (and so both stolen, even on failure) before any test. */
	bad = json_object_set_new(c, "ladder", ladder) < 0;
	bad |= json_object_set_new(c, "steps", steps) < 0;
	if (bad || json_object_set_new(c, "evidence", col_text(st, 13) ? json_string(col_text(st, 13)) :
				json_null()) < 0 ||
	    json_object_set_new(c, "resolution", col_text(st, 14) ? json_string(col_text(st, 14)) :
				json_null()) < 0 ||
	    json_object_set_new(c, "clock", json_string(ctx.p && policy_clock(ctx.p) ==
				POLICY_CLOCK_BUSINESS ? "business" : "wall")) < 0)
		return -1;
	return add_history(d, c, id);
}

json_t *cases_cmd_show(struct cordond *d, const json_t *req, uid_t uid)
{
	struct db_stmt *st;
	json_t *c = NULL, *error;
	int64_t id;
	int rc;

	(void)uid;
	if (req_case_id(req, &id, &error) < 0)
		return error;
	st = store_prepare(d->store, "SELECT " CASE_COLUMNS ", c.evidence, c.resolution"
		" FROM cases c LEFT JOIN vms v ON v.uuid = c.vm_uuid WHERE c.id = ?");
	if (!st)
		return reply_error("database error");
	db_bind_int64(st, 1, id);
	rc = db_step(st);
	if (rc == DB_ROW && (!(c = case_row_json(d, st, NULL)) || add_details(d, c, st) < 0)) {
		json_decref(c);
		c = NULL;
		rc = DB_ERROR;
	}
	db_finalize(st);
	if (rc == DB_DONE && retention_case_was_pruned(d->store, id) == 1)
		return reply_error("no case %lld: pruned, resolved longer ago than"
				   " retain_resolved_cases (cordond.conf)", (long long)id);
	if (rc == DB_DONE)
		return reply_error("no case %lld (cordonctl case list shows them)", (long long)id);
	return c ? reply_ok(c) : reply_error("database error");
}
