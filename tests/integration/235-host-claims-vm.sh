#!/bin/bash
# A hypervisor host is trusted for its own ports only. hv1's inventory
# starts listing vm21's uuid (vm21 runs on hv2 and is cut): hv2 keeps the
# cut, the controller shows the VM on both hosts, and only when hv2's own
# read no longer has the VM, or the controller decides, is it lifted.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
topo_two_hosts

vm_cut_all vm21
uuid=${VM_UUID[vm21]}

inv1=$CDT_TMP/hv1/inventory.json
cp "$inv1" "$inv1.orig"
jq --arg u "$uuid" '.vms += [{ uuid: $u, name: "vm21", interfaces: [
	   { mac: "52:54:00:aa:bb:01", bridge: "br-pub", ips: ["198.18.11.99"] } ] }]' \
	"$inv1" >"$inv1.new"
mv "$inv1.new" "$inv1"
kill -HUP "${AGENT_PID[hv1]}"
ok "hv1's inventory now also lists vm21's uuid (SIGHUP)"

reloaded() { [ "$(grep -c 'inventory reloaded (SIGHUP)' "$CDT_TMP/hv1/agent.log")" -ge "$1" ]; }
check "hv1's agent reloaded its inventory" wait_until 10 reloaded 1
sleep 1
expect_stays_cut vm21 public 4
expect_stays_cut vm21 private 2
both() { ctl --json vm show "$uuid" | jq -e '[.hosts[].host] | sort == ["hv1", "hv2"]' >/dev/null; }
check "cordonctl vm show vm21: listed by hv1 and hv2" both
check "hv2's kernel still holds vm21's cut" q host_holds hv2 "$(vm_mac vm21 public)"
on_hv2() { vms_jq --arg u "$uuid" 'any(.[]; .uuid == $u and .host == "hv2")'; }
check "cordonctl vms: vm21's host is still hv2" on_hv2
text_both() { local t; t=$(ctl vm show "$uuid") && grep -q hv1 <<<"$t" && grep -q hv2 <<<"$t"; }
check "cordonctl vm show (text) names both hosts" text_both
hv1_cut() { agent_status hv1 --json | jq -e --arg u "$uuid" 'any(.vms[]; .uuid == $u and (.scopes | length) > 0)' >/dev/null; }
check "hv1 got vm21's desired state too (its status lists it cut)" wait_until 10 hv1_cut

mv "$inv1.orig" "$inv1"
kill -HUP "${AGENT_PID[hv1]}"
ok "hv1 stops listing vm21 (SIGHUP)"
one() { ctl --json vm show "$uuid" | jq -e '[.hosts[].host] == ["hv2"]' >/dev/null; }
check "cordonctl vm show vm21: listed by hv2 only" wait_until 10 one
expect_stays_cut vm21 public 2
check "cordonctl vms: vm21 enforced" wait_until 10 vm_enforced vm21

vm_restore vm21
check "after restore, public ping to vm21 passes" wait_until 10 vm_ping vm21 public
check "after restore, private ping to vm21 passes" wait_until 10 vm_ping vm21 private
cdt_done
