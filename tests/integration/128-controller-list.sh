#!/bin/bash
# An agent with a list of controller endpoints (agent.conf controller = A, B)
# and the term fence. The first endpoint is dead (nothing listens there):
# the agent moves on to the live cordond, a cut then really blocks a ping,
# and `cordon-agent status --json` names the endpoint in use, the list and
# term 1. The term is in the agent's state directory and survives a
# restart. An agent that has accepted a newer term than the controller's
# (as after a newer leader) ignores its desired sets: a restore from it
# lifts nothing, counted in status and metrics, until the term is its own.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

DEAD=tcp://$CTL_ADDR:$((CTL_PORT + 1))
LIVE=tcp://$CTL_ADDR:$CTL_PORT
topo_one_host_unstarted 1
agent_keygen hv1
enroll_agent hv1
# One key for both: the instances of a region share their key pair.
write_agent_conf hv1 hv1 "controller = $DEAD, $LIVE"
start_controller
start_agent hv1
wait_agent_connected hv1 15
wait_vm_known vm11

st() { agent_status hv1 --json; }
check "status --json: the endpoint in use is the live one ($LIVE)" \
	q jq -e --arg e "$LIVE" '.controller.endpoint == $e' <<<"$(st)"
check "status --json: the configured list, in order" \
	q jq -e --arg d "$DEAD" --arg l "$LIVE" '.controller.endpoints == [$d, $l]' <<<"$(st)"
check "status --json: term 1 accepted" q jq -e '.controller.term == 1' <<<"$(st)"
check "status shows the list and the term" \
	eval 'agent_status hv1 | grep -q "^term *1 " && agent_status hv1 | grep -qF "$DEAD"'
check "the agent log says it moved on from the dead endpoint" \
	q grep -F "controller $DEAD: no connection; moving to $LIVE" "$CDT_TMP/hv1/agent.log"

vm_suspend vm11 public
expect_cut vm11 public
expect_reach vm11 private
check "cordonctl vms: vm11 enforced" wait_until 10 vm_enforced vm11
check "the term is saved in the state directory" \
	[ "$(cat "$CDT_TMP/hv1/state/term")" = 1 ]
if command -v curl >/dev/null; then
	m=$(ip netns exec "${H_NS[hv1]}" curl -sf http://127.0.0.1:9751/metrics) || m=
	check "metrics: cordon_agent_controller_term 1" \
		q grep -x 'cordon_agent_controller_term 1' <<<"$m"
fi

# ---- restart: the term is read back before anything is heard
stop_agent hv1
start_agent hv1
check "after a restart, status --json shows term 1 from the state directory" \
	q jq -e '.controller.term == 1' <<<"$(st)"
wait_agent_connected hv1 15
expect_stays_cut vm11 public 1

# ---- a term newer than the controller's: its sets are fenced off
stop_agent hv1
echo 7 >"$CDT_TMP/hv1/state/term"
start_agent hv1
vm_restore vm11
stale() { jq -e '.controller.stale_term_messages > 0' >/dev/null <<<"$(st)"; }
check "status --json: desired sets of term 1 ignored (the host accepted term 7)" \
	wait_until 10 stale
expect_stays_cut vm11 public 2
check "status --json: still term 7" q jq -e '.controller.term == 7' <<<"$(st)"
check "the agent logs the ignored set at warning with both terms" \
	q grep -E 'cordon-agent\[warning\].*ignoring a desired set of term 1, older than term 7' \
	"$CDT_TMP/hv1/agent.log"
check "cordond logs the agent's newer term" \
	q grep -F "agent hv1 has accepted term 7, above this leader's 1" "$CDT_TMP/ctl/cordond.log"
check "cordonctl vms: the restore is pending (hv1 acked nothing of term 1)" \
	vms_jq 'any(.[]; .name == "vm11" and .state == "pending" and .acked_generation < .generation)'
if command -v curl >/dev/null; then
	m=$(ip netns exec "${H_NS[hv1]}" curl -sf http://127.0.0.1:9751/metrics) || m=
	check "metrics: cordon_agent_stale_term_messages_total above 0" \
		q grep -E '^cordon_agent_stale_term_messages_total [1-9]' <<<"$m"
fi

# ---- back to the controller's term: the restore is applied
stop_agent hv1
echo 1 >"$CDT_TMP/hv1/state/term"
start_agent hv1
expect_reach vm11 public
check "cordonctl vms: the restore of vm11 acked" wait_until 10 \
	vms_jq 'any(.[]; .name == "vm11" and .scopes == [] and .acked_generation == .generation)'

cdt_done
