#!/bin/bash
# Deadlines live in the store. cordond killed with -9 a minute before a
# phishing case's cut: after the restart the test clock and every due time
# are as before, and when the clock passes the deadline the cut fires exactly
# once (one audit event, however often the controller is killed again) and
# the VM's probes really fail. A step that falls due while the controller is
# down fires when it starts, and the audit says how late it was.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
cdt_init
topo_cases 2
all_open vm11 vm12

# step_events ID PREFIX: number of audit events of case ID whose detail
# starts with PREFIX ("step 3: ").
step_events() {
	ctl --json audit --case "$1" | jq --arg p "$2" '[.[] | select(.action == "step" and (.detail | startswith($p)))] | length'
}
# clock_near TIME: the controller's clock is within 30 s after TIME.
clock_near() {
	local now t
	now=$(ctl --json clock show | jq -r .now)
	t=$(epoch "$1")
	((now >= t && now < t + 30))
}
restart_hard() {
	kill9_controller
	ok "cordond killed with SIGKILL"
	start_controller --test-clock
	ok "cordond started again with --test-clock"
	wait_agent_connected hv1 30
}

clock_set 2026-11-23T10:00:00Z
case_open --category phishing --vm vm11 --contact a@example.org
id=$CASE_ID
ok "phishing case $id on vm11 opened at 10:00 (cut due 14:00)"
check "warning mail sent" wait_until 10 has_mails "$id" 1
clock_set 2026-11-23T13:59:00Z
check "at 13:59 the call hook ran (12:00 step)" wait_until 10 has_calls "$id" 1
before=$(case_get "$id" '[.steps[] | {step, due, state, fired_at}]')
expect_reach vm11 public

# ------------------------------------------------ kill -9 before the deadline
restart_hard
check "after the restart the test clock is still 13:59 (offset kept in the store)" clock_near 2026-11-23T13:59:00Z
check "cordonctl status shows the test clock" \
	q eval 'ctl --json status | jq -e ".test_clock == true"'
after=$(case_get "$id" '[.steps[] | {step, due, state, fired_at}]')
check "case $id's steps (due times, states) are unchanged by the restart" [ "$before" = "$after" ]
expect_stays_open vm11 public 1
check "the cut has not fired" [ "$(step_events "$id" "step 3: ")" = 0 ]

clock_advance 1m
ok "cordonctl clock advance 1m (past 14:00)"
expect_cut vm11 public
expect_cut vm11 private
check "the cut fired exactly once (one audit event for step 3)" [ "$(step_events "$id" "step 3: ")" = 1 ]

# ------------------------------------------------ killed again right after
restart_hard
expect_stays_cut vm11 public 2
expect_cut vm11 private
clock_advance 1h
check "after another kill -9, restart and an hour: still one audit event for step 3" \
	[ "$(step_events "$id" "step 3: ")" = 1 ]
check "and one for each of steps 1 and 2" \
	eval '[ "$(step_events "$id" "step 1: ")" = 1 ] && [ "$(step_events "$id" "step 2: ")" = 1 ]'
check "case show: every step done once" \
	case_jq "$id" '[.steps[].state] == ["done","done","done"]'
check "no second warning mail" [ "$(mail_count "$id")" = 1 ]

# ------------------------------------------------ due while the controller is down
clock_set 2026-11-24T10:00:00Z
case_open --category phishing --vm vm12 --contact b@example.org
id2=$CASE_ID
ok "phishing case $id2 on vm12 opened (cut due 14:00)"
clock_set 2026-11-24T13:59:59Z
kill9_controller
ok "cordond killed with SIGKILL one second before case $id2's cut"
expect_stays_open vm12 public 4
ok "the deadline passed while cordond was down"
start_controller --test-clock
ok "cordond started again"
wait_agent_connected hv1 30
expect_cut vm12 public
expect_cut vm12 private
check "the overdue cut fired once at start" [ "$(step_events "$id2" "step 3: ")" = 1 ]
check "its audit detail says how late it was" \
	q eval "ctl --json audit --case $id2 | jq -e 'any(.[]; .action == \"step\" and (.detail | test(\"^step 3: .*[0-9]+s late\")))'"
check "case show --json: late >= 3 s on the suspend step" \
	case_jq "$id2" 'any(.steps[]; .action == "suspend public,private" and .state == "done" and .late >= 3)'
expect_stays_cut vm11 public 1

# ------------------------------------------------ a clean stop loses nothing either
clock_set 2026-11-25T10:00:00Z
case_open --category compromise --vm vm12 --contact b@example.org
id3=$CASE_ID
before=$(case_get "$id3" '[.steps[] | {step, due, state}]')
stop_controller
start_controller --test-clock
wait_agent_connected hv1 30
after=$(case_get "$id3" '[.steps[] | {step, due, state}]')
check "SIGTERM and restart: compromise case $id3's steps unchanged" [ "$before" = "$after" ]
check "the cases of vm11 and vm12 are all still open" \
	list_jq '[.[] | select(.state == "open")] | length == 3'

for c in "$id" "$id2" "$id3"; do case_ok "$c" resolve --note "done"; done
expect_reach vm11 public
expect_reach vm12 public
expect_reach vm12 private

cdt_done
