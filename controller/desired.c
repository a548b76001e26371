#include "desired.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "mac.h"
#include "util.h"
#include "vm_hosts.h"

int desired_set_hold(struct store *store, const char *uuid, enum hold_part part,
		     uint32_t value, const char *reason, uid_t uid)
{
	/* One row per VM: setting one part keeps the other. */
	static const char *const upsert[] = {
		[HOLD_SCOPES] = "INSERT INTO holds (vm_uuid, scopes, power_off, reason, uid, created)"
			" VALUES (?1, ?2, 0, ?3, ?4, ?5) ON CONFLICT (vm_uuid) DO UPDATE SET"
			" scopes = ?2, reason = coalesce(?3, holds.reason), uid = ?4, created = ?5",
		[HOLD_POWER] = "INSERT INTO holds (vm_uuid, scopes, power_off, reason, uid, created)"
			" VALUES (?1, 0, ?2, ?3, ?4, ?5) ON CONFLICT (vm_uuid) DO UPDATE SET"
			" power_off = ?2, reason = coalesce(?3, holds.reason), uid = ?4, created = ?5",
	};
	struct db_stmt *st = store_prepare(store, upsert[part]);

	if (!st)
		return -1;
	db_bind_text(st, 1, uuid);
	db_bind_int64(st, 2, value);
	db_bind_text(st, 3, reason);
	db_bind_int64(st, 4, uid);
	db_bind_int64(st, 5, store_now());
	if (store_exec_stmt(store, st) < 0)
		return -1;
	st = store_prepare(store, "DELETE FROM holds WHERE vm_uuid = ? AND scopes = 0 AND power_off = 0");
	if (!st)
		return -1;
	db_bind_text(st, 1, uuid);
	return store_exec_stmt(store, st);
}

int desired_has_hold(struct store *store, const char *uuid, enum hold_part part)
{
	struct db_stmt *st = store_prepare(store, part == HOLD_SCOPES ?
		"SELECT 1 FROM holds WHERE vm_uuid = ? AND scopes != 0" :
		"SELECT 1 FROM holds WHERE vm_uuid = ? AND power_off != 0");
	int rc;

	if (!st)
		return -1;
	db_bind_text(st, 1, uuid);
	rc = db_step(st) == DB_ROW;
	db_finalize(st);
	return rc;
}

static void row_from_stmt(struct db_stmt *st, struct desired_row *row)
{
	strlcpy_checked(row->uuid, (const char *)db_column_text(st, 0),
			sizeof(row->uuid));
	row->generation = (uint64_t)db_column_int64(st, 1);
	row->scopes = (uint32_t)db_column_int64(st, 2);
	row->power_off = db_column_int(st, 3) != 0;
	row->acked_generation = (uint64_t)db_column_int64(st, 4);
}

#define ROW_COLUMNS "vm_uuid, generation, scopes, power_off, acked_generation"

int desired_get(struct store *store, const char *uuid, struct desired_row *row)
{
	static const char sql[] = "SELECT " ROW_COLUMNS " FROM desired WHERE vm_uuid = ?";
	struct db_stmt *st = store_cached(store, sql);
	int rc;

	memset(row, 0, sizeof(*row));
	strlcpy_checked(row->uuid, uuid, sizeof(row->uuid));
	if (!st)
		return -1;
	db_bind_text(st, 1, uuid);
	rc = store_step(store, st);
	if (rc == 1)
		row_from_stmt(st, row); /* no row: nothing desired, generation 0 */
	db_reset(st);
	return rc < 0 ? -1 : 0;
}

static int holds_union(struct store *store, const char *uuid, uint32_t *scopes,
		       bool *power_off)
{
	/* The union of the manual hold and every open case on the VM. */
	static const char sql[] =
		"SELECT scopes, power_off FROM holds WHERE vm_uuid = ?1"
		" UNION ALL SELECT cut_scopes, power_off FROM cases"
		" WHERE vm_uuid = ?1 AND resolved IS NULL";
	struct db_stmt *st = store_cached(store, sql);
	int rc;

	*scopes = 0;
	*power_off = false;
	if (!st)
		return -1;
	db_bind_text(st, 1, uuid);
	while ((rc = store_step(store, st)) == 1) {
		*scopes |= (uint32_t)db_column_int64(st, 0);
		*power_off |= db_column_int(st, 1) != 0;
	}
	db_reset(st);
	return rc;
}

int desired_recompute(struct store *store, const char *uuid,
		      struct desired_row *row)
{
	uint32_t scopes;
	bool power_off;
	struct db_stmt *st;

	if (desired_get(store, uuid, row) < 0 ||
	    holds_union(store, uuid, &scopes, &power_off) < 0)
		return -1;
	if (row->generation && row->scopes == scopes && row->power_off == power_off)
		return 0;
	if (!row->generation && scopes == 0 && !power_off)
		return 0; /* never cut, nothing to say */
	row->generation = store_next_generation(store);
	if (row->generation == 0)
		return -1;
	row->scopes = scopes;
	row->power_off = power_off;
	static const char sql[] =
		"INSERT INTO desired (vm_uuid, generation, scopes, power_off, updated)"
		" VALUES (?,?,?,?,?) ON CONFLICT(vm_uuid) DO UPDATE SET"
		" generation = excluded.generation, scopes = excluded.scopes,"
		" power_off = excluded.power_off, updated = excluded.updated";
	st = store_cached(store, sql);
	if (!st)
		return -1;
	db_bind_text(st, 1, uuid);
	db_bind_int64(st, 2, (int64_t)row->generation);
	db_bind_int64(st, 3, scopes);
	db_bind_int64(st, 4, power_off);
	db_bind_int64(st, 5, store_now());
	return store_run(store, st);
}

int desired_foreach_host(struct store *store, const char *host_id,
			 enum desired_select sel, uint64_t newer_than,
			 void (*fn)(const struct desired_row *row, void *arg),
			 void *arg)
{
	/* Every VM the host lists, whoever else lists it too; "unacked" is
	 * what this host has not acked. */
	static const char *const sql[] = {
		[DESIRED_ALL] = "SELECT " ROW_COLUMNS " FROM desired WHERE vm_uuid IN"
			" (SELECT uuid FROM vm_hosts WHERE host_id = ?1)",
		[DESIRED_UNACKED] = "SELECT " ROW_COLUMNS " FROM desired d WHERE vm_uuid IN"
			" (SELECT uuid FROM vm_hosts WHERE host_id = ?1) AND NOT EXISTS"
			" (SELECT 1 FROM acks a WHERE a.uuid = d.vm_uuid AND a.host_id = ?1"
			" AND a.generation = d.generation)",
		/* Driven by the generation index: a push after each batch of
		 * steps reads what changed, not every VM of a 100k-VM host. */
		[DESIRED_NEWER] = "SELECT " ROW_COLUMNS " FROM desired d WHERE generation > ?2"
			" AND EXISTS (SELECT 1 FROM vm_hosts h WHERE h.uuid = d.vm_uuid"
			" AND h.host_id = ?1)",
	};
	struct db_stmt *st = store_cached(store, sql[sel]);
	struct desired_row row;
	int rc;

	if (!st)
		return -1;
	db_bind_text(st, 1, host_id);
	db_bind_int64(st, 2, (int64_t)newer_than);
	while ((rc = store_step(store, st)) == 1) {
		row_from_stmt(st, &row);
		fn(&row, arg);
	}
	db_reset(st);
	return rc; /* a failed read sends nothing: not half a full set */
}

static const char *desired_state_name(const struct desired_row *row, bool agent_error)
{
	if (row->generation == 0)
		return "none";
	if (row->acked_generation < row->generation)
		return "pending";
	if (agent_error)
		return "error"; /* acked, but some host could not do all of it */
	return (row->scopes || row->power_off) ? "enforced" : "none";
}

static json_t *column_json(struct db_stmt *st, int col)
{
	const char *t = (const char *)db_column_text(st, col);

	return t ? json_string(t) : json_null();
}

int desired_add_json(struct store *store, const char *uuid, json_t *obj)
{
	static const char sql[] =
		"SELECT " ROW_COLUMNS ", mechanisms, error, acked_at FROM desired WHERE vm_uuid = ?";
	struct db_stmt *st = store_cached(store, sql);
	struct desired_row row = { .scopes = 0 };
	bool agent_error = false;
	json_t *hosts;
	int rc;

	if (!st)
		return -1;
	db_bind_text(st, 1, uuid);
	rc = store_step(store, st);
	if (rc == 1) {
		row_from_stmt(st, &row);
		agent_error = !db_column_is_null(st, 6);
		json_object_set_new(obj, "mechanisms", column_json(st, 5));
		json_object_set_new(obj, "error", column_json(st, 6));
		json_object_set_new(obj, "acked_at", json_integer(db_column_int64(st, 7)));
	}
	db_reset(st);
	hosts = rc < 0 ? NULL : vm_hosts_json(store, uuid);
	if (!hosts)
		return -1;
	json_object_set_new(obj, "hosts", hosts);
	json_object_set_new(obj, "scopes", scope_mask_json(row.scopes));
	json_object_set_new(obj, "power_off", json_boolean(row.power_off));
	json_object_set_new(obj, "generation", json_integer((json_int_t)row.generation));
	json_object_set_new(obj, "acked_generation", json_integer((json_int_t)row.acked_generation));
	json_object_set_new(obj, "state", json_string(desired_state_name(&row, agent_error)));
	return 0;
}
