#!/bin/bash
# Spam feedback reports (ARF) piped into `cordonctl report ingest` as an
# MTA would: three distinct reports for vm11 open one spam case and reach
# the ladder's "3 reports within 7 days", so vm11's outbound SMTP is really
# cut while vm12 keeps sending; the same mail three times (one Message-ID),
# and three mails about one original message, count once and cut nothing.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
. "$(dirname "$0")/../reports.sh"
cdt_init
CASES_CLOCK=2026-11-23T09:00:00Z topo_cases 2
smtp_listen
clock_set 2026-11-23T10:00:00Z
ip11=${VM_PUB[vm11]} ip12=${VM_PUB[vm12]}

check "before: vm11 and vm12 connect to port 25" wait_until 10 eval 'tcp_ok vm11 25 && tcp_ok vm12 25'

# ------------------------------------------------ one mail three times: counted once
for i in 1 2 3; do
	ingest_ok < <(arf_mail "$ip12" 2026-11-23T09:50:00Z same-mail@isp.example "hello $i")
done
check "the third copy is stored as a duplicate of the first: $INGEST_OUT" \
	q grep -qE "stored: duplicate \(same mail as report 1" <<<"$INGEST_OUT"
id12=$(ctl --json case list | jq -r '[.[] | select(.vm_name == "vm12")][0].id')
check "the copies opened one case for vm12 with one report" \
	case_jq "$id12" '.category == "spam" and (.reports | length) == 1'
check "the same original message in three mails counts once too" eval '
	for i in 1 2 3; do
		ingest_ok < <(arf_mail "$ip12" 2026-11-23T09:51:00Z fwd-$i@isp.example "same original")
	done; case_jq "$id12" "(.reports | length) == 2"'
check "vm12 still connects to port 25 (2 s)" never_within 2 not tcp_ok vm12 25

# ------------------------------------------------ three distinct reports: smtp cut
for i in 1 2 3; do
	clock_advance 1h
	ingest_ok < <(arf_mail "$ip11" "2026-11-23T1$i:00:00Z" "r$i@isp.example" "spam run $i")
	check "report $i for vm11 is matched: $(head -n 2 <<<"$INGEST_OUT" | tr '\n' ' ')" \
		q grep -qE "^report [0-9]+ stored: matched" <<<"$INGEST_OUT"
done
check "it names vm11 and the case: $(sed -n 2p <<<"$INGEST_OUT")" \
	q grep -qE "$ip11 .* vm11 case [0-9]+: joined case" <<<"$INGEST_OUT"
id11=$(grep -oE 'case [0-9]+' <<<"$INGEST_OUT" | head -n 1 | grep -oE '[0-9]+')
check "case $id11 (spam, vm11) has the three reports" \
	case_jq "$id11" '.category == "spam" and .vm_name == "vm11" and (.reports | length) == 3'
for port in 25 465 587; do
	check "three reports: vm11 can no longer connect to port $port" wait_until 10 not tcp_ok vm11 "$port"
done
expect_reach vm11 public
check "vm12 (one report counted) still connects to port 25" tcp_ok vm12 25
check "report list shows the nine mails, newest first" eval \
	'[ "$(ctl --json report list | jq "length, .[0].state, .[-1].id" | tr "\n" " ")" = "9 \"matched\" 1 " ]'
check "report show names the address, the time it was reported at, and the case" \
	report_jq "$REPORT_ID" ".matches[0].ip == \"$ip11\" and .matches[0].vm_name == \"vm11\"
		and .matches[0].case == $id11 and .format == \"arf\" and .parsed.type == \"abuse\""
check "report show --raw gives the stored mail back byte for byte" eval \
	'cmp <(ctl report show "$REPORT_ID" --raw) <(arf_mail "$ip11" 2026-11-23T13:00:00Z r3@isp.example "spam run 3")'
check "the audit says which report opened and joined the case" \
	q grep -qE "report on spam for IP $ip11 \(report $REPORT_ID\)" <<<"$(ctl audit --case "$id11")"
cdt_done
