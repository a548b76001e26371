#!/bin/bash
# Desired state, not commands: bursts of suspend/restore (some issued while
# the agent's link is down, some across an agent crash) converge to what the
# last command asked for, and nothing else.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

topo_one_host 3
all_open vm11 vm12 vm13

# converged VM SCOPES-JSON: desired scopes as given, acked = generation.
converged() {
	vms_jq --arg n "$1" --argjson s "$2" \
		'any(.[]; .name == $n and (.scopes | sort) == $s and .acked_generation == .generation
		          and .state != "pending")'
}

# --- a burst, agent connected
for i in 1 2 3 4 5 6 7 8; do
	ctl suspend vm11 --scope public >/dev/null
	ctl restore vm11 >/dev/null
	ctl suspend vm11 --scope all >/dev/null
	ctl suspend vm12 --scope private >/dev/null
	ctl restore vm12 >/dev/null
done
ctl suspend vm11 --scope private >/dev/null
ok "41 suspend/restore commands in a burst; last: vm11 private, vm12 restored"
check "cordonctl vms: vm11 converges to [private], acked" wait_until 20 converged vm11 '["private"]'
check "cordonctl vms: vm12 converges to [], acked" wait_until 20 converged vm12 '[]'
expect_cut vm11 private
expect_reach vm11 public
all_open vm12 vm13

# --- commands while the link is down
mgmt_link hv1 down
ok "hv1's management link down"
ctl suspend vm12 --scope all >/dev/null
ctl restore vm12 >/dev/null
ctl suspend vm12 --scope public >/dev/null
ctl restore vm11 >/dev/null
ctl suspend vm13 --scope all >/dev/null
ctl restore vm13 >/dev/null
ok "while it is down: vm12 all/restore/public, vm11 restore, vm13 all/restore"
expect_stays_cut vm11 private 1
expect_reach vm12 public
mgmt_link hv1 up
ok "hv1's management link up"
wait_agent_connected hv1 30
check "cordonctl vms: vm12 converges to [public]" wait_until 20 converged vm12 '["public"]'
check "cordonctl vms: vm11 converges to []" wait_until 20 converged vm11 '[]'
check "cordonctl vms: vm13 converges to []" wait_until 20 converged vm13 '[]'
expect_cut vm12 public
expect_reach vm12 private
expect_reach vm11 private
expect_reach vm11 public
expect_stays_open vm13 public 1
expect_reach vm13 private

# --- an agent crash in the middle
kill9_agent hv1
ctl suspend vm13 --scope public >/dev/null
ctl restore vm12 >/dev/null
start_agent hv1
ctl suspend vm11 --scope all >/dev/null
ok "agent killed; vm13 public, vm12 restore; agent restarted; vm11 all"
wait_agent_connected hv1 30
check "cordonctl vms: vm11 [private, public], vm12 [], vm13 [public], all acked" \
	wait_until 20 eval 'converged vm11 "[\"private\",\"public\"]" && converged vm12 "[]" &&
	                    converged vm13 "[\"public\"]"'
expect_cut vm11 public
expect_cut vm11 private
expect_reach vm12 public
expect_reach vm12 private
expect_cut vm13 public
expect_reach vm13 private

cdt_done
