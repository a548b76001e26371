#include "inventory.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void iface_free(struct inv_iface *ifc)
{
	for (size_t i = 0; i < ifc->n_ips; i++)
		free(ifc->ips[i]);
	free(ifc->ips);
}

void inventory_vm_free(struct inv_vm *vm)
{
	for (size_t i = 0; i < vm->n_ifaces; i++)
		iface_free(&vm->ifaces[i]);
	free(vm->ifaces);
}

void inventory_clear(struct inventory *inv)
{
	for (size_t i = 0; i < inv->n; i++)
		inventory_vm_free(&inv->vms[i]);
	free(inv->vms);
	if (inv->index)
		strindex_clear(inv->index);
	free(inv->index);
	inv->vms = NULL;
	inv->index = NULL;
	inv->n = 0;
}

static int valid_ip(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int parse_ips(json_t *arr, struct inv_iface *ifc, char *err, size_t errlen)
{
	size_t i;
	json_t *v;

	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > CORDON_MAX_IPS) {
		snprintf(err, errlen, "\"ips\" must be an array of at most %d addresses", CORDON_MAX_IPS);
		return -1;
	}
	ifc->ips = calloc(json_array_size(arr) + 1, sizeof(char *));
	if (!ifc->ips)
		return -1;
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		if (!s || !valid_ip(s)) {
			snprintf(err, errlen, "'%s' is not an IP address", s ? s : "(not a string)");
			return -1;
		}
		if (!(ifc->ips[ifc->n_ips] = strdup(s)))
			return -1;
		ifc->n_ips++;
	}
	return 0;
}

/* "port": the host-side device the interface is plugged into (a tap or
 * veth); optional: without it the interface can only be cut by MAC. */
static int parse_port(json_t *v, const struct agent_config *cfg,
		      struct inv_iface *ifc, char *err, size_t errlen)
{
	const char *port = json_string_value(v);

	if (!v)
		return 0;
	if (!port || !ifname_valid(port) ||
	    strlcpy_checked(ifc->target, port, sizeof(ifc->target)) < 0) {
		snprintf(err, errlen, "interface %s: \"port\" must be a network device "
			 "name (1-15 characters, no '/', ':' or blanks)", ifc->mac_text);
		return -1;
	}
	/* Chains on a bridge or on lo would cut every VM, or the host. */
	if (strcmp(port, "lo") == 0 || agent_config_scope_find(cfg, port) ||
	    strcmp(port, ifc->bridge) == 0) {
		snprintf(err, errlen, "interface %s: \"port\" %s is a bridge or the "
			 "loopback, not the VM's own device: cutting it would cut others",
			 ifc->mac_text, port);
		return -1;
	}
	return 0;
}

static int parse_iface(json_t *o, const struct agent_config *cfg,
		       struct inv_iface *ifc, char *err, size_t errlen)
{
	const char *mac = json_string_value(json_object_get(o, "mac"));
	const char *bridge = json_string_value(json_object_get(o, "bridge"));

	if (!mac || mac_parse(mac, &ifc->mac) < 0 || !mac_is_unicast(&ifc->mac)) {
		snprintf(err, errlen, "interface mac '%s' is not a unicast MAC address",
			 mac ? mac : "(missing)");
		return -1;
	}
	mac_format(&ifc->mac, ifc->mac_text);
	if (!bridge || strlcpy_checked(ifc->bridge, bridge, sizeof(ifc->bridge)) < 0) {
		snprintf(err, errlen, "interface %s: \"bridge\" missing or too long", mac);
		return -1;
	}
	strcpy(ifc->scope, agent_config_scope_of(cfg, bridge));
	ifc->unmapped = agent_config_scope_find(cfg, bridge) == NULL;
	if (parse_port(json_object_get(o, "port"), cfg, ifc, err, errlen) < 0)
		return -1;
	return parse_ips(json_object_get(o, "ips"), ifc, err, errlen);
}

static int parse_contact(const json_t *c, struct inv_vm *vm, char *err, size_t errlen)
{
	const char *why;

	if (!c)
		return 0;
	if (!json_is_string(c)) {
		snprintf(err, errlen, "VM %s: \"contact\" must be a string", vm->uuid);
		return -1;
	}
	if ((why = contact_problem(json_string_value(c)))) {
		snprintf(err, errlen, "VM %s: \"contact\" is no mail address: it %s", vm->uuid, why);
		return -1;
	}
	strcpy(vm->contact, json_string_value(c));
	return 0;
}

static int parse_vm(json_t *o, const struct agent_config *cfg, struct inv_vm *vm,
		    char *err, size_t errlen)
{
	const char *uuid = json_string_value(json_object_get(o, "uuid"));
	const char *name = json_string_value(json_object_get(o, "name"));
	json_t *ifaces = json_object_get(o, "interfaces"), *v;
	size_t i;

	if (!uuid || !codec_valid_uuid(uuid) || strlcpy_checked(vm->uuid, uuid, sizeof(vm->uuid)) < 0) {
		snprintf(err, errlen, "VM uuid '%s' is invalid", uuid ? uuid : "(missing)");
		return -1;
	}
	if (!name || strlcpy_checked(vm->name, name, sizeof(vm->name)) < 0) {
		snprintf(err, errlen, "VM %s: \"name\" missing or too long", uuid);
		return -1;
	}
	if (parse_contact(json_object_get(o, "contact"), vm, err, errlen) < 0)
		return -1;
	strcpy(vm->state, "running");
	vm->domain_id = -1;
	if (!json_is_array(ifaces) || json_array_size(ifaces) > CORDON_MAX_IFACES) {
		snprintf(err, errlen, "VM %s: \"interfaces\" must be an array", uuid);
		return -1;
	}
	vm->ifaces = calloc(json_array_size(ifaces) + 1, sizeof(*vm->ifaces));
	if (!vm->ifaces)
		return -1;
	json_array_foreach(ifaces, i, v) {
		vm->n_ifaces++;
		if (parse_iface(v, cfg, &vm->ifaces[i], err, errlen) < 0)
			return -1;
	}
	return 0;
}

static const char *inv_key(const void *array, size_t i)
{
	return ((const struct inv_vm *)array)[i].uuid;
}

static int parse_inventory(json_t *root, const struct agent_config *cfg,
			   struct inventory *inv, char *err, size_t errlen)
{
	json_t *vms = json_object_get(root, "vms"), *v;
	size_t i;

	if (!json_is_array(vms)) {
		snprintf(err, errlen, "top level must be an object with a \"vms\" array");
		return -1;
	}
	inv->vms = calloc(json_array_size(vms) + 1, sizeof(*inv->vms));
	inv->index = calloc(1, sizeof(*inv->index));
	if (!inv->vms || !inv->index)
		return -1;
	json_array_foreach(vms, i, v) {
		inv->n++;
		if (parse_vm(v, cfg, &inv->vms[i], err, errlen) < 0)
			return -1;
		/* Looked up among the VMs before this one, then indexed. */
		if (strindex_find(inv->index, inv->vms, i, inv_key, inv->vms[i].uuid) != STRINDEX_NONE) {
			snprintf(err, errlen, "VM uuid %s listed twice", inv->vms[i].uuid);
			return -1;
		}
		strindex_added(inv->index, inv->vms, i + 1, inv_key, i);
	}
	return 0;
}

int inventory_load_static(const char *path, const struct agent_config *cfg,
			  struct inventory *out, char *err, size_t errlen)
{
	struct inventory inv = { 0 };
	char reason[256] = "out of memory";
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);

	if (!root) {
		snprintf(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
		return -1;
	}
	if (parse_inventory(root, cfg, &inv, reason, sizeof(reason)) < 0) {
		snprintf(err, errlen, "%s: %s", path, reason);
		json_decref(root);
		inventory_clear(&inv);
		return -1;
	}
	json_decref(root);
	inventory_clear(out);
	*out = inv;
	out->complete = true; /* all or nothing: a bad file is refused whole */
	return 0;
}

const struct inv_vm *inventory_find(const struct inventory *inv, const char *uuid)
{
	return inventory_find_mut(inv, uuid);
}

struct inv_vm *inventory_find_mut(const struct inventory *inv, const char *uuid)
{
	size_t i;

	if (!inv->index) {
		for (i = 0; i < inv->n; i++)
			if (strcmp(inv->vms[i].uuid, uuid) == 0)
				return &inv->vms[i];
		return NULL;
	}
	i = strindex_find(inv->index, inv->vms, inv->n, inv_key, uuid);
	return i == STRINDEX_NONE ? NULL : &inv->vms[i];
}

struct inv_iface *inventory_vm_iface(const struct inv_vm *vm, const struct mac *mac)
{
	for (size_t i = 0; i < vm->n_ifaces; i++)
		if (mac_cmp(&vm->ifaces[i].mac, mac) == 0)
			return &vm->ifaces[i];
	return NULL;
}

int inventory_vm_macs(const struct inv_vm *vm, int scope, struct mac_list *out)
{
	/* smtp is about mail leaving to the internet: public interfaces. */
	const char *want = scope == 1 ? "private" : "public";

	for (size_t i = 0; i < vm->n_ifaces; i++)
		if (strcmp(vm->ifaces[i].scope, want) == 0 &&
		    mac_list_add(out, &vm->ifaces[i].mac) < 0)
			return -1;
	return 0;
}

static size_t count_ifaces(const struct inventory *inv)
{
	size_t n = 0;
	for (size_t i = 0; i < inv->n; i++)
		n += inv->vms[i].n_ifaces;
	return n;
}

static void iface_to_wire(const struct inv_iface *src, Cordon__Interface *dst)
{
	cordon__interface__init(dst);
	dst->mac = (char *)src->mac_text;
	dst->bridge = (char *)src->bridge;
	dst->scope = (char *)src->scope;
	dst->ips = src->ips;
	dst->n_ips = src->n_ips;
	dst->target = (char *)src->target;
	dst->model = (char *)src->model;
}

int inventory_to_wire(const struct inventory *inv, struct inventory_wire *w)
{
	size_t nif = count_ifaces(inv), k = 0;

	memset(w, 0, sizeof(*w));
	w->vms = calloc(inv->n + 1, sizeof(*w->vms));
	w->vm_store = calloc(inv->n + 1, sizeof(*w->vm_store));
	w->if_store = calloc(nif + 1, sizeof(*w->if_store));
	w->if_ptrs = calloc(nif + 1, sizeof(*w->if_ptrs));
	if (!w->vms || !w->vm_store || !w->if_store || !w->if_ptrs) {
		inventory_wire_free(w);
		return -1;
	}
	for (size_t i = 0; i < inv->n; i++) {
		const struct inv_vm *vm = &inv->vms[i];
		Cordon__Vm *out = &w->vm_store[i];
		cordon__vm__init(out);
		out->uuid = (char *)vm->uuid;
		out->name = (char *)vm->name;
		out->state = (char *)vm->state;
		out->contact = (char *)vm->contact;
		out->interfaces = &w->if_ptrs[k];
		out->n_interfaces = vm->n_ifaces;
		for (size_t j = 0; j < vm->n_ifaces; j++, k++) {
			iface_to_wire(&vm->ifaces[j], &w->if_store[k]);
			w->if_ptrs[k] = &w->if_store[k];
		}
		w->vms[i] = out;
	}
	w->n = inv->n;
	return 0;
}

void inventory_wire_free(struct inventory_wire *w)
{
	free(w->vms);
	free(w->vm_store);
	free(w->if_store);
	free(w->if_ptrs);
	memset(w, 0, sizeof(*w));
}

int inventory_iface_add_ip(struct inv_iface *ifc, const char *ip)
{
	char **v;

	if (!valid_ip(ip))
		return -1;
	for (size_t i = 0; i < ifc->n_ips; i++)
		if (strcmp(ifc->ips[i], ip) == 0)
			return 0;
	if (ifc->n_ips >= CORDON_MAX_IPS)
		return -1;
	v = realloc(ifc->ips, (ifc->n_ips + 1) * sizeof(*v));
	if (!v)
		return -1;
	ifc->ips = v;
	if (!(v[ifc->n_ips] = strdup(ip)))
		return -1;
	ifc->n_ips++;
	return 0;
}

static int vm_cmp(const void *a, const void *b)
{
	return strcmp(((const struct inv_vm *)a)->uuid, ((const struct inv_vm *)b)->uuid);
}

int inventory_finish(struct inventory *inv, char *err, size_t errlen)
{
	if (inv->n)
		qsort(inv->vms, inv->n, sizeof(*inv->vms), vm_cmp);
	for (size_t i = 1; i < inv->n; i++)
		if (strcmp(inv->vms[i - 1].uuid, inv->vms[i].uuid) == 0) {
			snprintf(err, errlen, "VM uuid %s listed twice", inv->vms[i].uuid);
			return -1;
		}
	if (!inv->index && !(inv->index = calloc(1, sizeof(*inv->index)))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < inv->n; i++)
		strindex_added(inv->index, inv->vms, i + 1, inv_key, i);
	return 0;
}

static bool iface_equal(const struct inv_iface *a, const struct inv_iface *b)
{
	if (mac_cmp(&a->mac, &b->mac) != 0 || strcmp(a->bridge, b->bridge) != 0 ||
	    strcmp(a->scope, b->scope) != 0 || a->unmapped != b->unmapped ||
	    strcmp(a->type, b->type) != 0 || strcmp(a->target, b->target) != 0 ||
	    strcmp(a->model, b->model) != 0 || a->n_ips != b->n_ips)
		return false;
	for (size_t i = 0; i < a->n_ips; i++)
		if (strcmp(a->ips[i], b->ips[i]) != 0)
			return false;
	return true;
}

static bool vm_equal(const struct inv_vm *a, const struct inv_vm *b)
{
	if (strcmp(a->uuid, b->uuid) != 0 || strcmp(a->name, b->name) != 0 ||
	    strcmp(a->state, b->state) != 0 || strcmp(a->contact, b->contact) != 0 ||
	    a->autostart != b->autostart ||
	    a->domain_id != b->domain_id || a->n_ifaces != b->n_ifaces)
		return false;
	for (size_t i = 0; i < a->n_ifaces; i++)
		if (!iface_equal(&a->ifaces[i], &b->ifaces[i]))
			return false;
	return true;
}

bool inventory_equal(const struct inventory *a, const struct inventory *b)
{
	if (a->n != b->n || a->complete != b->complete)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!vm_equal(&a->vms[i], &b->vms[i]))
			return false;
	return true;
}
