#!/bin/bash
# The spam ladder (Wessex process) end to end: every report is passed on to
# the customer; one report never cuts; a further report on the same VM joins
# the open case; at 3 reports within 7 days outbound SMTP (25/465/587) is
# really blocked while ping and other ports still work; at 5 the public
# network is cut. Reports spread over more than 7 days do not add up.
# TCP probes: nc listeners on hv1's public probe, connections from the VM.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
cdt_init
topo_cases 2
smtp_listen
ports_open() { # VM PORT...
	local vm=$1 p
	shift
	for p in "$@"; do tcp_ok "$vm" "$p" || return 1; done
}
ports_closed() { # VM PORT...
	local vm=$1 p
	shift
	for p in "$@"; do ! tcp_ok "$vm" "$p" || return 1; done
}
check "before: vm11 and vm12 connect to ports 25, 465, 587 and 80" \
	wait_until 10 eval 'ports_open vm11 25 465 587 80 && ports_open vm12 25 80'

clock_set 2026-11-23T10:00:00Z

# ------------------------------------------------ report 1: mail only
case_open --category spam --vm vm11 --contact postmaster@example.org --source "spamcop #1"
id=$CASE_ID
ok "case $id (spam, vm11) opened"
check "a spam-report mail for case $id" wait_until 10 has_mails "$id" 1
check "its Subject names the report" \
	q grep -qE "^Subject: \[Abuse case $id\] Spam report for 198\.18\.11\.11 \(vm11\)" "$(mails_for "$id")"
check "case show: smtp and public steps wait for more reports" \
	case_jq "$id" '[.steps[] | select(.action | startswith("suspend")) | .state] == ["waiting","waiting"]'
clock_advance 1h
expect_stays_open vm11 public 1
check "one report: vm11 keeps connecting to port 25 (2 s)" never_within 2 not tcp_ok vm11 25

# ------------------------------------------------ reports 2 and 3: smtp cut
clock_advance 1h
case_open --category spam --vm vm11 --source "spamcop #2"
check "report 2 joins case $id: $CASE_OUT" q grep -qE "report 2 .*case $id" <<<"$CASE_OUT"
check "a second spam-report mail" wait_until 10 has_mails "$id" 2
check "two reports: vm11 keeps connecting to port 25 (2 s)" never_within 2 not tcp_ok vm11 25
clock_advance 1h
case_open --category spam --ip "${VM_PUB[vm11]}" --source "spamcop #3"
check "report 3 (by IP) joins case $id: $CASE_OUT" q grep -qE "report 3 .*case $id" <<<"$CASE_OUT"
check "a third spam-report mail" wait_until 10 has_mails "$id" 3
check "cordonctl case list --json still shows one open spam case" \
	list_jq '[.[] | select(.category == "spam" and .state == "open")] | length == 1'
for port in 25 465 587; do
	check "three reports: vm11 can no longer connect to port $port" wait_until 10 not tcp_ok vm11 "$port"
done
check "vm11 still connects to port 80" tcp_ok vm11 80
expect_reach vm11 public
expect_reach vm11 private
check "vm12 still connects to port 25" tcp_ok vm12 25
check "cordonctl vms: vm11 enforced with scopes [smtp]" wait_until 10 \
	vms_jq 'any(.[]; .name == "vm11" and .scopes == ["smtp"] and .state == "enforced")'

# ------------------------------------------------ reports 4 and 5: public cut
case_open --category spam --vm vm11 --source "spamcop #4"
expect_stays_open vm11 public 1
ok "report 4: no public cut yet"
case_open --category spam --vm vm11 --source "spamcop #5"
check "report 5 joins case $id" q grep -qE "report 5 .*case $id" <<<"$CASE_OUT"
expect_cut vm11 public
expect_reach vm11 private
check "five spam-report mails, one per report" wait_until 10 eval '[ "$(mail_count "$id")" = 5 ]'
check "case show --json: 5 reports, smtp and public steps done" \
	case_jq "$id" '(.reports | length) == 5 and
	   [.steps[] | select(.action | startswith("suspend")) | .state] == ["done","done"]'

case_ok "$id" resolve --note "compromised mailbox password reset, queue purged"
expect_reach vm11 public
check "after resolve vm11 connects to ports 25, 465 and 587 again" \
	wait_until 10 ports_open vm11 25 465 587

# ------------------------------------------------ the 7-day window
clock_set 2026-12-01T10:00:00Z
case_open --category spam --vm vm12 --source "old report"
idw=$CASE_ID
clock_advance 8d
case_open --category spam --vm vm12 --source "a week later"
clock_advance 1h
case_open --category spam --vm vm12 --source "and again"
check "reports 2 and 3 join case $idw" q grep -qE "report 3 .*case $idw" <<<"$CASE_OUT"
check "three reports over 8 days (two within 7): vm12 keeps connecting to port 25 (2 s)" \
	never_within 2 not tcp_ok vm12 25
check "case show: the smtp step still waits" \
	case_jq "$idw" 'any(.steps[]; .action == "suspend smtp" and .state == "waiting")'
case_open --category spam --vm vm12 --source "third within the week"
check "then a third report within 7 days: vm12 cannot connect to port 25" \
	wait_until 10 not tcp_ok vm12 25
case_ok "$idw" resolve --note "fixed"
check "vm12 connects to port 25 again" wait_until 10 tcp_ok vm12 25

cdt_done
