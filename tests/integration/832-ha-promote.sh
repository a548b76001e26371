#!/bin/bash
# Two PostgreSQL clusters with synchronous streaming replication; cordond's
# store names both hosts (target_session_attrs=read-write). Cases, steps,
# a hold and the agent's acks are acknowledged to cordonctl; then the
# primary is stopped (immediate, as a crash) and the standby promoted by
# hand with pg_ctl promote. cordond loses its session, stops acting, finds
# the promoted standby through the same conninfo and leads again under a
# new term: everything cordonctl saw before the stop is there, cuts hold
# (pings fail), and a resolve then restores the VM.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
HA_STANDBY=1
. "$(dirname "$0")/../ha.sh"
cdt_init
ha_topology 2

start_controller --test-clock
start_agent hv1
check "the agent is on a" wait_until 15 agent_on "$HA_A"
wait_vm_known vm11
wait_vm_known vm12
all_open vm11 vm12

ha_phishing_case
id=$CASE_ID
clock_advance 2h
check "the call hook runs" wait_until 10 has_calls "$id" 1
clock_advance 2h
expect_cut vm11 public
vm_suspend vm12 private
expect_cut vm12 private
check "both VMs acked by the agent" wait_until 10 \
	vms_jq 'all(.[]; .acked_generation == .generation and (.scopes | length) >= 1)'
ctl case note "$id" "customer called back" >/dev/null || fail "cordonctl case note"

before_case=$(ctl --json case show "$id" | jq -S 'del(.now) | del(.. | .due_in?)')
before_audit=$(ctl --json audit | jq -S '[.[] | {id, action, detail, case}]')
before_vms=$(ctl --json vms | jq -S '[.[] | {uuid, name, scopes, generation, acked_generation}]')
check "before the stop: 3 steps done, a note, the hold" \
	q jq -e '([.steps[] | select(.state == "done")] | length) == 3' <<<"$before_case"

now_ms
t0=$NOW_MS
pg_stop ha
ok "primary stopped (immediate)"
pg_promote hastandby
ok "standby promoted (pg_ctl promote)"
check "cordond says it lost the session" wait_until 15 \
	q grep -F "not acting any more (was the leader of term 1)" "$CDT_TMP/ctl/cordond.log"
check "cordond leads again, on the promoted standby, under term 2" wait_until 30 \
	eval 'role_is a leader a && [ "$(term_of a)" = 2 ]'
now_ms
note "cordond leading on the promoted standby $((NOW_MS - t0)) ms after the primary stopped (promotion included)"
check "cordonctl status: database reachable" \
	q jq -e '.controller.database == "reachable"' <<<"$(ctl --json status)"

check "the case is as cordonctl saw it before the stop" \
	[ "$(ctl --json case show "$id" | jq -S 'del(.now) | del(.. | .due_in?)')" = "$before_case" ]
check "the audit: every row from before the stop, none lost" \
	[ "$(ctl --json audit | jq -S --argjson n "$(jq length <<<"$before_audit")" \
		'[.[:$n][] | {id, action, detail, case}]')" = "$before_audit" ]
check "the VMs: holds, generations and acks as before" \
	[ "$(ctl --json vms | jq -S '[.[] | {uuid, name, scopes, generation, acked_generation}]')" = "$before_vms" ]
check "the agent follows the new term" wait_until 20 \
	eval "agent_status hv1 --json | jq -e '.controller.term == 2' >/dev/null"
expect_stays_cut vm11 public 1
expect_stays_cut vm12 private 1

ctl case resolve "$id" --note "page removed" >/dev/null || fail "cordonctl case resolve after the promote"
expect_reach vm11 public
vm_restore vm12
expect_reach vm12 private
check "a new case opens on the promoted standby (ids go on)" \
	eval 'case_open --category phishing --vm vm12 --contact bob@example.org --source t --evidence - <<<x; [ "$CASE_ID" -gt "$id" ]'
cdt_done
