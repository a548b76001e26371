/* report_ingest: one abuse report mail, parsed by `cordonctl report
 * ingest` (the parser runs there, outside the controller, on what any
 * mail sender wrote), stored whole, counted once, and matched by address
 * and time to the VM that held the address then; a matched report opens
 * a case or joins the open one, as `case open` does. What cordonctl says
 * of the mail is checked here like any other request. */
#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "cordond.h"
#include "ip_history.h"
#include "log.h"
#include "policy.h"
#include "reports.h"
#include "util.h"

#define SOURCES_MAX 64  /* addresses of one mail looked up */
#define FIELD_MAX 2000  /* subject, sender, ids, type, note */
#define EVIDENCE_MAX 65536

struct ingest {
	json_t *parsed;        /* req's "parsed", or NULL: not a mail */
	const char *format, *category, *error;
	guchar *raw;
	gsize raw_len;
	json_int_t size;       /* of the whole message, before the cap */
	int64_t id;            /* reports.id */
	int64_t duplicate_of;
	const char *state;     /* matched, unmatched, unparseable, duplicate */
	char note[512];        /* what the controller adds to the parser's */
	json_t *matches;       /* [{ip, at, vm, case, outcome}] */
};

static const char *parsed_str(const struct ingest *in, const char *key)
{
	return json_string_value(json_object_get(in->parsed, key));
}

/* 0 or -1 with *error: fields too long, a format we do not know. */
static int ingest_validate(struct ingest *in, const json_t *req, json_t **error)
{
	static const char *const text_fields[] = {
		"type", "category", "message_id", "report_id", "original_sha256", "subject", "from",
		"note", "reported_domain",
	};
	const char *raw = json_string_value(json_object_get(req, "raw"));
	json_t *size = json_object_get(req, "size");

	in->parsed = json_object_get(req, "parsed");
	if (json_is_null(in->parsed))
		in->parsed = NULL;
	in->error = json_string_value(json_object_get(req, "error"));
	if (!raw || !json_is_integer(size) || json_integer_value(size) < 0 ||
	    (in->parsed && !json_is_object(in->parsed))) {
		*error = reply_error("malformed report_ingest request (raw, size, parsed)");
		return -1;
	}
	in->size = json_integer_value(size);
	in->format = in->parsed ? parsed_str(in, "format") : "not-mail";
	if (!in->format || !report_format_known(in->format)) {
		*error = reply_error("unknown report format '%s'", in->format ? in->format : "");
		return -1;
	}
	for (size_t i = 0; in->parsed && i < sizeof(text_fields) / sizeof(text_fields[0]); i++) {
		const char *v = parsed_str(in, text_fields[i]);
		if (v && strlen(v) > FIELD_MAX) {
			*error = reply_error("report field %s longer than %d bytes", text_fields[i],
					     FIELD_MAX);
			return -1;
		}
	}
	if (parsed_str(in, "evidence") && strlen(parsed_str(in, "evidence")) > EVIDENCE_MAX) {
		*error = reply_error("report evidence longer than %d bytes", EVIDENCE_MAX);
		return -1;
	}
	in->category = in->parsed ? parsed_str(in, "category") : NULL;
	in->raw = g_base64_decode(raw, &in->raw_len);
	if (in->raw_len > REPORT_STORED_MAX) {
		*error = reply_error("report larger than %d bytes as stored", REPORT_STORED_MAX);
		return -1;
	}
	return 0;
}

/* What makes two mails one report: the same Message-ID, X-ARF report id
 * or ARF original. Key i of the mail in key ("message_id:<id>"); false
 * when the mail has none of that kind. */
#define N_REPORT_KEYS 3
static bool report_key(const struct ingest *in, size_t i, char *key, size_t len)
{
	static const char *const kinds[N_REPORT_KEYS] = {
		"message_id", "report_id", "original_sha256",
	};
	const char *v = in->parsed ? parsed_str(in, kinds[i]) : NULL;

	if (!v || !*v)
		return false;
	snprintf(key, len, "%s:%s", kinds[i], v);
	return true;
}

/* Sets in->duplicate_of to the first report that had one of this mail's
 * keys (0: none), so the same mail sent twice counts once. */
static int ingest_find_duplicate(struct cordond *d, struct ingest *in)
{
	static const char sql[] = "SELECT report FROM report_keys WHERE key = ?";
	char key[FIELD_MAX + 32];

	for (size_t i = 0; i < N_REPORT_KEYS && !in->duplicate_of; i++) {
		struct db_stmt *st;
		int rc;

		if (!report_key(in, i, key, sizeof(key)))
			continue;
		st = store_cached(d->store, sql);
		if (!st)
			return -1;
		db_bind_text_copy(st, 1, key);
		rc = store_step(d->store, st);
		if (rc == 1)
			in->duplicate_of = db_column_int64(st, 0);
		db_reset(st);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int ingest_keys_insert(struct cordond *d, const struct ingest *in)
{
	static const char sql[] = "INSERT OR IGNORE INTO report_keys (key, report) VALUES (?, ?)";
	char key[FIELD_MAX + 32];

	for (size_t i = 0; i < N_REPORT_KEYS; i++) {
		struct db_stmt *st;

		if (!report_key(in, i, key, sizeof(key)))
			continue;
		st = store_cached(d->store, sql);
		if (!st)
			return -1;
		db_bind_text_copy(st, 1, key);
		db_bind_int64(st, 2, in->id);
		if (store_run(d->store, st) < 0)
			return -1;
	}
	return 0;
}

static int ingest_row_insert(struct cordond *d, struct ingest *in, uid_t uid)
{
	static const char sql[] =
		"INSERT INTO reports (received, uid, size, stored_size, raw, format, type, category,"
		" subject, sender, message_id, state, parsed) VALUES (?,?,?,?,?,?,?,?,?,?,?,'new',?)";
	struct db_stmt *st = store_cached(d->store, sql);
	char *parsed = in->parsed ? json_dumps(in->parsed, JSON_COMPACT) : NULL;
	int rc;

	if (!st || (in->parsed && !parsed)) {
		free(parsed);
		return -1;
	}
	db_bind_int64(st, 1, store_now());
	db_bind_int64(st, 2, uid);
	db_bind_int64(st, 3, in->size);
	db_bind_int64(st, 4, (int64_t)in->raw_len);
	db_bind_blob(st, 5, in->raw, (int)in->raw_len);
	db_bind_text(st, 6, in->format);
	db_bind_text(st, 7, parsed_str(in, "type"));
	db_bind_text(st, 8, in->category);
	db_bind_text(st, 9, parsed_str(in, "subject"));
	db_bind_text(st, 10, parsed_str(in, "from"));
	db_bind_text(st, 11, parsed_str(in, "message_id"));
	db_bind_text(st, 12, parsed);
	rc = store_run(d->store, st);
	free(parsed);
	if (rc < 0)
		return -1;
	in->id = store_last_insert_id(d->store);
	return 0;
}

static int ingest_row_finish(struct cordond *d, const struct ingest *in)
{
	static const char sql[] =
		"UPDATE reports SET state = ?2, duplicate_of = nullif(?3, 0), note = nullif(?4, '')"
		" WHERE id = ?1";
	struct db_stmt *st = store_cached(d->store, sql);
	char note[1024];

	if (!st)
		return -1;
	snprintf(note, sizeof(note), "%s%s%s", in->error ? in->error : "",
		 in->error && in->note[0] ? "; " : "", in->note);
	db_bind_int64(st, 1, in->id);
	db_bind_text(st, 2, in->state);
	db_bind_int64(st, 3, in->duplicate_of);
	db_bind_text_copy(st, 4, note);
	return store_run(d->store, st);
}

/* When a source acted: its own time, else the mail's Date, else now. */
static int64_t source_time(const struct ingest *in, const json_t *src)
{
	json_t *at = json_object_get(src, "at_unix");

	if (json_is_integer(at) && json_integer_value(at) > 0)
		return json_integer_value(at);
	if (json_is_integer(json_object_get(in->parsed, "date_unix")) &&
	    json_integer_value(json_object_get(in->parsed, "date_unix")) > 0)
		return json_integer_value(json_object_get(in->parsed, "date_unix"));
	return store_now();
}

/* The VM's name for the reply, "" if none (or unknown). */
static int vm_name_of(struct cordond *d, const char *uuid, char name[256])
{
	static const char sql[] = "SELECT name FROM vms WHERE uuid = ?";
	struct db_stmt *st = uuid ? store_cached(d->store, sql) : NULL;
	int rc;

	name[0] = '\0';
	if (!uuid)
		return 0;
	if (!st)
		return -1;
	db_bind_text(st, 1, uuid);
	rc = store_step(d->store, st);
	if (rc == 1 && db_column_text(st, 0))
		strlcpy_checked(name, (const char *)db_column_text(st, 0), 256);
	db_reset(st);
	return rc < 0 ? -1 : 0;
}

static int match_record(struct cordond *d, struct ingest *in, const char *ip, int64_t at,
			const char *uuid, int64_t case_id, const char *outcome)
{
	static const char sql[] =
		"INSERT INTO report_matches (report, ip, at, vm_uuid, case_id, outcome)"
		" VALUES (?,?,?,?,nullif(?,0),?)";
	struct db_stmt *st;
	char name[256];

	if (vm_name_of(d, uuid, name) < 0 ||
	    json_array_append_new(in->matches,
			json_pack("{s:s, s:I, s:s?, s:s?, s:I, s:s}", "ip", ip, "at", (json_int_t)at,
				  "vm", uuid, "vm_name", name[0] ? name : NULL, "case",
				  (json_int_t)case_id, "outcome", outcome)) < 0)
		return -1;
	st = store_cached(d->store, sql);
	if (!st)
		return -1;
	db_bind_int64(st, 1, in->id);
	db_bind_text_copy(st, 2, ip);
	db_bind_int64(st, 3, at);
	db_bind_text_copy(st, 4, uuid);
	db_bind_int64(st, 5, case_id);
	db_bind_text(st, 6, outcome);
	return store_run(d->store, st);
}

/* The case this mail already reported on this VM (several addresses of
 * one VM in one mail are one report), or 0. */
static int64_t match_case_of_vm(const struct ingest *in, const char *uuid)
{
	size_t i;
	json_t *m;

	json_array_foreach(in->matches, i, m) {
		const char *vm = json_string_value(json_object_get(m, "vm"));
		json_int_t c = json_integer_value(json_object_get(m, "case"));
		if (vm && c > 0 && strcmp(vm, uuid) == 0)
			return c;
	}
	return 0;
}

static int64_t match_take(struct cordond *d, struct ingest *in, const char *uuid,
			  const char *ip, uid_t uid, bool *joined)
{
	char source[300];
	const char *from = parsed_str(in, "from"), *type = parsed_str(in, "type");
	struct case_report_in cr = {
		.category = in->category, .uuid = uuid, .ip = ip, .source = source,
		.evidence = parsed_str(in, "evidence"), .report = in->id,
	};

	snprintf(source, sizeof(source), "report %lld: %s%s%s%s%.200s", (long long)in->id,
		 in->format, type ? " " : "", type ? type : "", from ? " from " : "",
		 from ? from : "");
	return case_take_report(d, &cr, uid, joined);
}

/* One address of the mail: looked up at its time; a match joins or opens
 * the VM's case of the report's category. */
static int match_source(struct cordond *d, struct ingest *in, const json_t *src, uid_t uid,
			int *n_cases)
{
	const char *given = json_string_value(json_object_get(src, "ip"));
	char ip[IP_TEXT_MAX], uuid[65] = "";
	int64_t at = source_time(in, src), case_id;
	enum ip_holder who;
	bool joined;

	if (!given || ip_canonical(given, ip) < 0)
		return 0; /* not an address: nothing to look up */
	if (ip_history_holder(d->store, ip, at, uuid, &who) < 0)
		return -1;
	if (who != IP_HOLDER_ONE)
		return match_record(d, in, ip, at, who == IP_HOLDER_GONE ? uuid : NULL, 0,
				    ip_holder_reason(who));
	if (!policy_set_find(d->policies, in->category))
		return match_record(d, in, ip, at, uuid, 0, "no policy for the report's category");
	case_id = match_case_of_vm(in, uuid);
	if (case_id > 0)
		return match_record(d, in, ip, at, uuid, case_id, "same VM as an address before");
	case_id = match_take(d, in, uuid, ip, uid, &joined);
	if (case_id < 0)
		return -1;
	(*n_cases)++;
	return match_record(d, in, ip, at, uuid, case_id, joined ? "joined case" : "opened case");
}

static int ingest_match(struct cordond *d, struct ingest *in, uid_t uid)
{
	json_t *sources = json_object_get(in->parsed, "sources"), *src;
	int n_cases = 0;
	size_t i;

	if (json_array_size(sources) > SOURCES_MAX)
		snprintf(in->note, sizeof(in->note), "only the first %d of %zu addresses looked up",
			 SOURCES_MAX, json_array_size(sources));
	json_array_foreach(sources, i, src) {
		if (i == SOURCES_MAX)
			break;
		if (match_source(d, in, src, uid, &n_cases) < 0)
			return -1;
	}
	if (!json_array_size(sources))
		snprintf(in->note, sizeof(in->note), "no IP address found in it");
	in->state = n_cases ? "matched" : "unmatched";
	return 0;
}

static int ingest_store(struct cordond *d, struct ingest *in, uid_t uid)
{
	if (ingest_row_insert(d, in, uid) < 0 || ingest_find_duplicate(d, in) < 0)
		return -1;
	if (in->duplicate_of) {
		in->state = "duplicate";
		snprintf(in->note, sizeof(in->note), "same mail as report %lld: counted once",
			 (long long)in->duplicate_of);
	} else if (!in->parsed || strcmp(in->format, "not-mail") == 0) {
		in->state = "unparseable";
	} else if (ingest_keys_insert(d, in) < 0 || ingest_match(d, in, uid) < 0) {
		return -1;
	}
	return ingest_row_finish(d, in);
}

json_t *reports_cmd_ingest(struct cordond *d, const json_t *req, uid_t uid)
{
	struct ingest in = { .matches = json_array() };
	json_t *error, *reply;

	if (!in.matches)
		return reply_error("out of memory");
	if (ingest_validate(&in, req, &error) < 0) {
		g_free(in.raw);
		json_decref(in.matches);
		return error;
	}
	if (store_begin(d->store) < 0 || ingest_store(d, &in, uid) < 0 ||
	    store_commit(d->store) < 0) {
		store_rollback(d->store);
		g_free(in.raw);
		json_decref(in.matches);
		return reply_store_error(d);
	}
	g_free(in.raw);
	log_info("uid %u: report %lld (%s, %lld bytes) %s", (unsigned)uid, (long long)in.id,
		 in.format, (long long)in.size, in.state);
	cases_run_scheduler(d);
	reply = json_pack("{s:I, s:s, s:s?, s:I, s:o}", "id", (json_int_t)in.id, "state", in.state,
			  "note", in.note[0] ? in.note : NULL, "duplicate_of",
			  (json_int_t)in.duplicate_of, "matches", in.matches);
	return reply_ok(reply);
}
