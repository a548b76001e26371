#!/bin/bash
# The other shipped ladders end to end: outbound-attack cuts public and
# private at once (a response does not lift it), with the "suspended" mail;
# compromise (Emporis) warns, calls at 2 h and powers off at 4 h; virus
# runs on the business clock: opened Monday 05:00 the call falls due at
# 10:00 and the power-off at 13:00 (and not a minute before); opened Friday
# 17:00 the power-off falls due Monday 12:00, and a holiday is skipped. With
# the static inventory the agent records the power-off (cordon-agent
# status); resolve lifts it.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
cdt_init
topo_cases 2
all_open vm11 vm12

# power_off_recorded VM: the agent records a power-off for VM.
power_off_recorded() {
	agent_status hv1 --json | jq -e --arg u "${VM_UUID[$1]}" \
		'any(.vms[]; .uuid == $u and .power_off == true and (.mechanisms | test("power-off")))' >/dev/null
}
vm_powered_off() {
	vms_jq --arg n "$1" 'any(.[]; .name == $n and .power_off == true and .state == "enforced")'
}
vm_not_powered_off() {
	vms_jq --arg n "$1" 'any(.[]; .name == $n and .power_off == false)'
}

# ------------------------------------------------ outbound-attack: at once
clock_set 2026-11-23T10:00:00Z
case_open --category outbound-attack --vm vm11 --contact ops@example.org --source "ids"
ida=$CASE_ID
ok "case $ida (outbound-attack, vm11) opened"
expect_cut vm11 public 5
expect_cut vm11 private 5
expect_reach vm12 public
check "a 'suspended' mail for case $ida goes to ops@example.org" wait_until 10 has_mails "$ida" 1
m=$(mails_for "$ida" | head -n 1)
check "its Subject says vm11 is suspended" \
	q grep -qE "^Subject: \[Abuse case $ida\] Server vm11 \(198\.18\.11\.11\) suspended: outbound-attack" "$m"
check "and it is To: ops@example.org" q grep -qx 'To: ops@example.org' "$m"
case_ok "$ida" respond --note "customer says it is fixed"
clock_advance 1h
expect_stays_cut vm11 public 2
ok "a response does not lift an outbound-attack cut ('always')"
case_ok "$ida" resolve --note "written confirmation: malware removed"
expect_reach vm11 public
expect_reach vm11 private

# ------------------------------------------------ compromise (Emporis)
clock_set 2026-11-23T12:00:00Z
case_open --category compromise --vm vm12 --contact emporis@example.org
idc=$CASE_ID
ok "case $idc (compromise, vm12) opened at 12:00"
check "a warning mail for case $idc" wait_until 10 has_mails "$idc" 1
check "case $idc: call due 14:00, power-off due 16:00" \
	case_jq "$idc" --argjson c "$(epoch 2026-11-23T14:00:00Z)" --argjson p "$(epoch 2026-11-23T16:00:00Z)" \
	'any(.steps[]; .action == "call" and .due == $c) and any(.steps[]; .action == "poweroff" and .due == $p)'
clock_set 2026-11-23T14:00:00Z
check "at 14:00 the call hook runs for case $idc" wait_until 10 has_calls "$idc" 1
check "cordonctl case list shows emporis@example.org must be called" \
	q eval "ctl case list | awk -v id=$idc '\$1 == id' | grep -q 'emporis@example\.org'"
clock_set 2026-11-23T15:59:00Z
check "at 15:59 vm12 is not powered off" vm_not_powered_off vm12
check "at 15:59 the agent records no power-off" not power_off_recorded vm12
clock_set 2026-11-23T16:00:00Z
check "at 16:00 cordonctl vms: vm12 power_off, enforced" wait_until 10 vm_powered_off vm12
check "cordon-agent status --json: power-off recorded for vm12" wait_until 10 power_off_recorded vm12
case_ok "$idc" resolve --note "rebuilt from a clean image"
check "after resolve: vm12 no longer powered off" wait_until 10 \
	vms_jq 'any(.[]; .name == "vm12" and .power_off == false and .state != "pending")'
check "after resolve: the agent no longer records a power-off" wait_until 10 not power_off_recorded vm12

# ------------------------------------------------ virus: business clock
t0=2026-11-30T05:00:00Z # Monday, before working hours (09:00-18:00 UTC)
clock_set "$t0"
case_open --category virus --vm vm11 --contact virus@example.org
idv=$CASE_ID
ok "case $idv (virus, vm11) opened Monday 05:00"
check "the ticket mail goes out at once (05:00)" wait_until 10 has_mails "$idv" 1
check "ticket Subject" q grep -qE "^Subject: \[Abuse case $idv\] Ticket: virus" "$(mails_for "$idv" | head -n 1)"
check "case show --json: call due 10:00, poweroff due 13:00" \
	case_jq "$idv" --argjson c "$(epoch 2026-11-30T10:00:00Z)" --argjson p "$(epoch 2026-11-30T13:00:00Z)" \
	'.clock == "business" and any(.steps[]; .action == "call" and .due == $c and .state == "pending")
	 and any(.steps[]; .action == "poweroff" and .due == $p and .state == "pending")'
check "case show --json: the poweroff's why says the window starts at 09:00" \
	case_jq "$idv" 'any(.steps[]; .action == "poweroff" and (.why | test("09:00")))'
check "case show (text) explains the business time too" \
	q eval "grep -q 'counted from 09:00' <<<\"\$(ctl case show $idv)\""
clock_set 2026-11-30T09:59:00Z
check "at 09:59 no call yet" [ "$(call_count "$idv")" = 0 ]
clock_set 2026-11-30T10:00:00Z
check "at 10:00 the call hook runs" wait_until 10 has_calls "$idv" 1
clock_set 2026-11-30T12:59:00Z
check "at 12:59 vm11 is not powered off" vm_not_powered_off vm11
check "at 12:59 the poweroff step is still pending" step_is "$idv" poweroff pending
clock_set 2026-11-30T13:00:00Z
check "at 13:00 cordonctl vms: vm11 power_off true, state enforced" wait_until 10 vm_powered_off vm11
check "cordon-agent status --json: power-off recorded for vm11" wait_until 10 power_off_recorded vm11
check "vm12 is not powered off" vm_not_powered_off vm12
case_ok "$idv" resolve --note "RCA received: infected plugin removed"
check "after resolve: vm11 no longer powered off" wait_until 10 \
	vms_jq 'any(.[]; .name == "vm11" and .power_off == false and .state != "pending")'

# Friday 17:00: 1 working hour on Friday, 3 on Monday.
clock_set 2026-12-04T17:00:00Z
case_open --category virus --vm vm12 --contact virus@example.org
idf=$CASE_ID
check "virus case opened Friday 17:00: call due Friday 18:00, poweroff due Monday 12:00" \
	case_jq "$idf" --argjson c "$(epoch 2026-12-04T18:00:00Z)" --argjson p "$(epoch 2026-12-07T12:00:00Z)" \
	'any(.steps[]; .action == "call" and .due == $c) and any(.steps[]; .action == "poweroff" and .due == $p)'
clock_set 2026-12-07T11:59:00Z
check "Monday 11:59: vm12 is not powered off" vm_not_powered_off vm12
clock_set 2026-12-07T12:00:00Z
check "Monday 12:00: vm12 powered off" wait_until 10 vm_powered_off vm12
case_ok "$idf" resolve --note "cleaned"

# Thursday 24 December 17:00, the 25th a holiday: power-off Monday 28th 12:00.
clock_set 2026-12-24T17:00:00Z
case_open --category virus --vm vm12 --contact virus@example.org
idh=$CASE_ID
check "virus case opened Thu 2026-12-24 17:00: poweroff due Mon 2026-12-28 12:00 (holiday skipped)" \
	case_jq "$idh" --argjson p "$(epoch 2026-12-28T12:00:00Z)" \
	'any(.steps[]; .action == "poweroff" and .due == $p)'
case_ok "$idh" resolve --note "false positive"
all_open vm11 vm12

cdt_done
