#!/bin/bash
# The leader loses the database but not the agents: an nft rule in a's
# namespace drops its packets to PostgreSQL's port. a stops acting within
# its lease (5 s) and says so in its log and status; the server ends a's
# silent session later, b takes the lock and term 2; the agent follows b.
# Nothing fires twice: the cut a made stays one step in the audit, and
# resolving on b restores the VM. A message of the former leader that
# arrives late (a restore of term 1, from tests/tools/notleader on a third
# endpoint the agent lists) is ignored: the VM stays cut by b's hold. With
# the rule gone, a is back on the database as a follower of b.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
HA_AGENT_EXTRA=tcp://$CTL_ADDR:$((CTL_PORT + 7)) # the former leader's late message
. "$(dirname "$0")/../ha.sh"
cdt_init
ha_topology 1

start_controller --test-clock
start_b --test-clock
ha_agent_up

ha_phishing_case
id=$CASE_ID
clock_advance 2h
check "the call hook runs once" wait_until 10 has_calls "$id" 1
clock_advance 2h
expect_cut vm11 public
check "a made the cut (audit: the suspend step, instance a)" \
	[ "$(step_events a "$id" suspend a)" = 1 ]

# ---- a loses PostgreSQL, keeps the agents
ip netns exec "$CTL_NS" nft -f - <<EOF
table inet cdt_pgblock {
	chain out {
		type filter hook output priority 0; policy accept;
		ip daddr $HA_PG_ADDR tcp dport 5432 drop
	}
}
EOF
on_exit ip netns exec "$CTL_NS" nft delete table inet cdt_pgblock
now_ms
t0=$NOW_MS
stopped() { grep -qF "not acting any more (was the leader of term 1)" "$CDT_TMP/ctl/cordond.log"; }
check "a stops acting within its lease and logs why" wait_until 12 stopped
now_ms
note "a stopped acting $((NOW_MS - t0)) ms after the rule (lease 5000 ms, confirmed every 1666 ms)"
check "b takes the lock and term 2" wait_until 20 role_is b leader b
now_ms
note "b leads $((NOW_MS - t0)) ms after the rule"
check "a's log says it lost the session or could not confirm it" \
	q grep -E "not acting any more.*(lost the database session|could not confirm)" \
	"$CDT_TMP/ctl/cordond.log"
check "a's status: follower, database unreachable, why" wait_until 15 \
	eval "ctl --json status | jq -e '.controller.role == \"follower\" and
		.controller.database == \"unreachable\" and (.controller.not_acting | test(\"database\"))'"
check "the agent follows b, term 2" wait_until 20 agent_on "$HA_B"
check "... and accepted term 2" q jq -e '.controller.term == 2' <<<"$(agent_status hv1 --json)"
expect_stays_cut vm11 public 1

ctlb case resolve "$id" --note "page removed" >/dev/null || fail "cordonctl case resolve on b"
expect_reach vm11 public
check "no step fired twice: one suspend in the audit, 3 steps in all" \
	[ "$(step_events b "$id" suspend "")" = 1 -a "$(step_events b "$id" . "")" = 3 ]
check "one warning mail, one call" [ "$(mail_count "$id")" = 1 -a "$(call_count "$id")" = 1 ]

# ---- the former leader's late message
ctlb suspend vm11 --scope public --reason "held by b" >/dev/null || fail "cordonctl suspend on b"
expect_cut vm11 public
gen=$(ctlb --json vms | jq -r '.[] | select(.name == "vm11") | .generation')
late=$CDT_TMP/ctl/late.log
ip netns exec "$CTL_NS" "$CDT_BUILD/tools/notleader" "$CDT_TMP/ctl/controller.cert_secret" \
	"$HA_AGENT_EXTRA" - 1 "$(vm_uuid_of 1 1)" $((gen + 10)) >"$late" 2>&1 &
on_exit kill "$!"
_log_register "$late"
# b goes away cleanly; a is off the database and sends the agent on.
stop_b
sent() { grep -q '^sent desired term 1' "$late"; }
check "the agent reaches the former leader's endpoint and gets its term-1 restore" \
	wait_until 30 sent
stale() { jq -e '.controller.stale_term_messages > 0' >/dev/null <<<"$(agent_status hv1 --json)"; }
check "the agent ignores it (status: a stale-term message, term 2 kept)" wait_until 10 stale
check "... term 2 kept" q jq -e '.controller.term == 2' <<<"$(agent_status hv1 --json)"
expect_stays_cut vm11 public 2
check "the agent logs the ignored set" \
	q grep -E 'ignoring a desired set of term 1, older than term 2' "$CDT_TMP/hv1/agent.log"

# ---- the rule goes: a is on the database again
ip netns exec "$CTL_NS" nft delete table inet cdt_pgblock
start_b --test-clock
check "a reaches the database again and leads or follows b" wait_until 30 \
	eval 'role_is a leader || role_is a follower b'
lead=a
role_is b leader && lead=b
check "one leader, under a term above 2" [ "$(term_of $lead)" -gt 2 ]
check "the agent follows the leader and the hold stays" wait_until 30 \
	eval 'agent_on "$HA_A" || agent_on "$HA_B"'
expect_stays_cut vm11 public 1
cdt_done
