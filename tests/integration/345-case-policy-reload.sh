#!/bin/bash
# A policy reloaded under an open case does not change the case's ladder
# (issue 9). A phishing case is opened on the shipped ladder (warn, call at
# 2 h, cut at 4 h); then phishing.policy gets a reminder inserted before the
# call and cordond reloads it (SIGHUP), and is even restarted. The open
# case keeps the ladder it was opened with: no reminder, the call at 2 h is
# the call, and at 4 h the VM's public and private networks really stop
# answering. `case show` shows the ladder the case follows and that it
# differs from the current policy; a new case follows the new policy.
# `case replan` applies the current policy to the open case: the steps that
# fired stay fired (matched by action), the inserted reminder, overdue,
# fires now, the cut holds, and the replan is audited with the caller's uid.
# Replan of an unknown or resolved case is refused in one line; replan of a
# case that already follows the current policy changes nothing. Last, a
# store from before ladders were kept (the last migration undone) is
# upgraded: its open case adopts the policy loaded at the first start.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
cdt_init
command -v sqlite3 >/dev/null || fail "tool sqlite3 is installed (scripts/install-deps.sh)"
cases_private_dirs
topo_cases 2
all_open vm11 vm12

# step_field ID N FIELD: FIELD of step N (1-based, the ladder's order) of case ID.
step_field() { case_get "$1" "[.steps[] | select(.step == $2)][0].$3"; }
restart() {
	stop_controller
	start_controller --test-clock
	wait_agent_connected hv1 30
}

t0=2026-11-23T10:00:00Z
clock_set "$t0"
case_open --category phishing --vm vm11 --contact a@example.org
id1=$CASE_ID
ok "phishing case $id1 on vm11 opened at 10:00 on the shipped ladder"
check "its warning mail is sent" wait_until 10 has_mails "$id1" 1

# ------------------------------------------------ a step inserted, reloaded
cat >"$CDT_TMP/policies/phishing.policy" <<-'EOF'
	category = phishing
	clock = wall
	description = Phishing page or kit hosted on the VM
	step 0   notify warning
	step 1h  notify reminder         # inserted before the call
	step 2h  call
	step 4h  suspend public,private
EOF
kill -HUP "$CTL_PID"
check "SIGHUP: cordond loads the phishing policy with the reminder" \
	wait_until 10 eval 'ctl policy show phishing | grep -qE "^step 1h +notify reminder"'

clock_advance 1h
ok "cordonctl clock advance 1h (11:00)"
check "no reminder for case $id1 (it keeps its ladder)" never_within 3 has_reminder "$id1"
restart
ok "cordond restarted (SIGTERM, start): the ladder is in the store, not in memory"
clock_advance 1h
ok "cordonctl clock advance 1h (12:00, 2 h after the opening)"
check "the call hook runs for case $id1: the call at 2 h is the call" wait_until 10 has_calls "$id1" 1
check "still no reminder and one warning for case $id1" \
	eval '! has_reminder "$id1" && [ "$(subject_count "$id1" Warning)" = 1 ]'
expect_stays_open vm11 public 1

clock_advance 2h
ok "cordonctl clock advance 2h (14:00, 4 h after the opening)"
expect_cut vm11 public
expect_cut vm11 private
expect_reach vm12 public
check "cordonctl vms: vm11 enforced with public and private cut" wait_until 10 \
	vms_jq 'any(.[]; .name == "vm11" and .state == "enforced" and (.scopes | sort) == ["private","public"])'
check "case show --json: the three steps of its own ladder, all done" \
	case_jq "$id1" '[.steps[] | .action + " " + .state] ==
	  ["notify warning done", "call done", "suspend public,private done"]'
check "case show --json: the ladder the case follows (3 steps) differs from the current policy" \
	case_jq "$id1" '.ladder.current == false and (.ladder.steps | length) == 3
	  and (.ladder.current_id | type) == "number" and .ladder.current_id != .ladder.id
	  and (.ladder.text | test("step 2h +call"))'
check "cordond logs that an open case follows an older ladder" \
	wait_until 10 grep -qE "1 open case.* an older ladder" "$CDT_TMP/ctl/cordond.log"
check "cordonctl status --json: one open case on an older ladder" \
	q eval 'ctl --json status | jq -e ".cases_old_ladder == 1"'
out=$(ctl case show "$id1")
check "case show (text): the ladder's steps and that it differs from the current policy" \
	q eval 'grep -qE "^ladder .*differs from the current phishing policy" <<<"$out" &&
	        grep -qE "case replan $id1" <<<"$out" && grep -qE "^  +step 2h +call" <<<"$out"'

# ------------------------------------------------ a new case: the new ladder
case_open --category phishing --vm vm12 --contact b@example.org
id2=$CASE_ID
ok "phishing case $id2 on vm12 opened at 14:00"
check "case show --json: case $id2 follows the current policy (4 steps)" \
	case_jq "$id2" '.ladder.current == true and (.ladder.steps | length) == 4'
clock_advance 1h
ok "cordonctl clock advance 1h (15:00)"
check "the reminder of case $id2 is sent at 1 h" wait_until 10 has_reminder "$id2"
expect_reach vm12 public

# ------------------------------------------------ replan
fired_before=$(case_get "$id1" '[.steps[] | {action, due, fired_at}] | sort_by(.fired_at)')
json=$(ctl --json case replan "$id1")
check "cordonctl --json case replan $id1: from the old ladder to the current one, 3 fired steps kept" \
	q jq -e --argjson id "$id1" '.id == $id and .changed == true and .kept == 3 and .history == 0
	  and .planned == 1 and .from != .to' <<<"$json"
check "case show --json: case $id1 now follows the current policy" \
	case_jq "$id1" '.ladder.current == true and (.ladder.steps | length) == 4'
check "the fired steps stay fired with their due and fire times" \
	eval '[ "$(case_get "$id1" "[.steps[] | select(.action != \"notify reminder\")
	   | {action, due, fired_at}] | sort_by(.fired_at)")" = "$fired_before" ]'
check "the inserted reminder, due 11:00, fires now (overdue)" wait_until 10 has_reminder "$id1"
check "case show --json: the reminder is step 2, done, late" \
	eval '[ "$(step_field "$id1" 2 action) $(step_field "$id1" 2 state)" = "notify reminder done" ] &&
	      [ "$(step_field "$id1" 2 late)" -ge 3600 ]'
expect_stays_cut vm11 public 2
expect_cut vm11 private
check "one call and one warning for case $id1, whatever was replanned" \
	eval '[ "$(call_count "$id1")" = 1 ] && [ "$(subject_count "$id1" Warning)" = 1 ]'
check "audit --case $id1: the replan by uid 0, naming both ladders" \
	q eval "ctl --json audit --case $id1 | jq -e 'any(.[]; .action == \"replan\" and .uid == 0
	  and (.detail | test(\"ladder #[0-9]+ -> #[0-9]+\")))'"
check "cordonctl status --json: no open case on an older ladder now" \
	q eval 'ctl --json status | jq -e ".cases_old_ladder == 0"'
out=$(ctl case replan "$id1")
check "replan again: nothing to do, said in one line ($out)" \
	q eval '[ "$(wc -l <<<"$out")" = 1 ] && grep -q "already follows the current" <<<"$out"'
check "and no second replan event" \
	q eval "ctl --json audit --case $id1 | jq -e '[.[] | select(.action == \"replan\")] | length == 1'"

# refused ARGS...: cordonctl ARGS exits 1, one line, the case unchanged.
refused() {
	local re=$1 before err rc
	shift
	before=$(snapshot)
	set +e
	ctl "$@" >/dev/null 2>"$CDT_TMP/err"
	rc=$?
	set -e
	err=$(cat "$CDT_TMP/err")
	if [ "$rc" != 1 ] || [ "$(wc -l <<<"$err")" != 1 ] || ! grep -qE "^cordonctl: .*$re" <<<"$err"; then
		fail "cordonctl $* exits 1 with one line /$re/ (got $rc: '$err')"
	elif [ "$before" != "$(snapshot)" ]; then
		fail "cordonctl $* changes nothing"
	else
		ok "cordonctl $*: exit 1, '$err', nothing changed"
	fi
}
refused "no case 999" case replan 999
case_ok "$id2" resolve --note "kit removed"
refused "case $id2 is resolved" case replan "$id2"
capture ctl case replan
check "case replan without an id: usage, exit 2 ($RC)" \
	eval '[ "$RC" = 2 ] && grep -q "usage: cordonctl case replan ID" <<<"$OUT"'
check "cordonctl --help describes case replan" q eval 'grep -q "case replan ID" <<<"$(ctl --help)"'

case_ok "$id1" resolve --note "confirmed in writing"
all_open vm11 vm12

# ------------------------------------------------ a store from before ladders
case_open --category phishing --vm vm11 --contact a@example.org
id3=$CASE_ID
ok "phishing case $id3 opened at 15:00"
stop_controller
db=$CDT_TMP/ctl/cordon.db
v=$(sqlite3 "$db" 'PRAGMA user_version')
# Undo the migrations of controller/store.c after schema 5 (leadership;
# the retention indexes; the owner's contact; report mails and the address history; then
# the ladders), as a store written by a cordond from before ladders would
# be. A migration added later must be undone here too.
sqlite3 "$db" <<-SQL || fail "sqlite3 turns the store back into schema 5"
	DROP TABLE leader;
	ALTER TABLE audit DROP COLUMN instance;
	DROP INDEX audit_unbound;
	DROP INDEX notifications_created;
	DROP INDEX case_reports_report;
	ALTER TABLE vms DROP COLUMN contact;
	DROP TABLE ip_history;
	DROP TABLE reports;
	DROP TABLE report_keys;
	DROP TABLE report_matches;
	ALTER TABLE case_reports DROP COLUMN report;
	DROP INDEX cases_unbound;
	DROP INDEX cases_ladder;
	ALTER TABLE cases DROP COLUMN ladder_id;
	DROP TABLE ladders;
	DROP INDEX case_steps_retry;
	ALTER TABLE case_steps DROP COLUMN attempts;
	ALTER TABLE case_steps DROP COLUMN next_try;
	ALTER TABLE case_steps DROP COLUMN last_error;
	DROP TABLE case_step_history;
	PRAGMA user_version = 5;
SQL
ok "store turned back into schema 5 (no ladders, no reports, no contacts), with case $id3 open"
start_controller --test-clock
wait_agent_connected hv1 30
check "cordond migrated the store to schema $v" q grep -q "schema migrated to version $v" "$CDT_TMP/ctl/cordond.log"
check "case show --json: case $id3 adopted the current phishing policy" \
	case_jq "$id3" '.ladder.current == true and (.ladder.steps | length) == 4'
check "audit --case $id3: the adoption is recorded" \
	q eval "ctl --json audit --case $id3 | jq -e 'any(.[]; .action == \"ladder\" and (.detail | test(\"adopted\")))'"
clock_advance 4h
expect_cut vm11 public
check "case $id3's ladder ran: reminder sent, call made" \
	wait_until 10 eval 'has_reminder "$id3" && has_calls "$id3" 1'
case_ok "$id3" resolve --note "done"
expect_reach vm11 public

cdt_done
