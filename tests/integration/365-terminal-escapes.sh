#!/bin/bash
# Foreign text never drives the operator's terminal. A report's evidence
# and source, a note, a suspend reason and a VM name from the agent's
# inventory carry screen clears, OSC 8 links, title changes, BEL, DEL and
# a C1 CSI (U+009B): every text output (case show, case list, audit, vms,
# vm show, agents, cordon-agent status) shows them escaped (\x1b, \u009b,
# ...) and carries no control byte but the line breaks, while --json gives
# back the exact strings. A contact address with a control character or a
# space, and evidence that is not UTF-8 (a raw 0x9b byte), are refused
# with a clear message and no case is made. The daemons' logs carry no
# raw control character either.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
cdt_init

ESC=$'\x1b'
C1CSI=$'\xc2\x9b' # U+009B as UTF-8: a CSI to terminals that take C1
EVIL_NAME="vm${ESC}[2J${C1CSI}31m${ESC}]0;owned"$'\a'
EVIDENCE="From: reporter@example.net
clear ${ESC}[2J${ESC}[H here
link ${ESC}]8;;http://evil/${ESC}\\click me${ESC}]8;;${ESC}\\
title ${ESC}]0;pwned"$'\a'"
csi ${C1CSI}31m red, del "$'\x7f'", tab"$'\t'"in line
Müller GmbH"
SOURCE="CERT ${ESC}[2J${ESC}]0;title"$'\a'" ${C1CSI}1A"
NOTE="customer ${ESC}[1A${ESC}[2Kcalled"$'\n'"second line"
REASON="abuse ${ESC}]8;;http://evil/${ESC}\\ticket${ESC}]8;;${ESC}\\"
export EVIL_NAME EVIDENCE SOURCE NOTE REASON

topo_cases 1
# The static inventory is the hypervisor's: re-read on SIGHUP.
topo_vm hv1 1 2 "$EVIL_NAME"
kill -HUP "${AGENT_PID[hv1]}"
check "cordonctl vms --json lists the VM whose inventory name has escapes, exactly" \
	wait_until 20 vm_known "$EVIL_NAME"

out=$(ctl suspend "$EVIL_NAME" --scope public --reason "$REASON" 2>&1) ||
	fail "cordonctl suspend of the VM with escapes in its name succeeds: $out"
check "the VM with escapes in its name is enforced" wait_until 20 vm_enforced "$EVIL_NAME"
printf '%s' "$EVIDENCE" >"$CDT_TMP/report.eml"
case_open --category phishing --vm "$EVIL_NAME" --contact abuse@customer.example \
	--source "$SOURCE" --evidence "$CDT_TMP/report.eml"
id=$CASE_ID
case_ok "$id" note "$NOTE"

# terminal_safe: stdin is valid UTF-8 with no C0 control but the line
# breaks, no DEL, no C1 control (raw byte or encoded).
terminal_safe() {
	python3 -c '
import re, sys
b = sys.stdin.buffer.read()
bad = re.search(rb"[\x00-\x09\x0b-\x1f\x7f]", b)
if bad:
    sys.exit("raw control byte 0x%02x at %d" % (b[bad.start()], bad.start()))
t = b.decode("utf-8")  # fails on a raw 0x80-0xff byte outside UTF-8
c1 = re.search("[\u0080-\u009f]", t)
if c1:
    sys.exit("C1 control U+%04X" % ord(c1.group()))
'
}

# shows_safely DESC OUTPUT ESCAPED...: OUTPUT is terminal-safe and contains
# each ESCAPED text (fixed strings).
shows_safely() {
	local desc=$1 output=$2 why s
	shift 2
	if ! why=$(terminal_safe <<<"$output" 2>&1); then
		fail "$desc: no raw control character in the text output ($why)"
		return 0
	fi
	for s in "$@"; do
		if [[ $output != *"$s"* ]]; then
			fail "$desc: shows '$s'"
			return 0
		fi
	done
	ok "$desc: only escaped controls, shows ${*}"
}

out=$(ctl case show "$id")
shows_safely "cordonctl case show" "$out" '\x1b[2J\x1b[H here' \
	'\x1b]8;;http://evil/\x1b\\click me' '\x1b]0;pwned\x07' '\u009b31m red' 'del \x7f' \
	'tab\tin line' 'Müller GmbH' 'CERT \x1b[2J\x1b]0;title\x07 \u009b1A' \
	'customer \x1b[1A\x1b[2Kcalled\nsecond line' 'vm\x1b[2J\u009b31m\x1b]0;owned\x07'
check "cordonctl case show: the evidence keeps its lines, indented" \
	q grep -qxF '           link \x1b]8;;http://evil/\x1b\\click me\x1b]8;;\x1b\\' <<<"$out"
shows_safely "cordonctl case list" "$(ctl case list)" 'vm\x1b[2J\u009b31m\x1b]0;owned\x07'
shows_safely "cordonctl audit" "$(ctl audit)" 'customer \x1b[1A\x1b[2Kcalled\nsecond line' \
	'vm\x1b[2J\u009b31m\x1b]0;owned\x07'
shows_safely "cordonctl vms" "$(ctl vms)" 'vm\x1b[2J\u009b31m\x1b]0;owned\x07'
shows_safely "cordonctl vm show" "$(ctl vm show "$EVIL_NAME")" \
	'vm\x1b[2J\u009b31m\x1b]0;owned\x07' 'abuse \x1b]8;;http://evil/\x1b\\ticket'
shows_safely "cordonctl agents" "$(ctl agents)" hv1
shows_safely "cordon-agent status" "$(agent_status hv1)" 'vm\x1b[2J\u009b31m\x1b]0;owned\x07'

# same_strings JSON: the listed fields of JSON equal the environment's
# originals, byte for byte (python: exact str comparison).
json_exact() {
	python3 -c '
import json, os, sys
d = json.load(sys.stdin)
want = os.environ
checks = {
  "case_show": lambda: [d["evidence"] == want["EVIDENCE"], d["source"] == want["SOURCE"],
                        d["vm_name"] == want["EVIL_NAME"],
                        any(e["detail"] == want["NOTE"] for e in d["events"])],
  "vms": lambda: [any(v["name"] == want["EVIL_NAME"] for v in d)],
  "vm_show": lambda: [d["name"] == want["EVIL_NAME"],
                      any(h.get("reason") == want["REASON"] for h in d["holds"])],
  "audit": lambda: [any(e.get("detail") == want["NOTE"] for e in d),
                    any(e.get("vm_name") == want["EVIL_NAME"] for e in d)],
  "agent": lambda: [any(v["name"] == want["EVIL_NAME"] for v in d["vms"])],
}
sys.exit(0 if all(checks[sys.argv[1]]()) else 1)
' "$1"
}
check "case show --json: evidence, source, VM name and note exactly as given" \
	q json_exact case_show <<<"$(ctl --json case show "$id")"
check "vms --json: the VM name exactly as in the inventory" q json_exact vms <<<"$(ctl --json vms)"
check "vm show --json: name and suspend reason exactly" \
	q json_exact vm_show <<<"$(ctl --json vm show "$EVIL_NAME")"
check "audit --json: the note and the VM name exactly" q json_exact audit <<<"$(ctl --json audit)"
check "cordon-agent status --json: the VM name exactly" \
	q json_exact agent <<<"$(agent_status hv1 --json)"

# Refused contacts and evidence: a clear message, no case made.
ncases() { ctl --json case list --state all | jq length; }
before=$(ncases)
refused_open() {
	local desc=$1 rc=$2 msg=$3
	shift 3
	capture ctl case open --category spam --vm vm11 "$@"
	if [ "$RC" != "$rc" ] || ! grep -qF -- "$msg" <<<"$OUT"; then
		fail "$desc: refused (exit $rc) saying '$msg' (exit $RC: $OUT)"
	elif ! why=$(terminal_safe <<<"$OUT" 2>&1); then
		fail "$desc: the refusal shows no raw control character ($why)"
	else
		ok "$desc: refused: $OUT"
	fi
}
refused_open "--contact with an ESC" 1 'a\x1b[2J@example.org' --contact "a${ESC}[2J@example.org"
refused_open "--contact with a control character" 1 "control character" --contact $'a\tb@example.org'
refused_open "--contact with a space" 1 "space" --contact "a b@example.org"
refused_open "--contact with two @" 1 "exactly one @" --contact "a@b@example.org"
refused_open "--contact with nothing before @" 1 "text on both sides" --contact "@example.org"
refused_open "--contact with non-ASCII" 1 "non-ASCII" --contact "müller@example.org"
refused_open "--contact of 300 characters" 1 "longer than 254" \
	--contact "$(printf 'a%.0s' {1..290})@example.org"
printf 'raw \x9b[2J CSI\n' >"$CDT_TMP/latin1.eml"
refused_open "evidence with a raw 0x9b byte (not UTF-8)" 2 "not UTF-8" \
	--evidence "$CDT_TMP/latin1.eml"
check "no case was made by the refused opens" test "$(ncases)" = "$before"

for f in "$CDT_TMP/ctl/cordond.log" "$CDT_TMP/hv1/agent.log"; do
	check "${f#"$CDT_TMP"/} has no raw control character" q terminal_safe <"$f"
done

cdt_done
