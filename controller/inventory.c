#include "inventory.h"

#include <stdio.h>
#include <string.h>

#include "contact.h"
#include "ip_history.h"
#include "log.h"
#include "util.h"
#include "vm_hosts.h"

/* sql must be a string literal: its statement is cached (hot at hello
 * time: a host with 100k VMs). */
static int bind_text_exec(struct store *store, const char *sql,
			  const char *a, const char *b, const char *c,
			  const char *d)
{
	struct db_stmt *st = store_cached(store, sql);
	const char *args[] = { a, b, c, d };

	if (!st)
		return -1;
	for (int i = 0; i < 4 && args[i]; i++)
		db_bind_text(st, i + 1, args[i]);
	return store_run(store, st);
}

/* The host a VM is bound to ("" if none), the hash of what was last stored
 * for it and whether that host reported it running. 1 found, 0 not, -1. */
static int vm_lookup(struct store *store, const char *uuid, char host[65], int64_t *hash,
		     bool *running)
{
	static const char sql[] =
		"SELECT host_id, coalesce(inv_hash, 0), coalesce(state, '') = 'running'"
		" FROM vms WHERE uuid = ?";
	struct db_stmt *st = store_cached(store, sql);
	int found;

	host[0] = '\0';
	*hash = 0;
	*running = false;
	if (!st)
		return -1;
	db_bind_text(st, 1, uuid);
	found = store_step(store, st);
	if (found == 1) {
		if (db_column_text(st, 0))
			strlcpy_checked(host, (const char *)db_column_text(st, 0), 65);
		*hash = db_column_int64(st, 1);
		*running = db_column_int(st, 2) != 0;
	}
	db_reset(st);
	return found;
}

static uint64_t hash_add(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return (h ^ 0xff) * 1099511628211ull; /* field separator */
}

/* FNV-1a over everything stored for a VM: an unchanged VM (the common
 * case when a big host says hello again) costs one lookup. */
static int64_t vm_hash(const Cordon__Vm *vm)
{
	uint64_t h = hash_add(hash_add(1469598103934665603ull, vm->name), vm->state);

	h = hash_add(h, vm->contact);

	for (size_t i = 0; i < vm->n_interfaces; i++) {
		const Cordon__Interface *ifc = vm->interfaces[i];
		h = hash_add(hash_add(hash_add(h, ifc->mac), ifc->bridge), ifc->scope);
		h = hash_add(h, ifc->target);
		for (size_t j = 0; j < ifc->n_ips; j++)
			h = hash_add(h, ifc->ips[j]);
	}
	return (int64_t)(h >> 1) | 1; /* never 0: 0 means "unknown" */
}

/* The port (Interface.target) is stored NULL when the agent does not know
 * it (a shut-off domain, a static inventory without "port"), so readers
 * need not tell "" from unknown. */
static int iface_store(struct store *store, const char *uuid,
		       const Cordon__Interface *ifc)
{
	static const char sql[] =
		"INSERT INTO interfaces (vm_uuid, mac, bridge, scope, port) VALUES (?,?,?,?,?)"
		" ON CONFLICT (vm_uuid, mac) DO UPDATE SET bridge = excluded.bridge,"
		" scope = excluded.scope, port = excluded.port";
	struct db_stmt *st = store_cached(store, sql);

	if (!st)
		return -1;
	db_bind_text(st, 1, uuid);
	db_bind_text(st, 2, ifc->mac);
	db_bind_text(st, 3, ifc->bridge);
	db_bind_text(st, 4, ifc->scope);
	if (ifc->target && ifc->target[0])
		db_bind_text(st, 5, ifc->target);
	else
		db_bind_null(st, 5);
	return store_run(store, st);
}

static int vm_store_interfaces(struct store *store, const Cordon__Vm *vm)
{
	if (bind_text_exec(store, "DELETE FROM interfaces WHERE vm_uuid = ?",
			   vm->uuid, NULL, NULL, NULL) < 0 ||
	    bind_text_exec(store, "DELETE FROM ips WHERE vm_uuid = ?",
			   vm->uuid, NULL, NULL, NULL) < 0)
		return -1;
	for (size_t i = 0; i < vm->n_interfaces; i++) {
		const Cordon__Interface *ifc = vm->interfaces[i];
		if (iface_store(store, vm->uuid, ifc) < 0)
			return -1;
		for (size_t j = 0; j < ifc->n_ips; j++)
			if (bind_text_exec(store, "INSERT INTO ips VALUES (?,?,?)",
					   vm->uuid, ifc->mac, ifc->ips[j], NULL) < 0)
				return -1;
	}
	return ip_history_vm(store, vm);
}

static int vm_store(struct store *store, const char *host_id,
		    const Cordon__Vm *vm)
{
	static const char sql[] =
		"INSERT INTO vms (uuid, name, host_id, state, updated, inv_hash, contact)"
		" VALUES (?,?,?,?,?,?,?)"
		" ON CONFLICT(uuid) DO UPDATE SET name = excluded.name,"
		" host_id = excluded.host_id, state = excluded.state,"
		" updated = excluded.updated, inv_hash = excluded.inv_hash,"
		" contact = excluded.contact";
	struct db_stmt *st = store_cached(store, sql);
	const char *bad = vm->contact[0] ? contact_problem(vm->contact) : NULL;

	if (!st)
		return -1;
	/* A bad contact costs the VM its contact, not its place. */
	if (bad)
		log_warnx("host %s: VM %s: contact ignored: it %s", host_id, vm->uuid, bad);
	if (vm->contact[0] && !bad)
		db_bind_text(st, 7, vm->contact);
	else
		db_bind_null(st, 7);
	db_bind_text(st, 1, vm->uuid);
	db_bind_text(st, 2, vm->name);
	db_bind_text(st, 3, host_id);
	db_bind_text(st, 4, vm->state);
	db_bind_int64(st, 5, store_now());
	db_bind_int64(st, 6, vm_hash(vm));
	if (store_run(store, st) < 0)
		return -1;
	return vm_store_interfaces(store, vm);
}

/* The host shown for a VM (vms.host_id) holds its name and interfaces: a
 * host that starts listing a VM shown by another host changes neither
 * (trusted for its own ports only), unless the other one stopped running
 * it and this one runs it (a migration's end). */
static bool describes(const char *host_id, const Cordon__Vm *vm, const char *shown,
		      bool shown_running)
{
	return !shown[0] || strcmp(shown, host_id) == 0 ||
	       (!shown_running && strcmp(vm->state, "running") == 0);
}

static int vm_listed_by(struct store *store, const char *host_id, const Cordon__Vm *vm)
{
	char shown[65];
	int64_t hash;
	bool running;
	int added = vm_hosts_add(store, vm->uuid, host_id, vm->state);

	if (added < 0 || vm_lookup(store, vm->uuid, shown, &hash, &running) < 0)
		return -1;
	/* Unchanged since this host last described it: nothing to write. */
	if (describes(host_id, vm, shown, running) &&
	    !(strcmp(shown, host_id) == 0 && hash == vm_hash(vm)) && vm_store(store, host_id, vm) < 0)
		return -1;
	/* A host that starts listing it has acked nothing yet. */
	return added ? acks_summarize(store, vm->uuid) : 0;
}

/* host_id no longer lists uuid: if it was the host shown, another one that
 * lists it is shown (its next report fills in the interfaces: the hash is
 * forgotten), or none. */
static int vm_unlisted(struct store *store, const char *uuid, void *arg)
{
	const char *host_id = arg;
	char shown[65], next[65];
	int64_t hash;
	bool running;

	if (vm_lookup(store, uuid, shown, &hash, &running) < 0)
		return -1;
	if (strcmp(shown, host_id) == 0) {
		if (vm_hosts_pick_shown(store, uuid, next) < 0)
			return -1;
		if (bind_text_exec(store, "UPDATE vms SET host_id = nullif(?2, ''), inv_hash = NULL"
				   " WHERE uuid = ?1", uuid, next, NULL, NULL) < 0)
			return -1;
		/* Listed nowhere: the addresses it held are not its any more. */
		if (!next[0] && ip_history_vm_gone(store, uuid) < 0)
			return -1;
	}
	return acks_summarize(store, uuid);
}

int inventory_replace_host(struct store *store, const char *host_id,
			   Cordon__Vm **vms, size_t n, bool complete)
{
	if (store_exec(store, "CREATE TEMP TABLE IF NOT EXISTS listed (uuid TEXT PRIMARY KEY);"
			      "DELETE FROM listed;") < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (bind_text_exec(store, "INSERT OR IGNORE INTO listed VALUES (?)",
				   vms[i]->uuid, NULL, NULL, NULL) < 0 ||
		    vm_listed_by(store, host_id, vms[i]) < 0)
			return -1;
	if (bind_text_exec(store, "UPDATE hosts SET inventory_complete = ?2 WHERE host_id = ?1",
			   host_id, complete ? "1" : "0", NULL, NULL) < 0)
		return -1;
	/* A read that missed VMs says nothing about the ones it missed. */
	if (!complete)
		return 0;
	return vm_hosts_drop_unlisted(store, host_id, vm_unlisted, (void *)host_id);
}

int inventory_host_seen(struct store *store, const char *host_id,
			const char *version)
{
	struct db_stmt *st = store_prepare(store,
		"INSERT INTO hosts (host_id, version, first_seen, last_seen) VALUES (?,?,?,?)"
		" ON CONFLICT(host_id) DO UPDATE SET version = excluded.version,"
		" last_seen = excluded.last_seen");

	if (!st)
		return -1;
	db_bind_text(st, 1, host_id);
	db_bind_text(st, 2, version);
	db_bind_int64(st, 3, store_now());
	db_bind_int64(st, 4, store_now());
	return store_exec_stmt(store, st);
}

/* Collects up to 2 distinct uuids matching sql(key); returns how many. */
static int resolve_by(struct store *store, const char *sql, const char *key,
		      char uuid[65])
{
	struct db_stmt *st = store_prepare(store, sql);
	int n = 0, rc = 0;

	if (!st)
		return -1;
	db_bind_text(st, 1, key);
	while (n < 2 && (rc = store_step(store, st)) == 1) {
		const char *u = (const char *)db_column_text(st, 0);
		if (n == 1 && strcmp(u, uuid) == 0)
			continue;
		if (n == 0)
			strlcpy_checked(uuid, u, 65);
		n++;
	}
	db_finalize(st);
	return rc < 0 ? -1 : n;
}

int inventory_resolve(struct store *store, const char *key, char uuid[65],
		      char *err, size_t errlen)
{
	int n;

	if (ip_is_address(key)) {
		n = resolve_by(store, "SELECT DISTINCT vm_uuid FROM ips WHERE ip = ?", key, uuid);
		if (n == 1)
			return 0;
		snprintf(err, errlen, n == 0 ?
			 "no VM has address %s in the agents' inventory (cordonctl vms lists them)" :
			 "address %s is held by several VMs; give the VM's uuid", key);
		return -1;
	}
	n = resolve_by(store, "SELECT uuid FROM vms WHERE uuid = ?", key, uuid);
	if (n == 1)
		return 0;
	n = resolve_by(store, "SELECT uuid FROM vms WHERE name = ?", key, uuid);
	if (n == 1)
		return 0;
	snprintf(err, errlen, n == 0 ?
		 "no VM with uuid or name '%s' (cordonctl vms lists them)" :
		 "several VMs are named '%s'; give the VM's uuid", key);
	return -1;
}

/* The statements below are cached: `cordonctl vms` runs them for every VM
 * (and every interface). Each is reset when done, so that no read stays
 * open between requests. */
static json_t *vm_ips_json(struct store *store, const char *uuid,
			   const char *mac)
{
	static const char by_mac[] = "SELECT ip FROM ips WHERE vm_uuid = ? AND mac = ? ORDER BY ip";
	static const char by_vm[] = "SELECT ip FROM ips WHERE vm_uuid = ? ORDER BY ip";
	struct db_stmt *st = store_cached(store, mac ? by_mac : by_vm);
	json_t *arr = json_array();
	int rc = -1;

	if (st && arr) {
		db_bind_text(st, 1, uuid);
		if (mac)
			db_bind_text(st, 2, mac);
		while ((rc = store_step(store, st)) == 1)
			json_array_append_new(arr, json_string((const char *)db_column_text(st, 0)));
		db_reset(st);
	}
	if (rc < 0) { /* NULL: the caller's json_pack fails, no half a list */
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *vm_ifaces_json(struct store *store, const char *uuid)
{
	static const char sql[] =
		"SELECT mac, bridge, scope, nullif(port, '') FROM interfaces"
		" WHERE vm_uuid = ? ORDER BY mac";
	struct db_stmt *st = store_cached(store, sql);
	json_t *arr = json_array();
	int rc = -1;

	if (!st || !arr) {
		json_decref(arr);
		return NULL;
	}
	db_bind_text(st, 1, uuid);
	while ((rc = store_step(store, st)) == 1) {
		const char *mac = (const char *)db_column_text(st, 0);
		/* "port": null when unknown (docs/interfaces.md). */
		json_t *ifc = json_pack("{s:s, s:s?, s:s?, s:s?, s:o}", "mac", mac,
			"bridge", (const char *)db_column_text(st, 1),
			"scope", (const char *)db_column_text(st, 2),
			"port", (const char *)db_column_text(st, 3),
			"ips", vm_ips_json(store, uuid, mac));
		if (!ifc || json_array_append_new(arr, ifc) < 0) {
			rc = -1;
			break;
		}
	}
	db_reset(st);
	if (rc < 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

json_t *inventory_vm_json(struct store *store, const char *uuid,
			  int with_ifaces)
{
	static const char sql[] = "SELECT name, host_id, state, contact FROM vms WHERE uuid = ?";
	struct db_stmt *st = store_cached(store, sql);
	json_t *vm = NULL;

	if (!st)
		return NULL;
	db_bind_text(st, 1, uuid);
	if (store_step(store, st) == 1) {
		vm = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:o}", "uuid", uuid,
			"name", (const char *)db_column_text(st, 0),
			"host", (const char *)db_column_text(st, 1),
			"vm_state", (const char *)db_column_text(st, 2),
			"contact", (const char *)db_column_text(st, 3),
			"ips", vm_ips_json(store, uuid, NULL));
		if (vm && with_ifaces &&
		    json_object_set_new(vm, "interfaces", vm_ifaces_json(store, uuid)) < 0) {
			json_decref(vm);
			vm = NULL;
		}
	}
	db_reset(st);
	return vm;
}
