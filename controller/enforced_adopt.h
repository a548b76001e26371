/* enforced_adopt.c: cuts an agent enforces that the store never decided.
 *
 * A store restored from a backup, or one that lost its last transactions,
 * is older than what the agents enforce. Its full set would lift every cut
 * decided after it, yet only a controller decision may lift a cut, and a
 * decision this store forgot was still made. So at hello, a VM the host
 * runs (it is the VM's shown host, or the only one listing it) and
 * enforces at a generation newer than the store's row for it
 * keeps what it holds beyond that row as a manual hold (audited, logged
 * at error: an operator reviews it and lifts it with `cordonctl restore`),
 * and the generation counter moves past the agent's, so that every later
 * decision is newer than anything an agent holds. */
#ifndef CORDON_ENFORCED_ADOPT_H
#define CORDON_ENFORCED_ADOPT_H

#include <stddef.h>

#include "codec.h"
#include "store.h"

/* Generations above this are not ours to adopt (a counter pushed there
 * would soon overflow): logged and left alone. */
#define ADOPT_GENERATION_MAX (UINT64_C(1) << 53)

/* Adopts, in one transaction, what host enforces beyond the store's rows.
 * *adopted: how many VMs got a hold. 0, or -1 when it could not be read
 * or written: then nothing may be sent to host from this store (its full
 * set could lift what was to be adopted). */
int enforced_adopt(struct store *store, const char *host, Cordon__VmState **states,
		   size_t n, size_t *adopted);

#endif
