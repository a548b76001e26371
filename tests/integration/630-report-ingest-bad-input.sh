#!/bin/bash
# Hostile and broken mail through `cordonctl report ingest`: binary
# garbage, a text that is no mail, MIME nested past the bound, broken MIME,
# a wrong charset and a 50 MiB message are each stored (the big one cut to
# size_cap with its real size kept) with the exit status an MTA acts on;
# forged report_ingest requests on the report socket are refused, naming
# the field, and store nothing; with the controller down the pipe exits 75
# (the MTA retries) and the same mail is taken once it is back. Through all
# of it the controller keeps serving and vm11's cut holds.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
. "$(dirname "$0")/../reports.sh"
cdt_init
CASES_CLOCK=2026-11-23T09:00:00Z topo_cases 2
corpus=$CDT_ROOT/tests/reports
vm_suspend vm11 all
expect_cut vm11 public

stored_count() { ctl --json report list --limit 10000 | jq length; }

# ------------------------------------------------ not mail, or refused: 65, kept
for f in garbage.bin not-mail.txt nested-deep.eml; do
	ingest <"$corpus/$f"
	check "$f: exit 65, stored for review: $(grep -m1 '^report' <<<"$INGEST_OUT")" \
		eval '[ "$INGEST_RC" = 65 ] && grep -qE "stored: unparseable" <<<"$INGEST_OUT"'
	check "$f: the reason is on stderr: $(grep -m1 'stored for review' <<<"$INGEST_OUT")" \
		q grep -q "(stored for review)" <<<"$INGEST_OUT"
	check "report list --unmatched lists $f's report" eval \
		'ctl --json report list --unmatched | jq -e "any(.[]; .id == $REPORT_ID and .state == \"unparseable\")" >/dev/null'
done
check "the garbage comes back byte for byte from report show --raw" eval \
	'cmp <(ctl report show 1 --raw) "$corpus/garbage.bin"'

# ------------------------------------------------ odd but mail: 0, kept
for f in broken-mime.eml plain-wrong-charset.eml arf-missing-fields.eml; do
	ingest <"$corpus/$f"
	check "$f: exit 0, stored ($(head -n 1 <<<"$INGEST_OUT"))" \
		eval '[ "$INGEST_RC" = 0 ] && grep -qE "^report [0-9]+ stored" <<<"$INGEST_OUT"'
done

# ------------------------------------------------ 50 MiB
big=$CDT_TMP/big.eml
{ arf_mail 198.19.0.1 2026-11-23T09:30:00Z big@isp.example "big"; head -c $((50 << 20)) /dev/zero | tr '\0' 'x'; } >"$big"
ingest <"$big"
check "a 50 MiB message is stored: $(head -n 1 <<<"$INGEST_OUT") (exit $INGEST_RC)" \
	q grep -qE "^report [0-9]+ stored" <<<"$INGEST_OUT"
check "report show: its real size, the first 1 MiB kept (truncated)" report_jq "$REPORT_ID" \
	".size == $(stat -c %s "$big") and .stored_size == 1048576"

# ------------------------------------------------ forged requests: refused, nothing stored
before=$(stored_count)
forge() { # JSON: one request on the report socket; prints the reply
	python3 - "$CDT_TMP/ctl/control-report.sock" "$1" <<-'PY'
		import socket, sys
		s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
		s.sendall(sys.argv[2].encode() + b"\n"); print(s.makefile().readline().strip())
	PY
}
r=$(forge '{"cmd":"report_ingest","raw":"","size":1,"parsed":{"format":"arf","subject":"'"$(head -c 3000 /dev/zero | tr '\0' s)"'"}}')
check "a subject of 3000 bytes is refused, naming the field: $r" q grep -q "field subject longer than" <<<"$r"
r=$(forge '{"cmd":"report_ingest","raw":"","size":1,"parsed":{"format":"bogus"}}')
check "an unknown format is refused: $r" q grep -q "unknown report format 'bogus'" <<<"$r"
r=$(forge '{"cmd":"report_ingest","raw":"","size":-1}')
check "a negative size is refused: $r" q grep -q "malformed report_ingest request" <<<"$r"
r=$(forge '{"cmd":"report_ingest","raw":"","size":1,"parsed":{"format":"arf","category":"spam","sources":[{"ip":"not-an-ip"},{"ip":7}]}}')
check "sources that are no addresses are looked up as nothing: $r" \
	q grep -q '"state": *"unmatched"' <<<"$r"
check "nothing else was stored by the forged requests" [ "$(stored_count)" = $((before + 1)) ]

# ------------------------------------------------ the controller away: 75, then taken
stop_controller
arf_mail "${VM_PUB[vm12]}" 2026-11-23T09:40:00Z retry@isp.example "retry" >"$CDT_TMP/retry.eml"
ingest <"$CDT_TMP/retry.eml"
check "controller down: exit 75 so the MTA retries ($(tail -n 1 <<<"$INGEST_OUT"))" [ "$INGEST_RC" = 75 ]
expect_stays_cut vm11 public 1
start_controller --test-clock
wait_until 20 agent_connected hv1 || fail "hv1 reconnects"
ingest <"$CDT_TMP/retry.eml"
check "controller back: the retried mail is stored and matched (exit $INGEST_RC)" \
	eval '[ "$INGEST_RC" = 0 ] && grep -qE "stored: matched" <<<"$INGEST_OUT"'
check "cordonctl status still answers" q ctl status
expect_cut vm11 public
cdt_done
