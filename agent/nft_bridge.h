/* nft_bridge.c: the fallback for interfaces with no known port: the
 * agent's `bridge` family table (same name as the netdev one), one map
 * from MAC to verdict looked up on the bridge prerouting and postrouting
 * hooks. A MAC belongs to the tenant, who can change it: such a cut is
 * shown as mac-only (spoofable). The table exists only while it has
 * elements, so a host whose ports are all known adds no bridge hook. */
#ifndef CORDON_NFT_BRIDGE_H
#define CORDON_NFT_BRIDGE_H

#include "mac.h"
#include "nft_batch.h"

/* The map's verdicts: drop (public or private), or jump to the smtp
 * check (only smtp). Per-verdict MAC lists are sorted, unique, disjoint. */
enum { K_DROP, K_SMTP, NKINDS };

/* Per-scope lists (sorted unique) -> per-verdict lists (drop wins). */
int bridge_kinds_of(const struct mac_list scopes[SCOPE_COUNT],
		    struct mac_list kinds[NKINDS]);
void bridge_kinds_clear(struct mac_list kinds[NKINDS]);

/* Messages into b (which borrows kinds' arrays until it is committed):
 * replace: the whole table holding want, or no table when want is empty;
 * assert: the whole table (want not empty);
 * update: from cur (what our last batch committed) to want. */
int bridge_put_replace(struct batch *b, const char *table,
		       const struct mac_list want[NKINDS]);
int bridge_put_assert(struct batch *b, const char *table,
		      const struct mac_list want[NKINDS]);
int bridge_put_update(struct batch *b, const char *table,
		      const struct mac_list cur[NKINDS],
		      const struct mac_list want[NKINDS]);

/* 0 the kernel holds want (empty: no table), 1 it does not, -1 error. */
int bridge_verify(struct nfnl *nl, const char *table,
		  const struct mac_list want[NKINDS]);

#endif
