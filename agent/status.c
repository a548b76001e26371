/* The agent's status socket and `cordon-agent status`, for host admins. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "jsonsock.h"
#include "log.h"
#include "util.h"

/* How one cut interface is enforced: on its port, on a port whose device
 * is gone (nothing lifted; back when it returns), or by MAC only. */
static const char *iface_enforcement(const struct enforcer *e, const char *port)
{
	if (!port)
		return "mac-only";
	return enforcer_port_present(e, port) ? "port" : "port missing";
}

static json_t *ifaces_json(const struct agent *a, const struct vm_enforced *v)
{
	json_t *arr = json_array();
	struct mac_list seen = { 0 };
	char text[MAC_STRLEN];

	for (int s = 0; s < SCOPE_COUNT; s++)
		for (size_t k = 0; k < v->macs[s].n; k++) {
			const struct mac *m = &v->macs[s].v[k];
			if (mac_list_contains(&seen, m) || mac_list_add(&seen, m) < 0)
				continue;
			uint32_t mask = 0;
			for (int t = 0; t < SCOPE_COUNT; t++)
				if (mac_list_contains(&v->macs[t], m))
					mask |= 1u << t;
			const char *port = state_port_of(v, m);
			mac_format(m, text);
			json_array_append_new(arr, json_pack("{s:s, s:o, s:s?, s:s}",
				"mac", text, "scopes", scope_mask_json(mask), "port", port,
				"enforcement", iface_enforcement(&a->enf, port)));
		}
	mac_list_clear(&seen);
	return arr;
}

static json_t *vm_json(const struct agent *a, const struct vm_enforced *v)
{
	const struct inv_vm *vm = inventory_find(&a->inv, v->uuid);
	json_t *macs = json_array();
	char text[MAC_STRLEN];

	for (int s = 0; s < SCOPE_COUNT; s++)
		for (size_t k = 0; k < v->macs[s].n; k++) {
			mac_format(&v->macs[s].v[k], text);
			json_array_append_new(macs, json_pack("{s:s, s:s}", "mac", text,
							      "scope", scope_name(s)));
		}
	json_t *held = json_array();
	const char *pending = a->mech ? mech_pending(a->mech, v->uuid) : NULL;

	for (size_t i = 0; i < v->n_held; i++) {
		mac_format(&v->held[i].mac, text);
		json_array_append_new(held, json_pack("{s:s, s:s, s:s}", "mac", text,
			"scope", scope_name(v->held[i].scope),
			"mechanism", state_held_mech_name(v->held[i].mech)));
	}
	return json_pack("{s:s, s:s, s:o, s:b, s:I, s:s, s:o, s:o, s:b, s:o, s:s?, s:I, s:o?}",
		"uuid", v->uuid,
		"name", vm ? vm->name : "", "scopes", scope_mask_json(v->scopes),
		"power_off", v->power_off, "generation", (json_int_t)v->generation,
		"mechanisms", enforcer_mechanisms(&a->enf, v), "macs", macs,
		"interfaces", ifaces_json(a, v),
		"in_inventory", vm != NULL, "held", held, "pending", pending,
		"restarted_by_someone", (json_int_t)v->restarted,
		"power", v->power.saved ? json_pack("{s:b, s:b, s:b}", "held", v->power.held,
			"was_running", v->power.was_running, "autostart", v->power.autostart) : NULL);
}

static json_t *nft_json(const struct agent *a)
{
	const struct enforcer *e = &a->enf;
	json_t *elements = json_object();
	size_t missing = enforcer_ports_missing(e), mac_only = enforcer_macs_cut(e);

	for (int s = 0; s < SCOPE_COUNT; s++)
		json_object_set_new(elements, scope_name(s),
				    json_integer((json_int_t)e->applied.macs[s].n));
	return json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:b, s:b, s:o, s:I, s:I, s:I, s:I, s:s}",
		"family", "netdev", "table", a->cfg.nft_table,
		"healthy", e->table_ok && !e->kernel_dirty,
		"ports_cut", (json_int_t)e->applied.ports.n,
		"ports_missing", (json_int_t)missing, "mac_only", (json_int_t)mac_only,
		"bridge_table", nft_bridge_table_present(e->nft),
		"kernel_needs_devices", nft_needs_devices(e->nft),
		"elements", elements, "tamper_count", (json_int_t)e->tamper_count,
		"last_tamper", (json_int_t)e->last_tamper,
		"ports_recut", (json_int_t)e->ports_recut,
		"unlisted_refused", (json_int_t)e->unlisted_refused, "last_error", e->last_error);
}

/* The configured list, in order; "endpoint" (in the object) is the one in use. */
static json_t *endpoints_json(const struct agent *a)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < a->cfg.n_controllers; i++)
		json_array_append_new(arr, json_string(a->cfg.controllers[i]));
	return arr;
}

json_t *status_build(const struct agent *a)
{
	json_t *vms = json_array();
	const struct agent_link *l = a->link;
	size_t enforced = 0;

	for (size_t i = 0; i < a->enf.state.n; i++) {
		const struct vm_enforced *v = &a->enf.state.vms[i];
		if (!enforcer_vm_holds(v))
			continue;
		enforced++;
		json_array_append_new(vms, vm_json(a, v));
	}
	return json_pack("{s:s, s:s, s:I, s:{s:s, s:o, s:I, s:I, s:s, s:s, s:I, s:I, s:i, s:I,"
			 " s:I}, s:o, s:I, s:I, s:o,"
			 " s:{s:I, s:b, s:b}, s:s, s:o?, s:o?}",
		"host_id", a->cfg.host_id, "version", CORDON_VERSION, "started", (json_int_t)a->started,
		"controller", "endpoint", link_endpoint(l), "endpoints", endpoints_json(a),
		/* JSON integers are signed: a term past 2^63 shows as -1. */
		"term", a->term.seen > INT64_MAX ? (json_int_t)-1 : (json_int_t)a->term.seen,
		"stale_term_messages", (json_int_t)a->term.stale,
		"link", l->silent && l->state == LINK_UP ? "not-answering" : link_state_name(l->state),
		"detail", l->detail, "last_heartbeat", (json_int_t)l->last_heartbeat_wall,
		"sessions", (json_int_t)l->sessions, "protocol", CORDON_PROTO_VERSION,
		"protocol_spoken", (json_int_t)l->stamp,
		"controller_protocol", (json_int_t)l->controller_version,
		"nft", nft_json(a), "inventory_vms", (json_int_t)a->inv.n,
		"enforced_count", (json_int_t)enforced, "vms", vms,
		"pending", "acks", (json_int_t)a->pending_acks,
		"state_unsaved", a->enf.state_dirty, "kernel_unsynced", a->enf.kernel_dirty,
		"inventory_source", a->virt ? "libvirt" : "static",
		"libvirt", a->virt ? virt_status(a->virt) : NULL,
		"mech", a->mech ? mech_status(a->mech) : NULL);
}

json_t *status_serve(void *ctx, const json_t *req, uid_t uid, int role)
{
	(void)req; /* one request: the status */
	(void)uid;
	(void)role;
	return status_build(ctx);
}
