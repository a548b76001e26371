#!/bin/bash
# Logging as journald sees it: under systemd (JOURNAL_STREAM names the
# daemon's stderr) every line starts with a <N> priority (3 error, 4
# warning, 6 info, 7 debug) and has no timestamp of its own, and a real
# error (a broken policy set on reload, a missing key) is at error
# priority. Without JOURNAL_STREAM, or with one inherited from elsewhere,
# the lines keep their "HH:MM:SS.mmm prog[level]: " format.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
cdt_init

topo_controller
ctl_keygen
mkdir -p "$CDT_TMP/hv1/state"
agent_keygen hv1
enroll_agent hv1
# No policies directory at start: a warning, not an error.
write_controller_conf "policies = $CDT_TMP/ctl/policies"
LOG=$CDT_TMP/ctl/cordond.log
STAMP='^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} '

: >"$LOG"
stream=$(stat -c '%d:%i' "$LOG")
JOURNAL_STREAM=$stream start_controller
mkdir "$CDT_TMP/ctl/policies"
echo 'category = broken' >"$CDT_TMP/ctl/policies/broken.policy"
echo 'step soon explode' >>"$CDT_TMP/ctl/policies/broken.policy"
kill -HUP "$CTL_PID"
wait_until 10 grep -q 'keeping the policies loaded before' "$LOG" ||
	fail "cordond logs the broken policy set on SIGHUP"
stop_controller
rm -r "$CDT_TMP/ctl/policies"
log=$(grep -v '^=== start' "$LOG")

check "journal: the start line is at info priority (<6>)" \
	q grep -E '^<6>cordond 0\.[0-9.]+ listening on' <<<"$log"
check "journal: the missing policies directory is a warning (<4>)" \
	q grep -E '^<4>policies directory .* does not exist' <<<"$log"
check "journal: the broken policy set on SIGHUP is an error (<3>)" \
	q grep -E '^<3>SIGHUP: .*keeping the policies loaded before' <<<"$log"
check "journal: --log-level debug lines are at debug priority (<7>)" \
	q grep -E '^<7>' <<<"$log"
bad=$(grep -vE '^<[3467]>' <<<"$log" || true)
check "journal: every line has a priority prefix (not: ${bad:0:200})" [ -z "$bad" ]
check "journal: no line carries a timestamp of its own (journald adds it)" \
	not grep -qE "$STAMP|^<[0-9]>[0-9]{2}:[0-9]{2}:[0-9]{2}" <<<"$log"
check "journal: no [level] tag either (the priority says it)" \
	not grep -qE 'cordond\[(info|warning|error|debug)\]' <<<"$log"

# The agent shares the logger: a key that does not exist is an error.
echo '{ "vms": [] }' >"$CDT_TMP/hv1/inventory.json"
write_agent_conf hv1
sed -i 's|^key = .*|key = /nonexistent/agent.cert_secret|' "$CDT_TMP/hv1/agent.conf"
ALOG=$CDT_TMP/hv1/agent.log
: >"$ALOG"
rc=0
JOURNAL_STREAM=$(stat -c '%d:%i' "$ALOG") "$CORDON_AGENT" -c "$CDT_TMP/hv1/agent.conf" \
	--check-config 2>>"$ALOG" >/dev/null </dev/null || rc=$?
alog=$(cat "$ALOG")
check "journal: cordon-agent --check-config fails on a missing key (exit $rc)" [ "$rc" != 0 ]
check "journal: cordon-agent reports it at error priority (<3>): ${alog:0:200}" \
	q grep -E '^<3>.*nonexistent' <<<"$alog"

# Without JOURNAL_STREAM: today's format.
: >"$LOG"
start_controller
stop_controller
log=$(grep -v '^=== start' "$LOG")
check "plain: the start line is 'HH:MM:SS.mmm cordond[info]: ...'" \
	q grep -E "${STAMP}cordond\\[info\\]: cordond .* listening on" <<<"$log"
check "plain: no line has a priority prefix" not grep -qE '^<[0-9]>' <<<"$log"

# JOURNAL_STREAM inherited but naming another file (a service's child
# whose stderr went elsewhere): plain too.
: >"$LOG"
JOURNAL_STREAM=$(stat -c '%d:%i' "$CDT_TMP/ctl/cordond.conf") start_controller
stop_controller
log=$(grep -v '^=== start' "$LOG")
check "stale JOURNAL_STREAM: plain format" \
	q grep -E "${STAMP}cordond\\[info\\]: cordond .* listening on" <<<"$log"
check "stale JOURNAL_STREAM: no priority prefix" not grep -qE '^<[0-9]>' <<<"$log"

cdt_done
