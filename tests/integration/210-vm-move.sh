#!/bin/bash
# A VM that moves to another host (migration, evacuation) keeps its cut:
# once the new host reports it, that host's agent cuts it there; while both
# list it (a live migration's overlap) both keep it cut, and the host it
# left lifts its state only once its own inventory no longer has the VM.
# Both hosts are simulated; the move is what their inventories say
# (re-read on SIGHUP), as libvirt events would.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
topo_two_hosts

vm_suspend vm12 all
expect_cut vm12 public
mac0=52:54:00:01:02:01
mac1=52:54:00:01:02:02
check "hv1's kernel holds vm12's cut (chains on its port vm2-pub)" \
	q host_holds hv1 "$mac0"

# The VM "migrates": gone from hv1 (its veths go down with its namespace),
# up on hv2 with the same uuid and MACs, an address of hv2's networks.
ip netns del "${VM_NS[vm12]}"
vns=${H_NS[hv2]}-vm9
mkns "$vns"
ip -n "${H_NS[hv2]}" link add vm9-pub type veth peer name eth0 netns "$vns"
ip -n "${H_NS[hv2]}" link add vm9-priv type veth peer name eth1 netns "$vns"
ip -n "${H_NS[hv2]}" link set vm9-pub master br-pub up
ip -n "${H_NS[hv2]}" link set vm9-priv master br-priv up
ip -n "$vns" link set eth0 address "$mac0"
ip -n "$vns" link set eth1 address "$mac1"
ip -n "$vns" addr add 198.18.21.19/24 dev eth0
ip -n "$vns" addr add 198.18.22.19/24 dev eth1
ip -n "$vns" link set eth0 up
ip -n "$vns" link set eth1 up

uuid=${VM_UUID[vm12]}
inv1=$CDT_TMP/hv1/inventory.json
inv2=$CDT_TMP/hv2/inventory.json
jq --arg u "$uuid" '.vms |= map(select(.uuid != $u))' "$inv1" >"$inv1.new" && mv "$inv1.new" "$inv1"
jq --arg u "$uuid" --arg m0 "$mac0" --arg m1 "$mac1" \
	'.vms += [{ uuid: $u, name: "vm12", interfaces: [
	   { mac: $m0, bridge: "br-pub", ips: ["198.18.21.19"] },
	   { mac: $m1, bridge: "br-priv", ips: ["198.18.22.19"] } ] }]' "$inv2" >"$inv2.new"
mv "$inv2.new" "$inv2"
# New host first: the controller sees the move even before the old host
# reports the VM gone.
kill -HUP "${AGENT_PID[hv2]}"
ok "vm12 now in hv2's inventory (SIGHUP to hv2's agent)"

both() { ctl --json vm show "$uuid" | jq -e '([.hosts[].host] == ["hv1", "hv2"]) and ([.hosts[].acked_generation] | all(. == '"$(vm_field vm12 generation)"')) and .state == "enforced"' >/dev/null; }
check "cordonctl vm show: vm12 listed by hv1 and hv2, enforced, acked by both" wait_until 10 both
hv2_ping() { probe_ping hv2 "$1" "$2"; }
check "public ping to vm12 on hv2 fails" wait_until 10 not hv2_ping public 198.18.21.19
check "private ping to vm12 on hv2 fails" wait_until 10 not hv2_ping private 198.18.22.19
check "vm21 on hv2 untouched" hv2_ping public "${VM_PUB[vm21]}"
check "hv1 still holds vm12's cut while its inventory lists it" q host_holds hv1 "$mac0"

kill -HUP "${AGENT_PID[hv1]}"
ok "vm12 removed from hv1's inventory (SIGHUP)"
moved() { ctl --json vms | jq -e --arg u "$uuid" 'any(.[]; .uuid == $u and .host == "hv2" and .state == "enforced" and ([.hosts[].host] == ["hv2"]))' >/dev/null; }
check "cordonctl vms: vm12 on hv2 only, still cut, acked by hv2" wait_until 10 moved
lifted_on_hv1() { host_lifted hv1 "$mac0" vm2-pub; }
check "hv1 lifted its cut of vm12's MAC once its own read no longer has it" wait_until 10 lifted_on_hv1
check "public ping to vm12 on hv2 still fails" not hv2_ping public 198.18.21.19

vm_restore "$uuid"
check "after restore, public ping to vm12 on hv2 passes" wait_until 10 hv2_ping public 198.18.21.19
check "after restore, private ping to vm12 on hv2 passes" wait_until 10 hv2_ping private 198.18.22.19
cdt_done
