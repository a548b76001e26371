#!/bin/bash
# Cuts survive everything short of a restore: the agent killed with -9, the
# agent restarted while it cannot reach the controller (with and without its
# nft table still in the kernel, as after a reboot), the controller stopped.
# The agent reconnects when the controller is back, and a restore then works.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init
topo_two_hosts
all_open vm11 vm12

vm_suspend vm11 all
ok "cordonctl suspend vm11 --scope all"
expect_cut vm11 public
expect_cut vm11 private
all_open vm12 vm21

# --- agent killed
kill9_agent hv1
ok "cordon-agent on hv1 killed with SIGKILL"
expect_stays_cut vm11 public 3
expect_cut vm11 private
expect_reach vm12 public
check "cordonctl agents shows hv1 disconnected within 15s" wait_until 15 agent_disconnected hv1
check "cordonctl agents still shows hv2 connected" agent_connected hv2

# --- agent restarted without a path to the controller
mgmt_link hv1 down
ok "hv1's management link is down"
start_agent hv1
ok "cordon-agent on hv1 restarted (answers status)"
expect_stays_cut vm11 public 3
expect_cut vm11 private
expect_reach vm12 public
expect_reach vm12 private
check "cordonctl agents: hv1 still disconnected (it cannot have reconnected)" agent_disconnected hv1

# --- as after a reboot: the kernel table is gone, the agent starts offline
kill9_agent hv1
host_nft hv1 delete table netdev cordon
ok "agent killed and table netdev cordon deleted on hv1 (simulated reboot)"
expect_reach vm11 public
ok "vm11 answers with neither agent nor table: the cut was the agent's table"
start_agent hv1
ok "cordon-agent on hv1 started with the management link still down"
expect_cut vm11 public
expect_cut vm11 private
expect_reach vm12 public
check "cordonctl agents: hv1 still disconnected" agent_disconnected hv1

# --- the link comes back
mgmt_link hv1 up
wait_agent_connected hv1 30
expect_stays_cut vm11 public 2
expect_cut vm11 private
check "cordonctl vms: vm11 enforced after the agent reconnected" \
	wait_until 15 vm_enforced vm11

# --- controller stopped
stop_controller
ok "cordond stopped (SIGTERM)"
expect_stays_cut vm11 public 4
expect_cut vm11 private
all_open vm12 vm21 vm22
check "both agents keep running without the controller" \
	eval 'pid_alive "${AGENT_PID[hv1]}" && pid_alive "${AGENT_PID[hv2]}"'

start_controller
ok "cordond started again"
wait_agent_connected hv1 30
wait_agent_connected hv2 30
check "cordonctl vms: vm11 still suspended (public, private) after the restart" \
	vms_jq 'any(.[]; .name == "vm11" and (.scopes | sort) == ["private","public"])'
check "cordonctl vms: vm11 enforced again" wait_until 15 vm_enforced vm11
expect_cut vm11 public

vm_restore vm11
ok "cordonctl restore vm11"
expect_reach vm11 public
expect_reach vm11 private
check "cordonctl vms: vm11 cuts nothing" wait_until 15 \
	vms_jq 'any(.[]; .name == "vm11" and .scopes == [] and .state != "pending")'

# --- the restore is persistent too: a restarted agent does not re-cut
kill9_agent hv1
start_agent hv1
wait_agent_connected hv1 30
expect_stays_open vm11 public 2
expect_reach vm11 private

# --- reboot with the agent's state lost: the controller's full desired set
# puts the cut back as soon as the agent connects
vm_suspend vm12 public
expect_cut vm12 public
check "cordonctl vms: vm12 enforced" wait_until 15 vm_enforced vm12
kill9_agent hv1
host_nft hv1 delete table netdev cordon
rm -rf "${CDT_TMP:?}/hv1/state"
mkdir "$CDT_TMP/hv1/state"
ok "agent killed, table deleted, agent state directory emptied"
expect_reach vm12 public
start_agent hv1
wait_agent_connected hv1 30
expect_cut vm12 public 15
expect_reach vm12 private
expect_reach vm11 public

cdt_done
