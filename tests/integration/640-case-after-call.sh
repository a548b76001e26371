#!/bin/bash
# The phishing ladder times its cut from the phone call, as the seed says
# ("in lack of response for our phone call for another 2 hours"): a call
# made 30 minutes late moves the cut 30 minutes later, and case show says
# why; a call nobody records holds nothing back (the cut at 4 h).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
cdt_init
topo_cases 2
clock_set 2026-11-23T10:00:00Z
case_open --category phishing --vm vm11 --contact a@example.org
late=$CASE_ID
case_open --category phishing --vm vm12 --contact b@example.org
silent=$CASE_ID
clock_advance 2h
check "12:00: call tasks for both cases" wait_until 10 eval 'has_calls "$late" 1 && has_calls "$silent" 1'
clock_advance 30m
case_ok "$late" called --note "reached the customer at 12:30"
check "case show: the cut of case $late is due 14:30, 2 h after the call was made" \
	case_jq "$late" --argjson due "$(epoch 2026-11-23T14:30:00Z)" \
	'any(.steps[]; .action == "suspend public,private" and .due == $due
	     and (.why | test("2h after the call was made \\(2026-11-23T12:30:00Z\\)")))'
check "case show: the cut of case $silent is due 14:00, the call's due time + 2 h" \
	case_jq "$silent" --argjson due "$(epoch 2026-11-23T14:00:00Z)" \
	'any(.steps[]; .action == "suspend public,private" and .due == $due
	     and (.why | test("no call recorded")))'
clock_advance 90m
expect_cut vm12 public
check "14:00: vm11, called late, still answers" vm_ping vm11 public
clock_advance 30m
expect_cut vm11 public
expect_cut vm11 private
cdt_done
