/* nft.c: what the agent holds in the kernel's nftables, through libnftnl +
 * libmnl, and the monitor that sees anyone else change it.
 *
 * Two tables of the same name (default "cordon"), never any other:
 * - netdev: a cut port (the host-side device of a VM interface) gets base
 *   chains on its own ingress and egress hooks (nft_port.h). The tenant's
 *   MAC, tags and protocols do not matter there.
 * - bridge: only while some cut interface has no known port, a map from MAC
 *   to verdict on the bridge hooks (nft_bridge.h): spoofable, so shown as
 *   mac-only.
 * Every change is one netlink batch over both, every message acked and
 * errors mapped back to the change. */
#ifndef CORDON_NFT_H
#define CORDON_NFT_H

#include <stdbool.h>
#include <stdint.h>

#include "mac.h"
#include "nft_port.h"

/* What the kernel must hold. */
struct nft_view {
	struct mac_list macs[SCOPE_COUNT]; /* cut by MAC, per scope: sorted unique */
	struct port_list ports;            /* cut by port: port_list_finish()ed */
};
void nft_view_clear(struct nft_view *v);

struct nft;

/* Opens the netlink sockets in the caller's network namespace. NULL on
 * error (logged). */
struct nft *nft_new(const char *table_name);
void nft_free(struct nft *nft);

/* Whether a port's device exists now (link.c's cache); without a probe
 * every port is taken to exist. */
typedef bool nft_port_probe_fn(void *arg, const char *port);
void nft_set_port_probe(struct nft *nft, nft_port_probe_fn *fn, void *arg);
bool nft_port_exists(const struct nft *nft, const char *port);

/* Replaces both tables with exactly want, in one atomic batch (frames meet
 * the old tables or the new ones). Idempotent; repairs anything. 0 or -1
 * (logged). */
int nft_assert(struct nft *nft, const struct nft_view *want);
/* The changes from what our last batch committed to want, in one batch.
 * -ENOENT when something we committed is gone from the kernel (an element,
 * a chain), or no assert succeeded since start or since a failed batch:
 * the caller then asserts. Other errors -1 (logged). */
int nft_update(struct nft *nft, const struct nft_view *want);
/* 0 the kernel holds want (chains with their hook, device, priority,
 * policy and rule count; no chain of ours beyond them; the bridge table
 * with exactly want's MACs, or none), 1 it does not, -1 could not tell. */
int nft_verify(struct nft *nft, const struct nft_view *want);

/* A netlink socket subscribed to NFNLGRP_NFTABLES, for the event loop. */
int nft_monitor_fd(const struct nft *nft);
/* Drains pending monitor events. 1 if any came from another process and
 * concerns our tables (deleted table/chain/rule/map/element, flushed
 * ruleset), 0 if none did, -1 on error (logged; on ENOBUFS returns 1 since
 * events were lost). */
int nft_monitor_read(struct nft *nft);
/* Someone else committed while one of our batches was out (off the
 * monitor, its events are not coming): nft_monitor_read returns 1 now. */
bool nft_gap_seen(const struct nft *nft);

/* For status. */
bool nft_bridge_table_present(const struct nft *nft);
bool nft_needs_devices(const struct nft *nft);

#endif
