#!/bin/bash
# An agent upgraded in place: the previous release (MAC enforcement) left
# its state file, which has no ports, and its `bridge cordon` table in the
# kernel. The new agent, started with no controller anywhere, converts:
# before it connects to anyone, vm11's cut moves onto its ports and the
# bridge table goes, in one batch. A probe pinging vm11 every 20 ms through
# the whole upgrade never gets an answer.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

topo_one_host_unstarted 2
setup_agent hv1
all_open vm11 vm12

# What the previous release wrote (format of commit 36d5d8c: no "ports").
mac=52:54:00:01:01:01
cat >"$CDT_TMP/hv1/state/state.json" <<JSON
{ "version": 1, "vms": [ { "uuid": "${VM_UUID[vm11]}", "generation": 3,
  "scopes": ["public"], "power_off": false,
  "macs": { "public": ["$mac"], "private": [], "smtp": [] } } ] }
JSON
# ... and the table it asserted (its layout, without the smtp chain).
host_nft hv1 -f - <<NFT
table bridge cordon {
	map cut { type ether_addr : verdict; elements = { $mac : drop } }
	chain pre { type filter hook prerouting priority -300; policy accept; ether saddr vmap @cut; }
	chain post { type filter hook postrouting priority -300; policy accept; ether daddr vmap @cut; }
}
NFT
expect_cut vm11 public
ok "previous release's state file and bridge table in place; vm11 cut by MAC"

# A probe pinging every 20 ms from before the start until well after it.
pings=$CDT_TMP/upgrade-ping.txt
ip netns exec "${H_NS[hv1]}-public" ping -n -q -i 0.02 -W 0.1 -c 250 "${VM_PUB[vm11]}" \
	>"$pings" 2>&1 &
pinger=$!
sleep 0.5
mgmt_link hv1 down
start_agent hv1
ok "new cordon-agent started over it, controller unreachable"

by_port() { [ "$(iface_field hv1 "$mac" enforcement)" = port ]; }
check "status: vm11's public interface is cut on its port" wait_until 10 by_port
check "status: the port is vm1-pub" [ "$(iface_field hv1 "$mac" port)" = vm1-pub ]
no_bridge() { agent_status hv1 --json | jq -e '.nft.bridge_table == false' >/dev/null; }
check "status: no bridge table any more" wait_until 10 no_bridge
check "the kernel has no bridge cordon table" not q host_nft hv1 list table bridge cordon
check "the kernel has vm1-pub's chains" q host_nft hv1 list chain netdev cordon in_vm1-pub
check "the state file now records the port" \
	q jq -e --arg m "$mac" '.vms[0].ports[$m] == "vm1-pub"' "$CDT_TMP/hv1/state/state.json"
wait "$pinger" || true
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$pings")
note "probe during the upgrade: $(grep -E 'transmitted' "$pings")"
check "not one of the probe's pings answered during the upgrade (${received:-?} received)" \
	[ "${received:-x}" = 0 ]
expect_reach vm11 private
expect_reach vm12 public

# The cut is the controller's to lift. This controller's store is new: it
# never decided vm11's cut, and a decision it does not know of was still
# made (by the store it replaces). It keeps the cut as a hold of its own,
# shown and audited, until an operator restores vm11; then nothing is left
# behind.
start_controller
mgmt_link hv1 up
wait_agent_connected hv1
expect_stays_cut vm11 public 2
check "cordonctl vm show vm11: kept as cordond's hold" \
	q eval 'ctl --json vm show vm11 | jq -e "any(.holds[]; .uid == null and .scopes == \"public\")"'
vm_restore vm11
expect_reach vm11 public 15
check "nothing of vm11 left in the kernel" host_lifted hv1 "$mac" vm1-pub
cdt_done
