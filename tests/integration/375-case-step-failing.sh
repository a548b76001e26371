#!/bin/bash
# One step that fails every time does not block the other due steps behind
# it (issue 9). A phishing case is opened on a ladder with a reminder at
# 1 h; then the reminder is retired (the policy reloaded without it, its
# template deleted). The open case keeps its ladder, so at 1 h its reminder
# fails: the notification could never be rendered. The step is shown
# failing, with its error and retry time, in `case show` and `cordonctl
# status`, and audited once; at 4 h the other cases' cuts, its own cut and
# every call fire in the same batch as its retry, and the probes really
# fail. Retries back off 1, 2, 4 ... minutes up to an hour, survive a
# kill -9, and the step fires once the template is back. Then a store error
# on one case (a trigger refusing its call tasks): that call keeps failing
# while the other case's steps and its own cut fire.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
cdt_init
command -v sqlite3 >/dev/null || fail "tool sqlite3 is installed (scripts/install-deps.sh)"
cases_private_dirs
printf '%s\n' "category = phishing" "step 0   notify warning" "step 1h  notify reminder" \
	"step 2h  call" "step 4h  suspend public,private" >"$CDT_TMP/policies/phishing.policy"
topo_cases 3
all_open vm11 vm12 vm13
db=$CDT_TMP/ctl/cordon.db

# step_jq ID N FILTER [JQ ARGS...]: jq -e FILTER over step N of case ID.
step_jq() { case_jq "$1" "(.steps[] | select(.step == $2)) | $3" "${@:4}"; }
step_get() { case_get "$1" "(.steps[] | select(.step == $2)) | $3"; }
now() { ctl --json clock show | jq .now; }
# backoff_is ID ATTEMPTS SECONDS: case ID's reminder (step 2) failed
# ATTEMPTS times and is retried SECONDS after now.
backoff_is() {
	step_jq "$1" 2 '.state == "failing" and .attempts == $a and .next_try == $n' \
		--argjson a "$2" --argjson n "$(($(now) + $3))"
}
failing_count() { ctl --json status | jq -e ".steps_failing.count == $1" >/dev/null; }
# audit_has ID JQ-REGEX: an audit event of case ID whose detail matches.
audit_has() {
	ctl --json audit --case "$1" | jq -e --arg re "$2" 'any(.[]; .detail | test($re))' >/dev/null
}

clock_set 2026-11-23T10:00:00Z
case_open --category phishing --vm vm13 --contact f@example.org
idf=$CASE_ID
ok "phishing case $idf on vm13 opened at 10:00 on a ladder with a reminder at 1 h"
check "its warning is sent" wait_until 10 has_mails "$idf" 1

# ------------------------------------------------ the reminder retired
sed -i '/reminder/d' "$CDT_TMP/policies/phishing.policy"
rm "$CDT_TMP/templates/reminder.txt"
kill -HUP "$CTL_PID"
check "SIGHUP: cordond loads the phishing policy without the reminder" \
	wait_until 10 eval '! grep -q reminder <<<"$(ctl policy show phishing)"'
case_open --category phishing --vm vm11 --contact a@example.org
ida=$CASE_ID
case_open --category phishing --vm vm12 --contact b@example.org
idb=$CASE_ID
check "cases $ida and $idb (vm11, vm12) opened at 10:00 on the new ladder, warnings sent" \
	wait_until 10 eval 'has_mails $ida 1 && has_mails $idb 1'

clock_advance 1h
ok "cordonctl clock advance 1h: case $idf's reminder is due, its template is gone"
check "case show --json: the reminder of case $idf is failing, 1 attempt, retried in 60 s" \
	backoff_is "$idf" 1 60
check "case show --json: its last error names reminder.txt" \
	step_jq "$idf" 2 '.last_error | test("^template reminder: .*reminder\\.txt: No such file")'
out=$(ctl case show "$idf")
check "case show (text): 'failed 1 time(s), next try ...' under the step" \
	q grep -qE '^ +failed 1 time\(s\), next try 2026-11-23T11:01:00Z: template reminder' <<<"$out"
check "cordonctl status --json: one failing step, case $idf's, with its error and retry time" \
	q eval "ctl --json status | jq -e --argjson id $idf --argjson t $(epoch 2026-11-23T11:01:00Z) \
	  '.steps_failing.count == 1 and (.steps_failing.steps[0] | .case == \$id and .step == 2
	   and .action == \"notify reminder\" and .attempts == 1 and .next_try == \$t
	   and (.last_error | test(\"reminder.txt\")))'"
out=$(ctl status)
check "cordonctl status (text): 'failing steps  1' and the step with its error" \
	q eval 'grep -qx "failing steps  1" <<<"$out" &&
	        grep -qE "^  case $idf step 2 \(notify reminder\): 1 attempt\(s\), next try 2026-11-23T11:01:00Z: template reminder" <<<"$out"'
check "cordonctl case list (text): case $idf's next step is marked failing" \
	q eval "ctl case list | awk -v id=$idf '\$1 == id' | grep -q 'notify reminder (failing)'"
check "audit --case $idf: the first failure is audited" audit_has "$idf" '^step 2 failed: template reminder'
check "no reminder mail for case $idf" not has_reminder "$idf"
capture ctl case escalate "$idf"
check "case escalate $idf: refused in one line naming the failure ($OUT)" \
	eval '[ "$RC" = 1 ] && [ "$(wc -l <<<"$OUT")" = 1 ] && grep -q "step 2 failed: template reminder" <<<"$OUT"'
check "the refused escalate changed nothing: still 1 attempt" backoff_is "$idf" 1 60

# ------------------------------------------------ 4 h: one batch
clock_advance 3h
ok "cordonctl clock advance 3h (14:00): the retry, three calls and three cuts fall due together"
for vm in vm11 vm12 vm13; do
	expect_cut "$vm" public
	expect_cut "$vm" private
done
check "the calls of cases $ida, $idb and $idf are made" \
	wait_until 10 eval 'has_calls $ida 1 && has_calls $idb 1 && has_calls $idf 1'
check "case $idf's reminder failed again: 2 attempts, retried in 2 min" backoff_is "$idf" 2 120
check "cordond logs that the rest of the batch fired" \
	q grep -qE "scheduler: 6 step\(s\) fired, 1 failed" "$CDT_TMP/ctl/cordond.log"

# ------------------------------------------------ backoff: doubling, capped at 1 h
a=2
for wait in 240 480 960 1920 3600 3600; do
	clock_set "@$(step_get "$idf" 2 .next_try)"
	a=$((a + 1))
	check "at its retry time the step fails again: attempt $a, next in $wait s" \
		wait_until 10 backoff_is "$idf" "$a" "$wait"
done
check "the failure is audited once, not at every retry" \
	q eval "ctl --json audit --case $idf | jq -e '[.[] | select(.detail | test(\"failed\"))] | length == 1'"

before=$(step_get "$idf" 2 '{state, attempts, next_try, last_error}')
kill9_controller
start_controller --test-clock
wait_agent_connected hv1 30
ok "cordond killed with SIGKILL and started again"
check "the failing step, its attempts and its retry time are as before" \
	eval '[ "$(step_get "$idf" 2 "{state, attempts, next_try, last_error}")" = "$before" ]'
expect_stays_cut vm13 public 1

# ------------------------------------------------ the template is back
cases_make_reminder
clock_set "@$(step_get "$idf" 2 .next_try)"
check "at the next retry the reminder of case $idf goes out" wait_until 15 has_reminder "$idf"
check "case show --json: the step is done, its 8 failed attempts kept" \
	step_jq "$idf" 2 '.state == "done" and .attempts == 8 and .next_try == null'
check "audit: fired 'after 8 failed attempt(s)'" \
	audit_has "$idf" '^step 2: notify reminder .*after 8 failed attempt'
check "cordonctl status: no failing step" failing_count 0
for c in "$ida" "$idb" "$idf"; do case_ok "$c" resolve --note "done"; done
all_open vm11 vm12 vm13

# ------------------------------------------------ a store error on one case
clock_set 2026-11-25T10:00:00Z
case_open --category phishing --vm vm11 --contact g@example.org
idg=$CASE_ID
case_open --category phishing --vm vm12 --contact h@example.org
idh=$CASE_ID
sqlite3 -cmd ".timeout 5000" "$db" "CREATE TRIGGER test_refuse_call BEFORE INSERT ON calls
	WHEN NEW.case_id = $idg BEGIN SELECT RAISE(ABORT, 'call tasks refused for this test'); END;" ||
	fail "sqlite3 adds a trigger refusing case $idg's call tasks"
ok "a trigger in the store refuses every call task of case $idg"
clock_advance 4h
ok "cordonctl clock advance 4h: both cases' calls and cuts fall due"
expect_cut vm12 public
expect_cut vm11 public
expect_cut vm11 private
check "case $idh's call is made" wait_until 10 has_calls "$idh" 1
check "case $idg's call step is failing with the store's error" \
	case_jq "$idg" 'any(.steps[]; .action == "call" and .state == "failing" and .attempts == 1
	  and (.last_error | test("recording the call task: call tasks refused for this test")))'
check "case $idg's cut is done" \
	case_jq "$idg" 'any(.steps[]; .action == "suspend public,private" and .state == "done")'
check "cordonctl status: one failing step" failing_count 1
sqlite3 -cmd ".timeout 5000" "$db" "DROP TRIGGER test_refuse_call" || fail "sqlite3 drops the trigger"
clock_advance 2m
check "with the trigger gone, case $idg's call is made at its retry" wait_until 10 has_calls "$idg" 1
check "cordonctl status: no failing step" failing_count 0
for c in "$idg" "$idh"; do case_ok "$c" resolve --note "done"; done
all_open vm11 vm12

cdt_done
