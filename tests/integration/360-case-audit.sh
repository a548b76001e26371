#!/bin/bash
# Every change is audited with when (the controller's clock) and who: the
# operator's uid from the control socket (0 here) for cordonctl actions, the
# controller itself (uid null, shown "cordond") for the steps it fires.
# `audit --case` and `--since` filter; notes and call confirmations land in
# the case's history; `cordonctl status` shows the test clock.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
cdt_init
topo_cases 2

out=$(ctl status)
check "cordonctl status (text) announces the test clock" q grep -qi 'test clock' <<<"$out"
check "cordonctl --json status: test_clock true" \
	q eval 'ctl --json status | jq -e ".test_clock == true"'

clock_set 2026-11-23T10:00:00Z
case_open --category phishing --vm vm11 --contact a@example.org
id1=$CASE_ID
case_open --category outbound-attack --vm vm12 --contact b@example.org
id2=$CASE_ID
expect_cut vm12 public
clock_advance 2h
check "the call task of case $id1 exists" wait_until 10 has_calls "$id1" 1
case_ok "$id1" note "customer phoned back, promised a fix"
case_ok "$id1" called --note "left a voicemail"
check "cordonctl case list: no call left to make for case $id1" \
	list_jq --argjson id "$id1" 'any(.[]; .id == $id and .calls_open == 0)'
out=$(ctl case list)
check "cordonctl case list (text): the CALL column of case $id1 is empty" \
	q eval "awk -v id=$id1 '\$1 == id' <<<\"\$out\" | grep -vq 'a@example\.org'"
case_ok "$id1" respond --note "customer: kit removed"
since=2026-11-23T12:30:00Z
clock_set "$since"
case_ok "$id1" resolve --note "confirmed in writing"
case_ok "$id2" resolve --note "attack stopped"
expect_reach vm12 public

audit=$(ctl --json audit)
check "audit --json: every operator action has uid 0" \
	q jq -e '[.[] | select(.action == "open" or .action == "note" or .action == "called"
	     or .action == "respond" or .action == "resolve" or .action == "clock")]
	   | length >= 8 and all(.[]; .uid == 0)' <<<"$audit"
check "audit --json: the clock moves are audited" \
	q jq -e '[.[] | select(.action == "clock")] | length == 3' <<<"$audit"
check "audit --json: every step event is the controller's (uid null)" \
	q jq -e '[.[] | select(.action == "step")] | length >= 4 and all(.[]; .uid == null)' <<<"$audit"
check "audit --json: case $id1's events in order open, step, step, note, called, respond, resolve" \
	q jq -e --argjson id "$id1" '[.[] | select(.case == $id) | .action] ==
	   ["open","step","step","note","called","respond","resolve"]' <<<"$audit"
check "audit --json: the call step of case $id1 is stamped 12:00 on the test clock" \
	q jq -e --argjson id "$id1" --argjson t "$(epoch 2026-11-23T12:00:00Z)" \
	'any(.[]; .case == $id and .action == "step" and (.detail | test("call")) and .at >= $t and .at < $t + 60)' <<<"$audit"
check "audit --json: the resolve keeps the note and the VM" \
	q jq -e --argjson id "$id1" 'any(.[]; .case == $id and .action == "resolve"
	   and .detail == "confirmed in writing" and .vm_name == "vm11")' <<<"$audit"

a1=$(ctl --json audit --case "$id1")
check "audit --case $id1: only case $id1's events, all of them" \
	q jq -e --argjson id "$id1" 'length == 7 and all(.[]; .case == $id)' <<<"$a1"
check "audit --case $id2: only case $id2's events (open, 2 steps, resolve)" \
	q eval "ctl --json audit --case $id2 | jq -e 'length == 4 and all(.[]; .case == $id2)'"
check "audit --since $since: only the events from then on (clock, 2 resolves)" \
	q eval "ctl --json audit --since $since | jq -e '[.[].action] == [\"clock\",\"resolve\",\"resolve\"]'"

out=$(ctl audit --case "$id1")
check "audit (text): the operator shown as 'uid 0'" q grep -qE ' uid 0 +open ' <<<"$out"
check "audit (text): the controller's steps shown as 'cordond'" q grep -qE ' cordond +step ' <<<"$out"

show=$(ctl --json case show "$id1")
check "case show --json: the events are the audit trail of the case" \
	q jq -e '[.events[].action] == ["open","step","step","note","called","respond","resolve"]' <<<"$show"
check "case show --json: the note is in the history" \
	q jq -e 'any(.events[]; .action == "note" and .detail == "customer phoned back, promised a fix" and .uid == 0)' <<<"$show"
check "case show --json: the call task is done with its note" \
	q jq -e '.calls == [.calls[0]] and .calls[0].state == "done" and .calls[0].note == "left a voicemail"
	   and .calls[0].contact == "a@example.org"' <<<"$show"

# Known bug (see the report), checked last: the text history of case show
# prints the event's time where the operator ("uid 0") should be.
out=$(ctl case show "$id1")
check "case show (text): history shows the operator as 'uid 0' (got: $(grep -m1 ' open ' <<<"$out"))" \
	q grep -qE '^ +[0-9TZ:-]+ +open +uid 0 ' <<<"$out"

cdt_done
