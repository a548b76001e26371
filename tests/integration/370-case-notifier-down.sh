#!/bin/bash
# A failing notifier never blocks enforcement: with the mail command failing
# (exit 75, "mail server down") an outbound-attack case still cuts the VM at
# once and a phishing case still cuts at 4 h; the failures are recorded on
# the case (attempts, last error) and retried; once mail works again the
# messages go out. A failing call hook is recorded on the call task, which
# stays on the list of calls to make.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
cdt_init
CASES_NOTIFY_COMMAND="[ ! -e $CDT_TMP/mail-down ] || { echo mail server down; exit 75; }; $CDT_TMP/notify.sh"
CASES_CALL_HOOK="[ ! -e $CDT_TMP/phone-down ] || { echo no phone line; exit 3; }; $CDT_TMP/call.sh"
touch "$CDT_TMP/mail-down" "$CDT_TMP/phone-down"
topo_cases 2
all_open vm11 vm12

notification_failed() { # ID: a notification of case ID failed at least once, is pending again
	case_jq "$1" 'any(.notifications[]; .state == "pending" and .attempts >= 1
	   and (.last_error | test("exit status 75.*mail server down")))'
}

clock_set 2026-11-23T10:00:00Z
case_open --category outbound-attack --vm vm11 --contact a@example.org
ida=$CASE_ID
expect_cut vm11 public 5
expect_cut vm11 private 5
ok "with the mail command failing, outbound-attack case $ida still cuts vm11 at once"
check "case show --json: the 'suspended' notification failed (exit 75, its output kept) and will be retried" \
	wait_until 10 notification_failed "$ida"

case_open --category phishing --vm vm12 --contact b@example.org
idp=$CASE_ID
check "case show --json: phishing case $idp's warning failed too" wait_until 10 notification_failed "$idp"
clock_advance 2h
# A failed hook is retried with backoff (pending again), "failed" after the
# last attempt; either way the failure is on record.
check "the call task is recorded although the hook fails" \
	wait_until 10 case_jq "$idp" 'any(.calls[]; .state == "open" and (.hook_state == "failed" or .hook_state == "pending")
	   and (.hook_detail | test("exit status 3.*no phone line")))'
check "cordonctl case list still says b@example.org must be called" \
	q eval "ctl case list | awk -v id=$idp '\$1 == id' | grep -q 'b@example\.org'"
clock_advance 2h
expect_cut vm12 public
expect_cut vm12 private
ok "phishing case $idp cut vm12 at 4 h with no mail ever sent"
check "the warning was retried (attempts >= 2)" \
	wait_until 10 case_jq "$idp" 'any(.notifications[]; .attempts >= 2 and .state == "pending")'
check "no mail file so far" [ -z "$(ls "$MAIL_DIR")" ]

rm "$CDT_TMP/mail-down"
ok "the mail command works again"
clock_advance 1h
check "the 'suspended' mail of case $ida goes out" wait_until 15 has_mails "$ida" 1
check "the warning of case $idp goes out" wait_until 15 has_mails "$idp" 1
check "case show --json: both notifications sent" \
	wait_until 10 eval "case_jq $ida 'all(.notifications[]; .state == \"sent\")' &&
	                   case_jq $idp 'all(.notifications[]; .state == \"sent\")'"
check "exactly one mail per notification (no duplicates)" \
	eval '[ "$(mail_count "$ida")" = 1 ] && [ "$(mail_count "$idp")" = 1 ]'
check "cordonctl status: no failed notification" \
	q eval 'ctl --json status | jq -e ".notifications_failed == 0"'

for c in "$ida" "$idp"; do case_ok "$c" resolve --note "done"; done
all_open vm11 vm12

cdt_done
