#!/bin/bash
# bench/datapath_ports.sh [PORTS] [RUNS]: 64-byte frames per second
# between two VMs that are not cut, with PORTS other ports of the same host
# cut (netdev table, default 1000) vs. no cordon table at all; and the time
# to assert and to lift those PORTS cut ports in one batch.
#
# Method: as bench/datapath.sh (host namespace with bridge br0, veth "VMs"
# a and b, pktblast sending minimum-size frames from a to b for 5 s, rate =
# b's rx_packets / 5), plus PORTS devices d0..dN-1 in the host
# namespace (veth pairs), each cut by nfttool (2 base chains each: ingress + egress).
# Runs alternate (no table, table, no table, ...) RUNS times each (default
# 9), since single runs on this machine vary by tens of percent; medians
# and the min-max spread are printed. Then `nfttool bulkports` times the
# assert and the lift of the PORTS ports, RUNS times.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
RUNS=${2:-9}
NS=cdq$$
. bench/datapath_topo.sh
# PORTS/2 veth pairs d0/d1, d2/d3, ... (no dummy driver on every kernel)
for ((i = 0; i < N; i += 2)); do echo "link add d$i type veth peer name d$((i + 1))"; done |
	ip -n "$NS-h" -batch -
ports=$(for ((i = 0; i < N; i++)); do printf 'd%d,' "$i"; done)
ports=${ports%,}

alternate "$RUNS" 'ip netns exec "$NS-h" nft delete table netdev cordon 2>/dev/null || true' \
	'ip netns exec "$NS-h" "$NFTTOOL" assert "port=$ports" >/dev/null'
ip netns exec "$NS-h" nft delete table netdev cordon 2>/dev/null || true
report "$N cut ports"

as=() ls=()
for r in $(seq 1 "$RUNS"); do
	out=$(ip netns exec "$NS-h" "$NFTTOOL" bulkports "$N" d)
	as+=("$(sed -n 1p <<<"$out")")
	ls+=("$(sed -n 2p <<<"$out")")
done
am=$(printf '%s\n' "${as[@]}" | median)
lm=$(printf '%s\n' "${ls[@]}" | median)
echo "assert $N ports ($((2 * N)) base chains), one batch: ${as[*]} s (median $am)"
echo "lift $N ports, one batch: ${ls[*]} s (median $lm)"
