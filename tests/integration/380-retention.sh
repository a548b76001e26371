#!/bin/bash
# Data retention: with the default configuration nothing is pruned; with
# retain_resolved_cases and retain_audit set, `cordonctl prune --dry-run`
# counts and removes nothing, `cordonctl prune` removes a resolved old case
# whole (case list and case show no longer know it, with a clear error)
# and the old audit rows bound to no case, while an open case on another
# VM keeps its cut (a real ping still fails), its rows and its audit, and
# a manual hold keeps its cut too. A user of the read-only group is
# refused. The pass is audited; the store is consistent after; cordond's
# own pass after a start prunes too.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
cdt_init
MON_GROUP=${CDT_PREFIX}mon
MON_USER=${CDT_PREFIX}m
test_users "$MON_GROUP" "$MON_USER"
CASES_CONF_EXTRA=("readonly_group = $MON_GROUP")
topo_cases 2
chmod 0711 "$CDT_TMP" "$CDT_TMP/ctl"
db=$CDT_TMP/ctl/cordon.db

clock_set 2026-01-05T10:00:00Z
case_open --category outbound-attack --vm vm11 --contact a@example.org
id1=$CASE_ID
expect_cut vm11 public
out=$(ctl suspend vm11 --scope private --reason "manual hold, ticket 1" 2>&1) ||
	fail "cordonctl suspend vm11 --scope private: $out"
check "case $id1's warning is sent" wait_until 10 has_mails "$id1" 1
case_ok "$id1" resolve --note "attack stopped, confirmed in writing"
expect_reach vm11 public
expect_cut vm11 private
case_open --category outbound-attack --vm vm12 --contact b@example.org
id2=$CASE_ID
expect_cut vm12 public
clock_advance 60d

# ------------------------------------------------ the default keeps all
p=$(ctl --json prune) || fail "cordonctl prune (default configuration) succeeds"
check "default configuration: prune removes nothing (keeps_all, 0 rows)" \
	q jq -e '.keeps_all == true and .removed.rows == 0' <<<"$p"
check "default configuration: cordonctl prune says everything is kept" \
	q eval 'ctl prune | grep -q "every retain_\* key"'
check "default configuration: case $id1 is still shown" q ctl case show "$id1"

# ------------------------------------------------ 30 days' retention
stop_controller
cases_conf_lines
write_controller_conf "${CASES_CONF[@]}" "retain_resolved_cases = 30d" "retain_audit = 4w" \
	"prune_interval = 0"
start_controller --test-clock
wait_agent_connected hv1 30
rows() { sqlite3 "$db" "SELECT (SELECT count(*) FROM cases) + (SELECT count(*) FROM audit)
	+ (SELECT count(*) FROM case_steps) + (SELECT count(*) FROM notifications)"; }
before=$(rows)
dry=$(ctl --json prune --dry-run) || fail "cordonctl prune --dry-run succeeds"
check "prune --dry-run: 1 resolved case and its rows, the old audit row of the suspend ($dry)" \
	q jq -e '.dry_run == true and .removed.cases == 1 and .removed.case_rows > 0
	   and .removed.audit >= 1' <<<"$dry"
check "prune --dry-run removes nothing (rows $before, then $(rows))" [ "$(rows)" = "$before" ]
check "prune --dry-run (text) says it would remove 1 resolved case" \
	q eval 'ctl prune --dry-run | grep -qE "resolved cases +1 "'
check "case $id1 is still shown after the dry run" q ctl case show "$id1"

as "$MON_USER" "$CORDONCTL" --socket "$CDT_TMP/ctl/control.sock" prune
check "$MON_GROUP member: cordonctl prune is refused, not sent to the read-only socket (exit $RC: ${OUT:0:200})" \
	q eval '[ "$RC" = 3 ] && grep -q "Permission denied" <<<"$OUT"'
as "$MON_USER" "$CORDONCTL" --socket "$CDT_TMP/ctl/control-ro.sock" prune --dry-run
check "$MON_GROUP member: prune --dry-run on the read-only socket is refused (exit $RC: ${OUT:0:200})" \
	q eval '[ "$RC" = 1 ] && grep -q "read-only" <<<"$OUT"'
check "nothing removed by the refused requests" [ "$(rows)" = "$before" ]

did=$(ctl --json prune) || fail "cordonctl prune succeeds"
check "prune removed what the dry run counted" \
	q jq -e --argjson w "$(jq .removed <<<"$dry")" '.dry_run == false and .removed == $w' <<<"$did"
check "case list --state all: case $id1 is gone" \
	q eval "ctl --json case list --state all | jq -e 'all(.[]; .id != $id1)'"
RC=0
OUT=$(ctl case show "$id1" 2>&1) || RC=$?
check "case show $id1: exit 1, 'no case $id1: pruned' (got $RC: $OUT)" \
	q eval '[ "$RC" = 1 ] && grep -q "no case $id1: pruned" <<<"$OUT"'
check "audit --case $id1: nothing left" q eval "ctl --json audit --case $id1 | jq -e 'length == 0'"
check "no row of case $id1 is left in any table" \
	[ "$(sqlite3 "$db" "SELECT (SELECT count(*) FROM case_reports WHERE case_id = $id1)
	     + (SELECT count(*) FROM case_steps WHERE case_id = $id1)
	     + (SELECT count(*) FROM notifications WHERE case_id = $id1)
	     + (SELECT count(*) FROM calls WHERE case_id = $id1)
	     + (SELECT count(*) FROM audit WHERE case_id = $id1)")" = 0 ]

check "open case $id2 is still shown, open" \
	q eval "ctl --json case show $id2 | jq -e '.resolved == null or .resolved == 0'"
check "audit --case $id2: its events are kept" \
	q eval "ctl --json audit --case $id2 | jq -e 'length >= 2'"
expect_stays_cut vm12 public 3
expect_cut vm12 private
check "vm11's manual hold is kept" \
	q eval "ctl --json vm show vm11 | jq -e 'any(.holds[]; .kind == \"manual\")'"
expect_cut vm11 private
check "the prune is audited once, by uid 0, with its counts" \
	q eval "ctl --json audit | jq -e '[.[] | select(.action == \"prune\")] | length == 1
	   and .[0].uid == 0 and (.[0].detail | test(\"1 resolved cases\"))'"
check "the store is consistent after (integrity_check ok, foreign_key_check empty)" \
	q eval '[ "$(sqlite3 "$db" "PRAGMA integrity_check")" = ok ] &&
	        [ -z "$(sqlite3 "$db" "PRAGMA foreign_key_check")" ]'
again=$(ctl --json prune) || fail "cordonctl prune (again) succeeds"
check "prune again: nothing is left to remove" q jq -e '.removed.rows == 0' <<<"$again"
check "an empty pass is not audited" \
	q eval "ctl --json audit | jq -e '[.[] | select(.action == \"prune\")] | length == 1'"

# ------------------------------------------------ cordond's own pass
case_ok "$id2" resolve --note "attack stopped"
expect_reach vm12 public
check "case $id2's warning is sent" wait_until 10 has_mails "$id2" 1
clock_advance 60d
stop_controller
write_controller_conf "${CASES_CONF[@]}" "retain_resolved_cases = 30d"
start_controller --test-clock
check "cordond's first pass after its start prunes case $id2" \
	wait_until 40 not q ctl case show "$id2"
check "cordond logs what its pass removed" \
	q grep -q "prune: removed 1 resolved cases" "$CDT_TMP/ctl/cordond.log"
expect_cut vm11 private
cdt_done
