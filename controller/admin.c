/* The audit trail, the test clock and the policies, for cordonctl. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "cases.h"
#include "cordond.h"
#include "log.h"
#include "policy.h"
#include "util.h"

static void audit_bind(struct db_stmt *st, int64_t case_id, int64_t since, int limit)
{
	if (case_id)
		db_bind_int64(st, 1, case_id);
	else
		db_bind_null(st, 1);
	db_bind_int64(st, 2, since);
	db_bind_int64(st, 3, limit);
}

json_t *cases_cmd_audit(struct cordond *d, const json_t *req, uid_t uid)
{
	const char *since_text = req_str(req, "since");
	json_t *id = json_object_get(req, "case");
	int64_t since = 0, case_id = json_is_integer(id) ? json_integer_value(id) : 0;
	struct db_stmt *st;
	json_t *arr;
	int rc;

	(void)uid;
	if (since_text && parse_time_utc(since_text, &since) < 0)
		return reply_error("invalid --since '%s' (e.g. 2026-11-23T09:00:00Z)", since_text);
	st = store_prepare(d->store,
		"SELECT * FROM (SELECT a.id, a.at, a.uid, a.action, a.vm_uuid, v.name, a.case_id, a.detail,"
		" a.instance FROM audit a LEFT JOIN vms v ON v.uuid = a.vm_uuid"
		" WHERE (CAST(?1 AS INTEGER) IS NULL OR a.case_id = ?1) AND a.at >= ?2 ORDER BY a.id DESC LIMIT ?3) AS recent"
		" ORDER BY id");
	if (!st)
		return reply_error("database error");
	audit_bind(st, case_id, since, 10000);
	arr = json_array();
	while ((rc = store_step(d->store, st)) == 1)
		json_array_append_new(arr, json_pack("{s:I, s:I, s:o, s:s, s:s?, s:s?, s:o, s:s?, s:s?}",
			"id", (json_int_t)db_column_int64(st, 0),
			"at", (json_int_t)db_column_int64(st, 1),
			"uid", db_column_is_null(st, 2) ? json_null() :
				json_integer(db_column_int64(st, 2)),
			"action", (const char *)db_column_text(st, 3),
			"vm_uuid", (const char *)db_column_text(st, 4),
			"vm_name", (const char *)db_column_text(st, 5),
			"case", db_column_is_null(st, 6) ? json_null() :
				json_integer(db_column_int64(st, 6)),
			"detail", (const char *)db_column_text(st, 7),
			"instance", (const char *)db_column_text(st, 8)));
	db_finalize(st);
	if (rc < 0) {
		json_decref(arr);
		return reply_error("database read failed (see cordond's log)");
	}
	return reply_ok(arr);
}

static json_t *clock_json(void)
{
	char when[32];

	return json_pack("{s:I, s:s, s:I}", "now", (json_int_t)store_now(),
			 "now_text", format_time_utc(store_now(), when, sizeof(when)),
			 "offset", (json_int_t)store_clock_offset());
}

static json_t *clock_change(struct cordond *d, int64_t target, uid_t uid)
{
	char detail[128], when[32];

	if (target < store_now() - 10 * 365 * 86400L || target > store_now() + 10 * 365 * 86400L)
		return reply_error("refusing to move the clock more than 10 years");
	snprintf(detail, sizeof(detail), "test clock set to %s",
		 format_time_utc(target, when, sizeof(when)));
	if (store_begin(d->store) < 0 ||
	    store_set_test_now(d->store, target) < 0 ||
	    store_audit(d->store, uid, "clock", NULL, detail) < 0 || store_commit(d->store) < 0) {
		store_rollback(d->store);
		store_load_test_now(d->store);
		return reply_store_error(d);
	}
	log_info("uid %u: %s", (unsigned)uid, detail);
	cases_run_scheduler(d);
	return reply_ok(clock_json());
}

json_t *cases_cmd_clock(struct cordond *d, const json_t *req, uid_t uid)
{
	const char *action = req_str(req, "action"), *value = req_str(req, "value");
	int64_t t;
	long secs;

	if (action && strcmp(action, "show") == 0)
		return reply_ok(clock_json());
	if (!d->test_clock)
		return reply_error("the test clock is off: only cordond --test-clock lets the clock move "
				   "(never in production); nothing changed");
	if (!action || !value)
		return reply_error("usage: clock set TIME | clock advance DURATION");
	if (strcmp(action, "set") == 0) {
		if (parse_time_utc(value, &t) < 0)
			return reply_error("invalid time '%s' (e.g. 2026-11-23T05:00:00Z)", value);
		return clock_change(d, t, uid);
	}
	if (strcmp(action, "advance") == 0) {
		if (calendar_duration_parse(value, &secs) < 0 || secs <= 0)
			return reply_error("invalid duration '%s' (e.g. 90m, 2h, 1h30m, 1d)", value);
		return clock_change(d, store_now() + secs, uid);
	}
	return reply_error("unknown clock action '%s' (set, advance, show)", action);
}

json_t *cases_cmd_policy_list(struct cordond *d, const json_t *req, uid_t uid)
{
	json_t *arr = json_array();

	(void)req;
	(void)uid;
	for (size_t i = 0; i < policy_set_count(d->policies); i++) {
		const struct policy *p = policy_set_at(d->policies, i);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I, s:s}",
			"category", policy_category(p), "clock",
			policy_clock(p) == POLICY_CLOCK_BUSINESS ? "business" : "wall",
			"description", policy_description(p), "steps", (json_int_t)policy_n_steps(p),
			"file", policy_path(p)));
	}
	return reply_ok(arr);
}

json_t *cases_cmd_policy_show(struct cordond *d, const json_t *req, uid_t uid)
{
	const char *cat = req_str(req, "category");
	const struct policy *p = cat ? policy_set_find(d->policies, cat) : NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	json_t *r;

	(void)uid;
	if (!p)
		return reply_error("no policy for category '%s' (cordonctl policy list)", cat ? cat : "");
	f = open_memstream(&text, &len);
	if (!f)
		return reply_error("out of memory");
	if (policy_format(p, f) < 0) {
		fclose(f);
		free(text);
		return reply_error("cannot format the policy");
	}
	fclose(f);
	r = reply_ok(json_pack("{s:s, s:s, s:s}", "category", cat, "file", policy_path(p), "text", text));
	free(text);
	return r;
}
