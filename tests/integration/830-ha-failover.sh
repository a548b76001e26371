#!/bin/bash
# Two cordond on one PostgreSQL store (tests/ha.sh): a leads, b follows. A
# phishing case runs on a to one minute (test clock) before its cut; then a
# is killed with SIGKILL. b takes the lock and term 2 within seconds, the
# agent follows it, and when the clock reaches the cut it fires exactly
# once: a probe's ping to the VM fails on both networks, and the audit
# shows one suspend step, written by instance b (the warning and the call
# by a). a comes back as a follower: it answers reads, refuses changes
# naming b, and says who leads in status. Resolving on b brings the VM
# back.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
. "$(dirname "$0")/../ha.sh"
cdt_init
ha_topology 1

start_controller --test-clock
check "a leads (status: role leader, term 1, database reachable)" \
	q jq -e '.controller.role == "leader" and .controller.term == 1 and .controller.instance == "a"
		 and .controller.database == "reachable" and .controller.store == "postgresql"' \
	<<<"$(ctl --json status)"
start_b --test-clock
check "b follows and names a as the leader, with its endpoint" \
	q jq -e --arg a "$HA_A" '.controller.role == "follower" and .controller.leader == "a"
		 and .controller.leader_endpoint == $a and .controller.term == 1' <<<"$(ctlb --json status)"
check "b logs that it follows a" q grep -F "following: a leads (term 1)" "$CDT_TMP/ctlb/cordond.log"
ha_agent_up

ha_phishing_case
id=$CASE_ID
check "the warning mail goes out (a's outbox)" wait_until 10 has_mails "$id" 1
clock_advance 2h
check "the call hook runs once" wait_until 10 has_calls "$id" 1
clock_advance 1h59m
expect_stays_open vm11 public 1
check "one minute before the cut: the suspend step is still pending" \
	case_jq "$id" 'any(.steps[]; .action == "suspend public,private" and .state == "pending")'

now_ms
t0=$NOW_MS
kill9_controller
check "b takes over within 10 s of a's SIGKILL" wait_until 10 role_is b leader b
now_ms
t1=$NOW_MS
note "b acting $((t1 - t0)) ms after the SIGKILL"
check "b's term is 2 (the lock and a new term, in one transaction)" [ "$(term_of b)" = 2 ]
check "b logs it acts as the leader of term 2" \
	q grep -F "acting as the leader, term 2 (instance b" "$CDT_TMP/ctlb/cordond.log"
check "the agent follows b" wait_until 15 agent_on "$HA_B"
now_ms
t2=$NOW_MS
note "the agent on b $((t2 - t0)) ms after the SIGKILL"
check "the agent accepted term 2" \
	q jq -e '.controller.term == 2' <<<"$(agent_status hv1 --json)"

if command -v curl >/dev/null; then
	m=$(ip netns exec "$HA_B_NS" curl -sf http://127.0.0.1:9750/metrics) || m=
	check "b's metrics: cordon_controller_leader{instance=\"b\"} 1, term 2, database up" \
		q eval 'grep -qx "cordon_controller_leader{instance=\"b\"} 1" <<<"$m" &&
			grep -qx "cordon_controller_term 2" <<<"$m" &&
			grep -qx "cordon_controller_database_up 1" <<<"$m"'
fi
ctlb clock advance 2m >/dev/null || fail "cordonctl clock advance on b"
expect_cut vm11 public
expect_cut vm11 private
check "the audit shows one suspend step, written by b" \
	[ "$(step_events b "$id" suspend "")" = 1 -a "$(step_events b "$id" suspend b)" = 1 ]
check "... the warning and the call written by a, once each" \
	[ "$(step_events b "$id" 'warning|call' a)" = 2 -a "$(step_events b "$id" . "")" = 3 ]
check "cordonctl audit (text) names the instance of the step" \
	q grep -E 'cordond +step .*suspend.*\(instance b\)' <<<"$(ctlb audit --case "$id")"
check "one call task, one warning mail: nothing fired again by b" \
	[ "$(call_count "$id")" = 1 -a "$(mail_count "$id")" = 1 ]

# ---- a comes back: a follower of b
start_controller --test-clock
check "a restarted is a follower naming b" wait_until 10 role_is a follower b
check "a answers reads: case show has the suspend done" \
	case_jq "$id" 'any(.steps[]; .action == "suspend public,private" and .state == "done")'
out=$(ctl case note "$id" "from the follower" 2>&1) && fail "a note on the follower is refused"
note "refused: $out"
check "a change on the follower is refused, naming the leader b and its endpoint" \
	q grep -F "is not the leader, nothing changed; the leader is b ($HA_B, term 2)" <<<"$out"
check "... and nothing was written" \
	not q grep -F "from the follower" <<<"$(ctlb --json case show "$id")"
check "cordonctl status (text) on a: follower, the leader b" \
	q eval 'ctl status | grep -E "^instance +a, follower, term 2" && ctl status | grep -E "^leader +b at $HA_B"'
if command -v curl >/dev/null; then
	m=$(ip netns exec "$CTL_NS" curl -sf http://127.0.0.1:9750/metrics) || m=
	check "a's metrics: cordon_controller_leader{instance=\"a\"} 0, lease 0" \
		q eval 'grep -qx "cordon_controller_leader{instance=\"a\"} 0" <<<"$m" &&
			grep -qx "cordon_controller_lease_seconds 0" <<<"$m"'
fi
check "cordonctl status (text) on b: leader, lease left" \
	q eval 'ctlb status | grep -E "^lease +[0-9]+ ms left of 5000"'

ctlb case resolve "$id" --note "page removed, confirmed by mail" >/dev/null ||
	fail "cordonctl case resolve on b"
expect_reach vm11 public
expect_reach vm11 private
cdt_done
