/* report attach: a report the controller could not match (an address
 * that was never ours, no address, not a mail at all) joins an open case
 * by hand, and counts for its ladder like any other report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "cordond.h"
#include "reports.h"
#include "util.h"

struct attach {
	int64_t report, case_id;
	char uuid[65], category[64];
	char *evidence;
};

static int attach_check_report(struct cordond *d, struct attach *a, json_t **error)
{
	struct db_stmt *st = store_prepare(d->store,
		"SELECT state, duplicate_of, json_extract(parsed, '$.evidence') FROM reports"
		" WHERE id = ?");
	int rc;

	if (!st)
		return -1;
	db_bind_int64(st, 1, a->report);
	rc = store_step(d->store, st);
	if (rc == 0)
		*error = reply_error("no report %lld (cordonctl report list shows them)",
				     (long long)a->report);
	else if (rc == 1 && !db_column_is_null(st, 1))
		*error = reply_error("report %lld is the same mail as report %lld: attach that one",
				     (long long)a->report, (long long)db_column_int64(st, 1));
	else if (rc == 1 && db_column_text(st, 2))
		a->evidence = strdup((const char *)db_column_text(st, 2));
	db_finalize(st);
	return rc < 0 ? -1 : 0;
}

static int attach_check_case(struct cordond *d, struct attach *a, json_t **error)
{
	struct db_stmt *st = store_prepare(d->store,
		"SELECT c.vm_uuid, c.category, c.resolved IS NOT NULL, EXISTS (SELECT 1 FROM"
		" case_reports WHERE case_id = c.id AND report = ?2) FROM cases c WHERE c.id = ?1");
	int rc;

	if (!st)
		return -1;
	db_bind_int64(st, 1, a->case_id);
	db_bind_int64(st, 2, a->report);
	rc = store_step(d->store, st);
	if (rc == 0) {
		*error = reply_error("no case %lld (cordonctl case list shows them)",
				     (long long)a->case_id);
	} else if (rc == 1 && db_column_int(st, 2)) {
		*error = reply_error("case %lld is resolved: a report joins an open case",
				     (long long)a->case_id);
	} else if (rc == 1 && db_column_int(st, 3)) {
		*error = reply_error("report %lld is already counted in case %lld",
				     (long long)a->report, (long long)a->case_id);
	} else if (rc == 1) {
		strlcpy_checked(a->uuid, (const char *)db_column_text(st, 0), sizeof(a->uuid));
		strlcpy_checked(a->category, (const char *)db_column_text(st, 1),
				sizeof(a->category));
	}
	db_finalize(st);
	return rc < 0 ? -1 : 0;
}

static int attach_write(struct cordond *d, struct attach *a, uid_t uid)
{
	char source[64], detail[96];
	struct case_report_in in = {
		.category = a->category, .uuid = a->uuid, .source = source,
		.evidence = a->evidence, .report = a->report,
	};
	struct db_stmt *st;

	snprintf(source, sizeof(source), "report %lld, attached by hand", (long long)a->report);
	snprintf(detail, sizeof(detail), "report %lld attached by hand", (long long)a->report);
	if (case_add_report(d, a->case_id, &in, uid, "report", detail) < 0)
		return -1;
	st = store_prepare(d->store,
		"INSERT INTO report_matches (report, ip, at, vm_uuid, case_id, outcome)"
		" VALUES (?, '', ?, ?, ?, 'attached by hand')");
	if (!st)
		return -1;
	db_bind_int64(st, 1, a->report);
	db_bind_int64(st, 2, store_now());
	db_bind_text(st, 3, a->uuid);
	db_bind_int64(st, 4, a->case_id);
	if (store_exec_stmt(d->store, st) < 0)
		return -1;
	st = store_prepare(d->store, "UPDATE reports SET state = 'attached'"
				     " WHERE id = ? AND state IN ('unmatched', 'unparseable')");
	if (!st)
		return -1;
	db_bind_int64(st, 1, a->report);
	return store_exec_stmt(d->store, st);
}

json_t *reports_cmd_attach(struct cordond *d, const json_t *req, uid_t uid)
{
	json_t *v = json_object_get(req, "case"), *error = NULL;
	struct attach a = { 0 };

	if (!json_is_integer(json_object_get(req, "report")) ||
	    json_integer_value(json_object_get(req, "report")) <= 0 || !json_is_integer(v) ||
	    json_integer_value(v) <= 0)
		return reply_error("give a report id and --case N (report list, case list show them)");
	a.report = json_integer_value(json_object_get(req, "report"));
	a.case_id = json_integer_value(v);
	if (store_begin(d->store) < 0)
		return reply_store_error(d);
	if (attach_check_report(d, &a, &error) < 0 || (!error && attach_check_case(d, &a, &error) < 0) ||
	    (!error && (attach_write(d, &a, uid) < 0 || store_commit(d->store) < 0))) {
		store_rollback(d->store);
		free(a.evidence);
		return reply_store_error(d);
	}
	free(a.evidence);
	if (error) {
		store_rollback(d->store);
		return error;
	}
	cases_run_scheduler(d);
	return reply_ok(json_pack("{s:I, s:I, s:s}", "report", (json_int_t)a.report, "case",
				  (json_int_t)a.case_id, "vm", a.uuid));
}
