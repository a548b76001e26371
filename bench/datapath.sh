#!/bin/bash
# bench/datapath.sh [MACS] [RUNS]: 64-byte frames per second across a bridge
# with MACS cut MACs in the agent's table (default 100000) vs. no table.
#
# Method: a host namespace with bridge br0 and two veth "VMs" (namespaces a
# and b). pktblast sends minimum-size frames (60 bytes + FCS = 64) from a to
# b's MAC with raw AF_PACKET sendmmsg for 5 s; we count what b's interface
# received (rx_packets). On veth the bridge, and the table's prerouting and
# postrouting lookups, run in the sender's context, so the rate is what one
# CPU forwards. Runs alternate: no table, then the table asserted with MACS
# MACs (none of them a's or b's: every frame does both lookups and misses,
# the normal case). Median of RUNS each.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
RUNS=${2:-5}
NS=cdp$$
. bench/datapath_topo.sh

alternate "$RUNS" 'ip netns exec "$NS-h" nft delete table bridge cordon 2>/dev/null || true' \
	'ip netns exec "$NS-h" "$NFTTOOL" bulk "$N" >/dev/null'
report "$N cut MACs"
