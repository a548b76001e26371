#include "enforce.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define SMTP_IDX 2 /* scope index of "smtp" */

static bool detached_by_us(const struct vm_enforced *vm, const struct mac *m)
{
	for (size_t i = 0; i < vm->n_held; i++)
		if (mac_cmp(&vm->held[i].mac, m) == 0)
			return vm->held[i].mech != HELD_UNPLUG_PENDING;
	return false;
}

/* What the kernel must hold for the state: each cut MAC by its recorded
 * port, or by MAC when it has none. */
static int view_from_state(const struct enforcer *e, struct nft_view *v)
{
	const struct agent_state *st = &e->state;
	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < st->n; i++) {
		const struct vm_enforced *vm = &st->vms[i];
		for (int s = 0; s < SCOPE_COUNT; s++)
			for (size_t k = 0; k < vm->macs[s].n; k++) {
				const struct mac *m = &vm->macs[s].v[k];
				const char *port = state_port_of(vm, m);
				int kind = s == SMTP_IDX ? PORT_SMTP : PORT_DROP;
				/* A port whose device is gone (renamed, re-created
				 * under another name) is also cut by MAC meanwhile,
				 * unless cordon detached that NIC itself. */
				bool by_mac = !port || (!enforcer_port_present(e, port) &&
							!detached_by_us(vm, m));
				if ((port && port_list_add(&v->ports, port, kind) < 0) ||
				    (by_mac && mac_list_add(&v->macs[s], m) < 0)) {
					nft_view_clear(v);
					return -1;
				}
			}
	}
	for (int s = 0; s < SCOPE_COUNT; s++)
		mac_list_sort_unique(&v->macs[s]);
	port_list_finish(&v->ports);
	return 0;
}

static void set_error(struct enforcer *e, const char *what)
{
	snprintf(e->last_error, sizeof(e->last_error), "%s", what);
}

/* Full table from the state: used at start, after tampering, and when a
 * delta batch failed. */
static int assert_all(struct enforcer *e)
{
	struct nft_view want;

	if (view_from_state(e, &want) < 0)
		return -1;
	if (nft_assert(e->nft, &want) < 0) {
		nft_view_clear(&want);
		e->kernel_dirty = true;
		e->table_ok = false;
		set_error(e, "nftables batch failed (see log)");
		return -1;
	}
	nft_view_clear(&e->applied);
	e->applied = want;
	e->kernel_dirty = false;
	e->table_ok = true;
	return 0;
}

static int save_state(struct enforcer *e)
{
	if (state_save(e->state_path, &e->state) < 0) {
		log_error("cannot save state to %s", e->state_path);
		e->state_dirty = true;
		set_error(e, "cannot save the state file");
		return -1;
	}
	e->state_dirty = false;
	return 0;
}

static int refresh_all(struct enforcer *e);

int enforcer_start(struct enforcer *e, const char *table, const char *state_dir,
		   const struct inventory *inv, bool inv_ready, nft_port_probe_fn *probe,
		   void *probe_arg, char *err, size_t errlen)
{
	char reason[256];

	memset(e, 0, sizeof(*e));
	e->inv = inv;
	e->inv_ready = inv_ready;
	snprintf(e->state_path, sizeof(e->state_path), "%s/state.json", state_dir);
	if (mkdir_parents(state_dir, 0700) < 0) {
		snprintf(err, errlen, "cannot create state directory %s: %s", state_dir,
			 strerror(errno));
		return -1;
	}
	if (state_load(e->state_path, &e->state, reason, sizeof(reason)) < 0) {
		/* Refusing to start is the fail-closed choice: starting empty
		 * would lift every cut this host holds. */
		snprintf(err, errlen, "state file %s is unreadable (%s); fix or move it away",
			 e->state_path, reason);
		return -1;
	}
	e->nft = nft_new(table);
	if (!e->nft) {
		snprintf(err, errlen, "cannot open nftables netlink");
		return -1;
	}
	nft_set_port_probe(e->nft, probe, probe_arg);
	/* With the inventory already read, its ports go into the first batch
	 * (a state file of the previous release converts in it); the batch
	 * replaces whatever tables are there atomically: no moment open. */
	if (inv_ready && refresh_all(e) < 0)
		log_warnx("cannot apply the inventory's ports yet: asserting the state's");
	if (assert_all(e) < 0) {
		snprintf(err, errlen, "cannot assert nftables tables %s", table);
		return -1;
	}
	if (inv_ready && e->state.n)
		save_state(e);
	log_info("state %s: %zu VM(s) enforced, table netdev %s asserted (%zu port(s)), "
		 "bridge table %s", e->state_path, e->state.n, table, e->applied.ports.n,
		 nft_bridge_table_present(e->nft) ? "present (MACs with no port)" : "absent");
	return 0;
}

void enforcer_stop(struct enforcer *e)
{
	/* The table stays in the kernel: stopping the agent lifts nothing. */
	nft_free(e->nft);
	e->nft = NULL;
	state_clear(&e->state);
	nft_view_clear(&e->applied);
}

static bool mac_cut(const struct vm_enforced *v, const struct mac *m)
{
	for (int s = 0; s < SCOPE_COUNT; s++)
		if (mac_list_contains(&v->macs[s], m))
			return true;
	return false;
}

/* Another interface of the inventory is plugged into port now. */
static bool port_taken(const struct inventory *inv, const char *port,
		       const struct mac *mine)
{
	for (size_t i = 0; i < inv->n; i++)
		for (size_t k = 0; k < inv->vms[i].n_ifaces; k++) {
			const struct inv_iface *f = &inv->vms[i].ifaces[k];
			if (strcmp(f->target, port) == 0 && mac_cmp(&f->mac, mine) != 0)
				return true;
		}
	return false;
}

/* The port of a cut MAC, from the inventory once it has been read: the
 * interface's port while it has one; none (cut by MAC) when the inventory
 * says it has none (a stopped domain) or does not list the VM; the recorded
 * one for an interface the inventory no longer lists (a NIC cordon
 * detached: its tap is gone, shown as port missing), unless another
 * interface is plugged into that port now (libvirt reuses tap names: never
 * cut the wrong VM). */
static const char *port_for(const struct enforcer *e, const struct vm_enforced *v,
			    const struct inv_vm *vm, const struct mac *m)
{
	const struct inv_iface *f;
	const char *rec = state_port_of(v, m);

	if (!vm)
		return NULL;
	f = inventory_vm_iface(vm, m);
	if (f)
		return ifname_valid(f->target) ? f->target : NULL;
	return rec && !port_taken(e->inv, rec, m) ? rec : NULL;
}

static int entry_ports_refresh(struct enforcer *e, struct vm_enforced *v,
			       const struct inv_vm *vm)
{
	size_t i = 0;

	for (int s = 0; s < SCOPE_COUNT; s++)
		for (size_t k = 0; k < v->macs[s].n; k++) {
			const struct mac *m = &v->macs[s].v[k];
			const char *port = port_for(e, v, vm, m);
			if (port != state_port_of(v, m) && state_port_set(v, m, port) < 0)
				return -1;
		}
	while (i < v->n_ports) /* MACs no longer cut forget their port */
		if (!mac_cut(v, &v->ports[i].mac))
			state_port_set(v, &v->ports[i].mac, NULL);
		else
			i++;
	return 0;
}

/* Recomputes the MACs of one entry from the inventory. A VM this host does
 * not know keeps the MACs it had: failing closed beats lifting a cut. */
static int entry_macs_refresh(struct enforcer *e, struct vm_enforced *v)
{
	const struct inv_vm *vm = inventory_find(e->inv, v->uuid);

	if (!vm)
		return e->inv_ready ? entry_ports_refresh(e, v, NULL) : 0;
	for (int s = 0; s < SCOPE_COUNT; s++) {
		v->macs[s].n = 0;
		if ((v->scopes & (1u << s)) && inventory_vm_macs(vm, s, &v->macs[s]) < 0)
			return -1;
	}
	/* A detached interface left the inventory: its MAC stays cut (and
	 * smtp follows public, as inventory_vm_macs does). */
	for (size_t i = 0; i < v->n_held; i++) {
		const struct held_iface *h = &v->held[i];
		for (int s = 0; s < SCOPE_COUNT; s++) {
			bool in = s == h->scope || (s == scope_index("smtp") &&
						    h->scope == scope_index("public"));
			if (in && (v->scopes & (1u << s)) &&
			    !mac_list_contains(&v->macs[s], &h->mac) &&
			    mac_list_add(&v->macs[s], &h->mac) < 0)
				return -1;
		}
	}
	for (int s = 0; s < SCOPE_COUNT; s++)
		mac_list_sort_unique(&v->macs[s]);
	return e->inv_ready ? entry_ports_refresh(e, v, vm) : 0;
}

/* A bit this agent does not know is a newer controller's scope: it is
 * taken as "cut everything known", never as nothing (fail-closed). */
static uint32_t effective_scopes(const Cordon__VmState *d)
{
	return d->scopes & ~(uint32_t)SCOPE_ALL ? (uint32_t)SCOPE_ALL : d->scopes;
}

/* Remembered for the ack's error; logged when it first shows. */
static void note_unknown_scopes(struct vm_enforced *v, const Cordon__VmState *d)
{
	uint32_t unknown = d->scopes & ~(uint32_t)SCOPE_ALL;

	if (unknown && unknown != v->unknown_scopes)
		log_errorx("VM %s: desired scopes 0x%x hold bits this agent does not know (0x%x): "
			   "cutting every scope it knows (public, private, smtp)", d->uuid,
			   d->scopes, unknown);
	v->unknown_scopes = unknown;
}

static int entry_set(struct enforcer *e, const Cordon__VmState *d)
{
	struct vm_enforced *v = state_upsert(&e->state, d->uuid);

	if (!v)
		return -1;
	v->generation = d->generation;
	v->scopes = effective_scopes(d);
	v->power_off = d->power_off;
	note_unknown_scopes(v, d);
	if (!inventory_find(e->inv, d->uuid) && v->scopes == 0)
		for (int s = 0; s < SCOPE_COUNT; s++)
			v->macs[s].n = 0;
	return entry_macs_refresh(e, v);
}

/* Brings the kernel from e->applied to what the state says in one batch;
 * any failure falls back to a full assert. */
static int kernel_sync(struct enforcer *e)
{
	struct nft_view want;
	int rc;

	if (e->kernel_dirty)
		return assert_all(e);
	if (view_from_state(e, &want) < 0)
		return -1;
	rc = nft_update(e->nft, &want);
	if (rc != 0) {
		nft_view_clear(&want);
		log_warnx("incremental nftables update failed; re-asserting the tables");
		return assert_all(e);
	}
	nft_view_clear(&e->applied);
	e->applied = want;
	return 0;
}

struct lift {
	struct enforcer *e;
	Cordon__VmState **desired;
	size_t n;
	struct strindex listed;     /* uuid -> position in desired */
	size_t lifted;
};

#define LIFT_LOG_MAX 20 /* then one line for the rest */

static const char *desired_key(const void *array, size_t i)
{
	return ((Cordon__VmState *const *)array)[i]->uuid;
}

/* true: remove the entry (lifted, nothing left to undo). */
static bool lift_if_unlisted(struct vm_enforced *v, void *arg)
{
	struct lift *l = arg;

	if (strindex_find(&l->listed, l->desired, l->n, desired_key, v->uuid) != STRINDEX_NONE)
		return false;
	if (!l->e->inv->complete && !inventory_find(l->e->inv, v->uuid)) {
		/* Absent from a read that missed VMs: maybe still here. */
		log_warnx("VM %s is not in the controller's full set, but this host's "
			  "inventory is incomplete: its cut stays", v->uuid);
		return false;
	}
	if (l->lifted++ < LIFT_LOG_MAX)
		log_info("VM %s no longer desired by the controller: lifting", v->uuid);
	if (!v->n_held && !v->power.saved)
		return true;
	/* libvirt mechanisms to undo first (mech.c): keep the saved XML and
	 * power record, lift the rest. */
	v->generation = 0; /* enforces no generation of the controller's */
	v->scopes = 0;
	v->power_off = false;
	for (int s = 0; s < SCOPE_COUNT; s++)
		v->macs[s].n = 0;
	v->n_ports = 0;
	return false;
}

/* Hashing the full set: 100k listed VMs against 100k held is linear.
 * Returns how many were lifted (removed, or kept for libvirt to undo). */
static size_t lift_unlisted(struct enforcer *e, Cordon__VmState **desired, size_t n)
{
	struct lift l = { .e = e, .desired = desired, .n = n };

	state_remove_if(&e->state, lift_if_unlisted, &l);
	strindex_clear(&l.listed);
	if (l.lifted > LIFT_LOG_MAX)
		log_info("... and %zu more VMs no longer desired: lifted", l.lifted - LIFT_LOG_MAX);
	return l.lifted;
}

static int ack_add(const struct enforcer *e, Cordon__Ack *ack, const struct vm_enforced *v,
		   const char *error)
{
	Cordon__VmState *s = calloc(1, sizeof(*s));
	char restarted[128];

	if (!s)
		return -1;
	if (!error && v->restarted && v->power_off) {
		snprintf(restarted, sizeof(restarted),
			 "started by someone %u time(s) while it must be off; stopped again",
			 v->restarted);
		error = restarted;
	}
	cordon__vm_state__init(s);
	s->uuid = strdup(v->uuid);
	s->mechanisms = strdup(enforcer_mechanisms(e, v));
	s->error = strdup(error ? error : "");
	if (!s->uuid || !s->mechanisms || !s->error) {
		free(s->uuid); free(s->mechanisms); free(s->error); free(s);
		return -1;
	}
	s->generation = v->generation;
	s->scopes = v->scopes;
	s->power_off = v->power_off;
	ack->vms[ack->n_vms++] = s;
	return 0;
}

int enforcer_ack_for(struct enforcer *e, char *const *uuids, size_t n, Cordon__Ack *ack)
{
	cordon__ack__init(ack);
	/* Nothing is acked until it is both on disk and in the kernel. */
	if (e->kernel_dirty || e->state_dirty || n == 0)
		return 0;
	ack->vms = calloc(n, sizeof(*ack->vms));
	if (!ack->vms)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct vm_enforced *v = state_find(&e->state, uuids[i]);
		const char *err = NULL;
		char unknown[160];
		if (!v)
			continue;
		if (v->unknown_scopes) {
			snprintf(unknown, sizeof(unknown), "desired scope bits 0x%x unknown to this "
				 "agent (protocol %d): every scope it knows is cut; upgrade it",
				 v->unknown_scopes, CORDON_PROTO_VERSION);
			err = unknown;
		} else if (!inventory_find(e->inv, v->uuid) && v->scopes)
			err = e->inv->complete ? "VM is not in this host's inventory; MACs unknown" :
			      "this host could not read its whole inventory: the VM's last "
			      "known MACs and ports stay cut";
		if (ack_add(e, ack, v, err) < 0)
			return -1;
	}
	return 0;
}

/* v: what this host holds for d's VM, NULL if nothing. */
static bool should_apply(const struct vm_enforced *v, const Cordon__VmState *d, bool full)
{
	bool differs;

	if (!v)
		return true;
	/* By content as well as generation: an entry lifted here (its VM
	 * left) keeps nothing of what it held, whatever its generation. */
	differs = v->scopes != effective_scopes(d) || v->power_off != d->power_off;
	/* A full set is the controller's whole truth; a single update older
	 * than what we hold is a late duplicate. */
	if (full)
		return v->generation != d->generation || differs;
	return d->generation > v->generation || (d->generation == v->generation && differs);
}

/* Entries for VMs this host does not list cannot be enforced (no MACs);
 * they are kept for when the inventory lists them, up to a bound: a flood
 * of them must not take the agent's memory. Existing entries always stay. */
#define UNCOUNTED ((size_t)-1)

static bool unlisted_refused(struct enforcer *e, const struct vm_enforced *v,
			     const Cordon__VmState *d, size_t *unlisted)
{
	if (v || inventory_find(e->inv, d->uuid))
		return false;
	if (*unlisted == UNCOUNTED) { /* once per set: rare, and linear */
		*unlisted = 0;
		for (size_t i = 0; i < e->state.n; i++)
			*unlisted += !inventory_find(e->inv, e->state.vms[i].uuid);
	}
	if (*unlisted < e->max_unlisted) {
		++*unlisted;
		return false;
	}
	if (e->unlisted_refused++ == 0)
		log_warnx("desired state for VM %s, which this host does not list: more than "
			  "max_unlisted_vms = %zu such VMs, not kept (counted in status)",
			  d->uuid, e->max_unlisted);
	return true;
}

int enforcer_stage(struct enforcer *e, Cordon__VmState **desired, size_t n, bool full)
{
	size_t unlisted = UNCOUNTED;
	int rc = 0;

	/* Also an entry kept for libvirt to undo changed: written, synced,
	 * and the mechanisms told (they give its NIC back). */
	if (full && lift_unlisted(e, desired, n))
		e->staged = true;
	for (size_t i = 0; i < n; i++) {
		struct vm_enforced *v = state_find(&e->state, desired[i]->uuid);
		if (v) /* also when it holds already: after a restart, say so again */
			note_unknown_scopes(v, desired[i]);
		if (!should_apply(v, desired[i], full) ||
		    unlisted_refused(e, v, desired[i], &unlisted))
			continue;
		if (entry_set(e, desired[i]) < 0)
			rc = -1;
		e->staged = true;
	}
	return rc;
}

int enforcer_commit(struct enforcer *e)
{
	if (!e->staged)
		return 0;
	e->staged = false;
	save_state(e);
	return kernel_sync(e);
}

void enforcer_ack_free(Cordon__Ack *ack)
{
	for (size_t i = 0; i < ack->n_vms; i++) {
		free(ack->vms[i]->uuid);
		free(ack->vms[i]->mechanisms);
		free(ack->vms[i]->error);
		free(ack->vms[i]);
	}
	free(ack->vms);
	ack->vms = NULL;
	ack->n_vms = 0;
}

static int refresh_all(struct enforcer *e)
{
	for (size_t i = 0; i < e->state.n; i++)
		if (entry_macs_refresh(e, &e->state.vms[i]) < 0)
			return -1;
	return 0;
}

int enforcer_inventory_changed(struct enforcer *e)
{
	if (refresh_all(e) < 0)
		return -1;
	save_state(e);
	return kernel_sync(e);
}

void enforcer_reassert(struct enforcer *e, const char *why)
{
	e->tamper_count++;
	e->last_tamper = (int64_t)(now_wall_ms() / 1000);
	log_warnx("nftables tables tampered with (%s): re-asserting", why);
	if (assert_all(e) == 0)
		log_info("tables re-asserted");
}

void enforcer_verify(struct enforcer *e)
{
	int rc = nft_verify(e->nft, &e->applied);

	if (rc == 1)
		enforcer_reassert(e, "periodic check found it changed");
	else if (rc < 0)
		e->table_ok = false;
	else
		e->table_ok = true;
}

void enforcer_tick(struct enforcer *e)
{
	if (e->state_dirty)
		save_state(e);
	if (e->kernel_dirty)
		assert_all(e);
}

int enforcer_save(struct enforcer *e)
{
	return save_state(e);
}

/* Some cut interface of v has no port: cut by MAC, which its tenant can
 * change. */
static bool mac_only(const struct vm_enforced *v)
{
	for (int s = 0; s < SCOPE_COUNT; s++)
		for (size_t k = 0; k < v->macs[s].n; k++)
			if (!state_port_of(v, &v->macs[s].v[k]))
				return true;
	return false;
}

static void mech_append(char *buf, size_t len, const char *name)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s", n ? "," : "", name);
}

const char *enforcer_mechanisms(const struct enforcer *e, const struct vm_enforced *v)
{
	static char buf[96];
	bool detach = false, link_down = false;

	buf[0] = '\0';
	if (v->scopes)
		mech_append(buf, sizeof(buf), "nft");
	if (v->scopes && mac_only(v))
		mech_append(buf, sizeof(buf), "mac-only");
	for (size_t i = 0; i < v->n_held; i++) {
		detach |= v->held[i].mech == HELD_DETACH;
		link_down |= v->held[i].mech == HELD_LINK_DOWN;
	}
	if (detach)
		mech_append(buf, sizeof(buf), "detach");
	if (link_down)
		mech_append(buf, sizeof(buf), "link-down");
	if (v->power.held)
		mech_append(buf, sizeof(buf), "power-off");
	else if (v->power_off && !e->libvirt_mech)
		mech_append(buf, sizeof(buf), "power-off-recorded");
	return buf[0] ? buf : "none";
}

Cordon__VmState **enforcer_states(struct enforcer *e, size_t *n)
{
	Cordon__Ack tmp = { 0 };

	*n = 0;
	tmp.vms = calloc(e->state.n + 1, sizeof(*tmp.vms));
	if (!tmp.vms)
		return NULL;
	for (size_t i = 0; i < e->state.n; i++)
		if (ack_add(e, &tmp, &e->state.vms[i], NULL) < 0)
			break;
	*n = tmp.n_vms;
	return tmp.vms;
}

void enforcer_states_free(Cordon__VmState **v, size_t n)
{
	Cordon__Ack tmp = { .vms = v, .n_vms = n };
	enforcer_ack_free(&tmp);
}

bool enforcer_port_present(const struct enforcer *e, const char *port)
{
	return nft_port_exists(e->nft, port);
}

/* The chains of a port that came or went: a kernel that dropped them with
 * their device (before 6.16) needs the tables asserted again (the mirror
 * still lists what it lost); a newer one kept them, and only the MAC
 * fallback of a missing port changes. */
static int ports_resync(struct enforcer *e)
{
	return nft_needs_devices(e->nft) ? assert_all(e) : kernel_sync(e);
}

/* A kernel that keeps a netdev chain whose device is gone (6.16+) binds it
 * again by itself when a device of that name appears. */
void enforcer_link_event(struct enforcer *e, const char *name, bool present)
{
	uint64_t t0 = now_mono_us();

	if (!name) {
		log_info("link events were lost: checking every port");
		enforcer_verify(e);
		return;
	}
	if (!port_list_find(&e->applied.ports, name))
		return;
	if (!present) {
		log_info("port %s of a cut interface is gone: port missing, cut by MAC "
			 "meanwhile, nothing lifted", name);
		ports_resync(e);
		return;
	}
	e->ports_recut++;
	if (ports_resync(e) < 0) {
		log_warnx("port %s is back, but its chains could not be asserted", name);
		return;
	}
	log_info("port %s of a cut interface is back: cut again %llu us after the "
		 "link event", name, (unsigned long long)(now_mono_us() - t0));
}

bool enforcer_vm_holds(const struct vm_enforced *v)
{
	return v->scopes || v->power_off || v->n_held || v->power.saved;
}

size_t enforcer_ports_missing(const struct enforcer *e)
{
	size_t missing = 0;

	for (size_t i = 0; i < e->applied.ports.n; i++)
		missing += !enforcer_port_present(e, e->applied.ports.v[i].name);
	return missing;
}

size_t enforcer_macs_cut(const struct enforcer *e)
{
	size_t n = 0;

	for (int s = 0; s < SCOPE_COUNT; s++)
		n += e->applied.macs[s].n;
	return n;
}
