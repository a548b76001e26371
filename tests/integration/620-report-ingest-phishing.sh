#!/bin/bash
# Report mails on their own, as the MTA pipes them: an X-ARF v4 phishing
# report opens a phishing case on the VM that held the address and its
# ladder runs to the cut on the test clock (warning, call, both networks
# really cut); an address that moved from vm11 to vm12 matches the VM that
# held it at the reported time, not the one holding it now; a report for
# an address never ours stays unmatched until attached by hand; the pipe
# runs as an unprivileged user that reaches only the report socket.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
. "$(dirname "$0")/../reports.sh"
cdt_init
CASES_CONF_EXTRA=("report_group = nogroup")
CASES_CLOCK=2026-11-23T09:00:00Z topo_cases 2
clock_set 2026-11-23T10:00:00Z
ip11=${VM_PUB[vm11]} priv11=${VM_PRIV[vm11]}

# ------------------------------------------------ phishing: to the cut
ingest_ok < <(xarf4_mail "$ip11" 2026-11-23T09:58:00Z phish-1 content phishing)
check "the X-ARF report is matched to vm11 and opens a case: $(head -n 2 <<<"$INGEST_OUT" | tr '\n' ' ')" \
	q grep -qE "$ip11 .* vm11 case [0-9]+: opened case" <<<"$INGEST_OUT"
id=$(grep -oE 'case [0-9]+' <<<"$INGEST_OUT" | head -n 1 | grep -oE '[0-9]+')
check "case $id is a phishing case on vm11 for $ip11" \
	case_jq "$id" ".category == \"phishing\" and .vm_name == \"vm11\" and .ip == \"$ip11\""
check "the warning mail goes out" wait_until 10 has_mails "$id" 1
clock_advance 2h
check "2 h: a call task" wait_until 10 has_calls "$id" 1
expect_reach vm11 public
clock_advance 2h
expect_cut vm11 public
expect_cut vm11 private
expect_reach vm12 public

# ------------------------------------------------ the address moves
inv=$CDT_TMP/hv1/inventory.json
jq --arg ip "$priv11" '(.vms[] | select(.name == "vm11") | .interfaces[1].ips) = [] |
	(.vms[] | select(.name == "vm12") | .interfaces[1].ips) += [$ip]' "$inv" >"$inv.new"
mv "$inv.new" "$inv"
kill -HUP "${AGENT_PID[hv1]}"
check "at 14:00 $priv11 moves from vm11 to vm12 (cordonctl vms)" wait_until 15 \
	vms_jq "any(.[]; .name == \"vm12\" and (.ips | index(\"$priv11\")))"
clock_advance 1h
ingest_ok < <(arf_mail "$priv11" 2026-11-23T13:30:00Z moved-1@isp.example "before the move")
check "a report of 13:30 lands on vm11, which held it then: $(sed -n 2p <<<"$INGEST_OUT")" \
	q grep -qE "$priv11 .* vm11 case [0-9]+" <<<"$INGEST_OUT"
ingest_ok < <(arf_mail "$priv11" 2026-11-23T14:30:00Z moved-2@isp.example "after the move")
check "a report of 14:30 lands on vm12, which holds it since 14:00: $(sed -n 2p <<<"$INGEST_OUT")" \
	q grep -qE "$priv11 .* vm12 case [0-9]+" <<<"$INGEST_OUT"
id12=$(grep -oE 'case [0-9]+' <<<"$INGEST_OUT" | head -n 1 | grep -oE '[0-9]+')

# ------------------------------------------------ never ours: unmatched, attach
ingest_ok < <(arf_mail 198.19.99.1 2026-11-23T14:40:00Z stranger@isp.example "not ours")
stranger=$REPORT_ID
check "a report for 198.19.99.1 is stored unmatched: $INGEST_OUT" \
	q grep -qE "stored: unmatched" <<<"$INGEST_OUT"
check "report list --unmatched lists it" eval \
	'ctl --json report list --unmatched | jq -e "any(.[]; .id == $stranger)" >/dev/null'
check "cordonctl case list: no case for it" list_jq 'length == 3'
check "report attach $stranger --case $id12" q ctl report attach "$stranger" --case "$id12"
check "case $id12 counts it: two reports" case_jq "$id12" '(.reports | length) == 2'
check "it is no longer listed for review" eval \
	'ctl --json report list --unmatched | jq -e "all(.[]; .id != $stranger)" >/dev/null'
out=$(ctl report attach "$stranger" --case "$id12" 2>&1) && fail "attaching it twice is refused"
check "attaching it twice is refused with the reason: $out" q grep -q "already counted in case $id12" <<<"$out"

# ------------------------------------------------ the MTA's user
chmod o+x "$CDT_TMP" "$CDT_TMP/ctl"
as_nobody() { setpriv --reuid nobody --regid nogroup --clear-groups "$@"; }
out=$(arf_mail "$ip11" 2026-11-23T14:50:00Z nobody-1@isp.example "via the pipe" |
	as_nobody "$CORDONCTL" --socket "$CDT_TMP/ctl/control.sock" report ingest \
		--types "$REPORTS_CONF/report-types.conf" --rules "$REPORTS_CONF/report-rules.conf" 2>&1) ||
	fail "user nobody (group nogroup = report_group) ingests a report: $out"
check "user nobody's report is stored and matched: $(head -n 1 <<<"$out")" \
	q grep -qE "^report [0-9]+ stored: matched" <<<"$out"
out=$(as_nobody "$CORDONCTL" --socket "$CDT_TMP/ctl/control-report.sock" restore vm11 2>&1) &&
	fail "the report socket refuses restore"
check "the report socket refuses anything but report ingest: $out" \
	q grep -q "refused on the report socket" <<<"$out"
expect_cut vm11 public
cdt_done
