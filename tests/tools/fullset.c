/* fullset: how long the agent's enforcer takes a full desired set of N VMs,
 * and a full set that lifts them all (bench/fullset.sh runs it in a
 * network namespace of its own).
 *
 *   fullset N STATE_DIR [TABLE]
 *
 * The inventory is built in memory: N VMs with a public and a private
 * interface each, no ports (so the cut MACs go to the bridge table's sets:
 * the part that scales; per-port chains cost the kernel O(chains x
 * devices), measured by bench/datapath_ports.sh). Prints, for taking the
 * set (staged: the enforcer's memory only), committing it (state file
 * written, one nftables batch), staging the empty full set that lifts
 * them all, and committing that; before that, one single update (what a
 * host gets for each change while it holds the others): milliseconds. Exit 0, 1 on a failure. */
#include "enforce.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool no_ports(void *arg, const char *port)
{
	(void)arg;
	(void)port;
	return false;
}

static void iface_fill(struct inv_iface *f, size_t i, int nic)
{
	f->mac.b[0] = 0x02;
	f->mac.b[1] = (uint8_t)nic;
	f->mac.b[2] = (uint8_t)(i >> 24);
	f->mac.b[3] = (uint8_t)(i >> 16);
	f->mac.b[4] = (uint8_t)(i >> 8);
	f->mac.b[5] = (uint8_t)i;
	mac_format(&f->mac, f->mac_text);
	strcpy(f->bridge, nic ? "br-priv" : "br-pub");
	strcpy(f->scope, nic ? "private" : "public");
}

static int inventory_build(struct inventory *inv, size_t n)
{
	char err[256];

	inv->vms = calloc(n, sizeof(*inv->vms));
	if (!inv->vms)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct inv_vm *vm = &inv->vms[i];
		snprintf(vm->uuid, sizeof(vm->uuid), "f0f0f0f0-0000-4000-8000-%012zx", i);
		snprintf(vm->name, sizeof(vm->name), "bench%zu", i);
		strcpy(vm->state, "running");
		vm->domain_id = -1;
		vm->ifaces = calloc(2, sizeof(*vm->ifaces));
		if (!vm->ifaces)
			return -1;
		vm->n_ifaces = 2;
		iface_fill(&vm->ifaces[0], i, 0);
		iface_fill(&vm->ifaces[1], i, 1);
		inv->n++;
	}
	inv->complete = true;
	return inventory_finish(inv, err, sizeof(err));
}

static Cordon__VmState **desired_build(const struct inventory *inv)
{
	Cordon__VmState **d = calloc(inv->n + 1, sizeof(*d));

	for (size_t i = 0; d && i < inv->n; i++) {
		d[i] = calloc(1, sizeof(**d));
		if (!d[i])
			return NULL;
		cordon__vm_state__init(d[i]);
		d[i]->uuid = (char *)inv->vms[i].uuid;
		d[i]->generation = 1;
		d[i]->scopes = 3;
	}
	return d;
}

static double ms_since(uint64_t t0)
{
	return (double)(now_mono_us() - t0) / 1000.0;
}

/* n == 1: a single update (not a full set) of the first VM, cut smtp only. */
static int run(struct enforcer *e, Cordon__VmState **d, size_t n, const char *what)
{
	uint64_t t0 = now_mono_us();
	double staged, committed;

	if (n == 1) {
		d[0]->generation = 2;
		d[0]->scopes = 4;
	}
	if (enforcer_stage(e, d, n, n != 1) < 0)
		return -1;
	staged = ms_since(t0);
	t0 = now_mono_us();
	if (enforcer_commit(e) < 0)
		return -1;
	committed = ms_since(t0);
	printf("%s: staged %.1f ms, committed (state file + nftables batch) %.1f ms; "
	       "%zu VMs held after\n", what, staged, committed, e->state.n);
	return 0;
}

static int state_write_timed(struct enforcer *e)
{
	uint64_t t0 = now_mono_us();

	if (state_save(e->state_path, &e->state) < 0)
		return -1;
	printf("the state file of %zu VMs written alone: %.1f ms\n", e->state.n, ms_since(t0));
	return 0;
}

int main(int argc, char **argv)
{
	struct inventory inv = { 0 };
	struct enforcer e;
	Cordon__VmState **d;
	char err[512];
	size_t n;

	if (argc < 3 || argc > 4 || (n = strtoul(argv[1], NULL, 10)) == 0) {
		fprintf(stderr, "usage: fullset N STATE_DIR [TABLE]\n");
		return 2;
	}
	log_init("fullset", LOG_LVL_WARN);
	if (inventory_build(&inv, n) < 0 || !(d = desired_build(&inv))) {
		fprintf(stderr, "fullset: out of memory\n");
		return 1;
	}
	if (enforcer_start(&e, argc > 3 ? argv[3] : "cordonbench", argv[2], &inv, true,
			   no_ports, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "fullset: %s\n", err);
		return 1;
	}
	e.max_unlisted = 0;
	if (run(&e, d, n, "full set cutting every VM") < 0 ||
	    run(&e, d, n, "the same full set again") < 0 ||
	    state_write_timed(&e) < 0 ||
	    run(&e, d, 1, "one VM changed (a single update; the state file is rewritten)") < 0 ||
	    run(&e, NULL, 0, "empty full set lifting every VM") < 0) {
		fprintf(stderr, "fullset: %s\n", e.last_error);
		return 1;
	}
	enforcer_stop(&e);
	for (size_t i = 0; i < n; i++)
		free(d[i]);
	free(d);
	inventory_clear(&inv);
	return 0;
}
