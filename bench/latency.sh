#!/bin/bash
# bench/latency.sh [RUNS]: enforcement latency, from `cordonctl suspend`
# returning to the first probe packet that is dropped.
#
# Method: one controller, one simulated host, one VM (tests/lib.sh topology).
# udpprobe streams a numbered UDP datagram every 100 us from the public probe
# namespace to an echo server in the VM's namespace and records, per
# datagram, its wall-clock send time and whether the echo came back. The
# script records the wall clock ($EPOCHREALTIME, no fork) right after
# cordonctl returns. Latency = send time of the first datagram of the final
# unanswered run - that instant. Negative: the cut was in place before the
# CLI process had even returned. Resolution: 0.1 ms. Then restore, wait for
# the VM to answer again, repeat.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-100}
CDT_PREFIX=cdb$$
. tests/lib.sh
cdt_init
PROBE=$PWD/build/tools/udpprobe
[ -x "$PROBE" ] || fail "build/tools/udpprobe is built (make)"

topo_one_host 1
ip netns exec "${VM_NS[vm11]}" "$PROBE" echo 7000 &
on_exit kill $!
sleep 0.2

results=$CDT_TMP/latency.txt
: >"$results"
for run in $(seq 1 "$RUNS"); do
	out=$CDT_TMP/stream.$run
	ip netns exec "${H_NS[hv1]}-public" "$PROBE" stream "${VM_PUB[vm11]}" 7000 100 1000 >"$out" &
	spid=$!
	sleep 0.1
	ctl suspend vm11 --scope public >/dev/null
	t0=$EPOCHREALTIME
	wait "$spid"
	# first datagram of the last run of unanswered ones
	awk -v t0="${t0/./}" '
		{ sent[NR] = $2; rep[NR] = $3 }
		END {
			cut = 0
			for (i = NR; i >= 1 && rep[i] == 0; i--) cut = i
			if (cut == 0) { print "nocut"; exit }
			printf "%.3f\n", (sent[cut] - t0 * 1000) / 1e6
		}' "$out" >>"$results"
	ctl restore vm11 >/dev/null
	wait_until 10 vm_ping vm11 public || fail "vm11 reachable again after restore (run $run)"
	rm -f "$out"
done

if grep -q nocut "$results"; then
	fail "$(grep -c nocut "$results") run(s) never saw the cut"
fi
sort -g "$results" | awk '
	{ v[NR] = $1 }
	END {
		p50 = v[int((NR + 1) * 0.50)]; p99 = v[int((NR * 0.99) + 0.5)]
		if (p99 == "") p99 = v[NR]
		printf "enforcement latency over %d runs (ms, cordonctl return -> first dropped probe):\n", NR
		printf "  min %.3f  p50 %.3f  p99 %.3f  max %.3f\n", v[1], p50, p99, v[NR]
	}'
cdt_done
