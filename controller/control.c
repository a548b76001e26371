/* The control socket's commands: one JSON request per connection from
 * cordonctl (control_conn.c reads it). Every mutating request is audited
 * with the caller's uid. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "control_roles.h"
#include "cordond.h"
#include "reports.h"
#include "desired.h"
#include "inventory.h"
#include "jsonsock.h"
#include "ladder.h"
#include "log.h"
#include "mac.h"
#include "scheduler.h"
#include "util.h"

json_t *reply_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

json_t *reply_store_error(struct cordond *d)
{
	const char *why = store_last_error(d->store);

	return reply_error("database not written (%s); nothing changed",
			   why[0] ? why : "see cordond's log");
}

json_t *reply_ok(json_t *result)
{
	return json_pack("{s:b, s:o}", "ok", 1, "result", result ? result : json_null());
}

static json_t *vm_full_json(struct cordond *d, const char *uuid, int with_ifaces)
{
	json_t *vm = inventory_vm_json(d->store, uuid, with_ifaces);

	if (vm && desired_add_json(d->store, uuid, vm) < 0) {
		json_decref(vm);
		return NULL;
	}
	return vm;
}

/* One object per row of sql, made by row_json (NULL: a store error): the
 * whole list, or an error. Half a list would show VMs or hosts as gone. */
static json_t *list_reply(struct cordond *d, const char *sql,
			  json_t *(*row_json)(struct cordond *d, struct db_stmt *row))
{
	struct db_stmt *st = store_prepare(d->store, sql);
	json_t *arr = json_array();
	int rc;

	if (!st) {
		json_decref(arr);
		return reply_error("database error");
	}
	while ((rc = store_step(d->store, st)) == 1) {
		json_t *o = row_json(d, st);
		if (!o) {
			rc = -1;
			break;
		}
		json_array_append_new(arr, o);
	}
	db_finalize(st);
	if (rc < 0) {
		json_decref(arr);
		return reply_error("database read failed (see cordond's log)");
	}
	return reply_ok(arr);
}

static json_t *vm_row_json(struct cordond *d, struct db_stmt *row)
{
	return vm_full_json(d, (const char *)db_column_text(row, 0), 1);
}

static json_t *cmd_vms(struct cordond *d, const json_t *req, uid_t uid)
{
	(void)req;
	(void)uid;
	return list_reply(d, "SELECT uuid FROM vms ORDER BY host_id, name", vm_row_json);
}

static json_t *holds_json(struct cordond *d, const char *uuid)
{
	struct db_stmt *st = store_prepare(d->store,
		"SELECT scopes, reason, uid, created, power_off FROM holds WHERE vm_uuid = ?");
	json_t *arr = json_array();
	char scopes[64];
	int rc;

	if (!st)
		goto failed;
	db_bind_text(st, 1, uuid);
	while ((rc = store_step(d->store, st)) == 1)
		json_array_append_new(arr, json_pack("{s:s, s:b, s:s, s:s?, s:o, s:I}",
			"kind", "manual", "power_off", db_column_int(st, 4),
			"scopes", scope_mask_format((uint32_t)db_column_int64(st, 0),
						    scopes, sizeof(scopes)),
			"reason", (const char *)db_column_text(st, 1),
			/* null: set by the controller itself (enforced_adopt.c) */
			"uid", db_column_is_null(st, 2) ? json_null() :
			       json_integer(db_column_int64(st, 2)),
			"since", (json_int_t)db_column_int64(st, 3)));
	db_finalize(st);
	if (rc < 0)
		goto failed;
	/* Open cases impose cuts too: shown with the manual hold. */
	st = store_prepare(d->store,
		"SELECT id, category, cut_scopes, power_off, opened FROM cases"
		" WHERE vm_uuid = ? AND resolved IS NULL AND (cut_scopes <> 0 OR power_off <> 0) ORDER BY id");
	if (!st)
		goto failed;
	db_bind_text(st, 1, uuid);
	while ((rc = store_step(d->store, st)) == 1)
		json_array_append_new(arr, json_pack("{s:s, s:I, s:s, s:s, s:b, s:I}",
			"kind", "case", "case", (json_int_t)db_column_int64(st, 0),
			"category", (const char *)db_column_text(st, 1),
			"scopes", scope_mask_format((uint32_t)db_column_int64(st, 2),
						    scopes, sizeof(scopes)),
			"power_off", db_column_int(st, 3),
			"since", (json_int_t)db_column_int64(st, 4)));
	db_finalize(st);
	if (rc == 0)
		return arr;
failed: /* half the holds would hide a cut: none at all, and an error */
	json_decref(arr);
	return NULL;
}

int resolve_arg(struct cordond *d, const json_t *req, char uuid[65],
		json_t **error)
{
	const char *key = json_string_value(json_object_get(req, "vm"));
	char err[512];

	if (!key || !*key) {
		*error = reply_error("missing VM (uuid, name or IP address)");
		return -1;
	}
	if (inventory_resolve(d->store, key, uuid, err, sizeof(err)) < 0) {
		*error = reply_error("%s", err);
		return -1;
	}
	return 0;
}

static json_t *cmd_vm_show(struct cordond *d, const json_t *req, uid_t uid)
{
	char uuid[65];
	json_t *error, *vm;

	(void)uid;
	if (resolve_arg(d, req, uuid, &error) < 0)
		return error;
	vm = vm_full_json(d, uuid, 1);
	if (!vm || json_object_set_new(vm, "holds", holds_json(d, uuid)) < 0) {
		json_decref(vm);
		return reply_error("cannot read VM %s from the database (see cordond's log)", uuid);
	}
	return reply_ok(vm);
}

struct hold_change {
	const char *action;       /* audit action: suspend, restore, poweroff, poweron */
	enum hold_part part;
	uint32_t value;
	const char *reason;
};

/* Changes the manual hold and recomputes the VM's desired state in one
 * transaction, audited; then pushes it to the VM's agent. */
static json_t *change_hold(struct cordond *d, const char *uuid, const struct hold_change *c,
			   uid_t uid)
{
	struct desired_row row;
	char detail[600], names[64] = "";

	if (c->part == HOLD_SCOPES && c->value)
		scope_mask_format(c->value, names, sizeof(names));
	snprintf(detail, sizeof(detail), "%s%s%s%s", c->action, names[0] ? " " : "", names,
		 c->reason ? ": " : "");
	if (c->reason)
		strncat(detail, c->reason, sizeof(detail) - strlen(detail) - 1);
	if (store_begin(d->store) < 0)
		return reply_store_error(d);
	if (desired_set_hold(d->store, uuid, c->part, c->value, c->reason, uid) < 0 ||
	    desired_recompute(d->store, uuid, &row) < 0 ||
	    store_audit(d->store, uid, c->action, uuid, detail) < 0 ||
	    store_commit(d->store) < 0) {
		store_rollback(d->store);
		return reply_store_error(d);
	}
	log_info("uid %u: %s %s (generation %llu)", (unsigned)uid, detail, uuid,
		 (unsigned long long)row.generation);
	agents_push_vm(d, uuid);
	return reply_ok(vm_full_json(d, uuid, 0));
}

static const char *req_reason(const json_t *req, json_t **error)
{
	const char *reason = json_string_value(json_object_get(req, "reason"));

	if (reason && strlen(reason) > 500) {
		*error = reply_error("reason longer than 500 characters");
		return NULL;
	}
	*error = NULL;
	return reason;
}

static json_t *cmd_suspend(struct cordond *d, const json_t *req, uid_t uid)
{
	const char *scope = json_string_value(json_object_get(req, "scope"));
	struct hold_change c = { .action = "suspend", .part = HOLD_SCOPES };
	char uuid[65];
	json_t *error;

	if (!scope || scope_mask_parse(scope, &c.value) < 0)
		return reply_error("invalid scope '%s' (expected public, private, smtp or all)",
				   scope ? scope : "");
	c.reason = req_reason(req, &error);
	if (error || resolve_arg(d, req, uuid, &error) < 0)
		return error;
	return change_hold(d, uuid, &c, uid);
}

static json_t *cmd_poweroff(struct cordond *d, const json_t *req, uid_t uid)
{
	struct hold_change c = { .action = "poweroff", .part = HOLD_POWER, .value = 1 };
	char uuid[65];
	json_t *error;

	c.reason = req_reason(req, &error);
	if (error || resolve_arg(d, req, uuid, &error) < 0)
		return error;
	return change_hold(d, uuid, &c, uid);
}

/* restore and poweron lift one part of the manual hold, if it is there. */
static json_t *lift_hold(struct cordond *d, const json_t *req, uid_t uid, enum hold_part part)
{
	struct hold_change c = { .action = part == HOLD_SCOPES ? "restore" : "poweron",
				 .part = part };
	char uuid[65];
	json_t *error;
	int held;

	if (resolve_arg(d, req, uuid, &error) < 0)
		return error;
	held = desired_has_hold(d->store, uuid, part);
	if (held < 0)
		return reply_error("database error");
	if (!held)
		return reply_error(part == HOLD_SCOPES ?
				   "VM %s has no manual suspend to lift (cases lift theirs when resolved)" :
				   "VM %s was not powered off by hand (cases lift theirs when resolved)",
				   uuid);
	return change_hold(d, uuid, &c, uid);
}

static json_t *cmd_restore(struct cordond *d, const json_t *req, uid_t uid)
{
	return lift_hold(d, req, uid, HOLD_SCOPES);
}

static json_t *cmd_poweron(struct cordond *d, const json_t *req, uid_t uid)
{
	return lift_hold(d, req, uid, HOLD_POWER);
}

static const char *agent_state(const struct agent_conn *a)
{
	if (a && a->connected)
		return "connected";
	return a && a->refused[0] ? "refused" : "disconnected";
}

/* This host's own view: the VMs it lists and what it acked of them. */
static json_t *agent_json(struct cordond *d, struct db_stmt *host_row)
{
	const char *host = (const char *)db_column_text(host_row, 0);
	const char *version = (const char *)db_column_text(host_row, 1);
	int64_t last_seen = db_column_int64(host_row, 2);
	struct agent_conn *a = registry_by_host(&d->registry, host);
	struct db_stmt *st = store_prepare(d->store,
		"SELECT count(*), count(*) FILTER (WHERE a.generation = d.generation"
		"  AND a.error IS NULL AND (d.scopes <> 0 OR d.power_off <> 0)),"
		" count(*) FILTER (WHERE d.generation IS NOT NULL"
		"  AND coalesce(a.generation, 0) < d.generation),"
		" count(*) FILTER (WHERE a.generation = d.generation AND a.error IS NOT NULL)"
		" FROM vm_hosts h LEFT JOIN desired d ON d.vm_uuid = h.uuid"
		" LEFT JOIN acks a ON a.uuid = h.uuid AND a.host_id = h.host_id WHERE h.host_id = ?");
	json_int_t n[4] = { 0 };

	if (!st)
		return NULL;
	db_bind_text(st, 1, host);
	if (store_step(d->store, st) != 1) {
		db_finalize(st);
		return NULL;
	}
	for (int i = 0; i < 4; i++)
		n[i] = db_column_int64(st, i);
	db_finalize(st);
	if (a && a->last_seen_wall > last_seen)
		last_seen = a->last_seen_wall;
	return json_pack("{s:s, s:b, s:s, s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:b}",
		"host", host, "connected", a && a->connected, "state", agent_state(a),
		"refused", a ? a->refused : "", "protocol", (json_int_t)(a ? a->protocol : 0),
		"last_seen", (json_int_t)last_seen,
		"version", a && a->version[0] ? a->version : (version ? version : ""),
		"vms", n[0], "enforced", n[1], "pending", n[2], "errors", n[3],
		"inventory_complete", db_column_int(host_row, 3) != 0);
}

/* An agent refused before it was ever stored (a far protocol on its first
 * connection) is listed too: a refusal is never silent. */
static json_t *refused_only_json(const struct agent_conn *a)
{
	return json_pack("{s:s, s:b, s:s, s:s, s:I, s:I, s:s, s:i, s:i, s:i, s:i, s:b}",
		"host", a->peer.host_id, "connected", 0, "state", agent_state(a),
		"refused", a->refused, "protocol", (json_int_t)a->protocol,
		"last_seen", (json_int_t)a->last_seen_wall, "version", a->version,
		"vms", 0, "enforced", 0, "pending", 0, "errors", 0, "inventory_complete", 1);
}

static bool listed(const json_t *arr, const char *host)
{
	size_t i;
	json_t *a;

	json_array_foreach(arr, i, a)
		if (strcmp(json_string_value(json_object_get(a, "host")), host) == 0)
			return true;
	return false;
}

static int add_refused_only(struct cordond *d, json_t *arr)
{
	for (size_t i = 0; i < d->registry.n; i++) {
		const struct agent_conn *a = &d->registry.agents[i];
		if (!a->refused[0] || listed(arr, a->peer.host_id))
			continue;
		if (json_array_append_new(arr, refused_only_json(a)) < 0)
			return -1;
	}
	return 0;
}

static json_t *cmd_agents(struct cordond *d, const json_t *req, uid_t uid)
{
	(void)req;
	(void)uid;
	json_t *reply = list_reply(d, "SELECT host_id, version, last_seen, inventory_complete"
				   " FROM hosts ORDER BY host_id", agent_json);
	json_t *arr = json_object_get(reply, "result");

	if (json_is_array(arr) && add_refused_only(d, arr) < 0) {
		json_decref(reply);
		return reply_error("out of memory");
	}
	return reply;
}

/* The counts of one row of sql; -1 on a store error (never "0"). */
static int counts_of(struct cordond *d, const char *sql, json_int_t *n, int k)
{
	struct db_stmt *st = store_prepare(d->store, sql);
	int rc = st ? store_step(d->store, st) : -1;

	for (int i = 0; i < k; i++)
		n[i] = rc == 1 ? db_column_int64(st, i) : 0;
	db_finalize(st);
	return rc == 1 ? 0 : -1;
}

/* NULL on a store error: counts that could not be read are not shown as 0. */
static json_t *status_json(struct cordond *d)
{
	json_int_t host[2], vm[3], work[3];

	/* Each table once: at 100k VMs and 1M cases a scan is milliseconds. */
	if (counts_of(d, "SELECT (SELECT count(*) FROM hosts), (SELECT count(*) FROM vms)",
		      host, 2) < 0 ||
	    counts_of(d, "SELECT count(*) FILTER (WHERE error IS NULL AND acked_generation >= generation"
		      " AND (scopes <> 0 OR power_off <> 0)), count(*) FILTER (WHERE error IS NOT NULL"
		      " AND acked_generation >= generation),"
		      " count(*) FILTER (WHERE acked_generation < generation)"
		      " FROM desired", vm, 3) < 0 ||
	    counts_of(d, "SELECT (SELECT count(*) FROM cases WHERE resolved IS NULL),"
		      " (SELECT count(*) FROM calls WHERE state = 'open'),"
		      " (SELECT count(*) FROM notifications WHERE state = 'failed'"
		      " OR (state = 'pending' AND attempts > 0))", work, 3) < 0)
		return NULL;
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:b, s:I, s:I, s:I, s:I}",
		"version", CORDON_VERSION,
		"started", (json_int_t)d->started,
		"agents_connected", (json_int_t)registry_connected_count(&d->registry),
		"agents_known", host[0], "vms", host[1],
		"enforced", vm[0], "errors", vm[1], "pending", vm[2],
		"listen", d->cfg.listen,
		"test_clock", d->test_clock,
		"now", (json_int_t)store_now(),
		"cases_open", work[0], "calls_open", work[1], "notifications_failed", work[2]);
}

/* A store that cannot be read: who this instance is and why, not counts
 * that would read as 0. */
static json_t *status_without_store(struct cordond *d)
{
	return reply_ok(json_pack("{s:s, s:I, s:s, s:o, s:s}", "version", CORDON_VERSION,
				  "started", (json_int_t)d->started, "listen", d->cfg.listen,
				  "controller", leader_status_json(d),
				  "database_error", store_last_error(d->store)));
}

/* With the ladders (issue 9): open cases that keep an older ladder than
 * their policy's, and the steps that fail (the first 20 listed). */
static json_t *cmd_status(struct cordond *d, const json_t *req, uid_t uid)
{
	json_t *r = status_json(d), *failing = r ? steps_failing_json(d, 20) : NULL;
	int64_t old = failing ? ladders_old_count(d) : -1;

	(void)req;
	(void)uid;
	if (!r || !failing || old < 0) {
		json_decref(r);
		json_decref(failing);
		return status_without_store(d);
	}
	if (json_object_set_new(r, "steps_failing", failing) < 0 || /* steals failing */
	    json_object_set_new(r, "cases_old_ladder", json_integer(old)) < 0 ||
	    json_object_set_new(r, "controller", leader_status_json(d)) < 0) {
		json_decref(r);
		return reply_error("out of memory");
	}
	return reply_ok(r);
}

struct command {
	const char *name;
	json_t *(*fn)(struct cordond *d, const json_t *req, uid_t uid);
};

static const struct command commands[] = {
	{ "status", cmd_status },   { "agents", cmd_agents },
	{ "vms", cmd_vms },         { "vm_show", cmd_vm_show },
	{ "suspend", cmd_suspend }, { "restore", cmd_restore },
	{ "poweroff", cmd_poweroff }, { "poweron", cmd_poweron },
	{ "case_open", cases_cmd_open }, { "case_list", cases_cmd_list },
	{ "case_show", cases_cmd_show }, { "case_respond", cases_cmd_respond },
	{ "case_resume", cases_cmd_resume }, { "case_escalate", cases_cmd_escalate },
	{ "case_note", cases_cmd_note }, { "case_resolve", cases_cmd_resolve },
	{ "case_called", cases_cmd_called }, { "case_replan", cases_cmd_replan },
	{ "audit", cases_cmd_audit },
	{ "clock", cases_cmd_clock }, { "policy_list", cases_cmd_policy_list },
	{ "policy_show", cases_cmd_policy_show },
	{ "report_ingest", reports_cmd_ingest }, { "report_list", reports_cmd_list },
	{ "report_show", reports_cmd_show }, { "report_attach", reports_cmd_attach },
	{ "prune", prune_cmd },
};

/* Which socket refuses req (NULL: none does). */
static json_t *role_refuses(struct cordond *d, const json_t *req, const char *cmd, int role)
{
	if (role == CONTROL_ROLE_READ && !control_request_is_read(req))
		return reply_error("'%s' changes state: refused on the read-only control socket"
				   " (%s); it needs the control socket %s", cmd,
				   d->cfg.control_socket_readonly, d->cfg.control_socket);
	if (role == CONTROL_ROLE_REPORT && strcmp(cmd, "report_ingest") != 0)
		return reply_error("'%s' refused on the report socket (%s): it takes report mails"
				   " only", cmd, d->cfg.control_socket_report);
	if (!leader_acting(d) && !control_request_is_read(req)) {
		char who[400];
		return reply_error("'%s' changes state: this cordond (%s) is not the leader, nothing"
				   " changed; the leader is %s: run it there", cmd, d->cfg.instance,
				   leader_describe(d, who, sizeof(who)));
	}
	return NULL;
}

json_t *control_dispatch(void *ctx, const json_t *req, uid_t uid, int role)
{
	struct cordond *d = ctx;
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	json_t *refused;

	if (!json_is_object(req) || !cmd)
		return reply_error("malformed request: no \"cmd\"");
	refused = role_refuses(d, req, cmd, role);
	if (refused)
		return refused;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].fn(d, req, uid);
	return reply_error("unknown command '%s'", cmd);
}
