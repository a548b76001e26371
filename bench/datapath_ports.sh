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
# PORTS/2 veth pairs d0/d1, d2/d3, ... (no dummy driver on every kernel)
for ((i = 0; i < N; i += 2)); do echo "link add d$i type veth peer name d$((i + 1))"; done |
	ip -n "$NS-h" -batch -
ip netns exec "$NS-b" "$BLAST" eth0 02:aa:00:00:00:01 0.2 >/dev/null

rate() {
	local before after
	before=$(ip netns exec "$NS-b" cat /sys/class/net/eth0/statistics/rx_packets)
	ip netns exec "$NS-a" "$BLAST" eth0 02:bb:00:00:00:01 5 >/dev/null
	after=$(ip netns exec "$NS-b" cat /sys/class/net/eth0/statistics/rx_packets)
	echo $(((after - before) / 5))
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
spread() { sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'; }
ports=$(for ((i = 0; i < N; i++)); do printf 'd%d,' "$i"; done)
ports=${ports%,}

base=() table=()
for r in $(seq 1 "$RUNS"); do
	ip netns exec "$NS-h" nft delete table netdev cordon 2>/dev/null || true
	base+=("$(rate)")
	ip netns exec "$NS-h" "$NFTTOOL" assert "port=$ports" >/dev/null
	table+=("$(rate)")
done
ip netns exec "$NS-h" nft delete table netdev cordon 2>/dev/null || true
b=$(printf '%s\n' "${base[@]}" | median)
t=$(printf '%s\n' "${table[@]}" | median)
echo "no table:          ${base[*]} frames/s (median $b, spread $(printf '%s\n' "${base[@]}" | spread))"
echo "$N cut ports: ${table[*]} frames/s (median $t, spread $(printf '%s\n' "${table[@]}" | spread))"
awk -v b="$b" -v t="$t" 'BEGIN { printf "ratio: %.1f %%\n", 100 * t / b }'

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
