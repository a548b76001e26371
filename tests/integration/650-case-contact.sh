#!/bin/bash
# A case reaches the VM's owner without an operator looking the contact up:
# the host's inventory names each VM's contact; a case opened without one
# (a report mail, `case open` without --contact) takes it, and the warning
# mail and the call task go to it. An operator's --contact wins. A bad
# contact in the inventory file is refused whole, naming the VM, and
# changes nothing.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
. "$(dirname "$0")/../reports.sh"
cdt_init
CASES_CLOCK=2026-11-23T09:00:00Z topo_cases 3
clock_set 2026-11-23T10:00:00Z
OWNER=abuse@customer-one.example
inv=$CDT_TMP/hv1/inventory.json

# set_contact VM ADDRESS: the inventory file with VM's contact, re-read.
set_contact() {
	jq --arg n "$1" --arg c "$2" '(.vms[] | select(.name == $n)).contact = $c' "$inv" >"$inv.new"
	mv "$inv.new" "$inv"
	kill -HUP "${AGENT_PID[hv1]}"
}
contact_is() { vms_jq --arg n "$1" --arg c "$2" 'any(.[]; .name == $n and .contact == $c)'; }

set_contact vm11 "$OWNER"
check "cordonctl vms: vm11's contact from the inventory" wait_until 10 contact_is vm11 "$OWNER"
out=$(ctl vm show vm11)
check "cordonctl vm show vm11 shows it" q grep -E "^contact +$OWNER\$" <<<"$out"

# ------------------------------------------------ a report: the owner is told
ingest_ok < <(xarf4_mail "${VM_PUB[vm11]}" 2026-11-23T09:58:00Z phish-c1 content phishing)
id=$(grep -oE 'case [0-9]+' <<<"$INGEST_OUT" | head -n 1 | grep -oE '[0-9]+')
check "the report opens case $id with vm11's contact" case_jq "$id" ".contact == \"$OWNER\""
check "the warning mail goes out" wait_until 10 has_mails "$id" 1
check "it goes to $OWNER" q grep -F "CORDON_CONTACT=$OWNER" $(mails_for "$id")
clock_advance 2h
check "2 h: a call task" wait_until 10 has_calls "$id" 1
check "the call task is to $OWNER" q grep -Fx "contact=$OWNER" $(calls_for "$id")

# ------------------------------------------------ case open
case_open --category virus --vm vm11 --contact noc@customer-one.example
check "an operator's --contact wins" case_jq "$CASE_ID" '.contact == "noc@customer-one.example"'
case_open --category phishing --vm vm12
check "vm12 has no contact: its case has none" case_jq "$CASE_ID" '.contact == null'

# ------------------------------------------------ bad input
before=$(ctl --json vms | jq -c '[.[] | {name, contact}]')
jq '(.vms[] | select(.name == "vm13")).contact = "two@x.example, three@x.example" |
    (.vms[] | select(.name == "vm12")).contact = "new@customer-two.example"' "$inv" >"$inv.new"
mv "$inv.new" "$inv"
kill -HUP "${AGENT_PID[hv1]}"
check "the agent refuses the file, naming vm13 and why" wait_until 10 \
	q grep -F "${VM_UUID[vm13]}: \"contact\" is no mail address: it has a space" \
	"$CDT_TMP/hv1/agent.log"
check "nothing changed: vm12 got no contact from the refused file" \
	q test "$(ctl --json vms | jq -c '[.[] | {name, contact}]')" = "$before"
set_contact vm13 ops@customer-three.example
check "the file fixed: vm12 and vm13 get theirs" wait_until 10 \
	eval 'contact_is vm12 new@customer-two.example && contact_is vm13 ops@customer-three.example'
cdt_done
