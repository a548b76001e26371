/* nft.c: the agent's own nftables table, through libnftnl + libmnl.
 *
 * The table (family bridge, name from config, default "cordon") holds one
 * map `cut` from MAC to verdict, looked up by source MAC in a prerouting
 * chain and by destination MAC in a postrouting chain: a frame of MACs that
 * are not cut costs one lookup per hook. A MAC cut in public or private
 * scope maps to drop; one cut only in smtp scope jumps to a chain that
 * drops the TCP to 25/465/587 it sends. The scopes are this interface's;
 * nft.c keeps each MAC's scopes and computes its verdict (top of nft.c).
 * Every change is one netlink batch; every message in it is acked and
 * errors are mapped back to the change. The agent never touches any other
 * table. */
#ifndef CORDON_NFT_H
#define CORDON_NFT_H

#include "mac.h"

struct nft;

/* Opens the netlink sockets in the caller's network namespace. NULL on error
 * (logged). */
struct nft *nft_new(const char *table_name);
void nft_free(struct nft *nft);

/* Replaces the table (deletes it if present, builds it anew) with one
 * whose map holds exactly the verdicts of sets[i] (scope i's MACs), in one
 * atomic batch. Idempotent. 0, or -1 (logged). */
int nft_assert_table(struct nft *nft, const struct mac_list sets[SCOPE_COUNT]);

/* Adds / removes MACs to / from scope index `scope`, changing the verdicts
 * that change, in one batch. Adding a MAC the scope holds is not an error.
 * -ENOENT, so the caller can fall back to nft_assert_table(): removing a
 * MAC the scope does not hold, an element we committed is gone from the
 * kernel (the batch aborts there), or no nft_assert_table() succeeded on
 * this handle since it was made or since a batch failed (the scopes it
 * tracks may not be the kernel's). Other errors: -1 (logged). */
int nft_set_add_macs(struct nft *nft, int scope, const struct mac *macs,
		     size_t n);
int nft_set_del_macs(struct nft *nft, int scope, const struct mac *macs,
		     size_t n);

/* Compares the kernel's table with what it must be for these scopes:
 * 0 = as expected, 1 = missing or different (table, map, a chain, a
 * chain's rule count, an element or its verdict), -1 = could not tell
 * (logged). */
int nft_verify_table(struct nft *nft, const struct mac_list sets[SCOPE_COUNT]);

/* A netlink socket subscribed to NFNLGRP_NFTABLES, for the event loop. */
int nft_monitor_fd(const struct nft *nft);

/* Drains pending monitor events. 1 if any event came from another process
 * and concerns our table (deleted table/map/chain/rule/element, flushed
 * ruleset), 0 if none did, -1 on error (logged; on ENOBUFS returns 1 since
 * events were lost). */
int nft_monitor_read(struct nft *nft);

/* Counts for status: MACs cut per scope after the last successful batch
 * (not a kernel read). */
size_t nft_set_size(const struct nft *nft, int scope);

#endif
