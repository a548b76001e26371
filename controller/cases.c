/* Abuse cases: open (or add a report to an open case), list, show. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "cases.h"
#include "contact.h"
#include "cordond.h"
#include "inventory.h"
#include "ip_history.h"
#include "ladder.h"
#include "log.h"
#include "policy.h"
#include "scheduler.h"
#include "util.h"

#define EVIDENCE_MAX 65536
#define TEXT_MAX 2000

const char *req_str(const json_t *req, const char *key)
{
	const char *s = json_string_value(json_object_get(req, key));
	return s && *s ? s : NULL;
}

int req_case_id(const json_t *req, int64_t *id, json_t **error)
{
	json_t *v = json_object_get(req, "id");

	if (!json_is_integer(v) || json_integer_value(v) <= 0) {
		*error = reply_error("missing or invalid case id (cordonctl case list shows them)");
		return -1;
	}
	*id = json_integer_value(v);
	return 0;
}

void cases_run_scheduler(struct cordond *d)
{
	/* Bounded: a huge backlog (100k steps due at once) continues in the
	 * main loop, one batch per turn, so agents are not starved. */
	uint64_t deadline = now_mono_ms() + 500;

	while (scheduler_run(d, SCHEDULER_BATCH) == SCHEDULER_BATCH && now_mono_ms() < deadline)
		;
}

static json_t *known_categories(struct cordond *d)
{
	char buf[512] = "";

	for (size_t i = 0; i < policy_set_count(d->policies); i++) {
		if (i)
			strncat(buf, ", ", sizeof(buf) - strlen(buf) - 1);
		strncat(buf, policy_category(policy_set_at(d->policies, i)),
			sizeof(buf) - strlen(buf) - 1);
	}
	return json_string(buf);
}

/* Validates an open request; 0 with uuid/ip set, or -1 with *error. */
static int open_validate(struct cordond *d, const json_t *req, char uuid[65], const char **ip,
			 json_t **error)
{
	const char *cat = req_str(req, "category"), *contact = req_str(req, "contact");
	const char *evidence = req_str(req, "evidence"), *source = req_str(req, "source");
	json_t *names;

	*ip = req_str(req, "ip");
	if (!cat || !policy_set_find(d->policies, cat)) {
		names = known_categories(d);
		*error = reply_error("unknown category '%s' (known: %s)", cat ? cat : "",
				     json_string_value(names));
		json_decref(names);
		return -1;
	}
	if (!!*ip == !!req_str(req, "vm")) {
		*error = reply_error("give exactly one of --vm VM or --ip IP");
		return -1;
	}
	if (contact && contact_problem(contact)) {
		/* Quoted whole or not at all: a cut could split a character. */
		*error = strlen(contact) <= 64 ?
			reply_error("invalid contact address '%s': it %s", contact,
				    contact_problem(contact)) :
			reply_error("invalid contact address: it %s", contact_problem(contact));
		return -1;
	}
	if ((evidence && strlen(evidence) > EVIDENCE_MAX) || (source && strlen(source) > TEXT_MAX)) {
		*error = reply_error("evidence longer than %d bytes or source longer than %d",
				     EVIDENCE_MAX, TEXT_MAX);
		return -1;
	}
	if (*ip && !ip_is_address(*ip)) {
		*error = reply_error("--ip '%s' is not an IP address (use --vm for a name or uuid)", *ip);
		return -1;
	}
	if (*ip) {
		json_t *q = json_pack("{s:s}", "vm", *ip);
		int rc = resolve_arg(d, q, uuid, error);
		json_decref(q);
		return rc;
	}
	return resolve_arg(d, req, uuid, error);
}

/* The open case of this category on this VM, if any (new reports join it). */
static int64_t open_case_for(struct cordond *d, const char *cat, const char *uuid)
{
	struct db_stmt *st = store_prepare(d->store,
		"SELECT id FROM cases WHERE vm_uuid = ? AND category = ? AND resolved IS NULL"
		" ORDER BY id LIMIT 1");
	int64_t id = 0;

	if (!st)
		return -1;
	db_bind_text(st, 1, uuid);
	db_bind_text(st, 2, cat);
	switch (store_step(d->store, st)) {
	case 1:
		id = db_column_int64(st, 0);
		break;
	case -1: /* not "no open case": that would open a second one */
		id = -1;
		break;
	}
	db_finalize(st);
	return id;
}

static int add_report(struct cordond *d, int64_t id, const struct case_report_in *in,
		      int64_t now)
{
	struct db_stmt *st = store_prepare(d->store,
		"INSERT INTO case_reports (case_id, at, source, evidence, report) VALUES (?,?,?,?,?)");

	if (!st)
		return -1;
	db_bind_int64(st, 1, id);
	db_bind_int64(st, 2, now);
	db_bind_text(st, 3, in->source);
	db_bind_text(st, 4, in->evidence);
	if (in->report > 0)
		db_bind_int64(st, 5, in->report);
	else
		db_bind_null(st, 5);
	return store_exec_stmt(d->store, st);
}

/* A new case follows the ladder of its category's policy loaded now, for
 * good: a later policy applies to it only through `case replan`. */
static int64_t insert_case(struct cordond *d, const struct case_report_in *in, int64_t now,
			   uid_t uid)
{
	int64_t ladder = ladder_current(d, in->category);
	struct db_stmt *st;

	if (ladder <= 0)
		return -1;
	st = store_prepare(d->store,
		/* No contact given: the VM owner's, from its host's inventory. */
		"INSERT INTO cases (category, vm_uuid, ip, contact, source, evidence, opened, opened_by,"
		" ladder_id) VALUES (?1, ?2, ?3, coalesce(?4, (SELECT contact FROM vms WHERE uuid = ?2)),"
		" ?5, ?6, ?7, ?8, ?9)");
	if (!st)
		return -1;
	db_bind_text(st, 1, in->category);
	db_bind_text(st, 2, in->uuid);
	db_bind_text(st, 3, in->ip);
	db_bind_text(st, 4, in->contact);
	db_bind_text(st, 5, in->source);
	db_bind_text(st, 6, in->evidence);
	db_bind_int64(st, 7, now);
	db_bind_int64(st, 8, uid);
	db_bind_int64(st, 9, ladder);
	if (store_exec_stmt(d->store, st) < 0)
		return -1;
	return store_last_insert_id(d->store);
}

int case_add_report(struct cordond *d, int64_t id, const struct case_report_in *in, uid_t uid,
		    const char *action, const char *detail)
{
	if (add_report(d, id, in, store_now()) < 0 || scheduler_replan(d, id) < 0 ||
	    store_audit_case(d->store, uid, id, action, in->uuid, detail) < 0)
		return -1;
	log_info("uid %u: case %lld %s", (unsigned)uid, (long long)id, detail);
	return 0;
}

int64_t case_take_report(struct cordond *d, const struct case_report_in *in, uid_t uid,
			 bool *joined)
{
	int64_t id = open_case_for(d, in->category, in->uuid);
	char detail[300];

	*joined = id > 0;
	if (id == 0)
		id = insert_case(d, in, store_now(), uid);
	snprintf(detail, sizeof(detail), "%s %s%s%s", *joined ? "report on" : "opened",
		 in->category, in->ip ? " for IP " : "", in->ip ? in->ip : "");
	if (in->report > 0)
		snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
			 " (report %lld)", (long long)in->report);
	if (id < 0 ||
	    case_add_report(d, id, in, uid, *joined ? "report" : "open", detail) < 0)
		return -1;
	return id;
}

static int count_reports(struct cordond *d, int64_t id)
{
	struct db_stmt *st = store_prepare(d->store, "SELECT count(*) FROM case_reports WHERE case_id = ?");
	int n = 0;

	if (st) {
		db_bind_int64(st, 1, id);
		if (db_step(st) == DB_ROW)
			n = db_column_int(st, 0);
	}
	db_finalize(st);
	return n;
}

json_t *cases_cmd_open(struct cordond *d, const json_t *req, uid_t uid)
{
	struct case_report_in in = {
		.category = req_str(req, "category"), .contact = req_str(req, "contact"),
		.source = req_str(req, "source"), .evidence = req_str(req, "evidence"),
	};
	char uuid[65];
	int64_t id;
	json_t *error;
	bool joined;

	if (open_validate(d, req, uuid, &in.ip, &error) < 0)
		return error;
	in.uuid = uuid;
	if (store_begin(d->store) < 0)
		return reply_store_error(d);
	id = case_take_report(d, &in, uid, &joined);
	if (id < 0 || store_commit(d->store) < 0) {
		store_rollback(d->store);
		return reply_store_error(d);
	}
	cases_run_scheduler(d);
	return reply_ok(json_pack("{s:I, s:b, s:i, s:s}", "id", (json_int_t)id, "joined", joined,
				  "reports", count_reports(d, id), "vm", uuid));
}
