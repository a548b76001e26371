#!/bin/bash
# The phishing ladder end to end on the test clock, with a real agent and
# real probes: at 0 h the warning mail goes to the contact; at 2 h a call
# task is recorded and the call hook runs; at 4 h the VM's public and
# private networks really stop answering; resolve needs a note and then
# brings the VM back. A customer response before 4 h stops the cut; resume
# makes the overdue steps fire at once; escalate runs the next step now.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
cdt_init
topo_cases 2
all_open vm11 vm12

t0=2026-11-23T10:00:00Z # a Monday; the wall clock does not care
clock_set "$t0"
ok "cordonctl clock set $t0"

# ------------------------------------------------ 0 h: open, warning mail
case_open --category phishing --vm vm11 --contact alice@example.org \
	--source "phish-reporter" --evidence - <<<"http://198.18.11.11/login.php"
id1=$CASE_ID
ok "case $id1 opened ($CASE_OUT)"
check "a warning mail for case $id1 is piped to notify_command" wait_until 10 has_mails "$id1" 1
m=$(mails_for "$id1" | head -n 1)
check "the mail goes To: alice@example.org" q grep -qx 'To: alice@example.org' "$m"
check "its Subject names case $id1 and vm11" \
	q grep -qE "^Subject: \[Abuse case $id1\] Warning: phishing reported from vm11 \(198\.18\.11\.11\)" "$m"
check "its body carries the evidence" q grep -qF "http://198.18.11.11/login.php" "$m"
check "its body tells the call is next, due 12:00" q grep -qE 'Due: +2026-11-23T12:00:00Z' "$m"
check "notify_command ran with CORDON_CASE_ID=$id1 and CORDON_CONTACT" \
	q grep -qx "env CORDON_CASE_ID=$id1 CORDON_CONTACT=alice@example.org" "$m"
check "cordonctl case list: next step call due $t0 + 2h, no call to make yet" \
	list_jq --argjson id "$id1" --argjson due "$(epoch 2026-11-23T12:00:00Z)" \
	'any(.[]; .id == $id and .state == "open" and .next.action == "call"
	     and .next.due == $due and .calls_open == 0)'
check "cordonctl case show: the suspend step is pending, due $t0 + 4h" \
	case_jq "$id1" --argjson due "$(epoch 2026-11-23T14:00:00Z)" \
	'any(.steps[]; .action == "suspend public,private" and .state == "pending" and .due == $due)'
check "no call hook ran yet" [ "$(call_count "$id1")" = 0 ]
expect_reach vm11 public

# ------------------------------------------------ 2 h: call task
clock_advance 2h
ok "cordonctl clock advance 2h"
check "the call hook runs once for case $id1" wait_until 10 has_calls "$id1" 1
c=$(calls_for "$id1" | head -n 1)
check "the call hook got CORDON_CONTACT=alice@example.org and the VM" \
	q eval 'grep -qx contact=alice@example.org "$c" && grep -qx vm=vm11 "$c"'
check "cordonctl case list (text): the CALL column shows alice@example.org" \
	q eval "ctl case list | awk -v id=$id1 '\$1 == id' | grep -q 'alice@example\.org'"
check "cordonctl case list --json: one open call, next step the suspend" \
	list_jq --argjson id "$id1" \
	'any(.[]; .id == $id and .calls_open == 1 and .next.action == "suspend public,private")'
expect_stays_open vm11 public 1
expect_reach vm11 private
check "only the one warning mail so far" [ "$(mail_count "$id1")" = 1 ]

# ------------------------------------------------ 4 h: cut
clock_advance 2h
ok "cordonctl clock advance 2h (4 h after the opening)"
expect_cut vm11 public
expect_cut vm11 private
expect_reach vm12 public
expect_reach vm12 private
check "cordonctl vms: vm11 enforced with public and private cut" wait_until 10 \
	vms_jq 'any(.[]; .name == "vm11" and .state == "enforced" and (.scopes | sort) == ["private","public"])'
check "cordonctl case list: case $id1 imposes the cut" \
	list_jq --argjson id "$id1" 'any(.[]; .id == $id and .cut == "public,private")'

# ------------------------------------------------ resolve
set +e
out=$(ctl case resolve "$id1" 2>&1)
rc=$?
set -e
check "case resolve without --note is refused with exit 1 ($rc)" [ "$rc" = 1 ]
check "and says why in one line: $out" \
	q eval '[ "$(wc -l <<<"$out")" = 1 ] && grep -q "needs --note" <<<"$out"'
check "case $id1 still open after the refused resolve" \
	list_jq --argjson id "$id1" 'any(.[]; .id == $id and .state == "open")'
expect_stays_cut vm11 public 2
expect_cut vm11 private

case_ok "$id1" resolve --note "customer removed the kit and changed passwords"
ok "cordonctl case resolve $id1 --note ..."
expect_reach vm11 public
expect_reach vm11 private
check "cordonctl case list --state resolved shows case $id1 with the resolution kept" \
	case_jq "$id1" '.state == "resolved" and (.resolution | test("removed the kit"))'
check "cordonctl vms: vm11 cuts nothing" wait_until 10 \
	vms_jq 'any(.[]; .name == "vm11" and .scopes == [] and .state != "pending")'

# ------------------------------------------------ respond before 4 h
t1=2026-11-24T10:00:00Z
clock_set "$t1"
case_open --category phishing --vm vm12 --contact bob@example.org
id2=$CASE_ID
ok "case $id2 (phishing, vm12) opened at $t1"
check "a warning mail for case $id2" wait_until 10 has_mails "$id2" 1
clock_advance 1h
case_ok "$id2" respond --note "customer: taking the page down now"
ok "cordonctl case respond $id2 at +1h"
check "cordonctl case list --state responded shows case $id2 with no next step" \
	q eval "ctl --json case list --state responded | jq -e 'any(.[]; .id == $id2 and .next == null)'"
clock_advance 3h
ok "cordonctl clock advance 3h (4 h after the opening)"
expect_stays_open vm12 public 2
expect_reach vm12 private
check "cordonctl case show --json: call and suspend steps skipped" \
	case_jq "$id2" '([.steps[] | select(.action == "call" or .action == "suspend public,private")
	     | .state] | sort) == ["skipped","skipped"]'
check "no call hook ran for case $id2" [ "$(call_count "$id2")" = 0 ]
check "cordonctl vms: vm12 cuts nothing" vms_jq 'any(.[]; .name == "vm12" and .scopes == [])'

# ------------------------------------------------ resume: overdue steps fire
case_ok "$id2" resume
ok "cordonctl case resume $id2"
expect_cut vm12 public
expect_cut vm12 private
check "the overdue call ran too (hook)" wait_until 10 has_calls "$id2" 1
check "cordonctl case show --json: call and suspend done" \
	case_jq "$id2" '[.steps[] | select(.action != "notify warning") | .state] == ["done","done"]'
case_ok "$id2" resolve --note "page removed, confirmed in writing"
expect_reach vm12 public
expect_reach vm12 private

# ------------------------------------------------ escalate: next step now
case_open --category phishing --ip "${VM_PRIV[vm12]}" --contact carol@example.org
id3=$CASE_ID
ok "case $id3 opened by private IP ${VM_PRIV[vm12]}"
check "case $id3 is bound to vm12 and keeps the IP" \
	case_jq "$id3" --arg ip "${VM_PRIV[vm12]}" '.vm_name == "vm12" and .ip == $ip'
case_ok "$id3" escalate
check "case escalate $id3: the call runs now" wait_until 10 has_calls "$id3" 1
expect_stays_open vm12 public 1
case_ok "$id3" escalate
ok "case escalate $id3 again: the suspend runs now"
expect_cut vm12 public
expect_cut vm12 private
case_ok "$id3" resolve --note "done"
expect_reach vm12 public

# Known bug (see the report), checked last: resolving a case cancels its
# pending steps but leaves its call task open, so `status` and the CALL
# column keep asking for calls on cases that are closed.
check "after every case is resolved, cordonctl status has no call to make (got $(ctl --json status | jq .calls_open))" \
	q eval 'ctl --json status | jq -e ".cases_open == 0 and .calls_open == 0"'

cdt_done
