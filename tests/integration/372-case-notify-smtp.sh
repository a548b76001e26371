#!/bin/bash
# Notifications over SMTP, with no privilege: the shipped unit's
# NoNewPrivileges=yes stops Debian's setuid/setgid sendmail, so
# notify_command runs cordon-sendmail, here as user nobody with no new
# privileges, submitting to a real SMTP server (Debian's aiosmtpd,
# delivering to a Maildir). The server down: the warning is retried and
# lands once, when it is back; a recipient the server refuses (550) is
# shown with the server's words.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../cases.sh"
cdt_init
PY=/usr/bin/python3 # Debian's, with python3-aiosmtpd
"$PY" -c 'import aiosmtpd' 2>/dev/null || fail "python3-aiosmtpd is installed (scripts/install-deps.sh)"
[ -x "$CORDON_SENDMAIL" ] || fail "$CORDON_SENDMAIL is built (run make)"

RELAY=smtp://127.0.0.1:2525
MAILDIR=$CDT_TMP/maildir
CASES_NOTIFY_COMMAND="setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs $CORDON_SENDMAIL --relay $RELAY -t -i"
topo_cases 2
clock_set 2026-11-23T10:00:00Z

# The server: Maildir delivery (aiosmtpd adds X-MailFrom and X-RcptTo),
# and a 550 for refuse@ recipients.
cat >"$CDT_TMP/relay_handler.py" <<'PYEOF'
from aiosmtpd.handlers import Mailbox

class Relay(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse@"):
            return "550 5.1.1 <%s>: no such mailbox here" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"
PYEOF
SMTP_PID=
smtp_start() {
	ip netns exec "$CTL_NS" env PYTHONPATH="$CDT_TMP" "$PY" -m aiosmtpd -n -l 127.0.0.1:2525 \
		-c relay_handler.Relay "$MAILDIR" >>"$CDT_TMP/smtp.log" 2>&1 &
	SMTP_PID=$!
	wait_until 10 ip netns exec "$CTL_NS" nc -z 127.0.0.1 2525 || fail "the SMTP server listens"
}
smtp_stop() { [ -z "$SMTP_PID" ] || { kill "$SMTP_PID"; wait "$SMTP_PID" 2>/dev/null; SMTP_PID=; }; }
on_exit smtp_stop
_log_register "$CDT_TMP/smtp.log"
delivered() { find "$MAILDIR/new" -type f 2>/dev/null | wc -l; }
delivered_is() { [ "$(delivered)" = "$1" ]; }
note_of() { case_get "$1" ".notifications[0].$2"; }

# ------------------------------------------------ the server down
case_open --category phishing --vm vm11 --contact owner@customer.example
id=$CASE_ID
check "case $id: the warning failed, to be retried (server down)" wait_until 10 \
	eval '[ "$(note_of "$id" attempts)" -ge 1 ] && [ "$(note_of "$id" state)" = pending ]'
err=$(note_of "$id" last_error)
check "its error says the relay was unreachable (exit 75): $err" \
	q grep -qE "exit 75|status 75|75" <<<"$err"

# ------------------------------------------------ back: delivered once
smtp_start
clock_advance 2m
check "the retried warning is delivered to the Maildir" wait_until 15 delivered_is 1
msg=$(find "$MAILDIR/new" -type f)
check "envelope recipient: the case contact" q grep -qx "X-RcptTo: owner@customer.example" "$msg"
check "envelope sender: notify_from" q grep -qx "X-MailFrom: abuse@cordon.test" "$msg"
check "Subject: the case's warning" q grep -qE "^Subject: \[Abuse case $id\] Warning: phishing" "$msg"
check "the body names vm11" q grep -q "vm11" "$msg"
check "case show: the notification is sent" wait_until 10 eval '[ "$(note_of "$id" state)" = sent ]'
clock_advance 1h
sleep 1
check "exactly once: still one message an hour later" delivered_is 1

# ------------------------------------------------ refused for good
case_open --category phishing --vm vm12 --contact refuse@customer.example
id2=$CASE_ID
check "case $id2: the refusal is recorded" wait_until 10 \
	eval '[ "$(note_of "$id2" attempts)" -ge 1 ]'
err=$(note_of "$id2" last_error)
check "with the server's words: $err" q grep -q "550.*no such mailbox here" <<<"$err"
check "nothing delivered for it" delivered_is 1
cdt_done
