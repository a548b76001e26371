/* Report mails as the abuse desk reviews them: list (the unmatched and
 * unparseable ones to look at), show (the parse, each address and what
 * it matched, the stored message on request), attach (a report nobody
 * matched joins a case by hand, counted like any other). */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "cases.h"
#include "cordond.h"
#include "reports.h"
#include "util.h"

#define LIST_DEFAULT 100
#define LIST_MAX 10000

static const char *const formats[] = {
	"arf", "xarf-v4", "xarf-v3", "xarf-0.2", "plain", "not-mail",
};

bool report_format_known(const char *name)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcmp(name, formats[i]) == 0)
			return true;
	return false;
}

static json_t *col_json_text(struct db_stmt *st, int i)
{
	const char *s = (const char *)db_column_text(st, i);
	return s ? json_string(s) : json_null();
}

/* A JSON text the controller wrote (json_group_array, parsed). */
static json_t *col_json_doc(struct db_stmt *st, int i)
{
	const char *s = (const char *)db_column_text(st, i);
	json_t *v = s ? json_loads(s, 0, NULL) : NULL;
	return v ? v : json_null();
}

#define REPORT_COLUMNS \
	"r.id, r.received, r.size, r.stored_size, r.format, r.type, r.category, r.subject," \
	" r.sender, r.state, r.duplicate_of, r.note," \
	" (SELECT json_group_array(DISTINCT case_id) FROM report_matches" \
	"  WHERE report = r.id AND case_id IS NOT NULL)"

static json_t *report_row_json(struct db_stmt *st)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "id", (json_int_t)db_column_int64(st, 0),
			 "received", (json_int_t)db_column_int64(st, 1),
			 "size", (json_int_t)db_column_int64(st, 2),
			 "stored_size", (json_int_t)db_column_int64(st, 3),
			 "format", col_json_text(st, 4), "type", col_json_text(st, 5),
			 "category", col_json_text(st, 6), "subject", col_json_text(st, 7),
			 "from", col_json_text(st, 8), "state", col_json_text(st, 9),
			 "duplicate_of", db_column_is_null(st, 10) ? json_null() :
				json_integer(db_column_int64(st, 10)),
			 "note", col_json_text(st, 11), "cases", col_json_doc(st, 12));
}

json_t *reports_cmd_list(struct cordond *d, const json_t *req, uid_t uid)
{
	static const char all[] = "SELECT " REPORT_COLUMNS " FROM reports r"
		" ORDER BY r.id DESC LIMIT ?";
	static const char review[] = "SELECT " REPORT_COLUMNS " FROM reports r"
		" WHERE r.state IN ('unmatched', 'unparseable') ORDER BY r.id DESC LIMIT ?";
	json_t *limit = json_object_get(req, "limit"), *arr = json_array();
	struct db_stmt *st;
	int rc;

	(void)uid;
	if (limit && (!json_is_integer(limit) || json_integer_value(limit) < 1 ||
		      json_integer_value(limit) > LIST_MAX)) {
		json_decref(arr);
		return reply_error("--limit must be 1 to %d", LIST_MAX);
	}
	st = store_prepare(d->store, json_is_true(json_object_get(req, "unmatched")) ? review : all);
	if (!st || !arr) {
		db_finalize(st);
		json_decref(arr);
		return reply_error("database error (see cordond's log)");
	}
	db_bind_int64(st, 1, limit ? json_integer_value(limit) : LIST_DEFAULT);
	while ((rc = store_step(d->store, st)) == 1)
		json_array_append_new(arr, report_row_json(st));
	db_finalize(st);
	if (rc < 0) {
		json_decref(arr);
		return reply_error("database read failed (see cordond's log)");
	}
	return reply_ok(arr);
}

static json_t *report_matches_json(struct cordond *d, int64_t id)
{
	static const char sql[] =
		"SELECT m.ip, m.at, m.vm_uuid, v.name, m.case_id, m.outcome FROM report_matches m"
		" LEFT JOIN vms v ON v.uuid = m.vm_uuid WHERE m.report = ? ORDER BY m.rowid";
	struct db_stmt *st = store_prepare(d->store, sql);
	json_t *arr = json_array();
	int rc;

	if (!st || !arr) {
		db_finalize(st);
		json_decref(arr);
		return NULL;
	}
	db_bind_int64(st, 1, id);
	while ((rc = store_step(d->store, st)) == 1)
		json_array_append_new(arr, json_pack("{s:o, s:I, s:o, s:o, s:o, s:o}",
			"ip", col_json_text(st, 0), "at", (json_int_t)db_column_int64(st, 1),
			"vm", col_json_text(st, 2), "vm_name", col_json_text(st, 3),
			"case", db_column_is_null(st, 4) ? json_null() :
				json_integer(db_column_int64(st, 4)),
			"outcome", col_json_text(st, 5)));
	db_finalize(st);
	if (rc < 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* The row, its parse, its matches; with the stored message (base64)
 * when raw. NULL with *error. */
static json_t *report_json(struct cordond *d, int64_t id, bool raw, json_t **error)
{
	static const char sql[] = "SELECT " REPORT_COLUMNS ", r.parsed, r.raw FROM reports r"
		" WHERE r.id = ?";
	struct db_stmt *st = store_prepare(d->store, sql);
	json_t *r = NULL, *matches;
	int rc;

	*error = NULL;
	if (!st)
		return NULL;
	db_bind_int64(st, 1, id);
	rc = store_step(d->store, st);
	if (rc == 1) {
		r = report_row_json(st);
		json_object_set_new(r, "parsed", col_json_doc(st, 13));
		if (raw) {
			gchar *b64 = g_base64_encode(db_column_blob(st, 14),
						     (gsize)db_column_bytes(st, 14));
			json_object_set_new(r, "raw", json_string(b64));
			g_free(b64);
		}
	} else if (rc == 0) {
		*error = reply_error("no report %lld (cordonctl report list shows them)",
				     (long long)id);
	}
	db_finalize(st);
	matches = r ? report_matches_json(d, id) : NULL;
	if (r && (!matches || json_object_set_new(r, "matches", matches) < 0)) {
		json_decref(r);
		return NULL;
	}
	return r;
}

static int req_report_id(const json_t *req, int64_t *id, json_t **error)
{
	json_t *v = json_object_get(req, "report");

	if (!json_is_integer(v) || json_integer_value(v) <= 0) {
		*error = reply_error("missing or invalid report id (cordonctl report list shows them)");
		return -1;
	}
	*id = json_integer_value(v);
	return 0;
}

json_t *reports_cmd_show(struct cordond *d, const json_t *req, uid_t uid)
{
	json_t *error, *r;
	int64_t id;

	(void)uid;
	if (req_report_id(req, &id, &error) < 0)
		return error;
	r = report_json(d, id, json_is_true(json_object_get(req, "raw")), &error);
	if (!r)
		return error ? error : reply_error("database read failed (see cordond's log)");
	return reply_ok(r);
}
