#!/bin/bash
# Sixteen agents reconnect to a restarted cordond within 15 s while
# control clients stall each turn of its loop: a client that connects and
# sends nothing holds a turn up to the control socket's 2 s read timeout
# (as the load of bench/load_agents.sh holds one for each request's
# fsync). Each agent's CURVE handshake waits for the ZAP reply of that
# loop, and a handshake not done in 5 s is dropped: with one ZAP request
# answered per turn, each agent took a 2 s turn, most timed out and
# started again (200 agents under 50 parallel cordonctl: 5.4-6.1 s). Then
# the cut held through the restart (probe), and a suspend made after it is
# enforced (probe).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

N=16
topo_controller
ctl_keygen
write_controller_conf
topo_host hv1 1
topo_vm hv1 1 1
topo_vm hv1 1 2
setup_agent hv1
for ((i = 2; i <= N; i++)); do
	topo_sim_host "hv$i" "$i"
	sim_vms "hv$i" 20
	setup_agent "hv$i"
done
start_controller
for ((i = 1; i <= N; i++)); do start_agent_nowait "hv$i"; done
check "all $N agents connected" wait_until 30 status_jq ".agents_connected == $N"
vm_suspend vm11 all
expect_cut vm11 public

# Each agent's sessions before the kill: a reconnect is one more.
declare -A sessions=()
for ((i = 1; i <= N; i++)); do
	sessions[hv$i]=$(agent_status "hv$i" --json | jq .controller.sessions)
done
# Reconnected, seen from each agent's status socket (the control socket is
# stalled): a new session, and the full desired set of the new cordond.
reconnected() {
	local i
	for ((i = 1; i <= N; i++)); do
		agent_status "hv$i" --json | jq -e --argjson s "${sessions[hv$i]}" \
			'.controller.link == "connected" and .controller.sessions > $s' >/dev/null || return 1
	done
}
kill9_controller
# Four stallers: each connects, sends nothing until cordond closes, again;
# so a stalled connection is always waiting and each turn of the loop
# holds 2 s.
stall() {
	while :; do nc -dU "$CDT_TMP/ctl/control.sock" </dev/null >/dev/null 2>&1 || sleep 0.05; done
}
for s in 1 2 3 4; do
	stall &
	on_exit kill "$!"
done
# Watched from the start (start_controller waits for an answer behind
# the stallers): how long until every agent is reconnected.
now_ms
t0=$NOW_MS
(wait_until 40 reconnected && now_ms && echo $((NOW_MS - t0)) >"$CDT_TMP/reconnected_ms") &
watcher=$!
start_controller
wait "$watcher" || true
took=$(cat "$CDT_TMP/reconnected_ms" 2>/dev/null || echo never)
check "all $N agents reconnect within 15 s of cordond's start while clients stall it ($took ms)" \
	eval '[ "$took" != never ] && ((took <= 15000))'
expect_stays_cut vm11 public 2
vm_suspend vm12 public
expect_cut vm12 public 30
stop_agents_all
cdt_done
