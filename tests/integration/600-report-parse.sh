#!/bin/bash
# cordonctl report parse on the corpus in tests/reports/: what an operator
# sees for each format (text and --json), exit codes (0 parsed, 65 not
# mail, 1 unreadable file or configuration, 2 usage), bounds (a message
# over the 1 MiB cap, a 50 MiB one on stdin) and one-line errors. No
# daemons: the parse is offline, like `cordonctl policy check`.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

corpus=$CDT_ROOT/tests/reports
conf=(--types "$CDT_ROOT/conf/report-types.conf" --rules "$CDT_ROOT/conf/report-rules.conf")

parse() { "$CORDONCTL" report parse "${conf[@]}" "$@"; }

# FILE EXIT FORMAT CATEGORY FIRST-SOURCE
while read -r file want_rc format category source; do
	rc=0
	parse --json "$corpus/$file" >"$CDT_TMP/out.json" 2>"$CDT_TMP/err" || rc=$?
	got=$(jq -r '[.format, (.category // "-"), (.sources[0].ip // "-")] | join(" ")' "$CDT_TMP/out.json")
	check "$file: exit $want_rc (got $rc), $format $category $source (got $got)" \
		[ "$rc" = "$want_rc" ] && [ "$got" = "$format $category $source" ]
done <<'TABLE'
arf-abuse.eml 0 arf spam 192.0.2.1
arf-abuse-crlf.eml 0 arf spam 192.0.2.1
arf-headers-only.eml 0 arf phishing 198.51.100.23
arf-base64-ipv6.eml 0 arf virus 2001:db8::17
arf-forwarded.eml 0 arf spam 192.0.2.77
arf-missing-original.eml 0 arf spam 192.0.2.1
arf-missing-fields.eml 0 arf other -
arf-empty-fields.eml 0 arf other -
arf-unmapped-type.eml 0 arf other 192.0.2.1
xarf4-attachment.eml 0 xarf-v4 phishing 203.0.113.5
xarf4-body.eml 0 xarf-v4 outbound-attack 2001:db8:abcd:12::1
xarf4-two-reports.eml 0 xarf-v4 spam 192.0.2.10
xarf3.eml 0 xarf-v3 outbound-attack 198.51.100.200
xarf02.eml 0 xarf-0.2 outbound-attack 192.0.2.44
empty-body.eml 0 plain other -
plain-spamcop.eml 0 plain spam 198.51.100.61
plain-cert.eml 0 plain compromise 198.51.100.7
plain-phishing.eml 0 plain phishing 203.0.113.80
plain-wrong-charset.eml 0 plain spam 192.0.2.150
broken-mime.eml 0 plain outbound-attack 192.0.2.160
nested-deep.eml 65 not-mail - -
garbage.bin 65 not-mail - -
not-mail.txt 65 not-mail - -
TABLE

# The text form, as an operator reads it.
out=$(parse "$corpus/arf-abuse.eml")
for want in "format: *arf" "category: *spam" "source: *192.0.2.1 at 2005-03-08T18:00:00Z" \
	"message-id: *arf-abuse@example.com" "reported-domain: *example.net" "note: *ARF feedback report"; do
	check "text output has '$want'" grep -qE "^$want" <<<"$out"
done
out=$(parse "$corpus/xarf4-attachment.eml")
check "text output shows the X-ARF report id" \
	grep -q '^report-id: *5f5b1d1a-8c8b-4b0c-9d4e-2b6a1c9f7e01' <<<"$out"

# Duplicate detection later rests on this: the same original, forwarded
# by two loops (one with CRLF), has one hash.
a=$(parse --json "$corpus/arf-abuse.eml" | jq -r .original_sha256)
b=$(parse --json "$corpus/arf-abuse-crlf.eml" | jq -r .original_sha256)
check "same ARF original, same sha256 ($a)" [ "$a" = "$b" ] && [ ${#a} = 64 ]

# Standard input.
out=$(parse --json - <"$corpus/xarf02.eml")
check "stdin (-): xarf-0.2 report id" [ "$(jq -r .report_id <<<"$out")" = "20090903-0042@reporter.example" ]

# Not mail: exit 65, one line on stderr naming the file and the reason,
# the result (format not-mail) on stdout.
rc=0
parse "$corpus/garbage.bin" >"$CDT_TMP/out" 2>"$CDT_TMP/err" || rc=$?
err=$(cat "$CDT_TMP/err")
check "garbage: exit 65 (got $rc), one line: $err" \
	[ "$rc" = 65 ] && [ "$(wc -l <"$CDT_TMP/err")" = 1 ] && [[ $err == "cordonctl: $corpus/garbage.bin: "*"not a mail" ]]
rc=0
parse "$corpus/nested-deep.eml" >/dev/null 2>"$CDT_TMP/err" || rc=$?
check "nested multipart: exit 65 (got $rc), reason given: $(cat "$CDT_TMP/err")" \
	[ "$rc" = 65 ] && grep -q "nested deeper than 16 levels" "$CDT_TMP/err"

# Over the cap: parsed on the first 1 MiB, the note says so; the address
# after the cap is not seen.
{
	printf 'From: a@isp.example\nDate: Mon, 01 Jul 2024 10:00:00 +0000\nSubject: spam\n\nspam from 192.0.2.1\n'
	head -c 2000000 /dev/zero | tr '\0' 'x' | fold -w 72
	printf '\nand from 192.0.2.2\n'
} >"$CDT_TMP/big.eml"
out=$(parse --json "$CDT_TMP/big.eml")
check "2 MB message: parsed on its first 1048576 bytes ($(jq -r .note <<<"$out"))" \
	grep -q "parsed on its first 1048576" <<<"$(jq -r .note <<<"$out")"
check "2 MB message: only the address inside the cap" \
	[ "$(jq -c '[.sources[].ip]' <<<"$out")" = '["192.0.2.1"]' ]
check "2 MB message: evidence bounded to 16 KiB" [ "$(jq -r '.evidence | utf8bytelength' <<<"$out")" -le 16384 ]

# 50 MiB on stdin: read up to the cap, answered quickly.
start=$(date +%s%N)
rc=0
{ cat "$CDT_TMP/big.eml"; head -c 50000000 /dev/zero | tr '\0' 'y' | fold -w 72; } |
	parse - >"$CDT_TMP/out" 2>"$CDT_TMP/err" || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "50 MB message on stdin: exit 0 (got $rc) in $ms ms (< 10 s)" [ "$rc" = 0 ] && [ "$ms" -lt 10000 ]

# expect_error CODE DESC PATTERN CMD...: exit CODE, one stderr line
# "cordonctl: ..." matching PATTERN.
expect_error() {
	local code=$1 desc=$2 pattern=$3 rc=0 err
	shift 3
	"$@" >/dev/null 2>"$CDT_TMP/err" </dev/null || rc=$?
	err=$(cat "$CDT_TMP/err")
	if [ "$rc" != "$code" ]; then
		fail "$desc: exit $code (got $rc; stderr: ${err:-empty})"
	elif [ "$(wc -l <"$CDT_TMP/err")" != 1 ] || [[ $err != "cordonctl: "* ]] || ! grep -qE "$pattern" <<<"$err"; then
		fail "$desc: one line 'cordonctl: ...' matching '$pattern' (got: $err)"
	else
		ok "$desc: exit $rc, \"$err\""
	fi
}

printf '[arf]\nabuse = spam\nfraud = Phish!\n' >"$CDT_TMP/bad-types.conf"
printf '[r]\nsubject = (unclosed\ncategory = spam\n' >"$CDT_TMP/bad-rules.conf"
expect_error 1 "missing file" "cannot read $CDT_TMP/nope.eml: No such file" \
	parse "$CDT_TMP/nope.eml"
expect_error 1 "bad types file" "bad-types.conf:3: category 'Phish!' is not a policy name" \
	"$CORDONCTL" report parse --types "$CDT_TMP/bad-types.conf" --rules "${conf[3]}" "$corpus/arf-abuse.eml"
expect_error 1 "bad rules file" "bad-rules.conf:2: rule \[r\] subject: bad regular expression" \
	"$CORDONCTL" report parse --types "${conf[1]}" --rules "$CDT_TMP/bad-rules.conf" "$corpus/arf-abuse.eml"
expect_error 1 "missing configuration" "nope.conf: No such file or directory \(give --types/--rules" \
	"$CORDONCTL" report parse --types "$CDT_TMP/nope.conf" "$corpus/arf-abuse.eml"
expect_error 2 "no file" "usage: cordonctl report parse" parse
expect_error 2 "two files" "usage: cordonctl report parse" parse a b
expect_error 2 "unknown option" "unknown option '--frob'" parse --frob "$corpus/arf-abuse.eml"
expect_error 2 "unknown report subcommand" 'usage: cordonctl report parse\|ingest\|list\|show\|attach' "$CORDONCTL" report frob x

out=$("$CORDONCTL" report --help)
check "report --help describes exit status and formats" \
	grep -q "Exit status: 0 parsed, 65 not a mail" <<<"$out"
out=$("$CORDONCTL" report parse --help)
check "report parse --help too" grep -q "xarf-v4 or xarf-v3" <<<"$out"
out=$("$CORDONCTL" --help)
check "cordonctl --help lists report parse" grep -q "report parse FILE|-" <<<"$out"

cdt_done
