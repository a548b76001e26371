#!/bin/bash
# bench/agent_rss.sh [VMS]: agent resident memory when idle with VMS VMs
# (default 1000) enforced.
#
# Method: one controller, one simulated host whose static inventory lists
# VMS VMs (each two interfaces, each with a port: 2 chains each on a device
# that does not exist; no namespaces needed for them: nothing is
# probed here). Every VM is suspended with scope all through cordonctl;
# once `cordon-agent status` shows them all enforced and the agent has
# been idle 3 s, VmRSS is read from /proc.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
CDT_PREFIX=cdr$$
. tests/lib.sh
cdt_init

topo_controller
ctl_keygen
write_controller_conf
topo_host hv1 1
inv=$CDT_TMP/hv1/inventory.json
python3 - "$N" "$inv" <<'PY'
import json, sys
n, path = int(sys.argv[1]), sys.argv[2]
vms = []
for i in range(n):
    vms.append({"uuid": "b0b0b0b0-0000-4000-8000-%012d" % i, "name": "bench%d" % i,
                "interfaces": [
                    {"mac": "02:00:%02x:%02x:%02x:01" % (i >> 16 & 255, i >> 8 & 255, i & 255),
                     "bridge": "br-pub", "port": "tap%dp" % i,
                     "ips": ["198.19.%d.%d" % (i // 250, i % 250 + 1)]},
                    {"mac": "02:00:%02x:%02x:%02x:02" % (i >> 16 & 255, i >> 8 & 255, i & 255),
                     "bridge": "br-priv", "port": "tap%dq" % i, "ips": []}]})
json.dump({"vms": vms}, open(path, "w"))
PY
setup_agent hv1
start_controller
start_agent hv1
wait_until 30 agent_connected hv1 || fail "agent connects"
start=$EPOCHREALTIME
for i in $(seq 0 $((N - 1))); do
	ctl suspend "bench$i" --scope all >/dev/null
done
end=$EPOCHREALTIME
all_enforced() { [ "$(agent_status hv1 --json | jq '.enforced_count')" = "$N" ]; }
wait_until 120 all_enforced || fail "agent enforces all $N VMs"
sleep 3
pid=${AGENT_PID[hv1]}
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
awk '/^(Rss|Pss|Private_Dirty|Anonymous|Shared_Clean|Private_Clean)/ { printf "%s %s kB; ", $1, $2 } END { print "" }' "/proc/$pid/smaps_rollup" | sed "s/^/smaps_rollup: /"
printf '%d suspends through cordonctl in %.2f s (%.1f ms each, CLI process included)\n' \
	"$N" "$(echo "$end - $start" | bc)" "$(echo "($end - $start) * 1000 / $N" | bc -l)"
echo "agent enforced: $(agent_status hv1 --json | jq '.enforced_count') VMs, $(agent_status hv1 --json | jq '.nft.elements.public + .nft.elements.private') MACs"
echo "agent VmRSS idle with $N VMs enforced: $rss KiB"
cdt_done
