/* libFuzzer target for the static inventory file (agent/inventory.c): any
 * file is refused with a reason, or gives VMs that can all be found by
 * uuid and turned into their wire form. */
#include <string.h>

#include "agent/config.h"
#include "fuzz_input.h"
#include "inventory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct agent_config cfg;
	struct inventory inv = { 0 };
	struct inventory_wire wire;
	char err[512] = "";

	if (!cfg.n_scopes)
		fuzz_agent_config(&cfg);
	if (inventory_load_static(fuzz_file(data, size), &cfg, &inv, err, sizeof(err)) < 0) {
		fuzz_assert(err[0] && !inv.vms);
		return 0;
	}
	for (size_t i = 0; i < inv.n; i++)
		fuzz_assert(inventory_find(&inv, inv.vms[i].uuid) == &inv.vms[i]);
	fuzz_assert(inventory_equal(&inv, &inv));
	fuzz_assert(inventory_to_wire(&inv, &wire) == 0);
	fuzz_assert(wire.n == inv.n);
	inventory_wire_free(&wire);
	inventory_clear(&inv);
	return 0;
}
