#!/bin/bash
# An agent with a list of controller endpoints (agent.conf controller = A, B)
# and the term fence. The first endpoint is dead (nothing listens there):
# the agent moves on to the live cordond, a cut then really blocks a ping,
# and `cordon-agent status --json` names the endpoint in use, the list and
# term 1. The term is in the agent's state directory and survives a
# restart. An agent that has accepted a newer term than the controller's
# (its store restored from an older copy) says so in its hello: the leader
# takes a term above it and the host follows it again.
# Then followers (tests/tools/notleader, answering NotLeader as a cordond
# that is not the acting leader does): one naming the live cordond sends the
# agent straight there, past a dead endpoint listed before it; one naming an
# endpoint the host admin did not list is not followed; two naming each
# other get a handful of hellos, not a tight loop.
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

# ---- a term newer than the controller's (its store restored from an older
# copy): the hello carries it, and the leader takes a term above it before
# it answers, so the host follows it again instead of staying fenced off.
# (A late set from a former leader is fenced: test 830.)
stop_agent hv1
echo 7 >"$CDT_TMP/hv1/state/term"
start_agent hv1
wait_agent_connected hv1 15
check "cordond takes term 8 and says why" wait_until 10 \
	q grep -F "an agent has seen term 7 (the store was restored from an older copy?): acting under term 8 now" "$CDT_TMP/ctl/cordond.log"
term8() { jq -e '.controller.term == 8' >/dev/null <<<"$(st)"; }
check "status --json: the agent accepted term 8" wait_until 10 term8
check "cordonctl status --json: the controller's term is 8" \
	q jq -e '.controller.term == 8' <<<"$(ctl --json status)"
vm_restore vm11
expect_reach vm11 public
check "cordonctl vms: the restore of vm11 acked under term 8" wait_until 10 \
	vms_jq 'any(.[]; .name == "vm11" and .scopes == [] and .acked_generation == .generation)'
check "the agent ignored no set (none was older than its term)" \
	q jq -e '.controller.stale_term_messages == 0' <<<"$(st)"
stop_controller
start_controller
wait_agent_connected hv1 15
check "the term survives a restart of cordond (store)" \
	q jq -e '.controller.term == 8' <<<"$(ctl --json status)"

# ---- followers
NOTLEADER=$CDT_BUILD/tools/notleader
follower() { # PORT LEADER: a NotLeader answerer in the controller's namespace
	local log=$CDT_TMP/ctl/notleader-$1.log
	ip netns exec "$CTL_NS" "$NOTLEADER" "$CDT_TMP/ctl/controller.cert_secret" \
		"tcp://$CTL_ADDR:$1" "$2" 1 >"$log" 2>&1 &
	on_exit kill "$!"
	_log_register "$log"
}
hellos() { cat "$CDT_TMP"/ctl/notleader-*.log 2>/dev/null | grep -c '^hello hv1' || true; }
restart_with() { # CONTROLLER LIST
	stop_agent hv1
	write_agent_conf hv1 hv1 "controller = $1"
	start_agent hv1
}
FA=tcp://$CTL_ADDR:$((CTL_PORT + 2))
FB=tcp://$CTL_ADDR:$((CTL_PORT + 3))
L1=tcp://$CTL_ADDR:$((CTL_PORT + 4))
L2=tcp://$CTL_ADDR:$((CTL_PORT + 5))
follower $((CTL_PORT + 2)) "$LIVE"
follower $((CTL_PORT + 3)) tcp://198.18.0.99:7440
follower $((CTL_PORT + 4)) "$L2"
follower $((CTL_PORT + 5)) "$L1"
live_in_use() { jq -e --arg e "$LIVE" '.controller.endpoint == $e and .controller.link == "connected"' \
	>/dev/null <<<"$(st)"; }

: >"$CDT_TMP/hv1/agent.log"
restart_with "$FA, $DEAD, $LIVE"
check "a follower naming the live cordond: the agent is there within 3 s" wait_until 3 live_in_use
check "... straight from the follower, not through the dead endpoint" \
	q grep -F "controller $FA: not the acting leader (term 1; leader $LIVE); moving to $LIVE" \
	"$CDT_TMP/hv1/agent.log"
check "... and it never tried the dead one" not grep -qF "moving to $DEAD" "$CDT_TMP/hv1/agent.log"

restart_with "$FB, $LIVE"
check "a follower naming an endpoint not in the list: the agent goes to the next" \
	wait_until 10 live_in_use
check "... and logs the endpoint it did not follow" \
	q grep -F "names tcp://198.18.0.99:7440, which is not in this host's controller list" \
	"$CDT_TMP/hv1/agent.log"

restart_with "$L1, $L2"
n0=$(hellos)
sleep 6
n=$(( $(hellos) - n0 ))
check "two followers naming each other: $n hellos in 6 s (backoff to the heartbeat, 500 ms here: at least 3, at most 20; a tight loop would be thousands)" \
	[ "$n" -ge 3 -a "$n" -le 20 ]
check "status --json: the link says not-leader or connecting, term 8 kept" \
	q jq -e '(.controller.link == "not-leader" or .controller.link == "connecting"
		 or .controller.link == "hello-sent") and .controller.term == 8' <<<"$(st)"
check "the agent is still running" pid_alive "${AGENT_PID[hv1]}"

cdt_done
