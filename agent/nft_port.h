/* nft_port.c: the agent's netdev table: a cut port (the host-side device a
 * VM interface is plugged into: a tap, a veth) gets base chains on its own
 * hooks; a port that is not cut has none, so its frames pay nothing.
 *
 *   table netdev cordon {
 *     chain in_vnet3 { type filter hook ingress device "vnet3"
 *                      priority -300; policy drop; }      frames from the VM
 *     chain out_vnet3 { type filter hook egress device "vnet3"
 *                      priority -300; policy drop; }      frames to the VM
 *     chain in_vnet7 { type filter hook ingress device "vnet7"
 *                      priority -300; policy accept;       smtp only:
 *       ether type { 8021q, 8021ad, 0x9100 } drop           a tag still on
 *       meta l4proto tcp th dport { 25, 465, 587 } drop }    mail it sends
 *   }
 *
 * The hooks sit on the device itself: whatever the tenant does inside (its
 * MAC, tags, protocols) its frames pass there, and whatever the port is
 * plugged into (a Linux bridge, Open vSwitch). */
#ifndef CORDON_NFT_PORT_H
#define CORDON_NFT_PORT_H

#include <stdbool.h>
#include <stddef.h>

#include "nft_batch.h"

#define PORT_NAME_MAX 16 /* IFNAMSIZ */

enum port_kind { PORT_DROP = 1, PORT_SMTP = 2 };

struct port_cut {
	char name[PORT_NAME_MAX];
	int kind;
};

/* Sorted by name, unique once port_list_finish() ran. */
struct port_list {
	struct port_cut *v;
	size_t n, cap;
};

int port_list_add(struct port_list *l, const char *name, int kind);
/* Sorts and merges duplicates (drop wins over smtp). */
void port_list_finish(struct port_list *l);
const struct port_cut *port_list_find(const struct port_list *l,
				      const char *name);
void port_list_clear(struct port_list *l);

/* Messages into b: the whole table holding want (created, deleted,
 * created: it repairs anything), or the changes from cur to want. The
 * change record of every chain message is tagged with its port_cut (in
 * want for additions, cur for deletions), so a refusal names the port. */
int port_put_replace(struct batch *b, const char *table,
		     const struct port_list *want);
int port_put_update(struct batch *b, const char *table,
		    const struct port_list *cur, const struct port_list *want);

/* 0 the kernel's table holds exactly want's chains (hook, device,
 * priority, policy, rule count), 1 it does not, -1 error. */
int port_verify(struct nfnl *nl, const char *table,
		const struct port_list *want);

#endif
