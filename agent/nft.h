/* nft.c: the agent's own nftables table, through libnftnl + libmnl.
 *
 * The table (family bridge, name from config, default "cordon") holds one
 * MAC set per scope (cut_public, cut_private, cut_smtp) and the rules that
 * drop frames from, and unicast frames to, those MACs on the bridge path
 * (smtp: only TCP to ports 25/465/587). Every change is one netlink batch;
 * every message in it is acked and errors are mapped back to the change.
 * The agent never touches any other table. */
#ifndef CORDON_NFT_H
#define CORDON_NFT_H

#include "mac.h"

struct nft;

/* Opens the netlink sockets in the caller's network namespace. NULL on error
 * (logged). */
struct nft *nft_new(const char *table_name);
void nft_free(struct nft *nft);

/* Creates the table, sets, chains and rules if missing, and makes each set
 * hold exactly sets[i] (flush + add), in one batch. Idempotent.
 * 0, or -1 (logged). */
int nft_assert_table(struct nft *nft, const struct mac_list sets[SCOPE_COUNT]);

/* Adds / deletes elements of the set of scope index `scope` in one batch.
 * Adding a present element is not an error. Deleting an absent one aborts
 * the whole batch in the kernel: returns -ENOENT then, so the caller can
 * fall back to nft_assert_table(). Other errors: -1 (logged). */
int nft_set_add_macs(struct nft *nft, int scope, const struct mac *macs,
		     size_t n);
int nft_set_del_macs(struct nft *nft, int scope, const struct mac *macs,
		     size_t n);

/* Compares the kernel's table with what it must be: 0 = as expected,
 * 1 = missing or different (table, a set, a chain, rule count, elements),
 * -1 = could not tell (logged). */
int nft_verify_table(struct nft *nft, const struct mac_list sets[SCOPE_COUNT]);

/* A netlink socket subscribed to NFNLGRP_NFTABLES, for the event loop. */
int nft_monitor_fd(const struct nft *nft);

/* Drains pending monitor events. 1 if any event came from another process
 * and concerns our table (deleted table/set/chain/rule/element, flushed
 * ruleset), 0 if none did, -1 on error (logged; on ENOBUFS returns 1 since
 * events were lost). */
int nft_monitor_read(struct nft *nft);

/* Counts for status: elements currently held per scope after the last
 * successful batch (not a kernel read). */
size_t nft_set_size(const struct nft *nft, int scope);

#endif
