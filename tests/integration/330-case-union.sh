#!/bin/bash
# A VM's cut is the union of its open cases and manual suspends: resolving
# one case keeps the VM cut while another open case still cuts it; resolving
# a case never lifts a manual suspend, and `cordonctl restore` never lifts a
# case's cut. Each scope is proven with real probes.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
cdt_init
topo_cases 2
all_open vm11 vm12
clock_set 2026-11-23T10:00:00Z

# ------------------------------------------------ two cases on vm11
case_open --category phishing --vm vm11 --contact a@example.org
idp=$CASE_ID
clock_advance 4h
expect_cut vm11 public
expect_cut vm11 private
ok "phishing case $idp cut vm11 at 4 h"
case_open --category outbound-attack --ip "${VM_PUB[vm11]}" --contact a@example.org
ido=$CASE_ID
check "the outbound-attack report opens a second case ($ido), not a report on $idp" [ "$ido" != "$idp" ]
check "cordonctl case list: two open cases on vm11, both cutting" \
	list_jq '[.[] | select(.vm_name == "vm11" and .state == "open" and .cut == "public,private")] | length == 2'

case_ok "$idp" resolve --note "phishing kit removed"
ok "cordonctl case resolve $idp (phishing)"
expect_stays_cut vm11 public 3
expect_cut vm11 private
check "cordonctl vms: vm11 still cut public and private" \
	vms_jq 'any(.[]; .name == "vm11" and (.scopes | sort) == ["private","public"])'
expect_reach vm12 public

case_ok "$ido" resolve --note "attack stopped, confirmed in writing"
ok "cordonctl case resolve $ido (outbound-attack)"
expect_reach vm11 public
expect_reach vm11 private

# ------------------------------------------------ manual suspend + case
vm_suspend vm12 public
ok "cordonctl suspend vm12 --scope public"
expect_cut vm12 public
expect_reach vm12 private
case_open --category outbound-attack --vm vm12 --contact b@example.org
idm=$CASE_ID
expect_cut vm12 private
ok "outbound-attack case $idm cuts vm12's private network as well"
case_ok "$idm" resolve --note "fixed"
ok "cordonctl case resolve $idm"
expect_reach vm12 private
expect_stays_cut vm12 public 3
ok "the manual public suspend outlives the case"
vm_restore vm12
expect_reach vm12 public

# ------------------------------------------------ case + manual restore
case_open --category outbound-attack --vm vm12 --contact b@example.org
idr=$CASE_ID
expect_cut vm12 public
expect_cut vm12 private
vm_suspend vm12 smtp
set +e
out=$(ctl restore vm12 2>&1)
rc=$?
set -e
note "cordonctl restore vm12 -> exit $rc: $out"
expect_stays_cut vm12 public 3
expect_cut vm12 private
ok "cordonctl restore (the manual hold) does not lift the open case's cut"
check "cordonctl vms: vm12 still cut public and private" wait_until 10 \
	vms_jq 'any(.[]; .name == "vm12" and .state == "enforced" and (.scopes | sort) == ["private","public"])'
vm_suspend vm12 smtp
ok "cordonctl suspend vm12 --scope smtp (on top of the case)"
js=$(ctl --json vm show vm12)
check "cordonctl vm show vm12: desired cut is public, private and smtp" \
	q jq -e '(.scopes | sort) == ["private","public","smtp"]' <<<"$js"
holds_ok=0
jq -e --argjson id "$idr" '(.holds | length) >= 2 and (.holds | tostring | test("\($id)"))' \
	<<<"$js" >/dev/null && holds_ok=1
case_ok "$idr" resolve --note "done"
expect_reach vm12 private
expect_reach vm12 public
check "cordonctl vms: only the manual smtp suspend is left on vm12" wait_until 10 \
	vms_jq 'any(.[]; .name == "vm12" and .scopes == ["smtp"] and .state == "enforced")'
vm_restore vm12
expect_reach vm12 public
expect_reach vm12 private

# Known bug (see the report): vm show lists manual holds only, so an operator
# cannot see which case cuts a VM. Checked last so that the rest still runs.
check "cordonctl vm show vm12 lists the open case $idr among the holds (was: $(jq -c .holds <<<"$js"))" \
	[ "$holds_ok" = 1 ]

cdt_done
