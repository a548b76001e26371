#!/bin/bash
# bench/port_recreate.sh [RUNS]: a cut VM's port deleted and re-created
# (as a reboot or `virsh destroy`+`start` re-creates a tap): time until the
# cut holds on the new device.
#
# Method: tests/lib.sh topology, one VM cut in public scope. Each run
# deletes the host-side veth vm1-pub (the VM's eth0 goes with it), then at
# t0 re-creates it as topo_vm does (peer into the VM namespace, MAC, address,
# bridge, up) and polls `cordon-agent status --json` every 5 ms until the
# interface shows enforcement "port" again (the agent has seen the link
# event and its chains hold): t1 - t0, including the re-creation commands
# and one status round trip (a few ms of the figure); and from t0 to the
# agent's log line for the link event (the kernel, since 6.16, has bound
# the kept chains to the new device when it was registered, before that
# line; older kernels get the chains from it). Each run also sends
# one ping from the probe right after t1: it must fail. p50 / p99 over RUNS.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-100}
CDT_PREFIX=cdr$$
. tests/lib.sh
cdt_init
topo_one_host 1
vm_suspend vm11 public
expect_cut vm11 public
h=${H_NS[hv1]}
mac=52:54:00:01:01:01
res=$CDT_TMP/recreate.txt
: >"$res"
leaks=0
for run in $(seq 1 "$RUNS"); do
	ip -n "$h" link del vm1-pub
	wait_until 5 eval '[ "$(iface_field hv1 $mac enforcement)" = "port missing" ]' ||
		fail "run $run: status shows port missing"
	now_ms; t0=${EPOCHREALTIME/./}
	vm_plug vm11 public
	while [ "$(iface_field hv1 $mac enforcement)" != port ]; do sleep 0.005; done
	t1=${EPOCHREALTIME/./}
	# The agent's log line for the link event (UTC time of day, ms).
	back=$(grep "port vm1-pub of a cut interface is back" "$CDT_TMP/hv1/agent.log" | tail -1 |
		awk '{ split($1, t, "[:.]"); print ((t[1] * 60 + t[2]) * 60 + t[3]) * 1000 + t[4] }')
	day0=$(((t0 / 1000) % 86400000))
	echo "$(((t1 - t0) / 1000)) $((back - day0))" >>"$res"
	if PING_W=0.3 vm_ping vm11 public; then leaks=$((leaks + 1)); fi
done
pct() { sort -n | awk -v what="$1" '
	{ v[NR] = $1 }
	END {
		p50 = v[int((NR + 1) * 0.50)]; p99 = v[int((NR * 0.99) + 0.5)]
		if (p99 == "") p99 = v[NR]
		printf "%s over %d runs (ms): p50 %d, p99 %d, max %d\n", what, NR, p50, p99, v[NR]
	}'; }
cut -d' ' -f2 "$res" | pct "port re-created -> the agent has handled its link event (agent log)"
cut -d' ' -f1 "$res" | pct "port re-created -> status shows it cut on the port (incl. status round trip)"
echo "pings answered right after: $leaks of $RUNS"
cdt_done >/dev/null
