#!/bin/bash
# Manual power-off is its own part of a VM's hold: `cordonctl poweroff`
# marks the VM to be off (with the static inventory the agent records it:
# the libvirt tests power real guests off), `restore` lifts only the network
# cut, `poweron` only the power-off; lifting what is not there is refused.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
topo_two_hosts

vm_suspend vm11 public
expect_cut vm11 public
out=$(ctl poweroff vm11 --reason "virus, ticket 9") || fail "cordonctl poweroff vm11 succeeds: $out"
ok "cordonctl poweroff vm11: $out"
power_enforced() {
	vms_jq 'any(.[]; .name == "vm11" and .power_off == true and .scopes == ["public"] and .state == "enforced")'
}
check "cordonctl vms --json: vm11 power_off, still cut public, enforced (acked)" wait_until 10 power_enforced
check "cordon-agent status --json on hv1 records the power-off for vm11" \
	q jq -e --arg u "${VM_UUID[vm11]}" 'any(.vms[]; .uuid == $u and .power_off == true)' \
	<<<"$(agent_status hv1 --json)"
check "cordonctl vm show vm11 shows the manual hold with power off" \
	q grep -E 'manual: cut public, power off' <<<"$(ctl vm show vm11)"

vm_restore vm11
expect_reach vm11 public
check "after restore vm11 is still to be powered off" \
	vms_jq 'any(.[]; .name == "vm11" and .power_off == true and .scopes == [])'

out=$(ctl poweron vm11) || fail "cordonctl poweron vm11 succeeds: $out"
power_lifted() { vms_jq 'any(.[]; .name == "vm11" and .power_off == false and .state == "none")'; }
check "after poweron vm11 has nothing desired and it is acked" wait_until 10 power_lifted

rc=0
out=$(ctl poweron vm11 2>&1) || rc=$?
check "a second poweron is refused (exit 1, one line): $out" \
	[ "$rc" = 1 ] && [ "$(wc -l <<<"$out")" = 1 ]
rc=0
out=$(ctl poweroff nosuchvm 2>&1) || rc=$?
check "poweroff of an unknown VM is refused (exit 1): $out" [ "$rc" = 1 ]
expect_reach vm12 public
cdt_done
