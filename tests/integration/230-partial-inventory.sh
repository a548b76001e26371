#!/bin/bash
# An inventory the agent could not fully read never lifts a cut. The agent
# of hv1 restarts while libvirtd is down (its socket does not exist): after
# its wait it greets the controller with no VMs, marked incomplete. The
# controller keeps hv1's VMs bound and cut, the agent keeps every cut it
# holds; a probe judges. Once hv1 reads its inventory again, a restore (the
# controller's decision) still lifts.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
topo_one_host 2

vm_cut_all vm11

stop_agent hv1
conf=$CDT_TMP/hv1/agent.conf
cp "$conf" "$conf.static"
sed -i -e '/^inventory_file/d' "$conf"
sed -i -e "/^\[agent\]/a inventory = libvirt\nlibvirt_uri = qemu+unix:///system?socket=$CDT_TMP/no-libvirtd.sock" "$conf"
start_agent hv1
ok "hv1's agent restarted with libvirt as its inventory, libvirtd unreachable"

greeted() { grep -q "greeting the controller without" "$CDT_TMP/hv1/agent.log"; }
check "the agent greets the controller without an inventory (after its wait)" wait_until 20 greeted
check "cordonctl agents: hv1 connected" wait_until 10 agent_connected hv1
expect_stays_cut vm11 public 4
expect_stays_cut vm11 private 2
incomplete() { agents_jq 'any(.[]; .host == "hv1" and .inventory_complete == false)'; }
check "cordonctl agents --json: hv1's inventory_complete is false" incomplete
# Acked, with the agent saying why it cannot be sure: state "error".
bound() { vms_jq --arg u "${VM_UUID[vm11]}" 'any(.[]; .uuid == $u and .host == "hv1" and .state == "error" and (.error | test("whole inventory")))'; }
check "cordonctl vms: vm11 still on hv1, state error: the host could not read its whole inventory" wait_until 5 bound
check "hv1's kernel still holds vm11's cut" q host_holds hv1 "$(vm_mac vm11 public)"
held() { agent_status hv1 --json | jq -e --arg u "${VM_UUID[vm11]}" 'any(.vms[]; .uuid == $u and (.scopes | length) > 0)' >/dev/null; }
check "cordon-agent status: vm11 still cut" held

# The operator restores while the host cannot read its inventory: the
# controller's decision lifts (the VM is still bound to hv1).
vm_restore vm11
check "restore while the inventory is incomplete: public ping to vm11 passes" \
	wait_until 10 vm_ping vm11 public

# A new cut on a VM the host cannot read: it has no MACs for it, and the
# controller must not show it enforced.
vm_suspend vm12 public
unknown() { vms_jq --arg u "${VM_UUID[vm12]}" 'any(.[]; .uuid == $u and .state == "error" and (.error | test("inventory")))'; }
check "suspend vm12 while hv1 cannot read it: state error, not enforced" wait_until 10 unknown
stop_agent hv1
cp "$conf.static" "$conf"
start_agent hv1
wait_agent_connected hv1
complete() { agents_jq 'any(.[]; .host == "hv1" and .inventory_complete == true)'; }
check "back on its static inventory: hv1's inventory_complete is true" wait_until 10 complete
expect_cut vm12 public
check "cordonctl vms: vm12 enforced" wait_until 10 vm_enforced vm12
vm_restore vm12
check "after restore, public ping to vm12 passes" wait_until 10 vm_ping vm12 public
cdt_done
