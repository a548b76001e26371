#!/bin/bash
# A suspend issued while the VM's agent is offline is accepted, shown
# pending, and applied as soon as the agent is back; a restore issued while
# it is offline again is likewise applied when it returns.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
topo_two_hosts
all_open vm11 vm12

stop_agent hv1
ok "cordon-agent on hv1 stopped"
check "cordonctl agents shows hv1 disconnected within 15s" wait_until 15 agent_disconnected hv1

vm_suspend vm11 public
ok "cordonctl suspend vm11 --scope public accepted while hv1 is offline"
check "cordonctl vms --json: vm11 state \"pending\", scopes [public], acked < generation" \
	vms_jq 'any(.[]; .name == "vm11" and .state == "pending" and .scopes == ["public"]
	         and (.acked_generation // 0) < .generation)'
out=$(ctl vms)
check "cordonctl vms (table) shows vm11 pending" q grep -E 'vm11.*pending' <<<"$out"
check "cordonctl agents --json: hv1 has 1 pending" \
	agents_jq 'any(.[]; .host == "hv1" and .pending == 1)'
st=$(ctl --json status)
check "cordonctl status --json counts a pending VM" \
	q jq -e '[.. | objects | to_entries[] | select(.key | test("pending")) | .value | numbers] | any(. >= 1)' <<<"$st"
# Nobody enforces it yet: with the agent down the VM still answers.
expect_reach vm11 public

start_agent hv1
ok "cordon-agent on hv1 started"
wait_agent_connected hv1 30
expect_cut vm11 public 15
expect_reach vm11 private
all_open vm12 vm21
check "cordonctl vms --json: vm11 state becomes \"enforced\", acked = generation" \
	wait_until 15 vm_enforced vm11
check "cordonctl agents --json: hv1 has 0 pending, 1 enforced" wait_until 10 \
	agents_jq 'any(.[]; .host == "hv1" and .pending == 0 and .enforced == 1)'

# --- and the other way round: restore while offline
stop_agent hv1
check "cordonctl agents shows hv1 disconnected within 15s" wait_until 15 agent_disconnected hv1
vm_restore vm11
ok "cordonctl restore vm11 accepted while hv1 is offline"
check "cordonctl vms --json: vm11 state \"pending\" with no scopes" \
	vms_jq 'any(.[]; .name == "vm11" and .state == "pending" and .scopes == [])'
expect_stays_cut vm11 public 2
start_agent hv1
wait_agent_connected hv1 30
expect_reach vm11 public 15
check "cordonctl vms --json: vm11 state no longer pending, acked = generation" \
	wait_until 15 vms_jq 'any(.[]; .name == "vm11" and .state != "pending"
	                         and .acked_generation == .generation)'

# --- a pending suspend survives a controller crash
stop_agent hv1
check "cordonctl agents shows hv1 disconnected within 15s" wait_until 15 agent_disconnected hv1
vm_suspend vm12 all
ok "cordonctl suspend vm12 --scope all accepted while hv1 is offline"
kill9_controller
ok "cordond killed with SIGKILL right after"
start_controller
ok "cordond started again"
check "cordonctl vms --json: vm12 still pending with public and private" \
	vms_jq 'any(.[]; .name == "vm12" and .state == "pending" and (.scopes | sort) == ["private","public"])'
start_agent hv1
wait_agent_connected hv1 30
expect_cut vm12 public 15
expect_cut vm12 private
expect_reach vm11 public
check "cordonctl vms --json: vm12 enforced" wait_until 15 vm_enforced vm12

cdt_done
