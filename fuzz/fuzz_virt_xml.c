/* libFuzzer target for the libvirt domain XML reader (agent/virt_read.c):
 * a domain XML, then after a NUL byte (optional) the cordon metadata text.
 * What virt_read_domains does with each domain, without libvirt: any text
 * is refused with a reason or gives interfaces; each interface can be cut
 * out of the XML (what a detach saves) and listed again from that saved
 * XML with the same bridge and scope (what a cut VM keeps). */
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "fuzz_input.h"
#include "inventory.h"
#include "state.h"
#include "virt_read.h"

#define FUZZ_UUID "0b0e8c4a-fuzz"

/* The saved XML of every interface, as a state's held list. */
static void hold_all(const struct inv_vm *vm, const struct dom_xml *x, struct agent_state *st)
{
	struct vm_enforced *e = state_upsert(st, FUZZ_UUID);

	fuzz_assert(e);
	for (size_t i = 0; i < vm->n_ifaces; i++) {
		char *xml = dom_xml_iface(x, 1, FUZZ_UUID, &vm->ifaces[i].mac);

		fuzz_assert(xml);
		if (!state_held_find(e, &vm->ifaces[i].mac))
			fuzz_assert(state_held_add(e, &vm->ifaces[i].mac, 0, xml));
		free(xml);
	}
}

/* The VM as listed while every interface is detached. */
static void relist_held(const struct agent_config *cfg, const struct inv_vm *vm,
			const struct dom_xml *x)
{
	struct agent_state st = { 0 };
	struct inventory inv = { 0 };
	const struct inv_vm *again;
	char err[256];

	hold_all(vm, x, &st);
	fuzz_assert((inv.vms = calloc(1, sizeof(*inv.vms))));
	strcpy(inv.vms[0].uuid, FUZZ_UUID);
	inv.n = 1;
	fuzz_assert(inventory_finish(&inv, err, sizeof(err)) == 0);
	virt_add_held(cfg, &st, &inv, x, 1);
	again = inventory_find(&inv, FUZZ_UUID);
	for (size_t i = 0; i < again->n_ifaces; i++) {
		const struct inv_iface *a = &again->ifaces[i];
		const struct inv_iface *o = inventory_vm_iface(vm, &a->mac);

		fuzz_assert(o && strcmp(a->bridge, o->bridge) == 0 &&
			    strcmp(a->scope, o->scope) == 0);
	}
	inventory_clear(&inv);
	state_clear(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct agent_config cfg;
	struct dom_xml x = { FUZZ_UUID, NULL, NULL };
	struct inv_vm vm = { .uuid = FUZZ_UUID };
	char why[512] = "";

	if (!cfg.n_scopes)
		fuzz_agent_config(&cfg);
	fuzz_split(data, size, &x.xml, &x.md);
	if (virt_domain_parse(x.xml, &cfg, &vm, why, sizeof(why)) < 0) {
		fuzz_assert(why[0]);
	} else {
		if (x.md && virt_metadata_apply(x.md, &vm, why, sizeof(why)) < 0) {
			/* Refused metadata gives no address at all. */
			fuzz_assert(why[0]);
			for (size_t i = 0; i < vm.n_ifaces; i++)
				fuzz_assert(vm.ifaces[i].n_ips == 0);
			free(x.md);
			x.md = NULL;
		}
		relist_held(&cfg, &vm, &x);
	}
	inventory_vm_free(&vm);
	free(x.xml);
	free(x.md);
	return 0;
}
