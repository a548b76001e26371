#!/bin/bash
# The static inventory file is re-read on SIGHUP (a new VM becomes known and
# can be cut; a broken file changes nothing), and a cut follows the VM's MAC
# through a tap rename and a re-created interface (VM reboot).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

topo_one_host 1
check "cordonctl vms does not list vm12 yet" not vm_known vm12

# --- a VM appears: added to the file, SIGHUP
topo_vm hv1 1 2
kill -HUP "${AGENT_PID[hv1]}"
ok "vm12 added to hv1's inventory file, SIGHUP sent to the agent"
check "cordonctl vms lists vm12 on hv1 within 15s" wait_until 15 \
	vms_jq 'any(.[]; .name == "vm12" and .host == "hv1")'
check "cordon-agent is still running" pid_alive "${AGENT_PID[hv1]}"
vm_suspend vm12 all
expect_cut vm12 public
expect_cut vm12 private
expect_reach vm11 public
check "cordonctl vms: vm12 enforced" wait_until 15 vm_enforced vm12

# --- a broken inventory file on SIGHUP changes nothing
inv=$CDT_TMP/hv1/inventory.json
cp "$inv" "$inv.good"
echo '{ "vms": [ { "uuid": ' >"$inv"
kill -HUP "${AGENT_PID[hv1]}"
ok "inventory file truncated to invalid JSON, SIGHUP sent"
expect_stays_cut vm12 public 2
check "cordon-agent is still running" pid_alive "${AGENT_PID[hv1]}"
check "cordonctl vms still lists vm11 and vm12 on hv1" \
	vms_jq '[.[] | select(.host == "hv1") | .name] | sort == ["vm11","vm12"]'
check "cordonctl agents: hv1 still connected" agent_connected hv1
# --- a port naming the VM's bridge (it would cut every VM on it) is refused
jq '(.vms[] | select(.name == "vm11") | .interfaces[0].port) = "br-pub"' "$inv.good" >"$inv"
kill -HUP "${AGENT_PID[hv1]}"
refused() { grep -q '"port" br-pub is a bridge or the loopback' "$CDT_TMP/hv1/agent.log"; }
check "a port naming the bridge br-pub is refused, with the reason logged" wait_until 5 refused
expect_reach vm11 public
expect_stays_cut vm12 public 1
mv "$inv.good" "$inv"
kill -HUP "${AGENT_PID[hv1]}"

# --- tap rename (as libvirt does across restarts of a domain)
hns=${H_NS[hv1]}
ip -n "$hns" link set vm2-pub down
ip -n "$hns" link set vm2-pub name vnet42
ip -n "$hns" link set vnet42 up
ok "vm12's public tap renamed vm2-pub -> vnet42"
expect_stays_cut vm12 public 2

# --- VM reboot: the interface is destroyed and created again, same MAC
ip -n "$hns" link del vnet42
ip -n "$hns" link add vnet43 type veth peer name eth0 netns "${VM_NS[vm12]}"
ip -n "$hns" link set vnet43 master br-pub up
ip -n "${VM_NS[vm12]}" link set eth0 address 52:54:00:01:02:01
ip -n "${VM_NS[vm12]}" addr add "${VM_PUB[vm12]}/24" dev eth0
ip -n "${VM_NS[vm12]}" link set eth0 up
ok "vm12's public interface re-created as vnet43 with the same MAC"
expect_stays_cut vm12 public 3
expect_cut vm12 private
expect_reach vm11 public

vm_restore vm12
expect_reach vm12 public
expect_reach vm12 private

cdt_done
