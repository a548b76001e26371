# tests/reports.sh: abuse report mails made for a test (after lib.sh and
# cases.sh): ARF and X-ARF v4 messages naming one of the test's addresses
# at a given moment, and `cordonctl report ingest` with the shipped
# report configuration.

REPORTS_CONF=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/conf

# rfc2822 TIME: the mail Date form of an ISO time.
rfc2822() { date -u -d "$1" -R; }

# arf_mail IP TIME MSGID ORIGINAL: an RFC 5965 feedback report (abuse) on
# stdout: Source-IP IP, Arrival-Date TIME, Message-ID MSGID, and an
# original message whose text is ORIGINAL (the same ORIGINAL is the same
# reported mail).
arf_mail() {
	cat <<-EOF
		From: <fbl@isp.example>
		Date: $(rfc2822 "$2")
		Subject: FW: abuse report about $1
		To: <abuse@cloud.example>
		Message-ID: <$3>
		MIME-Version: 1.0
		Content-Type: multipart/report; report-type=feedback-report;
		 boundary="b1"

		--b1
		Content-Type: text/plain; charset="US-ASCII"

		An email abuse report for a message received from IP $1.

		--b1
		Content-Type: message/feedback-report

		Feedback-Type: abuse
		User-Agent: fbl/1.0
		Version: 1
		Arrival-Date: $(rfc2822 "$2")
		Source-IP: $1
		Reported-Domain: spam.example

		--b1
		Content-Type: message/rfc822
		Content-Disposition: inline

		From: <spammer@spam.example>
		To: <victim@isp.example>
		Subject: Earn money
		Message-ID: <orig-$4@spam.example>

		$4

		--b1--
	EOF
}

# xarf4_mail IP TIME REPORT_ID CATEGORY TYPE: an X-ARF v4 report in the
# mail body on stdout.
xarf4_mail() {
	cat <<-EOF
		From: cert@cert.example
		To: abuse@cloud.example
		Date: $(rfc2822 "$2")
		Subject: [XARF] $4/$5 from $1
		Message-ID: <$3@cert.example>
		MIME-Version: 1.0
		Content-Type: application/json; charset=utf-8

		{ "xarf_version": "4.0.0", "report_id": "$3",
		  "timestamp": "$(date -u -d "$2" +%Y-%m-%dT%H:%M:%SZ)",
		  "reporter": { "org": "Example CERT", "contact": "cert@cert.example", "domain": "cert.example" },
		  "source_identifier": "$1", "category": "$4", "type": "$5",
		  "evidence_source": "manual", "evidence": [] }
	EOF
}

# ingest [ARGS...]: cordonctl report ingest with the shipped mapping and
# rules, the message on stdin; its output in INGEST_OUT, status in
# INGEST_RC, the report id in REPORT_ID.
ingest() {
	INGEST_RC=0
	INGEST_OUT=$(ctl report ingest --types "$REPORTS_CONF/report-types.conf" \
		--rules "$REPORTS_CONF/report-rules.conf" "$@" 2>&1) || INGEST_RC=$?
	REPORT_ID=$(grep -oE '^report [0-9]+' <<<"$INGEST_OUT" | grep -oE '[0-9]+' || true)
}

# ingest_ok: ingest, which must exit 0.
ingest_ok() {
	ingest "$@"
	[ "$INGEST_RC" = 0 ] || fail "cordonctl report ingest exits 0 (got $INGEST_RC): $INGEST_OUT"
}

# report_jq ID FILTER: jq -e FILTER on cordonctl --json report show ID.
report_jq() {
	local out
	out=$(ctl --json report show "$1") || return 1
	jq -e "$2" <<<"$out" >/dev/null
}
