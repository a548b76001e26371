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
BLAST=$PWD/build/tools/pktblast
NFTTOOL=$PWD/build/tools/nfttool
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
[ -x "$BLAST" ] && [ -x "$NFTTOOL" ] || { echo "make first"; exit 1; }

cleanup() { for n in $NS-h $NS-a $NS-b; do ip netns del "$n" 2>/dev/null || true; done; }
trap cleanup EXIT
for n in h a b; do ip netns add "$NS-$n"; ip -n "$NS-$n" link set lo up; done
ip -n "$NS-h" link add br0 type bridge
ip -n "$NS-h" link set br0 up
for n in a b; do
	ip -n "$NS-h" link add "p$n" type veth peer name eth0 netns "$NS-$n"
	ip -n "$NS-h" link set "p$n" master br0 up
	ip -n "$NS-$n" link set eth0 up
done
ip -n "$NS-a" link set eth0 address 02:aa:00:00:00:01
ip -n "$NS-b" link set eth0 address 02:bb:00:00:00:01
# The bridge learns b's port (else frames flood: still counted at b).
ip netns exec "$NS-b" "$BLAST" eth0 02:aa:00:00:00:01 0.2 >/dev/null

rate() {
	local before after
	before=$(ip netns exec "$NS-b" cat /sys/class/net/eth0/statistics/rx_packets)
	ip netns exec "$NS-a" "$BLAST" eth0 02:bb:00:00:00:01 5 >/dev/null
	after=$(ip netns exec "$NS-b" cat /sys/class/net/eth0/statistics/rx_packets)
	echo $(((after - before) / 5))
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

base=() table=()
for r in $(seq 1 "$RUNS"); do
	ip netns exec "$NS-h" nft delete table bridge cordon 2>/dev/null || true
	base+=("$(rate)")
	ip netns exec "$NS-h" "$NFTTOOL" bulk "$N" >/dev/null
	table+=("$(rate)")
done
b=$(printf '%s\n' "${base[@]}" | median)
t=$(printf '%s\n' "${table[@]}" | median)
echo "no table:        ${base[*]} frames/s (median $b)"
echo "$N cut MACs: ${table[*]} frames/s (median $t)"
awk -v b="$b" -v t="$t" 'BEGIN { printf "ratio: %.1f %%\n", 100 * t / b }'
