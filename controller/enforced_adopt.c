#include "enforced_adopt.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "desired.h"
#include "log.h"
#include "mac.h"

/* 1 when host lists uuid and runs it for us: it is the host the VM is
 * shown on, or the only one listing it. A host that merely claims a VM
 * another host runs (test 235) must not get it cut there. 0, or -1. */
static int host_owns(struct store *store, const char *uuid, const char *host)
{
	static const char sql[] =
		"SELECT EXISTS (SELECT 1 FROM vm_hosts WHERE uuid = ?1 AND host_id = ?2) AND"
		" (coalesce((SELECT host_id FROM vms WHERE uuid = ?1), '') = ?2 OR"
		"  (SELECT count(*) FROM vm_hosts WHERE uuid = ?1) = 1)";
	struct db_stmt *st = store_cached(store, sql);
	int rc;

	if (!st)
		return -1;
	db_bind_text(st, 1, uuid);
	db_bind_text(st, 2, host);
	rc = store_step(store, st);
	if (rc == 1)
		rc = db_column_int(st, 0);
	db_reset(st);
	if (rc == 0)
		log_warnx("agent %s enforces VM %s, which it does not run for us, beyond this "
			  "store's decisions: not adopted", host, uuid);
	return rc;
}

/* Adds to the VM's manual hold; what an operator set there stays. */
static int hold_widen(struct store *store, const char *uuid, uint32_t scopes,
		      bool power_off, const char *reason)
{
	static const char sql[] =
		"INSERT INTO holds (vm_uuid, scopes, power_off, reason, uid, created)"
		" VALUES (?1, ?2, ?3, ?4, NULL, ?5) ON CONFLICT (vm_uuid) DO UPDATE SET"
		" scopes = holds.scopes | ?2, power_off = holds.power_off | ?3, reason = ?4, created = ?5";
	struct db_stmt *st = store_cached(store, sql);

	if (!st)
		return -1;
	db_bind_text(st, 1, uuid);
	db_bind_int64(st, 2, scopes);
	db_bind_int64(st, 3, power_off);
	db_bind_text(st, 4, reason);
	db_bind_int64(st, 5, store_now());
	return store_run(store, st);
}

static int adopt_hold(struct store *store, const char *host, const Cordon__VmState *s,
		      const struct desired_row *row)
{
	uint32_t scopes = s->scopes & ~row->scopes;
	bool power = s->power_off && !row->power_off;
	char names[64] = "", reason[400];
	struct desired_row now;

	scope_mask_format(scopes, names, sizeof(names));
	snprintf(reason, sizeof(reason),
		 "kept %s%s%s: agent %s enforces it at generation %" PRIu64 ", newer than this "
		 "store's %" PRIu64 " for the VM (a store restored from a backup?); lift with "
		 "cordonctl restore / poweron once reviewed", scopes ? names : "",
		 scopes && power ? " and " : "", power ? "power off" : "", host, s->generation,
		 row->generation);
	if (hold_widen(store, s->uuid, scopes, power, reason) < 0 ||
	    desired_recompute(store, s->uuid, &now) < 0 ||
	    store_audit(store, (uid_t)-1, "kept", s->uuid, reason) < 0)
		return -1;
	log_errorx("VM %s: %s", s->uuid, reason);
	return 0;
}

/* 1 when s is a decision this store does not know, for a VM host lists;
 * 0 when not; -1 on a read error. */
static int newer_than_store(struct store *store, const char *host, const Cordon__VmState *s,
			    struct desired_row *row)
{
	if (s->generation == 0)
		return 0; /* enforces no decision of ours */
	if (desired_get(store, s->uuid, row) < 0)
		return -1;
	if (s->generation <= row->generation)
		return 0;
	if (s->generation > ADOPT_GENERATION_MAX) {
		log_warnx("agent %s enforces VM %s at generation %" PRIu64 ", beyond any this "
			  "controller hands out: not adopted", host, s->uuid, s->generation);
		return 0;
	}
	return host_owns(store, s->uuid, host); /* trusted for its own VMs only */
}

/* 1 adopted, 0 nothing to adopt, -1 error. */
static int adopt_one(struct store *store, const char *host, const Cordon__VmState *s)
{
	struct desired_row row;
	int rc = newer_than_store(store, host, s, &row);

	if (rc <= 0)
		return rc;
	/* Later decisions must be newer than what the agent holds, or it
	 * would take them for late duplicates. */
	if (store_generation_at_least(store, s->generation) < 0)
		return -1;
	if (!(s->scopes & ~row.scopes) && !(s->power_off && !row.power_off))
		return 0; /* the store cuts at least as much */
	return adopt_hold(store, host, s, &row) < 0 ? -1 : 1;
}

/* Read only: the common hello (and one on a read-only store) writes nothing. */
static int any_newer(struct store *store, const char *host, Cordon__VmState **states,
		     size_t n)
{
	struct desired_row row;

	for (size_t i = 0; i < n; i++) {
		int rc = newer_than_store(store, host, states[i], &row);
		if (rc != 0)
			return rc;
	}
	return 0;
}

int enforced_adopt(struct store *store, const char *host, Cordon__VmState **states,
		   size_t n, size_t *adopted)
{
	int rc = any_newer(store, host, states, n);

	*adopted = 0;
	if (rc <= 0)
		return rc;
	if (store_begin(store) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if ((rc = adopt_one(store, host, states[i])) < 0) {
			store_rollback(store);
			*adopted = 0;
			return -1;
		}
		*adopted += (size_t)rc;
	}
	if (store_commit(store) < 0) {
		store_rollback(store);
		*adopted = 0;
		return -1;
	}
	return 0;
}
