#!/bin/bash
# nft_bulk: how long nft_assert_table() takes for 100k MACs, and what 100k
# cut MACs cost the bridge path. Method and results: docs/bench-nft.md.
#
#   bench/nft_bulk.sh [N] [RUNS]     (defaults 100000, 5; needs root)
#
# 1. cold: RUNS times, a fresh network namespace, `nfttool bulk N` (table,
#    map, chains, rules and N elements created in one batch); median.
# 2. warm: RUNS re-asserts of the same N MACs in one namespace (the table
#    replaced with its N elements, one batch); median.
# 3. pps: if iperf3 is installed, UDP with 18-byte payloads (64-byte
#    frames) between two veth "VMs" on a bridge, without the table and with
#    N cut MACs (not the VMs' own), 3 x 5 s each, received packets/s.
# Namespaces are named cdt-nft-bench-$$-* and always deleted.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-100000}
RUNS=${2:-5}
TOOL=$(realpath "${NFTTOOL:-build/tools/nfttool}")
P=cdt-nft-bench-$$
PIDS=()

if [ "$(id -u)" -ne 0 ]; then
	echo "nft_bulk: needs root" >&2
	exit 77
fi
[ -x "$TOOL" ] || { echo "nft_bulk: build $TOOL first" >&2; exit 1; }

cleanup() {
	local pid ns
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	for ns in $(ip netns list | awk -v p="$P-" 'index($1, p) == 1 {print $1}'); do
		ip netns del "$ns" 2>/dev/null || true
	done
}
trap cleanup EXIT

# Prints the runs on one line, then their median.
median() {
	sort -g | awk '{v[NR] = $1; all = all " " $1}
		END {print "  runs:" all; print "  median " v[int((NR + 1) / 2)]}'
}

cold() {
	local i
	for i in $(seq "$RUNS"); do
		ip netns add "$P-c$i"
		ip netns exec "$P-c$i" "$TOOL" bulk "$N"
		ip netns del "$P-c$i"
		# The kernel frees a namespace (and its 100k elements) in a
		# workqueue after `ip netns del` returns; let that finish, or
		# it competes with the next run's rhashtable resize worker.
		sleep 3
	done
}

warm() {
	local i
	ip netns add "$P-w"
	ip netns exec "$P-w" "$TOOL" bulk "$N" >/dev/null
	for i in $(seq "$RUNS"); do
		sleep 1 # the previous commit frees the flushed elements late
		ip netns exec "$P-w" "$TOOL" bulk "$N"
	done
	ip netns del "$P-w"
}

# Host namespace with br0, VMs a (198.18.1.1) and b (198.18.1.2).
pps_setup() {
	local n ns
	ip netns add "$P-h"
	ip netns exec "$P-h" ip link add br0 type bridge
	ip netns exec "$P-h" ip link set br0 up
	for n in 1 2; do
		ns=$P-v$n
		ip netns add "$ns"
		ip netns exec "$P-h" ip link add vm$n type veth peer name eth0 netns "$ns"
		ip netns exec "$P-h" ip link set vm$n master br0 up
		ip netns exec "$ns" ip link set eth0 address 02:be:00:00:00:0$n
		ip netns exec "$ns" ip addr add 198.18.1.$n/24 dev eth0
		ip netns exec "$ns" ip link set eth0 up
		ip netns exec "$ns" ip link set lo up
	done
}

# Received packets per second over 5 s of 64-byte frames.
pps_once() {
	ip netns exec "$P-v2" iperf3 -s -1 >/dev/null 2>&1 &
	PIDS+=($!)
	sleep 0.3
	ip netns exec "$P-v1" iperf3 -c 198.18.1.2 -u -l 18 -b 0 -t 5 -J |
		python3 -c '
import json, sys
s = json.load(sys.stdin)["end"]["sum"]
print(int((s["packets"] - s["lost_packets"]) / s["seconds"]))'
	wait "${PIDS[-1]}" 2>/dev/null || true
}

# CPU spent in nf_tables per forwarded frame, from a system-wide profile
# of one 5 s run (iperf3 is sender-bound: pps alone hides this cost).
nft_cost() {
	local data pkts pct
	data=$(mktemp)
	pkts=$(pps_once &
	       sleep 1
	       perf record -a -F 999 -o "$data" sleep 3 >/dev/null 2>&1
	       wait)
	pct=$(perf report -i "$data" --no-children --stdio --sort sym 2>/dev/null |
	      awk '$3 ~ /^nft_/ {sub("%", "", $1); s += $1} END {print s + 0}')
	rm -f "$data" "$data.old"
	awk -v pct="$pct" -v pps="$pkts" -v cpus="$(nproc)" 'BEGIN {
		printf "  nft_* share of all CPU samples: %.2f%%, ", pct
		printf "about %d ns per frame at %d frames/s\n",
		       pct / 100 * cpus * 1e9 / pps, pps }'
}

pps() {
	local i
	pps_setup
	echo "pps without table (3 runs):"
	for i in 1 2 3; do pps_once; done | median
	ip netns exec "$P-h" "$TOOL" bulk "$N" >/dev/null
	echo "pps with $N cut MACs (3 runs):"
	for i in 1 2 3; do pps_once; done | median
	if command -v perf >/dev/null; then
		echo "nf_tables cost with $N cut MACs (perf, one run):"
		nft_cost
	fi
}

echo "cold: nft_assert_table, $N MACs, fresh namespace, $RUNS runs (s):"
cold | median
echo "warm: re-assert of the same $N MACs, $RUNS runs (s):"
warm | median
if command -v iperf3 >/dev/null && command -v python3 >/dev/null; then
	pps
else
	echo "pps: skipped (iperf3 or python3 missing)"
fi
